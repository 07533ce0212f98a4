#!/usr/bin/env node
// Builds the package: compiles src/ to dist/ (ES modules + .d.ts + source maps with the
// sources inlined) with the installed TypeScript compiler, bundles the client side of the CLI
// (scripts/build-cli.mjs: dist/cli/client-bundle.js, what `strata fs …` runs), then bundles
// the web console when scripts/build-web.mjs exists. `--if-stale` skips the work when dist/ is newer than
// every file of src/ (and the build configuration); a stamp file records the last build.
// Usage: node scripts/build.mjs [--if-stale] [--quiet]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const stamp = join(dist, '.build-stamp');
const ifStale = process.argv.includes('--if-stale');
const quiet = process.argv.includes('--quiet');
const say = (s) => { if (!quiet) process.stderr.write(`build: ${s}\n`); };

/** Newest modification time (ms) of a file or of every file under a directory. */
function newest(path) {
  let st;
  try { st = statSync(path); } catch { return 0; }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs; // a deleted file bumps its directory's mtime
  for (const d of readdirSync(path, { withFileTypes: true })) max = Math.max(max, newest(join(path, d.name)));
  return max;
}

/** Why dist/ must be rebuilt, or null when it is up to date. */
export function staleReason() {
  if (!existsSync(stamp)) return 'dist/ is missing';
  const built = statSync(stamp).mtimeMs;
  // web/: sources of the console, if the console build keeps them outside src/.
  for (const input of ['src', 'web', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'scripts/build.mjs', 'scripts/build-cli.mjs', 'scripts/build-web.mjs']) {
    if (newest(join(root, input)) > built) return `${input} changed since the last build`;
  }
  return null;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`build: ${[cmd, ...args].join(' ')} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})\n`);
    process.exit(1);
  }
}

if (ifStale) {
  const why = staleReason();
  if (why === null) {
    say('dist/ is up to date');
    process.exit(0);
  }
  say(`${why}: building`);
}
const t0 = Date.now();
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  process.stderr.write('build: the TypeScript compiler is not installed (run `npm ci` first)\n');
  process.exit(1);
}
// Compiled beside dist/ and swapped in whole: no leftovers of deleted sources, and a server
// or CLI running from dist/ meanwhile never sees a half-written tree.
const fresh = `${dist}.tmp`;
const old = `${dist}.old`;
rmSync(fresh, { recursive: true, force: true });
run(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', fresh]);
// The client bundle goes into the fresh tree too, so that dist/ is swapped in complete.
run(process.execPath, [join(root, 'scripts', 'build-cli.mjs'), '--quiet', '--outdir', join(fresh, 'cli')]);
rmSync(old, { recursive: true, force: true });
if (existsSync(dist)) renameSync(dist, old);
renameSync(fresh, dist);
rmSync(old, { recursive: true, force: true });
// The client bundle's V8 code cache (dist/cli/client-bundle.cache, see bin/code-cache.mjs):
// written by one run of a client command, here against a port where nothing listens, which
// compiles the start, the parsing and the connection path of every client command.
spawnSync(process.execPath, [join(root, 'bin', 'strata.mjs'), 'fs', '--address', '127.0.0.1:1', 'ls', '/'], {
  cwd: root, stdio: 'ignore', env: { ...process.env, STRATA_CODE_CACHE: '1', STRATA_TOKEN: 'build:build' },
});
const web = join(root, 'scripts', 'build-web.mjs');
if (existsSync(web)) run(process.execPath, [web]);
writeFileSync(stamp, `${new Date().toISOString()}\n`);
say(`dist/ built in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
