// A commit group whose flush to disk fails must fail its callers: `transact` resolves only
// once the group is durable, so a failed fsync is an error, never an acknowledgement. The
// failure is injected where lmdb-js reports it (the environment's `flushed` promise).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LmdbStore, lmdbUri } from '../src/meta/engines/lmdb/lmdb-store.js';
import { StrataError } from '../src/errors.js';
import { tempDir } from './helpers/fixture.js';

test('a failed flush rejects every transaction of its group with a typed error', async () => {
  const dir = await tempDir('lmdb-flush-');
  const store = LmdbStore.openUri<'t'>(lmdbUri(join(dir, 'meta')), { tables: ['t'] });
  try {
    await store.transact((tx) => tx.put('t', ['ok'], 1));
    const env = (store as unknown as { env: object }).env;
    Object.defineProperty(env, 'flushed', { configurable: true, get: () => Promise.reject(Object.assign(new Error('EIO: fsync failed'), { code: 'EIO' })) });
    const results = await Promise.allSettled([
      store.transact((tx) => tx.put('t', ['a'], 1)),
      store.transact((tx) => tx.put('t', ['b'], 2)),
    ]);
    for (const r of results) {
      assert.is(r.status, 'rejected');
      const err = (r as PromiseRejectedResult).reason as StrataError;
      assert.instance(err, StrataError);
      assert.is(err.code, 'INTERNAL');
      assert.match(err.message, /could not flush a commit/);
    }
    // Once the disk answers again, commits are acknowledged as before.
    delete (env as { flushed?: unknown }).flushed;
    await store.transact((tx) => tx.put('t', ['c'], 3));
    assert.is(store.get('t', ['c']), 3);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
