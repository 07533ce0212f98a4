// The flat tree sync (sync/applier.ts, syncTreeFlat) pipelines its page commits: the apply
// of page N+1 is issued before page N's transaction has resolved (LMDB flushes a commit
// outside its write lock, so one fsync per page is not waited for in turn). And a directory
// is marked synced only once every page that held its entries has committed: a page whose
// commit fails leaves no directory that vouches for entries it lacks. Real radosgw bucket,
// real LMDB store, pages of 2 keys; the store is wrapped to hold back or fail commits.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rm } from 'node:fs/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { lmdbUri, openStrataStore } from '../src/meta/tables.js';
import type { StrataStore, StrataTxn } from '../src/meta/tables.js';
import { InodeTree } from '../src/meta/inode-tree.js';
import type { InodeRecord } from '../src/meta/inode.js';
import { syncTreeFlat } from '../src/sync/applier.js';
import type { Ufs } from '../src/ufs/ufs.js';
import { tempDir } from './helpers/fixture.js';
import { freshBucket } from './helpers/s3.js';
import type { FreshBucket } from './helpers/s3.js';

const KEYS = ['a/1', 'a/2', 'a/3', 'a/4', 'a/5', 'b/1', 'b/2', 'b/3', 'c/d/1', 'c/d/2', 'c/d/3', 'e'];
let b: FreshBucket;
const dirs: string[] = [];

test.before(async () => {
  b = await freshBucket('sync-flat-commits');
  for (const Key of KEYS) await b.client.send(new PutObjectCommand({ Bucket: b.bucket, Key: `t/${Key}`, Body: Key }));
});
test.after(async () => {
  await b?.cleanup();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function freshStore(): Promise<{ store: StrataStore; tree: InodeTree }> {
  const d = await tempDir('strata-flat-commits-');
  dirs.push(d);
  const store = openStrataStore(lmdbUri(d));
  const tree = new InodeTree(store);
  await tree.init();
  return { store, tree };
}

/** The store with `transact` replaced (the rest as it is). */
function withTransact(store: StrataStore, transact: <R>(fn: (tx: StrataTxn) => R) => Promise<R>): StrataStore {
  return new Proxy(store, { get: (t, k) => (k === 'transact' ? transact : Reflect.get(t, k, t)) });
}

/** A UFS whose recursive listing calls `onEnd` once its last page has been taken. */
function withListEnd(ufs: Ufs, onEnd: () => void): Ufs {
  return new Proxy(ufs, {
    get: (t, k) => (k === 'list'
      ? async function* (path: string, options: object) { yield* t.list(path, options); onEnd(); }
      : Reflect.get(t, k, t)),
  });
}

/** Names of every inode below the root (paths), and the directories marked synced. */
function snapshot(tree: InodeTree, startMs: number): { paths: string[]; synced: string[] } {
  const paths: string[] = [];
  const synced: string[] = [];
  const root = InodeTree.root(tree.store);
  for (const { path, inode } of tree.walk('/', root)) {
    if (path !== '/') paths.push(path);
    if (inode.type === 'directory' && (inode as InodeRecord & { syncMs?: number }).syncMs === startMs && inode.loaded) synced.push(path);
  }
  return { paths: paths.sort(), synced: synced.sort() };
}

const ALL = ['/a', '/a/1', '/a/2', '/a/3', '/a/4', '/a/5', '/b', '/b/1', '/b/2', '/b/3', '/c', '/c/d', '/c/d/1', '/c/d/2', '/c/d/3', '/e'];

test('page N+1 is applied before page N\'s commit has resolved', async () => {
  const { store, tree } = await freshStore();
  // Each commit resolves only once the next transaction has been issued (or the listing has
  // ended): a sync that waited for each page's commit before applying the next never ends.
  const issued: Array<() => void> = [];
  let ended = false;
  const wrapped = withTransact(store, <R>(fn: (tx: StrataTxn) => R): Promise<R> => {
    issued.shift()?.();
    const next = new Promise<void>((resolve) => issued.push(resolve));
    const p = store.transact(fn);
    return Promise.all([p, ended ? undefined : next]).then(([v]) => v);
  });
  const ufs = withListEnd(b.ufs('t'), () => { ended = true; for (const r of issued.splice(0)) r(); });
  const startMs = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<'stuck'>((resolve) => { timer = setTimeout(() => resolve('stuck'), 20_000); });
  const out = await Promise.race([syncTreeFlat(wrapped, ufs, { dirId: 1, dirPath: '/', ufsPath: '', startMs, pageSize: 2 }), stuck]);
  clearTimeout(timer);
  assert.ok(out !== 'stuck', 'the sync waited for a page commit before applying the next page');
  assert.is(out.summary.created, ALL.length);
  const s = snapshot(tree, startMs);
  assert.equal(s.paths, ALL);
  assert.equal(s.synced, ['/', '/a', '/b', '/c', '/c/d']);
  await store.close();
});

test('a page whose commit fails leaves no directory marked synced without its entries', async () => {
  // Fail each page's commit in turn (its callback ran; its writes are discarded and its
  // promise rejects, as a failed group commit does): whatever the later pages applied, every
  // directory marked synced holds every entry the listing has for it.
  const expected: Record<string, string[]> = {
    '/': ['/a', '/b', '/c', '/e'], '/a': ['/a/1', '/a/2', '/a/3', '/a/4', '/a/5'], '/b': ['/b/1', '/b/2', '/b/3'], '/c': ['/c/d'], '/c/d': ['/c/d/1', '/c/d/2', '/c/d/3'],
  };
  let failedSomewhere = 0;
  for (let failAt = 1; failAt <= 9; failAt++) {
    const { store, tree } = await freshStore();
    let n = 0;
    const wrapped = withTransact(store, <R>(fn: (tx: StrataTxn) => R): Promise<R> => {
      const me = ++n;
      return store.transact((tx) => {
        const r = fn(tx);
        if (me === failAt) throw new Error(`commit ${me} failed`);
        return r;
      });
    });
    const startMs = Date.now();
    const err = await syncTreeFlat(wrapped, b.ufs('t'), { dirId: 1, dirPath: '/', ufsPath: '', startMs, pageSize: 2 }).then(() => undefined, (e: Error) => e);
    if (err) {
      failedSomewhere++;
      assert.match(err.message, /commit \d+ failed/);
    }
    const s = snapshot(tree, startMs);
    for (const d of s.synced) {
      const have = s.paths.filter((p) => p.startsWith(d === '/' ? '/' : `${d}/`) && p.slice(d === '/' ? 1 : d.length + 1).indexOf('/') < 0);
      assert.equal(have, expected[d], `failing commit ${failAt}: ${d} is marked synced with children ${JSON.stringify(have)}`);
    }
    await store.close();
  }
  assert.ok(failedSomewhere >= 6, `syncs that met the failed commit: ${failedSomewhere}`);
});

test('a name listed twice in a directory the same page created (an object and a prefix) is one entry', async () => {
  // `u/n/x` (an object) and `u/n/x/y` (so also a directory x): the directory replaces the
  // file, as in any directory; no inode is left without its edge.
  for (const Key of ['u/n/x', 'u/n/x/y', 'u/n/z']) await b.client.send(new PutObjectCommand({ Bucket: b.bucket, Key, Body: Key }));
  const { store, tree } = await freshStore();
  const startMs = Date.now();
  await syncTreeFlat(store, b.ufs('u'), { dirId: 1, dirPath: '/', ufsPath: '', startMs, pageSize: 1000 });
  const s = snapshot(tree, startMs);
  assert.equal(s.paths, ['/n', '/n/x', '/n/x/y', '/n/z']);
  // (The table also holds msgpack's shared record structures under a key of their own.)
  const all = [...store.range<InodeRecord>('inode', {})].filter((r) => typeof r.value.id === 'number').map((r) => `${r.value.id}:${r.value.parentId}/${r.value.name}:${r.value.type}`);
  assert.is(all.length, s.paths.length + 1, `inodes: the walked tree and the root, not ${JSON.stringify(all)}`);
  await store.close();
});

test.run();
