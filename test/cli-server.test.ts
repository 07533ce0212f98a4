// `strata server` as a real process: the listening line (with the real port for --port 0),
// clean exit 0 on SIGTERM and SIGINT, state (files, mounts) kept across a restart on the
// same data directory, and bad options refused with INVALID_ARGUMENT and exit 2.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, startServer, tempDir } from './helpers/server.js';

const cleanup: string[] = [];

test.after(async () => {
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

test('prints `strata listening on HOST:PORT` with the real port, and exits 0 on SIGTERM', async () => {
  const srv = await startServer();
  cleanup.push(srv.dataDir);
  assert.match(srv.address, /^127\.0\.0\.1:\d+$/);
  assert.ok(Number(srv.address.split(':')[1]) > 0, 'port 0 must print the bound port');
  const r = await runCli(['fs', '--address', srv.address, 'ls', '/']);
  assert.is(r.code, 0, r.stderr);
  assert.is(await srv.stop(), 0);
});

test('exits 0 on SIGINT', async () => {
  const srv = await startServer();
  cleanup.push(srv.dataDir);
  const done = new Promise((resolve) => srv.proc.once('exit', (code, signal) => resolve(code ?? signal)));
  srv.proc.kill('SIGINT');
  assert.is(await done, 0);
});

test('a restart on the same data directory keeps files and mounts', async () => {
  const dataDir = await tempDir();
  const outside = await tempDir();
  cleanup.push(dataDir, outside);
  await mkdir(join(outside, 'sub'));
  await writeFile(join(outside, 'sub', 'o.txt'), 'outside\n');
  const local = join(outside, 'local.txt');
  await writeFile(local, 'kept across restarts\n');

  let srv = await startServer({ dataDir });
  const fs = (...args: string[]) => runCli(['fs', '--address', srv.address, ...args]);
  assert.is((await fs('mkdir', '-p', '/keep/dir')).code, 0);
  assert.is((await fs('copyFromLocal', local, '/keep/dir/file.txt')).code, 0);
  assert.is((await fs('mount', '/ext', `file://${join(outside, 'sub')}`)).code, 0);
  assert.is(await srv.stop(), 0);

  srv = await startServer({ dataDir });
  try {
    const cat = await fs('cat', '/keep/dir/file.txt');
    assert.is(cat.code, 0, cat.stderr);
    assert.is(cat.stdout, 'kept across restarts\n');
    const mounts = JSON.parse((await fs('--json', 'mount')).stdout);
    assert.ok(mounts.some((m: { path: string }) => m.path === '/ext'), JSON.stringify(mounts));
    assert.is((await fs('cat', '/ext/o.txt')).stdout, 'outside\n');
  } finally {
    assert.is(await srv.stop(), 0);
  }
});

test('an unknown -D key is refused with INVALID_ARGUMENT and exit 2', async () => {
  const dataDir = await tempDir();
  cleanup.push(dataDir);
  const r = await runCli(['server', '--port', '0', '--data-dir', dataDir, '-D', 'no.such.key=1']);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /^strata: INVALID_ARGUMENT: .*no\.such\.key/m);
  assert.not.match(r.stdout, /listening/);
  const bad = await runCli(['server', '--port', '0', '--data-dir', dataDir, '-Dmetadata.sync.interval=banana']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^strata: INVALID_ARGUMENT: .*banana/m);
  const noEq = await runCli(['server', '--port', '0', '--data-dir', dataDir, '-D', 'write.type']);
  assert.is(noEq.code, 2);
  assert.match(noEq.stderr, /^strata: INVALID_ARGUMENT: /m);
});

test('an unknown --preset is refused with INVALID_ARGUMENT naming the presets', async () => {
  const dataDir = await tempDir();
  cleanup.push(dataDir);
  const r = await runCli(['server', '--port', '0', '--data-dir', dataDir, '--preset', 'yolo']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^strata: INVALID_ARGUMENT: .*yolo.*mixed/m);
});

test('bad port and unreadable or invalid config file are refused', async () => {
  const dataDir = await tempDir();
  cleanup.push(dataDir);
  const port = await runCli(['server', '--port', 'http', '--data-dir', dataDir]);
  assert.is(port.code, 2);
  assert.match(port.stderr, /^strata: INVALID_ARGUMENT: --port/m);
  const missing = await runCli(['server', '--port', '0', '--data-dir', dataDir, '--config', join(dataDir, 'nope.properties')]);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /^strata: INVALID_ARGUMENT: cannot read config file/m);
  const conf = join(dataDir, 'bad.json');
  await writeFile(conf, JSON.stringify({ 'cache.capacity': 'lots' }));
  const bad = await runCli(['server', '--port', '0', '--data-dir', dataDir, '--config', conf]);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^strata: INVALID_ARGUMENT: .*lots/m);
});

test('a preset, a properties file, a JSON file and -D start a server', async () => {
  const dataDir = await tempDir();
  cleanup.push(dataDir);
  const props = join(dataDir, 'strata.properties');
  await writeFile(props, '# comment\nmetadata.sync.interval=1min\n\ncache.capacity = 64MB\n');
  let srv = await startServer({ dataDir, args: ['--preset', 'mixed', '--config', props, '-D', 'write.type=THROUGH'] });
  assert.is(await srv.stop(), 0);
  const json = join(dataDir, 'strata.json');
  await writeFile(json, JSON.stringify({ 'metadata.load.type': 'ALWAYS', 'sync.parallelism': 4 }));
  srv = await startServer({ dataDir, args: ['--preset', 'all-through-strata', '--config', json] });
  assert.is(await srv.stop(), 0);
});

test.run();
