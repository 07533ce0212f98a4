// The sync-time cache (Alluxio's UfsSyncPathCache): the one owner of "is a sync due".
// `notify*` records in a transaction that the UFS was consulted for a path (its status, a
// directory's listing, recursively or not) and `shouldSync*` answers from those records and
// the sync interval. Sync times live on the inodes (`syncMs`, `selfMs`, `syncRec`,
// `loaded`), so they survive restart. A path's last sync is the latest of its own sync, its
// parent's synced listing (which covers the child's status) and any ancestor's recursive
// sync — never a child's time. Beside it, a bounded in-memory cache of recently fetched
// UFS statuses (the spec's "cache of recently accessed UFS statuses").

import type { InodeRecord } from './inode.js';
import { InodeTree } from './inode-tree.js';
import type { StrataTxn } from './tables.js';
import type { LoadType } from '../types.js';

/** `syncMs` value that forces the next access to sync (set by needsSync). */
export const FORCE_SYNC = -1;

export const SyncPathCache = {
  /**
   * When the UFS was last consulted for the path at the end of `chain` (root first): its
   * own sync, its parent's listing (for its status) or a recursive sync of an ancestor;
   * FORCE_SYNC after needsSync. With `listing`, the time of the directory's listing.
   */
  lastSynced(chain: readonly InodeRecord[], listing: boolean): number | undefined {
    const target = chain[chain.length - 1]!;
    const own = target.syncMs === FORCE_SYNC ? undefined : target.syncMs;
    let best: number | undefined;
    if (target.type === 'directory' && !listing && target.selfMs !== undefined) {
      // A directory's own status was synced (after any needsSync, which clears selfMs).
      best = Math.max(target.selfMs, own ?? 0);
    } else {
      if (target.syncMs === FORCE_SYNC) return FORCE_SYNC;
      best = listing && target.type === 'directory' ? (target.loaded ? own : undefined) : own;
    }
    const parent = chain[chain.length - 2];
    if (!listing && parent && parent.syncMs !== undefined && parent.syncMs !== FORCE_SYNC) best = Math.max(best ?? 0, parent.syncMs);
    for (let i = 0; i < chain.length - 1; i++) {
      const a = chain[i]!;
      if (a.syncRec && a.syncMs !== undefined && a.syncMs !== FORCE_SYNC) best = Math.max(best ?? 0, a.syncMs);
    }
    return best;
  },

  /** Is a sync due for a last sync at `last` under `intervalMs` (-1 never, 0 always)? */
  due(intervalMs: number, last: number | undefined, now: number): boolean {
    if (last === FORCE_SYNC) return true;
    if (intervalMs < 0) return false;
    if (intervalMs === 0) return true;
    return last === undefined || now - last > intervalMs;
  },

  /** shouldSyncPath for a path's status (the inode at the end of `chain`). */
  shouldSyncPath(chain: readonly InodeRecord[], intervalMs: number, now: number): boolean {
    return SyncPathCache.due(intervalMs, SyncPathCache.lastSynced(chain, false), now);
  },

  /**
   * shouldSyncPath for a directory's listing. A directory never listed is listed on first
   * access (unless NEVER), even below a recursively synced ancestor: every directory that
   * sync visited is marked loaded, so one that is not was created later (by a single-path
   * load) and that sync does not vouch for its children. ALWAYS lists every time.
   */
  shouldSyncListing(chain: readonly InodeRecord[], intervalMs: number, loadType: LoadType, now: number): boolean {
    const dir = chain[chain.length - 1]!;
    const firstLoad = !dir.loaded && loadType !== 'NEVER';
    return firstLoad || loadType === 'ALWAYS' || SyncPathCache.due(intervalMs, SyncPathCache.lastSynced(chain, true), now);
  },

  /**
   * shouldSyncPath for a subtree (a recursive listing): when its interval is due (a due
   * interval re-syncs even a tree synced recursively before: ls -R -f), or when it was never
   * listed (or load type ALWAYS) and no recursive sync covers it.
   */
  shouldSyncTree(chain: readonly InodeRecord[], root: InodeRecord, intervalMs: number, loadType: LoadType, now: number): boolean {
    if (loadType === 'NEVER') return false;
    return SyncPathCache.due(intervalMs, SyncPathCache.lastSynced(chain, true), now) || ((!root.loaded || loadType === 'ALWAYS') && !root.syncRec);
  },

  /** notifySyncedPath, listing: a directory's listing (recursively or not) as of `startMs`. */
  notifyListingSynced(tx: StrataTxn, dirId: number, startMs: number, recursive: boolean): void {
    // A listing digest vouches only for the apply that recorded it (meta/dir-digest.ts).
    InodeTree.modify(tx, dirId, ({ lsDigest: _d, ...dir }) => ({ ...dir, syncMs: startMs, syncRec: recursive, loaded: true }));
  },

  /**
   * notifyListingSynced by a sync that records the listing digest: `digest` is the new one
   * (a full apply), `keep` leaves the stored one (the digest fast path found it equal), and
   * undefined drops it (an apply that skipped entries it must not touch).
   */
  notifyListingDigested(tx: StrataTxn, dirId: number, startMs: number, recursive: boolean, digest: string | undefined | 'keep'): void {
    InodeTree.modify(tx, dirId, ({ lsDigest: old, ...dir }) => {
      const lsDigest = digest === 'keep' ? old : digest;
      return { ...dir, syncMs: startMs, syncRec: recursive, loaded: true, ...(lsDigest !== undefined ? { lsDigest } : {}) };
    });
  },

  /** A sync changed a child of this directory outside a listing apply: its digest no longer holds. */
  dropDigest(tx: StrataTxn, dir: InodeRecord): void {
    if (dir.lsDigest === undefined) return;
    InodeTree.modify(tx, dir.id, ({ lsDigest: _d, ...rest }) => rest);
  },

  /**
   * notifySyncedPath, status: one path's status as of `startMs`. A directory's status sync
   * is not a sync of its listing (`selfMs`, see lastSynced); a mount point keeps its times.
   */
  notifyStatusSynced(tx: StrataTxn, inode: InodeRecord, startMs: number): void {
    if (inode.mountId !== undefined) return;
    InodeTree.update(tx, { ...inode, ...SyncPathCache.statusFields(inode.type, startMs) });
  },

  /** The sync-time fields of an inode whose status was just taken from the UFS. */
  statusFields(type: InodeRecord['type'], ms: number): Pick<InodeRecord, 'selfMs'> | Pick<InodeRecord, 'syncMs'> {
    return type === 'directory' ? { selfMs: ms } : { syncMs: ms };
  },

  /** needsSync: the next access of this inode (its status and listing) consults the UFS. */
  invalidate(tx: StrataTxn, id: number): void {
    InodeTree.modify(tx, id, (cur) => {
      const { selfMs: _self, ...rest } = cur;
      return { ...rest, syncMs: FORCE_SYNC, syncRec: false };
    });
  },

  /** An ancestor's recursive sync no longer vouches for its subtree. */
  dropRecursive(tx: StrataTxn, id: number): void {
    InodeTree.modify(tx, id, (cur) => (cur.syncRec ? { ...cur, syncRec: false } : undefined));
  },
};

/** A UFS status as fetched (undefined: the path was absent), with when it was fetched. */
export interface CachedStatus<S> { status: S | undefined; ms: number }

/**
 * Recently fetched UFS statuses by Strata path, bounded (least recently used out). An entry
 * answers only a caller that accepts a status fetched at or after `notBefore`; the caller
 * then treats the fetch time as its sync's start, so an entry changed through Strata since
 * is never undone (its touch time is newer).
 */
export class UfsStatusCache<S> {
  private readonly entries = new Map<string, CachedStatus<S>>();

  constructor(private readonly max = 10_000) {}

  get(path: string, notBefore: number): CachedStatus<S> | undefined {
    const e = this.entries.get(path);
    if (!e) return undefined;
    if (e.ms < notBefore) { this.entries.delete(path); return undefined; }
    this.entries.delete(path);
    this.entries.set(path, e); // most recently used last
    return e;
  }

  put(path: string, status: S | undefined, ms: number): void {
    this.entries.delete(path);
    this.entries.set(path, { status, ms });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** Forget a path and everything below it (a change through Strata, an active sync event). */
  forgetUnder(path: string): void {
    const prefix = path === '/' ? '/' : path + '/';
    for (const k of this.entries.keys()) if (k === path || k.startsWith(prefix)) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
