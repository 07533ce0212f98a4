#!/usr/bin/env node
// Builds the web console: bundles src/web/ui/main.tsx (preact, uPlot) with esbuild, minified,
// into dist/console/assets/ with content-hashed names, writes dist/console/index.html naming them and
// a gzip twin of each file. Prints the sizes. Usage: node scripts/build-web.mjs [--quiet]
import { build } from 'esbuild';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist', 'console');
const quiet = process.argv.includes('--quiet');

/** Build the console into dist/console (dist/web holds the compiled server side); resolves to the sizes of the files written. */
export async function buildWeb() {
  await rm(out, { recursive: true, force: true });
  await mkdir(join(out, 'assets'), { recursive: true });
  const result = await build({
    entryPoints: [join(root, 'src/web/ui/main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: join(out, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => basename(f));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`esbuild wrote ${outputs.join(', ')}: expected one .js and one .css`);
  const html = (await readFile(join(root, 'src/web/ui/index.html'), 'utf8')).replace('__JS__', js).replace('__CSS__', css);
  await writeFile(join(out, 'index.html'), html);
  const sizes = [];
  for (const f of ['index.html', ...(await readdir(join(out, 'assets'))).map((n) => `assets/${n}`)]) {
    const file = join(out, f);
    const body = await readFile(file);
    const gz = gzipSync(body, { level: 9 });
    await writeFile(file + '.gz', gz);
    sizes.push({ file: f, bytes: (await stat(file)).size, gzip: gz.length });
  }
  return sizes;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = await buildWeb();
  if (!quiet) {
    for (const s of sizes) console.log(`dist/console/${s.file}  ${(s.bytes / 1024).toFixed(1)} KB  (gzip ${(s.gzip / 1024).toFixed(1)} KB)`);
    const t = sizes.reduce((a, s) => ({ bytes: a.bytes + s.bytes, gzip: a.gzip + s.gzip }), { bytes: 0, gzip: 0 });
    console.log(`total ${(t.bytes / 1024).toFixed(1)} KB (gzip ${(t.gzip / 1024).toFixed(1)} KB)`);
  }
}
