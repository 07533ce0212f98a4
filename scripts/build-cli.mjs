#!/usr/bin/env node
// Bundles the client side of the CLI (`strata fs …`, `strata fsadmin …`: bin → cli → client →
// protocol, with commander, msgpackr, bytes and parse-duration) into one ES module,
// dist/cli/client-bundle.js (+ source map), which bin/strata.mjs runs for those commands:
// one file to read and compile instead of ~40 modules resolved one by one. The server, FUSE
// and gateway groups stay out of it (external imports of the compiled dist/cli/*.js, never
// taken by the client commands). Usage: node scripts/build-cli.mjs [--quiet] [--outdir DIR]
import { build } from 'esbuild';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const quiet = process.argv.includes('--quiet');
const outIndex = process.argv.indexOf('--outdir');
/** Where the bundle is written: dist/cli/, or the directory given after `--outdir`. */
const outDir = outIndex >= 0 ? process.argv[outIndex + 1] : join(root, 'dist', 'cli');

/** Modules the client bundle must never contain (they belong to the server side); src/meta/path.ts
 * (pure path syntax: normalize, join, depth) is shared with the client and allowed. */
const SERVER_SIDE = /\/src\/(coordinator|meta\/(?!path\.ts$)|sync\/|actors\/|ufs\/|cache\/|server\/|gateway\/|fuse\/|web\/|activesync\/)|node_modules\/(lmdb|piscina|pino|@aws-sdk|fuse-native|prom-client)\//;

const plugins = [{
  name: 'strata-client',
  setup(b) {
    // main.ts loads each command group on first use; the groups of the server side stay
    // imports of the compiled files beside the bundle (dist/cli/server.js …).
    b.onResolve({ filter: /^\.\/(server|gateway|fuse)\.js$/ }, (a) => (a.importer.endsWith('/src/cli/main.ts') ? { path: a.path, external: true } : undefined));
    // commander needs child_process only to run executable subcommands (strata has none):
    // load it on first use rather than at start (it brings dgram and more).
    b.onResolve({ filter: /^(node:)?child_process$/ }, (a) => (a.importer.includes('/node_modules/commander/') ? { path: 'child_process', namespace: 'lazy-builtin' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
      loader: 'js',
      contents: "let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require('node:child_process'))[k] });",
    }));
  },
}];

/** Build the bundle; resolves to its size in bytes. Throws when server-side code got in. */
export async function buildCli() {
  const result = await build({
    entryPoints: [join(root, 'src', 'cli', 'main.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: join(outDir, 'client-bundle.cjs'),
    sourcemap: true,
    sourcesContent: true,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    // The native string extractor is optional and skipped by client commands (bin/strata.mjs).
    external: ['msgpackr-extract'],
    plugins,
    // A CommonJS script (bin/strata.mjs compiles it with V8's code cache, which ES modules
    // cannot use on Node 20); import.meta.url of the sources is the bundle's own URL.
    define: { 'import.meta.url': '__strataBundleUrl' },
    banner: { js: "const __strataBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  const bad = Object.keys(result.metafile.inputs).filter((f) => SERVER_SIDE.test(`/${f}`));
  if (bad.length > 0) throw new Error(`the client bundle pulled in server-side modules: ${bad.join(', ')}`);
  return result.metafile.outputs[Object.keys(result.metafile.outputs).find((f) => f.endsWith('.cjs'))].bytes;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const bytes = await buildCli();
  if (!quiet) process.stderr.write(`build: dist/cli/client-bundle.js ${(bytes / 1024).toFixed(0)} KB\n`);
}
