// Cold read-ahead of the data path: a sequential read of a file not yet cached fetches the
// next READ_AHEAD_BLOCKS uncached blocks from the UFS in the background while it serves the
// current one (counted through the instrumented UFS: its `read` calls), never more than that
// ahead of the reader, never past the read's range, not at all when the cache is too small to
// hold them, and the bytes served are the file's. Blocks fetched for a content id that was
// replaced meanwhile are not left in the cache.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { READ_AHEAD_BLOCKS } from '../src/data/data-path.js';
import { openEnv, ufsCounter, waitFor } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

const BLOCK = 1 << 20;
let env: Env;

test.before(async () => {
  env = await openEnv({ 'cache.block.size': '1MB', 'cache.capacity': '256MB' });
});

test.after(async () => {
  await env?.dispose();
});

const reads = async (c: Awaited<ReturnType<typeof ufsCounter>>): Promise<number> => (await c.delta()).read ?? 0;

test('a cold sequential read fetches the next blocks ahead, bounded, and serves the right bytes', async () => {
  const bytes = randomBytes(10 * BLOCK + 12345);
  await writeFile(join(env.ufsDir, 'cold.bin'), bytes);
  await env.fs.getStatus('/cold.bin'); // loaded from the UFS, nothing cached
  const counter = await ufsCounter(env.fs);
  const aheadBefore = (await env.fs.getReport()).cache.readAheadBlocks ?? 0;
  const it = env.fs.readFile('/cold.bin')[Symbol.asyncIterator]();
  const parts: Uint8Array[] = [];
  const first = await it.next();
  assert.ok(!first.done);
  parts.push(first.value);
  // The reader holds its first chunk: block 0 and the READ_AHEAD_BLOCKS after it are fetched, no more.
  await waitFor(async () => (await reads(counter)) >= 1 + READ_AHEAD_BLOCKS, 'read-ahead UFS reads');
  assert.is(await reads(counter), 1 + READ_AHEAD_BLOCKS, 'one block served, READ_AHEAD_BLOCKS fetched ahead');
  assert.is((await env.fs.getReport()).cache.readAheadBlocks! - aheadBefore, READ_AHEAD_BLOCKS);
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    parts.push(r.value);
  }
  assert.ok(Buffer.concat(parts).equals(bytes), 'the bytes read are the file\'s');
  // Every block came from the UFS exactly once (read-ahead fetches are the reads, not extra ones).
  assert.is(await reads(counter), 11, 'one UFS read per block');
  const info = await env.fs.getStatus('/cold.bin');
  assert.is(info.cachedBytes, bytes.length, 'every block is cached');
  // Hot now: a second read makes no UFS call.
  const hot = await ufsCounter(env.fs);
  let n = 0;
  for await (const c of env.fs.readFile('/cold.bin')) n += c.length;
  assert.is(n, bytes.length);
  assert.is(await hot.total(), 0);
});

test('read-ahead stays within the read\'s range', async () => {
  const bytes = randomBytes(8 * BLOCK);
  await writeFile(join(env.ufsDir, 'ranged.bin'), bytes);
  await env.fs.getStatus('/ranged.bin');
  const counter = await ufsCounter(env.fs);
  const parts: Uint8Array[] = [];
  for await (const c of env.fs.readFile('/ranged.bin', { offset: BLOCK + 10, length: 2 * BLOCK })) parts.push(c);
  assert.ok(Buffer.concat(parts).equals(bytes.subarray(BLOCK + 10, 3 * BLOCK + 10)));
  assert.is(await reads(counter), 3, 'blocks 1, 2 and 3 only');
  assert.is((await env.fs.getStatus('/ranged.bin')).cachedBytes, 3 * BLOCK);
});

test('a cache too small for the read-ahead fetches block by block', async () => {
  const small = await openEnv({ 'cache.block.size': '1MB', 'cache.capacity': '3MB' });
  try {
    const bytes = randomBytes(6 * BLOCK);
    await writeFile(join(small.ufsDir, 'f.bin'), bytes);
    await small.fs.getStatus('/f.bin');
    const counter = await ufsCounter(small.fs);
    const it = small.fs.readFile('/f.bin')[Symbol.asyncIterator]();
    const parts: Uint8Array[] = [];
    const first = await it.next();
    parts.push(first.value as Uint8Array);
    assert.is(await reads(counter), 1, 'nothing fetched ahead (a quarter of the cache is less than a block)');
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      parts.push(r.value);
    }
    assert.ok(Buffer.concat(parts).equals(bytes));
    assert.is((await small.fs.getReport()).cache.readAheadBlocks ?? 0, 0);
  } finally {
    await small.dispose();
  }
});

test('cache.read.ahead.blocks sets the depth (0: none)', async () => {
  for (const depth of [0, 2]) {
    const e = await openEnv({ 'cache.block.size': '1MB', 'cache.capacity': '256MB', 'cache.read.ahead.blocks': String(depth) });
    try {
      const bytes = randomBytes(6 * BLOCK);
      await writeFile(join(e.ufsDir, 'f.bin'), bytes);
      await e.fs.getStatus('/f.bin');
      const counter = await ufsCounter(e.fs);
      const it = e.fs.readFile('/f.bin')[Symbol.asyncIterator]();
      const parts: Uint8Array[] = [(await it.next()).value as Uint8Array];
      await waitFor(async () => (await reads(counter)) >= 1 + depth, `${depth} blocks ahead`);
      assert.is(await reads(counter), 1 + depth);
      assert.is((await e.fs.getReport()).cache.readAheadBlocks ?? 0, depth);
      for (;;) {
        const r = await it.next();
        if (r.done) break;
        parts.push(r.value);
      }
      assert.ok(Buffer.concat(parts).equals(bytes));
    } finally {
      await e.dispose();
    }
  }
});

test('blocks fetched ahead for a replaced file are not kept in the cache', async () => {
  const bytes = randomBytes(6 * BLOCK);
  await writeFile(join(env.ufsDir, 'replaced.bin'), bytes);
  const before = await env.fs.getStatus('/replaced.bin');
  const counter = await ufsCounter(env.fs);
  const it = env.fs.readFile('/replaced.bin')[Symbol.asyncIterator]();
  await it.next(); // block 0 served, blocks 1..4 being fetched
  await env.fs.writeFile('/replaced.bin', Buffer.from('new content'), { overwrite: true });
  await waitFor(async () => (await reads(counter)) >= 1 + READ_AHEAD_BLOCKS, 'read-ahead UFS reads');
  await it.return?.(undefined);
  // The fetches have ended (their reads counted); give their cache puts a turn to land if they would.
  await waitFor(() => env.fs.blocks.cachedBytes(before.fileId) === 0, 'the old content id holds no block', 5_000);
  assert.is(env.fs.blocks.cachedBytes(before.fileId), 0);
});

test.run();
