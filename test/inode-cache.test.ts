// The decoded-inode cache of InodeTree: lookups are answered from it while no inode changes,
// and a commit that changes an inode — in this thread or in a worker thread that opened the
// same LMDB store, as the sync workers do — is seen at the next lookup (no stale record).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { lmdbUri, openStrataStore } from '../src/meta/tables.js';
import type { StrataStore } from '../src/meta/tables.js';
import { InodeTree } from '../src/meta/inode-tree.js';

/** Run `body` in a worker thread on the compiled tree (dist/, as the sync workers run) over the store at `uri`. */
function inWorker(uri: string, body: string): Promise<void> {
  const dist = new URL('../dist/meta/', import.meta.url).href;
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    (async () => {
      const { openStrataStore } = await import(${JSON.stringify(dist + 'tables.js')});
      const { InodeTree } = await import(${JSON.stringify(dist + 'inode-tree.js')});
      const store = openStrataStore(workerData.uri);
      try { ${body} } finally { await store.close(); }
      parentPort.postMessage('ok');
    })().catch((e) => parentPort.postMessage('error: ' + (e && e.stack || e)));`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { uri } });
    const timer = setTimeout(() => { void w.terminate(); reject(new Error('worker timed out')); }, 30_000);
    w.once('message', (m: string) => {
      clearTimeout(timer);
      void w.terminate();
      if (m === 'ok') resolve(); else reject(new Error(m));
    });
    w.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

async function fixture(): Promise<{ dir: string; uri: string; store: StrataStore; tree: InodeTree; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-inode-cache-'));
  const uri = lmdbUri(join(dir, 'meta'));
  const store = openStrataStore(uri);
  const tree = new InodeTree(store);
  await tree.init();
  await store.transact((tx) => {
    const root = InodeTree.root(tx);
    const d = InodeTree.create(tx, root, 'd', { type: 'directory' });
    InodeTree.create(tx, d, 'f', { type: 'file', length: 1 });
  });
  return { dir, uri, store, tree, close: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
}

test('lookups are served from the cache until this thread commits a change', async () => {
  const f = await fixture();
  try {
    const a = f.tree.require('/d/f');
    const missesBefore = f.tree.cache.misses;
    for (let i = 0; i < 10; i++) assert.is(f.tree.require('/d/f').length, 1);
    assert.is(f.tree.cache.misses, missesBefore, 'repeated lookups read no inode from the store');
    assert.ok(f.tree.cache.hits + f.tree.cache.pathHits >= 10, "answered from the cache (records or whole resolutions)");
    await f.store.transact((tx) => { InodeTree.modify(tx, a.id, (cur) => ({ ...cur, length: 2 })); });
    assert.is(f.tree.require('/d/f').length, 2);
    await f.store.transact((tx) => { InodeTree.move(tx, InodeTree.get(tx, a.id)!, InodeTree.root(tx), 'g'); });
    assert.is(f.tree.resolve('/d/f').inode, undefined);
    assert.is(f.tree.require('/g').id, a.id);
    await f.store.transact((tx) => { InodeTree.removeSubtree(tx, InodeTree.get(tx, a.id)!); });
    assert.is(f.tree.getInode(a.id), undefined);
    assert.equal(f.tree.listChildren(f.tree.require('/d').id), []);
  } finally {
    await f.close();
  }
});

test('a commit in another thread (as the sync workers make) is seen at the next lookup', async () => {
  const f = await fixture();
  try {
    const file = f.tree.require('/d/f');
    const dirId = f.tree.require('/d').id;
    assert.is(f.tree.listChildren(dirId).length, 1);
    f.tree.require('/d/f'); // cached now
    const misses = f.tree.cache.misses;
    f.tree.require('/d/f');
    assert.is(f.tree.cache.misses, misses, 'the record is cached before the worker writes');

    await inWorker(f.uri, `await store.transact((tx) => { InodeTree.modify(tx, ${file.id}, (cur) => ({ ...cur, length: 42, mtimeMs: 7 })); });`);
    const after = f.tree.require('/d/f');
    assert.is(after.length, 42);
    assert.is(after.mtimeMs, 7);
    assert.is(f.tree.listChildren(dirId)[0]!.length, 42);

    await inWorker(f.uri, `await store.transact((tx) => {
      const d = InodeTree.get(tx, ${dirId});
      InodeTree.create(tx, d, 'new', { type: 'file', length: 5 });
      InodeTree.removeSubtree(tx, InodeTree.get(tx, ${file.id}));
    });`);
    assert.is(f.tree.resolve('/d/f').inode, undefined);
    assert.is(f.tree.require('/d/new').length, 5);
    assert.equal(f.tree.listChildren(dirId).map((c) => c.name), ['new']);
    assert.is(f.tree.getInode(file.id), undefined);
  } finally {
    await f.close();
  }
});

test('path resolutions are kept per epoch: a hit while unchanged, a fresh walk after any commit (missing paths too)', async () => {
  const f = await fixture();
  try {
    assert.is(f.tree.resolve('/d/x').inode, undefined);
    const hits = f.tree.cache.pathHits;
    assert.is(f.tree.resolve('/d/x').found, 1);
    assert.is(f.tree.require('/d/f').length, 1);
    assert.is(f.tree.require('/d/f').length, 1);
    assert.ok(f.tree.cache.pathHits >= hits + 2, 'repeated resolutions are answered from the cache');
    assert.ok(Object.isFrozen(f.tree.resolve('/d/f').chain), 'a kept resolution is immutable');
    const dirId = f.tree.require('/d').id;
    await f.store.transact((tx) => { InodeTree.create(tx, InodeTree.get(tx, dirId)!, 'x', { type: 'file', length: 3 }); });
    assert.is(f.tree.require('/d/x').length, 3, 'a missing path created since is found');
    await inWorker(f.uri, `await store.transact((tx) => { InodeTree.removeSubtree(tx, InodeTree.get(tx, ${f.tree.require('/d/x').id})); });`);
    assert.is(f.tree.resolve('/d/x').inode, undefined, 'a path removed by another thread is gone');
    const file = f.tree.require('/d/f');
    await f.store.transact((tx) => { InodeTree.move(tx, InodeTree.get(tx, dirId)!, InodeTree.root(tx), 'e'); });
    assert.is(f.tree.resolve('/d/f').inode, undefined, 'the old path of a moved directory resolves no more');
    assert.is(f.tree.require('/e/f').id, file.id);
  } finally {
    await f.close();
  }
});

test('the epoch is read once per synchronous stretch, and again after it; an awaited commit is always seen', async () => {
  const f = await fixture();
  try {
    await Promise.resolve(); // a fresh stretch
    const reads = f.tree.cache.epochReads;
    for (let i = 0; i < 64; i++) assert.is(f.tree.require('/d/f').length, 1);
    f.tree.listChildren(f.tree.require('/d').id);
    assert.is(f.tree.cache.epochReads, reads + 1, '64 lookups and a listing in one stretch read the epoch once');
    await Promise.resolve();
    f.tree.require('/d/f');
    assert.is(f.tree.cache.epochReads, reads + 2, 'the next stretch reads it again');
    // A commit started in this stretch: seen by whatever runs once it has resolved.
    const id = f.tree.require('/d/f').id;
    const done = f.store.transact((tx) => { InodeTree.modify(tx, id, (cur) => ({ ...cur, length: 9 })); });
    await done;
    assert.is(f.tree.require('/d/f').length, 9);
    await Promise.all([
      f.store.transact((tx) => { InodeTree.modify(tx, id, (cur) => ({ ...cur, length: 10 })); }).then(() => {
        assert.is(f.tree.require('/d/f').length, 10, 'a continuation of the commit sees it');
      }),
      Promise.resolve().then(() => { f.tree.require('/d/f'); }), // a lookup between the commit and its resolution
    ]);
    assert.is(f.tree.require('/d/f').length, 10);
  } finally {
    await f.close();
  }
});

test('the cache stays bounded', async () => {
  const f = await fixture();
  try {
    await f.store.transact((tx) => {
      const d = InodeTree.child(tx, 1, 'd')!;
      for (let i = 0; i < 3000; i++) InodeTree.create(tx, d, `c${i}`, { type: 'file' });
    });
    const small = new (f.tree.cache.constructor as new (s: StrataStore, n: number) => InodeTree['cache'])(f.store, 1000);
    small.validate();
    for (const { id } of InodeTree.childEntries(f.store, f.tree.require('/d').id)) assert.ok(small.get(id));
    assert.ok(small.size <= 1000);
  } finally {
    await f.close();
  }
});

test.run();
