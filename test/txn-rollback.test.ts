// A failed call changes nothing: a metadata transaction whose callback or apply throws part
// way commits none of its writes, and a path longer than the metadata store's key limit is
// refused with INVALID_PATH naming the limit before anything is written.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as lmdb from 'lmdb';
import { MAX_KEY_BYTES } from '../src/meta/engines/lmdb/lmdb-store.js';
import { lmdbUri, openStrataStore } from '../src/meta/tables.js';
import { MAX_PATH_BYTES } from '../src/meta/path.js';
import { rejects } from './helpers/assert.js';
import { codeOf, openEnv, readText, tempDir } from './helpers/fixture.js';

test('a transaction that throws after some writes commits none of them', async () => {
  const dir = await tempDir('strata-txn-');
  const store = openStrataStore(lmdbUri(join(dir, 'meta')));
  try {
    await rejects(store.transact((tx) => {
      tx.put('sys', 'a', 1);
      tx.put('absent', 'k'.repeat(MAX_KEY_BYTES + 10), { ms: 1 });
    }), 'INVALID_PATH');
    assert.is(store.get('sys', 'a'), undefined, 'the write before the over-long key is not committed');
    await store.transact((tx) => { tx.put('sys', 'b', 1); tx.del('sys', 'b'); tx.put('sys', 'c', 2); });
    assert.is(store.get('sys', 'c'), 2);
    try {
      await store.transact((tx) => { tx.put('sys', 'd', 1); throw new Error('boom'); });
      assert.unreachable();
    } catch (err) {
      assert.is((err as Error).message, 'boom');
    }
    assert.is(store.get('sys', 'd'), undefined);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** lmdb-js's own key encoder (the size LMDB is given). */
const encodedSize = (key: unknown): number => (lmdb as unknown as { keyValueToBuffer(k: unknown): Uint8Array }).keyValueToBuffer(key).length;

test('the key limit is the encoded size: keys of any characters around the limit are refused exactly when they exceed it', async () => {
  const dir = await tempDir('strata-txn-');
  const store = openStrataStore(lmdbUri(join(dir, 'meta')));
  try {
    // Characters of 1 to 4 UTF-8 bytes (a surrogate pair is 2 code units, 4 bytes), and NUL.
    const alphabet = ['a', '\u0000', '\u00e9', '\u20ac', '\ud83d\ude00', '\u0001', '~'];
    let seed = 7;
    const rand = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
    const keys: Array<[number, string]> = [];
    for (let i = 0; i < 300; i++) {
      const chars = alphabet.slice(0, 1 + rand(alphabet.length));
      const target = 1000 + rand(4500); // UTF-8 bytes aimed at: below, around and above the limit
      let name = '';
      while (Buffer.byteLength(name) < target) name += chars[rand(chars.length)]!;
      keys.push([rand(2) === 0 ? i : 2 ** 40 + i, name]);
    }
    const refused = new Set<number>();
    await store.transact((tx) => {
      keys.forEach((k, i) => {
        try {
          tx.put('edge', k, i);
        } catch (err) {
          assert.is((err as { code?: string }).code, 'INVALID_PATH');
          refused.add(i);
        }
      });
    });
    let over = 0;
    keys.forEach((k, i) => {
      const tooLong = encodedSize(k) > MAX_KEY_BYTES;
      if (tooLong) over++;
      assert.is(refused.has(i), tooLong, `key ${i} of ${encodedSize(k)} encoded bytes`);
      if (!tooLong) assert.is(store.get('edge', k), i, 'an accepted key is committed');
    });
    assert.ok(over > 20 && over < 280, `both sides of the limit are covered (${over} of 300 over it)`);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a 4 KB path is refused with INVALID_PATH naming the limit; nothing is half-written', async () => {
  const env = await openEnv();
  try {
    const segs: string[] = [];
    while (segs.join('/').length < 4200) segs.push('d'.repeat(200));
    const long = '/' + segs.join('/') + '/file';
    for (const writeType of ['MUST_CACHE', 'THROUGH', 'CACHE_THROUGH', 'ASYNC_THROUGH'] as const) {
      const err = await rejects(env.fs.writeFile(long, Buffer.from('x'), { writeType, recursive: true }), 'INVALID_PATH');
      assert.match(err.message, String(MAX_PATH_BYTES));
    }
    assert.is(await codeOf(env.fs.delete(long)), 'INVALID_PATH');
    assert.is(await codeOf(env.fs.createDirectory(long, { recursive: true })), 'INVALID_PATH');
    assert.is(await codeOf(env.fs.getStatus('/' + segs[0])), 'NOT_FOUND', 'no parent directory was created');
    assert.not.ok(existsSync(join(env.ufsDir, segs[0]!)), 'nothing in the UFS');
    // Multi-byte characters count in bytes: 1,400 three-byte characters are over the limit.
    assert.is(await codeOf(env.fs.writeFile('/' + Array.from({ length: 10 }, () => '€'.repeat(140)).join('/'), Buffer.from('x'), { recursive: true })), 'INVALID_PATH');
    // Just below the limit works end to end (write, read, delete).
    const okSegs: string[] = [];
    while ((okSegs.join('/').length + 210) < MAX_PATH_BYTES - 10) okSegs.push('e'.repeat(200));
    const ok = '/' + okSegs.join('/') + '/f';
    await env.fs.writeFile(ok, Buffer.from('fine'), { writeType: 'MUST_CACHE', recursive: true });
    assert.is(await readText(env.fs, ok), 'fine');
    await env.fs.delete(ok);
    assert.is(await codeOf(env.fs.getStatus(ok)), 'NOT_FOUND');
  } finally {
    await env.dispose();
  }
});

test.run();
