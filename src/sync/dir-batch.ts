// A batch of directories of a recursive sync in one worker task: each directory is listed,
// and the applies of many directories share one transaction (one commit for up to
// BATCH_ENTRIES entries instead of two per directory). A directory whose UFS listing and
// children are what its stored digest says (meta/dir-digest.ts) costs its listing, one inode
// get and one edge scan: no child decode, no re-encode, only its sync time written. A
// directory of more than one listing page, or with many children in Strata, is synced by
// the streaming syncDirectory (bounded memory). The safety rules are the applier's.

import { AbsentPathCache } from '../meta/absent-cache.js';
import { ChildSetDigest, composeDigest, listingDigest, listingPart } from '../meta/dir-digest.js';
import { InodeTree } from '../meta/inode-tree.js';
import type { InodeRecord } from '../meta/inode.js';
import type { MetaStore, MetaTxn } from '../meta/meta-store.js';
import { joinPath } from '../meta/path.js';
import { SyncPathCache } from '../meta/sync-path-cache.js';
import type { SyncSummary } from '../types.js';
import type { Ufs, UfsStatus } from '../ufs/ufs.js';
import { ufsJoin } from '../ufs/ufs.js';
import { throwIfCancelled } from '../cancel.js';
import { addSummary, applyEntry, emptySummary, pruneMissing, syncDirectory } from './applier.js';
import type { ApplyContext, ChildDir } from './applier.js';

/** Entries applied per transaction of a batch (bounds the memory a batch holds). */
export const BATCH_ENTRIES = 2000;

/** One directory of a batch. */
export interface BatchDir {
  id: number;
  path: string;
  /** UFS-relative path of the directory in its mount. */
  ufsPath: string;
  mountId: number;
}

export interface DirBatchJob {
  dirs: BatchDir[];
  /** When the listing started: the time this sync vouches for. */
  startMs: number;
  recursive: boolean;
  pageSize?: number;
}

export interface DirBatchResult {
  summary: SyncSummary;
  /** Child directories to walk next, each with the mount it is synced through (a mount point: its own, at its root). */
  childDirs: BatchDir[];
  staleFileIds: number[];
  /** Paths of directories of the batch that the UFS no longer has. */
  missing: string[];
  /** Directories that took the digest fast path. */
  digestHits: number;
}

/** A directory listed and waiting for the batch's transaction. */
interface Pending {
  dir: BatchDir;
  entries: UfsStatus[];
  /** The listing digest of `entries`. */
  listing: string;
  /** Children Strata had when listed (committed edges), by name. */
  edges: Map<string, number>;
  /** The stored digest was equal: only the sync time is written. */
  fast: boolean;
}

const isMissing = (err: unknown): boolean => {
  const code = (err as { code?: string }).code;
  return code === 'NOT_FOUND' || code === 'NOT_A_DIRECTORY';
};

/**
 * Sync the listings of a batch of directories (see the module header). A failure of one
 * directory is counted in `summary.failed` and the batch goes on, except for a batch of one
 * directory (the root of a sync), whose failure is thrown.
 */
export async function syncDirBatch(store: MetaStore, ufsOf: (mountId: number) => Ufs, job: DirBatchJob, now = Date.now, signal?: AbortSignal): Promise<DirBatchResult> {
  const summary = emptySummary();
  const childDirs: BatchDir[] = [];
  const staleFileIds: number[] = [];
  const missing: string[] = [];
  const pageSize = job.pageSize ?? 1000;
  // Children in Strata beyond which a directory goes the streaming way.
  const edgeCap = Math.max(2 * pageSize, 2000);
  let digestHits = 0;
  let pending: Pending[] = [];
  let pendingEntries = 0;

  const childDir = (dir: BatchDir, name: string, id: number): BatchDir => ({ id, path: joinPath(dir.path, name), ufsPath: ufsJoin(dir.ufsPath, name), mountId: dir.mountId });
  const fromChild = (dir: BatchDir, c: ChildDir): BatchDir =>
    (c.mountId !== undefined ? { id: c.id, path: c.path, ufsPath: '', mountId: c.mountId } : { id: c.id, path: c.path, ufsPath: c.ufsPath, mountId: dir.mountId });

  const apply = (tx: MetaTxn, p: Pending): void => {
    const dirInode = InodeTree.get(tx, p.dir.id);
    if (!dirInode || dirInode.type !== 'directory') return;
    const t = now();
    const absent = AbsentPathCache.children(tx, p.dir.path);
    let nextId = -1;
    let clean = true;
    // No children when listed and still none (a create through Strata since would show): no lookups.
    const empty = p.edges.size === 0 && isEmpty(store, p.dir.id);
    const ctx: ApplyContext = {
      absent: (_path, name) => absent.get(name),
      ids: () => {
        if (nextId < 0) nextId = InodeTree.allocIds(tx, p.entries.length * 2);
        return nextId++;
      },
      ...(empty ? { child: () => undefined } : {}),
      onKept: () => { clean = false; },
    };
    const children = new ChildSetDigest();
    const seen = p.edges.size > 0 ? new Set<string>() : undefined;
    for (const st of p.entries) {
      seen?.add(st.name);
      const r = applyEntry(tx, dirInode, p.dir.path, st, job.startMs, t, ctx);
      summary[r.outcome]++;
      if (r.stale) staleFileIds.push(...r.stale);
      if (r.inode) {
        children.add(r.inode.name, r.inode.id);
        if (r.inode.type === 'directory') {
          childDirs.push(r.inode.mountId !== undefined
            ? { id: r.inode.id, path: joinPath(p.dir.path, r.inode.name), ufsPath: '', mountId: r.inode.mountId }
            : childDir(p.dir, r.inode.name, r.inode.id));
        }
      } else {
        clean = false;
      }
    }
    // Children Strata has but the UFS does not: removed unless Strata must keep them.
    if (seen) {
      for (const [name] of p.edges) {
        if (seen.has(name)) continue;
        const cur = InodeTree.child(tx, p.dir.id, name);
        if (!cur) continue;
        summary.deleted += pruneMissing(tx, cur, job.startMs, staleFileIds);
        const kept = InodeTree.child(tx, p.dir.id, name);
        if (kept) {
          clean = false;
          if (kept.type === 'directory' && kept.mountId !== undefined) {
            childDirs.push({ id: kept.id, path: joinPath(p.dir.path, name), ufsPath: '', mountId: kept.mountId });
          }
        }
      }
    }
    SyncPathCache.notifyListingDigested(tx, p.dir.id, job.startMs, job.recursive, clean ? composeDigest(p.listing, children) : undefined);
  };

  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    pendingEntries = 0;
    await store.transact((tx) => {
      for (const p of batch) {
        if (p.fast) SyncPathCache.notifyListingDigested(tx, p.dir.id, job.startMs, job.recursive, 'keep');
        else apply(tx, p);
      }
    });
  };

  const streaming = async (dir: BatchDir, ufs: Ufs): Promise<void> => {
    await flush();
    const r = await syncDirectory(store, ufs, { dirId: dir.id, dirPath: dir.path, ufsPath: dir.ufsPath, startMs: job.startMs, recursive: job.recursive, pageSize }, now, signal);
    addSummary(summary, r.summary);
    staleFileIds.push(...r.staleFileIds);
    for (const c of r.childDirs) childDirs.push(fromChild(dir, c));
    if (r.missing) missing.push(dir.path);
  };

  const taken = new Set<number>();
  for (const dir of job.dirs) {
    throwIfCancelled(signal, `sync of ${dir.path}`);
    if (taken.has(dir.id)) continue; // listed twice in one batch: applied once
    taken.add(dir.id);
    try {
      const ufs = ufsOf(dir.mountId);
      // One page and the end of the listing, or a large directory.
      const it = ufs.list(dir.ufsPath, { pageSize, ...(signal ? { signal } : {}) })[Symbol.asyncIterator]();
      let entries: UfsStatus[];
      let large = false;
      try {
        const first = await it.next();
        entries = first.done ? [] : first.value;
        if (!first.done) {
          const second = await it.next();
          if (!second.done) large = true;
        }
      } catch (err) {
        if (isMissing(err)) { missing.push(dir.path); continue; }
        throw err;
      } finally {
        await it.return?.(undefined);
      }
      if (large) { await streaming(dir, ufs); continue; }
      const dirInode = InodeTree.get(store, dir.id);
      if (!dirInode || dirInode.type !== 'directory') continue;
      const edges = new Map<string, number>();
      for (const e of InodeTree.childEntries(store, dir.id, undefined, edgeCap + 1)) edges.set(e.name, e.id);
      if (edges.size > edgeCap) { await streaming(dir, ufs); continue; }
      const listing = listingDigest(entries);
      const fast = listingPart(dirInode) === listing && fastPathHolds(dirInode, listing, edges);
      if (fast) {
        digestHits++;
        summary.unchanged += entries.length;
        for (const st of entries) {
          if (st.type !== 'directory') continue;
          const id = edges.get(st.name);
          if (id !== undefined) childDirs.push(childDir(dir, st.name, id));
        }
      }
      pending.push({ dir, entries: fast ? [] : entries, listing, edges, fast });
      pendingEntries += fast ? 1 : entries.length + 1;
      if (pendingEntries >= BATCH_ENTRIES) await flush();
    } catch (err) {
      if ((err as { code?: string }).code === 'CANCELLED' || job.dirs.length === 1) throw err;
      summary.failed++;
    }
  }
  await flush();
  return { summary, childDirs, staleFileIds, missing, digestHits };
}

/** Does the stored digest of `dir` match this listing and these children? */
function fastPathHolds(dir: InodeRecord, listing: string, edges: Map<string, number>): boolean {
  const children = new ChildSetDigest();
  for (const [name, id] of edges) children.add(name, id);
  return dir.lsDigest === composeDigest(listing, children);
}

/** Has the directory no child at all (committed)? One cursor step. */
function isEmpty(store: MetaStore, dirId: number): boolean {
  for (const _ of InodeTree.childEntries(store, dirId, undefined, 1)) return false;
  return true;
}
