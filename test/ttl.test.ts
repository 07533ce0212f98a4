// TTL and free: setTtl with action free (cached data dropped, file kept and readable from
// the UFS) and delete (file gone from Strata and the UFS), cleared TTLs, TTLs surviving a
// restart, free refusing unpersisted data, and a TTL free on an ASYNC_THROUGH file that is
// not yet persisted: it never loses the file, it is retried and happens once persisted.
// The TTL checker runs every second; waits are bounded polls.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeOf, openEnv, readAll, sleep, waitFor } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;
const body = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + 9) % 251));
const ufs = (...p: string[]) => join(env.ufsDir, ...p);

test.before(async () => {
  env = await openEnv({ 'persist.initial.wait': '0ms', 'persist.max.interval': '200ms', 'cache.block.size': '64KB' });
  await env.fs.createDirectory('/slow');
  await env.fs.setPathConf('/slow', { 'persist.initial.wait': '2500ms' });
});
test.after(() => env.dispose());

test('TTL free: cached data dropped, the file stays and reads back from the UFS', async () => {
  const data = body(150_000, 3);
  await env.fs.writeFile('/tf', data);
  assert.is((await env.fs.getStatus('/tf')).cachedBytes, data.length);
  await env.fs.setTtl('/tf', 300, 'free');
  const st = await env.fs.getStatus('/tf');
  assert.is(st.ttlMs, 300);
  assert.is(st.ttlAction, 'free');
  await waitFor(async () => (await env.fs.getStatus('/tf')).cachedBytes === 0, 'TTL free', 5000);
  assert.ok(existsSync(ufs('tf')));
  assert.ok((await readAll(env.fs.readFile('/tf'))).equals(data));
});

test('TTL delete: the file is gone from Strata and from the UFS', async () => {
  await env.fs.writeFile('/td', body(10_000, 5));
  await env.fs.setTtl('/td', 200, 'delete');
  await waitFor(async () => !(await env.fs.exists('/td')), 'TTL delete', 5000);
  assert.not.ok(existsSync(ufs('td')));
});

test('TTL delete on a directory removes the subtree', async () => {
  await env.fs.createDirectory('/tdir');
  await env.fs.writeFile('/tdir/a', body(1000, 7));
  await env.fs.writeFile('/tdir/b', body(1000, 11), { writeType: 'ASYNC_THROUGH' });
  await env.fs.setTtl('/tdir', 200, 'delete');
  await waitFor(async () => !(await env.fs.exists('/tdir')), 'TTL delete of a directory', 5000);
  await sleep(300);
  assert.not.ok(existsSync(ufs('tdir')), 'the UFS directory is gone and not re-created by a persist');
  assert.is((await env.fs.getReport()).persist.pending, 0);
});

test('a TTL cleared with -1 before it expires does nothing', async () => {
  await env.fs.writeFile('/tclear', body(5000, 13));
  await env.fs.setTtl('/tclear', 800, 'delete');
  await env.fs.setTtl('/tclear', -1);
  await sleep(2100);
  assert.ok(await env.fs.exists('/tclear'));
  assert.ok(existsSync(ufs('tclear')));
});

test('TTL given at write time applies', async () => {
  await env.fs.writeFile('/twrite', body(3000, 17), { ttlMs: 200, ttlAction: 'delete' });
  await waitFor(async () => !(await env.fs.exists('/twrite')), 'TTL from writeFile', 5000);
});

test('a TTL survives a restart', async () => {
  await env.fs.writeFile('/trestart', body(3000, 19));
  await env.fs.setTtl('/trestart', 1200, 'delete');
  await env.restart();
  assert.ok(await env.fs.exists('/trestart'));
  await waitFor(async () => !(await env.fs.exists('/trestart')), 'TTL after restart', 6000);
  assert.not.ok(existsSync(ufs('trestart')));
});

test('free refuses unpersisted files (MUST_CACHE, pending ASYNC_THROUGH) and keeps their data; free DIR reports them kept', async () => {
  const mc = body(70_000, 23);
  const at = body(70_000, 29);
  await env.fs.writeFile('/slow/mc', mc, { writeType: 'MUST_CACHE' });
  await env.fs.writeFile('/slow/at', at, { writeType: 'ASYNC_THROUGH' });
  assert.is(await codeOf(env.fs.free('/slow/mc')), 'FAILED_PRECONDITION');
  assert.is(await codeOf(env.fs.free('/slow/at')), 'FAILED_PRECONDITION');
  const dir = await env.fs.free('/slow');
  assert.is(dir.keptFiles, 2, 'free of the directory succeeds and keeps both');
  let err: Error | undefined;
  try { await env.fs.free('/slow/at'); } catch (e) { err = e as Error; }
  assert.match(err!.message, /TO_BE_PERSISTED/);
  assert.is((await env.fs.getStatus('/slow/mc')).cachedBytes, mc.length);
  assert.is((await env.fs.getStatus('/slow/at')).cachedBytes, at.length);
  // unpin cannot make unpersisted data evictable
  await env.fs.setPinned('/slow/at', false);
  assert.is((await env.fs.getStatus('/slow/at')).pinned, true);
  await env.fs.delete('/slow/mc');
  await env.fs.delete('/slow/at');
});

test('TTL free on an unpersisted ASYNC_THROUGH file: never lost, freed once persisted', async () => {
  const data = body(200_000, 31);
  await env.fs.writeFile('/slow/tf', data, { writeType: 'ASYNC_THROUGH' });
  await env.fs.setTtl('/slow/tf', 100, 'free');
  // The TTL expires while the persist still waits (initial wait 2.5s): at least one check refuses.
  await sleep(1500);
  let st = await env.fs.getStatus('/slow/tf');
  assert.is(st.persistenceState, 'TO_BE_PERSISTED');
  assert.is(st.cachedBytes, data.length, 'not freed while it is the only copy');
  assert.is(st.pinned, true);
  assert.ok((await readAll(env.fs.readFile('/slow/tf'))).equals(data));
  // Once persisted, the retried TTL free drops the cached data.
  await waitFor(async () => (await env.fs.getStatus('/slow/tf')).persistenceState === 'PERSISTED', 'persist', 10_000);
  await waitFor(async () => (await env.fs.getStatus('/slow/tf')).cachedBytes === 0, 'TTL free retried after persist', 5000);
  st = await env.fs.getStatus('/slow/tf');
  assert.ok(readFileSync(ufs('slow', 'tf')).equals(data));
  assert.ok((await readAll(env.fs.readFile('/slow/tf'))).equals(data));
});

test('TTL delete on an unpersisted ASYNC_THROUGH file: deleted, never persisted', async () => {
  await env.fs.writeFile('/slow/td', body(5000, 37), { writeType: 'ASYNC_THROUGH' });
  await env.fs.setTtl('/slow/td', 100, 'delete');
  await waitFor(async () => !(await env.fs.exists('/slow/td')), 'TTL delete', 5000);
  await sleep(2800);
  assert.not.ok(existsSync(ufs('slow', 'td')));
  assert.is((await env.fs.getReport()).persist.pending, 0);
});

test('the report: persist queue figures and cached bytes by state', async () => {
  const r = await env.fs.getReport();
  for (const k of ['pending', 'inFlight', 'failed', 'oldestPendingMs']) assert.type(r.persist[k], 'number', `persist.${k}`);
  assert.type(r.cache.bytesByState.evictable, 'number');
  assert.type(r.cache.bytesByState.unevictable, 'number');
  await env.fs.writeFile('/slow/rep', body(64 * 1024 * 2, 41), { writeType: 'ASYNC_THROUGH' });
  const r2 = await env.fs.getReport();
  assert.is(r2.persist.pending, 1);
  assert.ok(r2.cache.bytesByState.unevictable >= 64 * 1024 * 2);
  await sleep(20);
  assert.ok((await env.fs.getReport()).persist.oldestPendingMs > 0);
  await waitFor(async () => {
    const q = (await env.fs.getReport()).persist;
    return q.pending === 0 && q.inFlight === 0;
  }, 'persist', 10_000);
  const r3 = await env.fs.getReport();
  assert.is(r3.persist.oldestPendingMs, 0);
  assert.is(r3.cache.bytesByState.unevictable, 0);
  assert.is(r3.cache.bytesByState.evictable, r3.cache.usedBytes);
});

test('more than 1000 TTL entries that keep failing do not hide a later one', async () => {
  await env.fs.createDirectory('/stuck');
  // MUST_CACHE files whose TTL free is refused at every check (their data is the only copy).
  for (let i = 0; i < 1005; i++) await env.fs.writeFile(`/stuck/f${i}`, Buffer.from([i & 0xff]), { writeType: 'MUST_CACHE', ttlMs: 1, ttlAction: 'free' });
  await env.fs.writeFile('/behind', body(3000, 43), { ttlMs: 300, ttlAction: 'delete' });
  await waitFor(async () => !(await env.fs.exists('/behind')), 'the TTL behind the failing ones', 6000);
  assert.ok(await env.fs.exists('/stuck/f0'), 'unpersisted files are kept');
  await env.fs.delete('/stuck', { recursive: true });
});

test.run();
