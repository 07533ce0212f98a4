// The cache, persistence and metadata-sync commands of `strata fs` as a real process against
// a real server: ASYNC_THROUGH and persist, free/load/pin, setTtl, loadMetadata's JSON
// summary, checkConsistency, needsSync, and active sync start/list/stop.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, startServer, tempDir } from './helpers/server.js';
import type { CliResult, ServerHandle } from './helpers/server.js';

let srv: ServerHandle;
let local: string;
const fs = (...args: string[]): Promise<CliResult> => runCli(['fs', '--address', srv.address, ...args]);

async function ok(p: Promise<CliResult>, what: string): Promise<CliResult> {
  const r = await p;
  assert.is(r.code, 0, `${what} failed (${r.code}): ${r.stderr}`);
  return r;
}
const stat = async (path: string): Promise<any> => JSON.parse((await ok(fs('--json', 'stat', path), `stat ${path}`)).stdout);

test.before(async () => {
  srv = await startServer({ args: ['-D', 'persist.initial.wait=100ms'] });
  local = await tempDir();
  await writeFile(join(local, 'f.bin'), Buffer.alloc(64 * 1024, 7));
});

test.after(async () => {
  if (srv) await srv.stop();
  if (local) await rm(local, { recursive: true, force: true });
  if (srv) await rm(srv.dataDir, { recursive: true, force: true });
});

test('ASYNC_THROUGH becomes PERSISTED; persist writes a MUST_CACHE file now', async () => {
  await ok(fs('copyFromLocal', '--write-type', 'ASYNC_THROUGH', join(local, 'f.bin'), '/async.bin'), 'copy');
  const deadline = Date.now() + 20_000;
  while ((await stat('/async.bin')).persistenceState !== 'PERSISTED') {
    assert.ok(Date.now() < deadline, 'ASYNC_THROUGH file not persisted within 20s');
    await new Promise((r) => setTimeout(r, 200));
  }
  await ok(fs('copyFromLocal', '--write-type', 'MUST_CACHE', join(local, 'f.bin'), '/must.bin'), 'copy');
  assert.is((await stat('/must.bin')).persistenceState, 'NOT_PERSISTED');
  const r = JSON.parse((await ok(fs('--json', 'persist', '/must.bin'), 'persist')).stdout);
  assert.is(r.files, 1);
  assert.is((await stat('/must.bin')).persistenceState, 'PERSISTED');
});

test('free drops cached bytes, load brings them back, pin/unpin flip pinned', async () => {
  await ok(fs('free', '/async.bin'), 'free');
  assert.is((await stat('/async.bin')).cachedBytes, 0);
  const loaded = JSON.parse((await ok(fs('load', '--json', '/async.bin'), 'load')).stdout);
  assert.is(loaded.files, 1);
  assert.is((await stat('/async.bin')).cachedBytes, 64 * 1024);
  await ok(fs('pin', '/async.bin'), 'pin');
  assert.is((await stat('/async.bin')).pinned, true);
  await ok(fs('unpin', '/async.bin'), 'unpin');
  assert.is((await stat('/async.bin')).pinned, false);
});

test('setTtl accepts durations and actions, refuses bad ones', async () => {
  await ok(fs('setTtl', '--action', 'free', '/async.bin', '1h'), 'setTtl');
  await ok(fs('setTtl', '/async.bin', '-1'), 'setTtl clear');
  const bad = await fs('setTtl', '/async.bin', 'tomorrow');
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^strata: INVALID_ARGUMENT: .*tomorrow/m);
});

test('loadMetadata prints {created, updated, deleted, unchanged, failed}; needsSync and checkConsistency', async () => {
  const outside = join(srv.dataDir, 'ufs', 'outside');
  await mkdir(join(outside, 'deep'), { recursive: true });
  await writeFile(join(outside, 'deep', 'x.txt'), 'x\n');
  const r = await ok(fs('loadMetadata', '-R', '/'), 'loadMetadata');
  const summary = JSON.parse(r.stdout);
  assert.equal(Object.keys(summary).sort(), ['created', 'deleted', 'failed', 'unchanged', 'updated']);
  assert.ok(summary.created >= 3, r.stdout);
  assert.is((await ok(fs('cat', '/outside/deep/x.txt'), 'cat')).stdout, 'x\n');
  await ok(fs('needsSync', '/outside'), 'needsSync');
  const cc = JSON.parse((await ok(fs('--json', 'checkConsistency', '/outside'), 'checkConsistency')).stdout);
  assert.ok(Array.isArray(cc.inconsistent));
});

test('startSync / getSyncPathList / stopSync', async () => {
  const dir = join(local, 'watched');
  await mkdir(dir);
  await ok(fs('mount', '/watched', `file://${dir}`), 'mount');
  await ok(fs('startSync', '/watched'), 'startSync');
  const list = JSON.parse((await ok(fs('--json', 'getSyncPathList'), 'getSyncPathList')).stdout);
  assert.ok(list.some((s: { path: string }) => s.path === '/watched'), JSON.stringify(list));
  await ok(fs('stopSync', '/watched'), 'stopSync');
  await ok(fs('unmount', '/watched'), 'unmount');
});

test.run();
