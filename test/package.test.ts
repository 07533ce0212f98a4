// The package as a user gets it: `npm pack`, `npm install ./strata-*.tgz` into a fresh
// directory (offline, from npm's cache, which `npm ci` filled), then plain `node`:
// `strata server`, `strata fs ls /`, an ESM import, a CommonJS require, the TypeScript types
// and the README's library-mode example, run twice. When npm cannot install the tarball
// (a dependency missing from the cache and no network), the test fails and says why.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, tempDir } from './helpers/server.js';

const dirs: string[] = [];
let app = '';
const children = new Set<ReturnType<typeof spawn>>();

function sh(cmd: string, args: string[], cwd: string, timeoutMs = 180_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd, encoding: 'utf8', timeout: timeoutMs,
    env: { ...process.env, STRATA_LOG_LEVEL: 'warn', npm_config_update_notifier: 'false' },
  });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.ok(r.status === 0, `${what} failed (exit ${r.status ?? r.signal}${r.error ? `, ${r.error.message}` : ''}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The installed `strata` executable, run with plain node (no tsx anywhere). */
const strataBin = (): string => join(app, 'node_modules', '.bin', 'strata');

test.before(async () => {
  ok(sh(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--if-stale', '--quiet'], ROOT), 'npm run build');
  const work = await tempDir('strata-pkg-');
  dirs.push(work);
  ok(sh('npm', ['pack', '--ignore-scripts', '--pack-destination', work], ROOT), 'npm pack');
  const tgz = readdirSync(work).find((f) => /^strata-.*\.tgz$/.test(f));
  assert.ok(tgz, 'npm pack produced no strata-*.tgz');
  app = join(work, 'app');
  ok(sh('mkdir', ['-p', app], work), 'mkdir');
  ok(sh('npm', ['init', '-y'], app), 'npm init -y');
  const install = sh('npm', ['install', `../${tgz}`, '--prefer-offline', '--no-audit', '--no-fund'], app, 300_000);
  if (install.status !== 0) {
    throw new Error('npm install of the tarball failed: its dependencies must be in npm\'s cache (run `npm ci` in the ' +
      `checkout first) or the registry reachable.\n${install.stdout}\n${install.stderr}`);
  }
});

test.after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('the tarball holds the compiled package and no TypeScript sources or tests', () => {
  const pkg = join(app, 'node_modules', 'strata');
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/index.js.map', 'dist/cli/main.js', 'dist/cli/client-bundle.cjs', 'bin/code-cache.mjs', 'dist/actors/worker.js', 'bin/strata.mjs', 'cjs/index.cjs']) {
    assert.ok(existsSync(join(pkg, f)), `${f} missing from the package`);
  }
  for (const f of ['src', 'test', 'tsconfig.json', 'dist/.build-stamp']) assert.not.ok(existsSync(join(pkg, f)), `${f} must not ship`);
  assert.not.ok(existsSync(join(app, 'node_modules', 'tsx')), 'tsx is a development dependency only');
});

test('`strata server` and `strata fs` run with plain node from the installed package', async () => {
  const data = join(app, 'server-data');
  const proc = spawn(process.execPath, [strataBin(), 'server', '--port', '0', '--data-dir', data],
    { cwd: app, env: { ...process.env, STRATA_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  try {
    let out = '';
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => { err += d; });
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line within 60s: ${out}\n${err}`)), 60_000);
      proc.stdout!.on('data', (d: Buffer) => {
        out += d;
        const m = /^strata listening on (\S+:\d+)$/m.exec(out);
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      });
      proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${out}\n${err}`)); });
    });
    ok(sh(process.execPath, [strataBin(), 'fs', '--address', address, '--data-dir', data, 'mkdir', '/made-by-test'], app), 'strata fs mkdir');
    const ls = ok(sh(process.execPath, [strataBin(), 'fs', '--address', address, '--data-dir', data, 'ls', '/'], app), 'strata fs ls /');
    assert.match(ls, /\/made-by-test/);
    // npx resolves the same executable (what the README tells users to type).
    const npx = ok(sh('npx', ['--no-install', 'strata', 'fs', '--address', address, '--data-dir', data, 'ls', '/'], app), 'npx strata fs ls /');
    assert.match(npx, /\/made-by-test/);
    // The worker threads run compiled code too: a sync (run on the Piscina pool) works.
    ok(sh(process.execPath, [strataBin(), 'fs', '--address', address, '--data-dir', data, 'loadMetadata', '-R', '/'], app), 'strata fs loadMetadata');
  } finally {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
    children.delete(proc);
  }
});

test('ESM import, CommonJS require (or a clear error) and TypeScript types', async () => {
  await writeFile(join(app, 'esm.mjs'),
    "import { Coordinator, StrataClient, StrataError } from 'strata';\n" +
    "console.log([typeof Coordinator.open, typeof StrataClient.connect, typeof StrataError].join(','));\n");
  assert.is(ok(sh(process.execPath, ['esm.mjs'], app), 'ESM import').trim(), 'function,function,function');

  await writeFile(join(app, 'cjs.cjs'), "const s = require('strata'); console.log(typeof s.Coordinator);\n");
  const cjs = sh(process.execPath, ['cjs.cjs'], app);
  if (cjs.status === 0) assert.is(cjs.stdout.trim(), 'function');
  else assert.match(cjs.stderr, /strata is an ES module.*use `import/);

  await writeFile(join(app, 'types.ts'), [
    "import { Coordinator, ErrorCode } from 'strata';",
    "import type { FileSystem, FileInfo } from 'strata';",
    "const fs: FileSystem = await Coordinator.open({ dataDir: './x' });",
    "const info: FileInfo = await fs.getStatus('/');",
    'const n: number = info.length;',
    "const code: string = ErrorCode.NOT_FOUND;",
    'void n; void code;',
    "// @ts-expect-error: the types are real, so a wrong call is an error",
    "await fs.getStatus(42);",
    '',
  ].join('\n'));
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true,
      typeRoots: [join(ROOT, 'node_modules', '@types')], types: ['node'],
    },
    files: ['types.ts'],
  }));
  // A module (top-level await) needs "type": "module" in the consumer's package.json.
  ok(sh('npm', ['pkg', 'set', 'type=module'], app), 'npm pkg set');
  ok(sh(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], app), 'tsc against the installed types');
});

test("the README's library-mode example runs as written, twice in a row, and exits", async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const m = /<!-- library-example -->\s*```js\n([\s\S]*?)```/.exec(readme);
  assert.ok(m, 'README.md has no <!-- library-example --> js block');
  await writeFile(join(app, 'example.mjs'), m[1]!);
  const outputs: string[] = [];
  for (let run = 1; run <= 2; run++) {
    const env = { ...process.env };
    delete env.STRATA_ADDRESS;
    const r = spawnSync(process.execPath, ['example.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000, env });
    assert.is(r.status, 0, `run ${run} of the example failed (${r.signal ?? r.status}; a timeout means it did not exit):\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /file \d+ \/hello\.txt/);
    assert.match(r.stdout, /hello at /);
    outputs.push(r.stdout);
  }
  assert.is.not(outputs[0], outputs[1], 'the second run overwrote the file');
  assert.ok(existsSync(join(app, 'strata-example-data')), 'the example uses its own data directory');
});

test.run();
