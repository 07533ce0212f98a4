// Ordering of namespace changes against the persist queue: a delete or rename of a file
// whose ASYNC_THROUGH persist is pending (queued, waiting for persist.initial.wait) or
// running (uploading a large multi-block file) leaves the UFS in the state the client last
// asked for: no resurrected file, nothing under the old name, the bytes under the new one.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openEnv, readAll, sleep, waitFor } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;
const MB = 1 << 20;
const body = (n: number, seed = 1) => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * seed + 5) % 251;
  return b;
};
const ufs = (...p: string[]) => join(env.ufsDir, ...p);

async function drained(): Promise<void> {
  await waitFor(async () => {
    const r = (await env.fs.getReport()).persist;
    return r.pending === 0 && r.inFlight === 0;
  }, 'the persist queue to drain', 30_000);
}

/** Files (recursively, relative) of a UFS directory, temp files included. */
function ufsTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), rel + e.name + '/');
      else out.push(rel + e.name);
    }
  };
  walk(dir, '');
  return out.sort();
}

/**
 * Write a large ASYNC_THROUGH file under /run (initial wait 0) and return once its upload is
 * running: the queue reports it in flight and its temp file exists in the UFS.
 */
async function writeAndCatchRunning(path: string, data: Buffer): Promise<boolean> {
  await env.fs.writeFile(path, data, { writeType: 'ASYNC_THROUGH', blockSize: MB });
  const dir = ufs('run');
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const r = (await env.fs.getReport()).persist;
    if (r.inFlight > 0 && existsSync(dir) && readdirSync(dir).some((n) => n.startsWith('.strata-tmp-'))) return true;
    if ((await env.fs.getStatus(path)).persistenceState === 'PERSISTED') return false;
    await new Promise((r2) => setImmediate(r2));
  }
  return false;
}

test.before(async () => {
  env = await openEnv({ 'persist.initial.wait': '0ms', 'persist.max.interval': '200ms', 'cache.block.size': '64KB' });
  await env.fs.createDirectory('/pending');
  await env.fs.createDirectory('/run');
  // Under /pending persists wait long enough for the test to act first.
  await env.fs.setPathConf('/pending', { 'persist.initial.wait': '700ms' });
});
test.after(() => env.dispose());

test('delete during a pending persist: the file never appears in the UFS', async () => {
  const data = body(200_000, 3);
  await env.fs.writeFile('/pending/del', data, { writeType: 'ASYNC_THROUGH' });
  assert.is((await env.fs.getReport()).persist.pending, 1);
  await env.fs.delete('/pending/del');
  assert.is((await env.fs.getReport()).persist.pending, 0, 'the delete cancels the job');
  await sleep(900);
  await drained();
  assert.not.ok(existsSync(ufs('pending', 'del')));
  assert.equal(ufsTree(ufs('pending')), []);
  assert.not.ok(await env.fs.exists('/pending/del'));
});

test('delete during a running persist: the UFS ends without the file', async () => {
  let caught = false;
  for (let attempt = 0; attempt < 3 && !caught; attempt++) {
    const data = body((32 << attempt) * MB + 123, 7);
    caught = await writeAndCatchRunning('/run/big-del', data);
    await env.fs.delete('/run/big-del');
    await drained();
    assert.not.ok(existsSync(ufs('run', 'big-del')), 'no resurrected file');
    assert.equal(ufsTree(ufs('run')), [], 'nothing left in the UFS directory');
    assert.not.ok(await env.fs.exists('/run/big-del'));
  }
  assert.ok(caught, 'the delete arrived while the upload was running');
});

test('rename during a pending persist: the UFS has the file under the new name only', async () => {
  const data = body(150_000, 11);
  await env.fs.writeFile('/pending/old', data, { writeType: 'ASYNC_THROUGH' });
  await env.fs.rename('/pending/old', '/pending/new');
  await sleep(900);
  await drained();
  assert.equal(ufsTree(ufs('pending')), ['new']);
  assert.ok(readFileSync(ufs('pending', 'new')).equals(data));
  const st = await env.fs.getStatus('/pending/new');
  assert.is(st.persistenceState, 'PERSISTED');
  assert.not.ok(await env.fs.exists('/pending/old'));
  await env.fs.delete('/pending/new');
});

test('rename of the parent directory during a pending persist', async () => {
  await env.fs.createDirectory('/pending/d1');
  const data = body(70_000, 13);
  await env.fs.writeFile('/pending/d1/f', data, { writeType: 'ASYNC_THROUGH' });
  await env.fs.rename('/pending/d1', '/pending/d2');
  await sleep(900);
  await drained();
  assert.equal(ufsTree(ufs('pending')), ['d2/f']);
  assert.not.ok(existsSync(ufs('pending', 'd1')));
  assert.ok(readFileSync(ufs('pending', 'd2', 'f')).equals(data));
  await env.fs.delete('/pending/d2', { recursive: true });
});

test('rename during a running persist: the UFS has the file under the new name only', async () => {
  let caught = false;
  for (let attempt = 0; attempt < 3 && !caught; attempt++) {
    const data = body((32 << attempt) * MB + 77, 17);
    caught = await writeAndCatchRunning('/run/big-old', data);
    await env.fs.rename('/run/big-old', '/run/big-new');
    await drained();
    assert.equal(ufsTree(ufs('run')), ['big-new'], 'only the new name, no temp file');
    assert.ok(readFileSync(ufs('run', 'big-new')).equals(data));
    assert.is((await env.fs.getStatus('/run/big-new')).persistenceState, 'PERSISTED');
    assert.ok((await readAll(env.fs.readFile('/run/big-new'))).equals(data));
    await env.fs.delete('/run/big-new');
  }
  assert.ok(caught, 'the rename arrived while the upload was running');
});

test('delete then re-create during a pending persist: the UFS ends with the new content', async () => {
  await env.fs.writeFile('/pending/again', body(10_000, 19), { writeType: 'ASYNC_THROUGH' });
  await env.fs.delete('/pending/again');
  const second = body(20_000, 23);
  await env.fs.writeFile('/pending/again', second, { writeType: 'ASYNC_THROUGH' });
  await sleep(900);
  await drained();
  assert.ok(readFileSync(ufs('pending', 'again')).equals(second));
  await env.fs.delete('/pending/again');
});

test('delete of a persisted file overwritten by a pending ASYNC_THROUGH write: no resurrected old copy', async () => {
  const v1 = body(30_000, 29);
  await env.fs.writeFile('/pending/ow-del', v1, { writeType: 'CACHE_THROUGH' });
  assert.ok(readFileSync(ufs('pending', 'ow-del')).equals(v1));
  await env.fs.writeFile('/pending/ow-del', body(40_000, 31), { writeType: 'ASYNC_THROUGH', overwrite: true });
  await env.fs.delete('/pending/ow-del');
  await sleep(900);
  await drained();
  assert.not.ok(existsSync(ufs('pending', 'ow-del')), 'the old UFS copy is gone with the delete');
  // A fresh look at the UFS must not bring it back.
  await env.fs.needsSync('/pending');
  assert.not.ok(await env.fs.exists('/pending/ow-del', { syncIntervalMs: 0 }));
});

test('rename of a persisted file overwritten by a pending ASYNC_THROUGH write: nothing under the old name', async () => {
  const v1 = body(30_000, 37);
  const v2 = body(45_000, 41);
  await env.fs.writeFile('/pending/ow-old', v1, { writeType: 'CACHE_THROUGH' });
  await env.fs.writeFile('/pending/ow-old', v2, { writeType: 'ASYNC_THROUGH', overwrite: true });
  await env.fs.rename('/pending/ow-old', '/pending/ow-new');
  await sleep(900);
  await drained();
  assert.equal(ufsTree(ufs('pending')), ['ow-new']);
  assert.ok(readFileSync(ufs('pending', 'ow-new')).equals(v2), 'the new name has the latest bytes');
  await env.fs.delete('/pending/ow-new');
});

test('a metadata sync during a pending persist keeps the acknowledged bytes over an older UFS copy', async () => {
  const v1 = body(30_000, 43);
  const v2 = body(35_000, 47);
  await env.fs.writeFile('/pending/ow-sync', v1, { writeType: 'CACHE_THROUGH' });
  await env.fs.writeFile('/pending/ow-sync', v2, { writeType: 'ASYNC_THROUGH', overwrite: true });
  const st = await env.fs.getStatus('/pending/ow-sync', { syncIntervalMs: 0 });
  assert.is(st.persistenceState, 'TO_BE_PERSISTED');
  assert.is(st.length, v2.length);
  for await (const _ of env.fs.listStatus('/pending', { syncIntervalMs: 0 })) { /* sync the listing */ }
  await env.fs.loadMetadata('/pending', { recursive: true });
  assert.ok((await readAll(env.fs.readFile('/pending/ow-sync'))).equals(v2), 'the acknowledged bytes survive the sync');
  await sleep(900);
  await drained();
  assert.ok(readFileSync(ufs('pending', 'ow-sync')).equals(v2));
  await env.fs.delete('/pending/ow-sync');
});

test.run();
