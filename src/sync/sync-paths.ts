// Targeted syncs of many paths committed together (active sync's batches): each path's UFS
// status is fetched with bounded parallelism, then every path's inode is made to match its
// status in one transaction — N events cost N status calls and one commit,
// not N commits in a row. Per path the rule is syncSelf's: create (with missing ancestors),
// update, or remove and remember absent; a status fetched at `startMs` never undoes a change
// made through Strata after it.

import type { BlockStore } from '../cache/block-store.js';
import { AbsentPathCache } from '../meta/absent-cache.js';
import { InodeTree } from '../meta/inode-tree.js';
import type { MetaStore, MetaTxn } from '../meta/meta-store.js';
import type { MountRecord, MountTable } from '../meta/mount-table.js';
import { joinPath, parentPath, pathComponents } from '../meta/path.js';
import { SyncPathCache } from '../meta/sync-path-cache.js';
import type { UfsStatusCache } from '../meta/sync-path-cache.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Ufs, UfsStatus } from '../ufs/ufs.js';
import { applyEntry, pruneMissing } from './applier.js';

/** Status calls in flight at once for one group. */
const DEFAULT_PARALLELISM = 32;

export interface SyncPathsDeps {
  store: MetaStore;
  mounts: MountTable;
  /** The (instrumented) UFS of a mount. */
  ufsOf: (mount: MountRecord) => Ufs;
  /** Runs a sync step in the sync lane of a path's shard (ActorSystem.tellSync). */
  tellSync<T>(path: string, run: () => Promise<T>): Promise<T>;
  blocks: BlockStore;
  metrics: Metrics;
  /** Recently fetched statuses (MetadataSync.statuses): the fresh ones are recorded there. */
  statuses?: UfsStatusCache<UfsStatus | null>;
}

export interface SyncPathsOptions {
  parallelism?: number;
}

/** A path that could not be synced (its status call failed), with the error. */
export interface SyncPathFailure {
  path: string;
  err: unknown;
}

export interface Fetched {
  path: string;
  status: UfsStatus | null;
  startMs: number;
}

/**
 * Make the inodes of `paths` match the UFS, committing them together. Resolves with the
 * paths whose status could not be fetched (the others are applied); rejects when the commit
 * fails (nothing is then applied: the caller may retry path by path).
 */
export async function syncPathsTogether(d: SyncPathsDeps, paths: readonly string[], opts: SyncPathsOptions = {}): Promise<SyncPathFailure[]> {
  const fetched: Fetched[] = [];
  const failures: SyncPathFailure[] = [];
  let next = 0;
  const fetchOne = async (): Promise<void> => {
    while (next < paths.length) {
      const path = paths[next++]!;
      try {
        const { mount, ufsPath } = d.mounts.resolve(path);
        const startMs = Date.now();
        const status = await d.ufsOf(mount).getStatus(ufsPath);
        d.statuses?.put(path, status, startMs);
        fetched.push({ path, status, startMs });
      } catch (err) {
        failures.push({ path, err });
      }
    }
  };
  const lanes = Math.max(1, Math.min(opts.parallelism ?? DEFAULT_PARALLELISM, paths.length));
  await Promise.all(Array.from({ length: lanes }, fetchOne));
  d.metrics.inc('sync', 'paths', fetched.length);
  // Parents before children, so a directory created in this group is there for its entries.
  fetched.sort((a, b) => a.path.length - b.path.length);
  const stale: number[] = [];
  if (fetched.length) {
    // One transaction for the group, in the sync lane of its first (shortest) path: LMDB has
    // one writer, so committing the shards' groups apart would only add commits.
    await d.tellSync(fetched[0]!.path, () => d.store.transact((tx) => {
      const now = Date.now();
      for (const f of fetched) applyStatus(tx, f, now, stale);
    }));
  }
  d.metrics.inc('sync', 'groupedCommits');
  for (const id of stale) {
    const freed = await d.blocks.removeFile(id);
    if (freed) d.metrics.inc('cache', 'staleBytesDropped', freed);
  }
  return failures;
}

/**
 * Make one path's inode match its UFS status inside `tx` (the rule of MetadataSync.syncSelf
 * and of a grouped batch): create it and missing ancestors, update it, or remove it and
 * remember it absent. File ids whose cached data went stale are pushed to `stale`.
 */
export function applyStatus(tx: MetaTxn, { path, status: st, startMs }: Fetched, now: number, stale: number[]): void {
  const comps = pathComponents(path);
  if (comps.length === 0) return; // the root is never replaced by a status
  let cur = InodeTree.root(tx);
  for (let i = 0; i < comps.length - 1; i++) {
    const name = comps[i]!;
    const next = InodeTree.child(tx, cur.id, name);
    if (next) {
      if (next.type !== 'directory') return;
      cur = next;
    } else {
      if (!st) {
        // Missing here and in the UFS: remember it absent (a tombstone is kept as it is).
        AbsentPathCache.markAbsent(tx, path, startMs, true);
        return;
      }
      cur = InodeTree.create(tx, cur, name, { type: 'directory', touchMs: 0 }, now);
    }
  }
  const name = comps[comps.length - 1]!;
  if (st) {
    const r = applyEntry(tx, cur, parentPath(path), { ...st, name }, startMs, now);
    // The parent's listing digest no longer describes what Strata holds (a partial sync).
    if (r.outcome !== 'unchanged') SyncPathCache.dropDigest(tx, cur);
    const inode = InodeTree.child(tx, cur.id, name);
    // A directory's status sync is not a sync of its listing (see SyncPathCache).
    if (inode) SyncPathCache.notifyStatusSynced(tx, inode, startMs);
    AbsentPathCache.clearPath(tx, path);
  } else {
    const existing = InodeTree.child(tx, cur.id, name);
    if (existing) pruneMissing(tx, existing, startMs, stale);
    if (!existing || !InodeTree.child(tx, cur.id, name)) AbsentPathCache.markAbsent(tx, path, startMs);
  }
}
