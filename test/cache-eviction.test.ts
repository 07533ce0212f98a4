// The block cache with a small capacity: LRU eviction of persisted blocks only,
// RESOURCE_EXHAUSTED when the cache is full of unevictable (MUST_CACHE) data, free refusing
// unpersisted files, pin keeping blocks, and evicted data re-read from the UFS.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { codeOf, openEnv, readAll, ufsCounter } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

const BLOCK = 16 * 1024;
const CAPACITY = 8 * BLOCK; // 128KB
let env: Env;
const block = (tag: number, blocks = 1) => Buffer.alloc(BLOCK * blocks, tag);

test.before(async () => {
  env = await openEnv({ 'cache.capacity': String(CAPACITY), 'cache.block.size': String(BLOCK) });
});
test.after(() => env.dispose());

const cached = async (p: string) => (await env.fs.getStatus(p)).cachedBytes;

test('capacity is reported', async () => {
  const r = await env.fs.getReport();
  assert.is(r.cache.capacityBytes, CAPACITY);
  assert.is(r.cache.usedBytes, 0);
});

test('LRU eviction of persisted blocks: least recently read goes first', async () => {
  // 8 one-block files fill the cache.
  for (let i = 0; i < 8; i++) await env.fs.writeFile(`/p${i}`, block(i));
  assert.is((await env.fs.getReport()).cache.usedBytes, CAPACITY);
  // Touch p0 so that p1 is the least recently used.
  await readAll(env.fs.readFile('/p0'));
  await env.fs.writeFile('/p8', block(8));
  assert.is(await cached('/p1'), 0, 'p1 (LRU) evicted');
  assert.is(await cached('/p0'), BLOCK, 'p0 (recently read) kept');
  assert.is(await cached('/p8'), BLOCK);
  const r = await env.fs.getReport();
  assert.ok(r.cache.usedBytes <= CAPACITY);
  assert.ok(r.cache.evictedBytes >= BLOCK);
  // The evicted file is read again from the UFS, correctly.
  const c = await ufsCounter(env.fs);
  assert.ok((await readAll(env.fs.readFile('/p1'))).equals(block(1)));
  assert.ok(((await c.delta()).read ?? 0) >= 1);
});

test('pinned blocks are not evicted', async () => {
  await env.fs.setPinned('/p0', true);
  for (let i = 10; i < 20; i++) await env.fs.writeFile(`/q${i}`, block(i));
  assert.is(await cached('/p0'), BLOCK, 'pinned p0 kept');
  assert.ok((await env.fs.getReport()).cache.usedBytes <= CAPACITY);
  assert.is(await codeOf(env.fs.free('/p0')), 'FAILED_PRECONDITION');
  await env.fs.setPinned('/p0', false);
});

test('free drops persisted data; the file stays readable from the UFS', async () => {
  const r = await env.fs.free('/q19');
  assert.is(r.bytes, BLOCK);
  assert.is(await cached('/q19'), 0);
  assert.ok((await readAll(env.fs.readFile('/q19'))).equals(block(19)));
});

test('MUST_CACHE blocks are never evicted; a full cache gives RESOURCE_EXHAUSTED', async () => {
  await env.fs.free('/', { recursive: true });
  assert.is((await env.fs.getReport()).cache.usedBytes, 0);
  for (let i = 0; i < 6; i++) await env.fs.writeFile(`/mc${i}`, block(100 + i), { writeType: 'MUST_CACHE' });
  // Persisted data fills the rest, then more persisted data evicts only persisted blocks.
  for (let i = 0; i < 6; i++) await env.fs.writeFile(`/pp${i}`, block(50 + i));
  for (let i = 0; i < 6; i++) assert.is(await cached(`/mc${i}`), BLOCK, `mc${i} kept`);
  assert.ok((await env.fs.getReport()).cache.usedBytes <= CAPACITY);
  // Fill the cache with MUST_CACHE data, then one more block cannot fit.
  await env.fs.writeFile('/mc6', block(106, 2), { writeType: 'MUST_CACHE' });
  assert.is(await codeOf(env.fs.writeFile('/mc7', block(107), { writeType: 'MUST_CACHE' })), 'RESOURCE_EXHAUSTED');
  assert.not.ok(await env.fs.exists('/mc7'));
  assert.is(await codeOf(env.fs.writeFile('/at7', block(107), { writeType: 'ASYNC_THROUGH' })), 'RESOURCE_EXHAUSTED');
  // Every MUST_CACHE file is intact.
  for (let i = 0; i < 6; i++) assert.ok((await readAll(env.fs.readFile(`/mc${i}`))).equals(block(100 + i)), `mc${i}`);
  assert.ok((await readAll(env.fs.readFile('/mc6'))).equals(block(106, 2)));
  // A cold read of a persisted file still works (served uncached) while the cache is full.
  assert.ok((await readAll(env.fs.readFile('/pp0'))).equals(block(50)));
  // free refuses unpersisted data and leaves it.
  assert.is(await codeOf(env.fs.free('/mc0')), 'FAILED_PRECONDITION');
  assert.is(await cached('/mc0'), BLOCK);
  // Persisting makes it evictable; deleting frees it.
  await env.fs.persist('/mc0');
  await env.fs.delete('/mc1');
  await env.fs.writeFile('/after', block(7, 2), { writeType: 'MUST_CACHE' });
  assert.is(await cached('/after'), 2 * BLOCK);
  assert.is(await cached('/mc0'), 0, 'persisted mc0 was evicted to make room');
  assert.ok((await readAll(env.fs.readFile('/mc0'))).equals(block(100)));
});

test('a failed write leaves no partial cached data behind', async () => {
  const used = (await env.fs.getReport()).cache.usedBytes;
  assert.is(await codeOf(env.fs.writeFile('/big-mc', block(9, 20), { writeType: 'MUST_CACHE' })), 'RESOURCE_EXHAUSTED');
  assert.is((await env.fs.getReport()).cache.usedBytes, used);
  assert.not.ok(await env.fs.exists('/big-mc'));
});

test.run();
