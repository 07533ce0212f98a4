// Write types and read types: where the bytes land (cache, UFS), the persistence state,
// ASYNC_THROUGH persisting after persist.initial.wait, zero UFS calls on a hot read, and
// NO_CACHE reads caching nothing. UFS calls are counted through getReport().ufsCalls.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeOf, openEnv, readAll, readText, ufsCounter, waitFor } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;
const body = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + 7) % 251));

test.before(async () => {
  env = await openEnv({ 'persist.initial.wait': '100ms', 'cache.block.size': '64KB' });
});
test.after(() => env.dispose());

test('MUST_CACHE: cached, NOT_PERSISTED, not in the UFS, readable', async () => {
  const data = body(100_000);
  const info = await env.fs.writeFile('/mc', data, { writeType: 'MUST_CACHE' });
  assert.is(info.persistenceState, 'NOT_PERSISTED');
  assert.is(info.cachedBytes, data.length);
  assert.not.ok(existsSync(join(env.ufsDir, 'mc')));
  assert.ok((await readAll(env.fs.readFile('/mc'))).equals(data));
  // the only copy: free refuses it
  assert.is(await codeOf(env.fs.free('/mc')), 'FAILED_PRECONDITION');
  assert.is((await env.fs.getStatus('/mc')).cachedBytes, data.length);
  // persist writes it to the UFS later
  await env.fs.persist('/mc');
  const st = await env.fs.getStatus('/mc');
  assert.is(st.persistenceState, 'PERSISTED');
  assert.ok(readFileSync(join(env.ufsDir, 'mc')).equals(data));
});

test('THROUGH: in the UFS, nothing cached, PERSISTED', async () => {
  const data = body(70_000, 3);
  const c = await ufsCounter(env.fs);
  const info = await env.fs.writeFile('/th', data, { writeType: 'THROUGH' });
  assert.is(info.persistenceState, 'PERSISTED');
  assert.is(info.cachedBytes, 0);
  assert.ok(readFileSync(join(env.ufsDir, 'th')).equals(data));
  assert.is((await c.delta()).write, 1);
  assert.is((await env.fs.getStatus('/th')).cachedBytes, 0);
});

test('CACHE_THROUGH (default): in the UFS and in the cache; a hot read makes zero UFS calls', async () => {
  const data = body(200_000, 5);
  const info = await env.fs.writeFile('/ct', data);
  assert.is(info.persistenceState, 'PERSISTED');
  assert.is(info.cachedBytes, data.length);
  assert.ok(readFileSync(join(env.ufsDir, 'ct')).equals(data));
  const c = await ufsCounter(env.fs);
  const hitsBefore = (await env.fs.getReport()).cache.hits;
  for (let i = 0; i < 3; i++) assert.ok((await readAll(env.fs.readFile('/ct'))).equals(data));
  await env.fs.getStatus('/ct');
  assert.equal(await c.delta(), {});
  assert.ok((await env.fs.getReport()).cache.hits > hitsBefore);
});

test('cold read under CACHE caches; the second read is hot (zero UFS calls)', async () => {
  const data = body(150_000, 11);
  writeFileSync(join(env.ufsDir, 'outside.bin'), data);
  const c1 = await ufsCounter(env.fs);
  assert.ok((await readAll(env.fs.readFile('/outside.bin'))).equals(data));
  assert.ok(((await c1.delta()).read ?? 0) >= 1);
  assert.is((await env.fs.getStatus('/outside.bin')).cachedBytes, data.length);
  const c2 = await ufsCounter(env.fs);
  assert.ok((await readAll(env.fs.readFile('/outside.bin'))).equals(data));
  assert.equal(await c2.delta(), {});
});

test('a ranged cold read caches only what was read (whole blocks)', async () => {
  const data = body(64 * 1024 * 4, 13); // 4 blocks of 64KB
  writeFileSync(join(env.ufsDir, 'ranged.bin'), data);
  const got = await readAll(env.fs.readFile('/ranged.bin', { offset: 64 * 1024 + 10, length: 100 }));
  assert.ok(got.equals(data.subarray(64 * 1024 + 10, 64 * 1024 + 110)));
  assert.is((await env.fs.getStatus('/ranged.bin')).cachedBytes, 64 * 1024);
});

test('NO_CACHE read caches nothing and still reads the bytes', async () => {
  const data = body(90_000, 17);
  writeFileSync(join(env.ufsDir, 'nocache.bin'), data);
  const usedBefore = (await env.fs.getReport()).cache.usedBytes;
  const c = await ufsCounter(env.fs);
  assert.ok((await readAll(env.fs.readFile('/nocache.bin', { readType: 'NO_CACHE' }))).equals(data));
  assert.ok(((await c.delta()).read ?? 0) >= 1);
  assert.is((await env.fs.getStatus('/nocache.bin')).cachedBytes, 0);
  assert.is((await env.fs.getReport()).cache.usedBytes, usedBefore);
  // a second NO_CACHE read goes to the UFS again
  const c2 = await ufsCounter(env.fs);
  await readAll(env.fs.readFile('/nocache.bin', { readType: 'NO_CACHE' }));
  assert.ok(((await c2.delta()).read ?? 0) >= 1);
});

test('ASYNC_THROUGH: TO_BE_PERSISTED at once, PERSISTED after persist.initial.wait', async () => {
  const data = body(80_000, 19);
  const info = await env.fs.writeFile('/async', data, { writeType: 'ASYNC_THROUGH' });
  assert.is(info.persistenceState, 'TO_BE_PERSISTED');
  assert.is(info.cachedBytes, data.length);
  assert.ok((await readAll(env.fs.readFile('/async'))).equals(data));
  await waitFor(async () => (await env.fs.getStatus('/async')).persistenceState === 'PERSISTED', 'ASYNC_THROUGH persist');
  assert.ok(readFileSync(join(env.ufsDir, 'async')).equals(data));
  const st = await env.fs.getStatus('/async');
  assert.is(st.cachedBytes, data.length);
  assert.is(st.pinned, false);
  // The job leaves the queue just after the file is marked PERSISTED (its clean-up goes last).
  await waitFor(async () => (await env.fs.getReport()).persist.pending === 0, 'persist job cleared');
  const r = await env.fs.getReport();
  assert.ok((r.persist.persisted ?? 0) >= 1);
});

test('write type as a per-path default (pathConf write.type)', async () => {
  await env.fs.createDirectory('/scratch');
  await env.fs.setPathConf('/scratch', { 'write.type': 'MUST_CACHE' });
  const info = await env.fs.writeFile('/scratch/tmp', Buffer.from('scratch'));
  assert.is(info.persistenceState, 'NOT_PERSISTED');
  assert.not.ok(existsSync(join(env.ufsDir, 'scratch', 'tmp')));
  // a per-call write type wins
  const info2 = await env.fs.writeFile('/scratch/kept', Buffer.from('kept'), { writeType: 'THROUGH' });
  assert.is(info2.persistenceState, 'PERSISTED');
  assert.ok(existsSync(join(env.ufsDir, 'scratch', 'kept')));
  await env.fs.removePathConf('/scratch');
  assert.is(await readText(env.fs, '/scratch/tmp'), 'scratch');
});

test.run();
