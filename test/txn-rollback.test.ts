// A failed call changes nothing: a metadata transaction whose callback or apply throws part
// way commits none of its writes, and a path longer than the metadata store's key limit is
// refused with INVALID_PATH naming the limit before anything is written.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
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
