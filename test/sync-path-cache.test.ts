// The sync-time cache (src/meta/sync-path-cache.ts) owns "is a sync due": its rules on
// inode chains (own sync, parent listing, ancestor recursive sync, never a child's time,
// FORCE_SYNC, first listing, load types), its notify* writes through a store, the cache of
// recently fetched UFS statuses (a checkConsistency --repair fetches each status once), and
// the task tracker's dedupe by coverage: a recursive request for /a/b joins a running
// recursive sync of /a.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InodeRecord } from '../src/meta/inode.js';
import { InodeTree } from '../src/meta/inode-tree.js';
import { FORCE_SYNC, SyncPathCache, UfsStatusCache } from '../src/meta/sync-path-cache.js';
import { openStrataStore } from '../src/meta/tables.js';
import { list, names, openEnv } from './helpers/fixture.js';

const dir = (id: number, f: Partial<InodeRecord> = {}): InodeRecord =>
  ({ id, parentId: id - 1, name: `d${id}`, type: 'directory', length: 0, mtimeMs: 0, mode: 0o755, fileId: id, ps: 'PERSISTED', blockSize: 0, pinned: false, ttlMs: -1, ttlAction: 'free', createdMs: 0, touchMs: 0, cachedBytes: 0, ...f });
const file = (id: number, f: Partial<InodeRecord> = {}): InodeRecord => dir(id, { type: 'file', ...f });

test('shouldSyncPath: interval -1 never, 0 always, a duration when the last sync is older', () => {
  const chain = [dir(1), file(2, { syncMs: 1000 })];
  assert.is(SyncPathCache.shouldSyncPath(chain, -1, 10_000), false);
  assert.is(SyncPathCache.shouldSyncPath(chain, 0, 1000), true);
  assert.is(SyncPathCache.shouldSyncPath(chain, 5000, 5000), false);
  assert.is(SyncPathCache.shouldSyncPath(chain, 5000, 7000), true);
  assert.is(SyncPathCache.shouldSyncPath([dir(1), file(2)], 5000, 7000), true, 'never synced');
});

test('a parent listing covers a child status, an ancestor recursive sync covers a subtree, a child never covers its parent', () => {
  const now = 10_000;
  assert.is(SyncPathCache.shouldSyncPath([dir(1), dir(2, { syncMs: 9000 }), file(3)], 5000, now), false, 'the parent listed it');
  assert.is(SyncPathCache.shouldSyncPath([dir(1, { syncMs: 9000 }), dir(2), file(3)], 5000, now), true, 'a grandparent listing does not');
  assert.is(SyncPathCache.shouldSyncPath([dir(1, { syncMs: 9000, syncRec: true }), dir(2), file(3)], 5000, now), false, 'a recursive one does');
  // The directory's own listing is old though its children were synced recently.
  const parent = dir(2, { syncMs: 1000, loaded: true });
  assert.is(SyncPathCache.shouldSyncListing([dir(1), parent], 5000, 'ONCE', now), true);
  assert.is(SyncPathCache.lastSynced([dir(1), parent], true), 1000);
  // A directory's status sync (selfMs) is not a sync of its listing.
  const selfOnly = dir(2, { selfMs: 9000, loaded: true, syncMs: 1000 });
  assert.is(SyncPathCache.shouldSyncPath([dir(1), selfOnly], 5000, now), false);
  assert.is(SyncPathCache.shouldSyncListing([dir(1), selfOnly], 5000, 'ONCE', now), true);
});

test('FORCE_SYNC (needsSync) makes the next access sync whatever the interval; first listing and load types', () => {
  assert.is(SyncPathCache.shouldSyncPath([dir(1), file(2, { syncMs: FORCE_SYNC })], -1, 0), true);
  const never = dir(2);
  assert.is(SyncPathCache.shouldSyncListing([dir(1), never], -1, 'ONCE', 0), true, 'a directory never listed is listed once');
  assert.is(SyncPathCache.shouldSyncListing([dir(1), never], -1, 'NEVER', 0), false);
  const fresh = dir(2, { loaded: true, syncMs: 100 });
  assert.is(SyncPathCache.shouldSyncListing([dir(1), fresh], -1, 'ALWAYS', 200), true);
  assert.is(SyncPathCache.shouldSyncListing([dir(1), fresh], -1, 'ONCE', 200), false);
  assert.is(SyncPathCache.shouldSyncTree([dir(1), fresh], fresh, -1, 'ONCE', 200), false, 'listed, interval -1');
  assert.is(SyncPathCache.shouldSyncTree([dir(1), fresh], fresh, -1, 'ALWAYS', 200), true, 'ALWAYS, and no recursive sync covers it');
  const rec = dir(2, { loaded: true, syncMs: 100, syncRec: true });
  assert.is(SyncPathCache.shouldSyncTree([dir(1), rec], rec, -1, 'ONCE', 200), false);
  assert.is(SyncPathCache.shouldSyncTree([dir(1), rec], rec, 0, 'NEVER', 200), false);
});

test('notify* write the sync times through the store; invalidate and dropRecursive undo them', async () => {
  const store = openStrataStore('memory:');
  const tree = new InodeTree(store);
  await tree.init(0);
  try {
    const d = await store.transact((tx) => InodeTree.create(tx, InodeTree.root(tx), 'd', { type: 'directory' }, 0));
    const f = await store.transact((tx) => InodeTree.create(tx, InodeTree.get(tx, d.id)!, 'f', { type: 'file' }, 0));
    const chain = (): InodeRecord[] => tree.resolve('/d').chain;
    assert.is(SyncPathCache.shouldSyncListing(chain(), 5000, 'ONCE', 1000), true);
    await store.transact((tx) => SyncPathCache.notifyListingSynced(tx, d.id, 1000, true));
    assert.is(SyncPathCache.shouldSyncListing(chain(), 5000, 'ONCE', 2000), false);
    assert.is(SyncPathCache.shouldSyncPath(tree.resolve('/d/f').chain, 5000, 2000), false, 'the listing covers the child');
    await store.transact((tx) => SyncPathCache.notifyStatusSynced(tx, InodeTree.get(tx, f.id)!, 1500));
    assert.is(tree.getInode(f.id)!.syncMs, 1500);
    await store.transact((tx) => SyncPathCache.notifyStatusSynced(tx, InodeTree.get(tx, d.id)!, 1700));
    assert.is(tree.getInode(d.id)!.selfMs, 1700, 'a directory status goes to selfMs');
    assert.is(tree.getInode(d.id)!.syncMs, 1000, 'and leaves its listing time');
    await store.transact((tx) => SyncPathCache.invalidate(tx, d.id));
    assert.is(tree.getInode(d.id)!.syncMs, FORCE_SYNC);
    assert.is(tree.getInode(d.id)!.selfMs, undefined);
    assert.is(SyncPathCache.shouldSyncListing(chain(), -1, 'ONCE', 2000), true);
    await store.transact((tx) => SyncPathCache.notifyListingSynced(tx, d.id, 3000, true));
    await store.transact((tx) => SyncPathCache.dropRecursive(tx, d.id));
    assert.is(tree.getInode(d.id)!.syncRec, false);
  } finally {
    await store.close();
  }
});

test('UfsStatusCache answers only callers that accept the fetch time, and stays bounded', () => {
  const c = new UfsStatusCache<string | null>(3);
  c.put('/a', 'A', 100);
  c.put('/gone', null, 100);
  assert.equal(c.get('/a', 100), { status: 'A', ms: 100 });
  assert.equal(c.get('/gone', 50), { status: null, ms: 100 }, 'an absent path is cached too');
  assert.is(c.get('/a', 101), undefined, 'older than the caller accepts');
  c.put('/b', 'B', 200); c.put('/c', 'C', 200); c.put('/d', 'D', 200);
  assert.is(c.size, 3);
  assert.is(c.get('/gone', 0), undefined, 'the least recently used went first');
  c.forgetUnder('/c');
  assert.is(c.get('/c', 0), undefined);
});

test('a recursive request for /a/b joins a running recursive sync of /a (dedupe by coverage)', async () => {
  const env = await openEnv();
  try {
    for (let i = 0; i < 5; i++) {
      mkdirSync(join(env.ufsDir, 'a', 'b', `d${i}`), { recursive: true });
      for (let j = 0; j < 5; j++) writeFileSync(join(env.ufsDir, 'a', 'b', `d${i}`, `f${j}`), 'x');
    }
    await list(env.fs, '/');
    await list(env.fs, '/a');
    const before = await env.fs.getReport();
    const [outer, inner] = await Promise.all([
      env.fs.loadMetadata('/a', { recursive: true }),
      env.fs.loadMetadata('/a/b', { recursive: true }),
    ]);
    const after = await env.fs.getReport();
    assert.ok((after.sync.joined ?? 0) > (before.sync.joined ?? 0), 'the request below joined');
    assert.equal(inner, outer, 'it resolves with the covering sync');
    assert.is(outer.failed, 0);
    // One listing per directory of /a's subtree (a, b, d0..d4), not a second walk of /a/b.
    assert.is((after.ufsCalls.list ?? 0) - (before.ufsCalls.list ?? 0), 7);
    assert.is((await list(env.fs, '/a/b/d4', { loadType: 'NEVER' })).length, 5);
    // A request for a path outside it does not join.
    const joined = after.sync.joined ?? 0;
    mkdirSync(join(env.ufsDir, 'other'), { recursive: true });
    await list(env.fs, '/');
    await Promise.all([env.fs.loadMetadata('/a', { recursive: true }), env.fs.loadMetadata('/other', { recursive: true })]);
    assert.is((await env.fs.getReport()).sync.joined ?? 0, joined);
  } finally {
    await env.dispose();
  }
});

test('checkConsistency --repair reuses the statuses it fetched: one getStatus per path, changes through Strata kept', async () => {
  const env = await openEnv();
  try {
    mkdirSync(join(env.ufsDir, 'c'), { recursive: true });
    for (let i = 0; i < 4; i++) writeFileSync(join(env.ufsDir, 'c', `f${i}`), 'x');
    assert.is((await list(env.fs, '/c')).length, 4);
    rmSync(join(env.ufsDir, 'c', 'f0'));
    rmSync(join(env.ufsDir, 'c', 'f1'));
    writeFileSync(join(env.ufsDir, 'c', 'f2'), 'changed outside');
    const before = await env.fs.getReport();
    const report = await env.fs.checkConsistency('/c', { repair: true });
    const after = await env.fs.getReport();
    assert.equal([...report.inconsistent].sort(), ['/c/f0', '/c/f1', '/c/f2']);
    assert.is(report.repaired, 3);
    // /c and its four files: five statuses, none fetched again by the repair.
    assert.is((after.ufsCalls.getStatus ?? 0) - (before.ufsCalls.getStatus ?? 0), 5);
    assert.is((after.sync.statusCacheHits ?? 0) - (before.sync.statusCacheHits ?? 0), 3);
    assert.equal((await names(env.fs, '/c', { loadType: 'NEVER' })).sort(), ['f2', 'f3']);
    assert.is((await env.fs.getStatus('/c/f2')).length, 'changed outside'.length);
  } finally {
    await env.dispose();
  }
});

test.run();
