// A batch of directories of a recursive sync in one worker task: each directory is listed,
// and the applies of many directories share one transaction (one commit for up to
// BATCH_ENTRIES entries instead of two per directory). A directory whose UFS listing and
// children are what its stored digest says (meta/dir-digest.ts) costs its listing, one inode
// get, one children-version get and one edge get per subdirectory: no scan of its edges, no
// child decode, no re-encode, only its sync time written (a digest without the current
// children version costs one edge scan, `digestScans`, to compare the children). A
// directory of more than one listing page, or with many children in Strata, is synced by
// the streaming syncDirectory (bounded memory). The safety rules are the applier's.

import { AbsentPathCache } from '../meta/absent-cache.js';
import { ChildSetDigest, composeDigest, digestBody, digestBodyOf, listingDigest, listingPart, versionPart } from '../meta/dir-digest.js';
import { InodeTree } from '../meta/inode-tree.js';
import type { InodeRecord } from '../meta/inode.js';
import type { MetaStore, MetaTxn } from '../meta/meta-store.js';
import { joinPath } from '../meta/path.js';
import { SyncPathCache } from '../meta/sync-path-cache.js';
import type { SyncSummary } from '../types.js';
import type { Ufs, UfsStatus } from '../ufs/ufs.js';
import { UfsListScope, ufsJoin } from '../ufs/ufs.js';
import { throwIfCancelled } from '../cancel.js';
import { addSummary, applyEntry, emptySummary, pruneMissing, syncDirectory } from './applier.js';
import type { ApplyContext, ChildDir } from './applier.js';

/** Entries applied per transaction of a batch (bounds the memory a batch holds). */
export const BATCH_ENTRIES = 2000;

/**
 * A task goes on with the subdirectories of what it listed while they are this few (a chain
 * of single directories, a narrow tree): one task and one commit cover many levels instead of
 * a worker round trip and a commit per level. Wider levels go back to the coordinator's
 * fan-out. Bounded per task in directories and time (progress is reported per task).
 */
export const DESCEND_WIDTH = 4;
export const DESCEND_DIRS = 512;
export const DESCEND_MS = 250;

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
  /** Bounds of the descent (default DESCEND_DIRS directories, DESCEND_MS ms per task). */
  descend?: { dirs?: number; ms?: number };
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
  /** Edge scans of listed directories (0 when every directory's children version was its digest's). */
  digestScans: number;
  /** Directories this task synced: the job's and the subdirectories it went on with. */
  directories: number;
}

/**
 * A subdirectory the task went on with before its parent's listing was applied: its id is
 * the parent's apply's to confirm (a new directory gets its id there). `dropped` when that
 * apply did not confirm it (not created or not the same directory, a mount point, the
 * parent skipped): its listing is not applied and it is returned as a child directory.
 */
interface Descent {
  dir: BatchDir;
  dropped: boolean;
  /** The parent's apply has confirmed it (its id is final). */
  confirmed?: boolean;
  /** The transaction (flush number) in which the parent's apply created it. */
  createdIn?: number;
}

/** A directory listed and waiting for the batch's transaction. */
interface Pending {
  dir: BatchDir;
  entries: UfsStatus[];
  /** The listing digest of `entries`. */
  listing: string;
  /**
   * Children Strata had when listed (committed edges), by name; of a fast directory whose
   * children version matched, only its subdirectories (read one by one, no scan).
   */
  edges: Map<string, number>;
  /** The directory's children version when listed (InodeTree.childrenVersion). */
  version: number;
  /** The stored digest was equal: only the sync time is written. */
  fast: boolean;
  /** A fast directory's digest to record instead of the stored one (now with the children version). */
  refreshed?: string;
  /** Child directories of a fast directory (from its committed edges), and its entries counted unchanged. */
  fastChildren?: BatchDir[];
  fastEntries?: number;
  /** Set when this directory is a descent: applied only if its parent confirmed it. */
  via?: Descent;
  /** Subdirectories listed after this one in the same task, by name. */
  descended?: Map<string, Descent>;
}

/** A directory to list: one of the job's, or a subdirectory the task went on with. */
interface Work {
  dir: BatchDir;
  via?: Descent;
}

const isMissing = (err: unknown): boolean => {
  const code = (err as { code?: string }).code;
  return code === 'NOT_FOUND' || code === 'NOT_A_DIRECTORY';
};

/**
 * Sync the listings of a batch of directories (see the module header). A failure of one
 * directory is counted in `summary.failed` and the batch goes on, except for a batch of one
 * directory (the root of a sync), whose failure is thrown. While the subdirectories found are
 * few (DESCEND_WIDTH), the task lists them too (see Descent); the listings of one task share a
 * UFS list scope (LocalUfs: a child is opened under its parent's open descriptor).
 */
export async function syncDirBatch(store: MetaStore, ufsOf: (mountId: number) => Ufs, job: DirBatchJob, now = Date.now, signal?: AbortSignal): Promise<DirBatchResult> {
  const summary = emptySummary();
  const childDirs: BatchDir[] = [];
  const staleFileIds: number[] = [];
  const missing: string[] = [];
  const pageSize = job.pageSize ?? 1000;
  // Children in Strata beyond which a directory goes the streaming way.
  const edgeCap = Math.max(2 * pageSize, 2000);
  const t0 = Date.now();
  let digestHits = 0;
  let digestScans = 0;
  let directories = job.dirs.length;
  let pending: Pending[] = [];
  let pendingEntries = 0;
  /** Transactions of this task so far (the current one's number while it runs). */
  let flushes = 0;
  const scope = new UfsListScope();

  const childDir = (dir: BatchDir, name: string, id: number): BatchDir => ({ id, path: joinPath(dir.path, name), ufsPath: ufsJoin(dir.ufsPath, name), mountId: dir.mountId });
  const fromChild = (dir: BatchDir, c: ChildDir): BatchDir =>
    (c.mountId !== undefined ? { id: c.id, path: c.path, ufsPath: '', mountId: c.mountId } : { id: c.id, path: c.path, ufsPath: c.ufsPath, mountId: dir.mountId });
  /** Drop every descent below `p` (its listing is not applied, so none is confirmed). */
  const dropDescents = (p: Pending): void => {
    if (p.descended) for (const d of p.descended.values()) d.dropped = true;
  };
  /** Is the subdirectory `name` of `p` a descent this apply confirms (the same directory, or created by it)? */
  const confirm = (p: Pending, inode: InodeRecord, outcome: keyof SyncSummary): boolean => {
    const d = p.descended?.get(inode.name);
    if (!d || d.dropped) return false;
    if (inode.mountId === undefined && (d.dir.id === inode.id || (d.dir.id < 0 && outcome === 'created'))) {
      if (outcome === 'created') d.createdIn = flushes;
      d.dir.id = inode.id;
      d.confirmed = true;
      return true;
    }
    d.dropped = true;
    return false;
  };

  /**
   * A descent the task does not sync after all goes back to the coordinator: through its
   * parent's apply when that is still to come, else as a child directory now.
   */
  const giveBack = (d: Descent): void => {
    if (d.dropped) return;
    d.dropped = true;
    if (d.confirmed) childDirs.push(d.dir);
  };

  const apply = (tx: MetaTxn, p: Pending): void => {
    const dirInode = InodeTree.get(tx, p.dir.id);
    if (!dirInode || dirInode.type !== 'directory') { dropDescents(p); return; }
    const t = now();
    const absent = AbsentPathCache.children(tx, p.dir.path);
    let nextId = -1;
    // Children changed since the listing read them (a create through Strata in between): the
    // apply does not see them all, so its digest would not describe them.
    let clean = InodeTree.childrenVersion(tx, p.dir.id) === p.version;
    // No children when listed and still none (a create through Strata since would show): no
    // lookups. A directory its parent's apply created in this same transaction has none, and
    // one whose children version is still the listing's has had no edge written since (every
    // edge write sets it): no cursor over its edges either.
    const empty = p.edges.size === 0 && (p.via?.createdIn === flushes || clean || isEmpty(tx, p.dir.id));
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
    const confirmed = new Set<string>();
    for (const st of p.entries) {
      seen?.add(st.name);
      const r = applyEntry(tx, dirInode, p.dir.path, st, job.startMs, t, ctx);
      summary[r.outcome]++;
      if (r.stale) staleFileIds.push(...r.stale);
      if (r.inode) {
        children.add(r.inode.name, r.inode.id);
        if (r.inode.type === 'directory') {
          if (confirm(p, r.inode, r.outcome)) confirmed.add(r.inode.name);
          else childDirs.push(r.inode.mountId !== undefined
            ? { id: r.inode.id, path: joinPath(p.dir.path, r.inode.name), ufsPath: '', mountId: r.inode.mountId }
            : childDir(p.dir, r.inode.name, r.inode.id));
        }
      } else {
        clean = false;
      }
    }
    // Descents whose entry the apply did not keep as a directory.
    if (p.descended) for (const [name, d] of p.descended) if (!confirmed.has(name)) d.dropped = true;
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
    SyncPathCache.notifyListingDigested(tx, p.dir.id, job.startMs, job.recursive,
      clean ? composeDigest(p.listing, children, InodeTree.childrenVersion(tx, p.dir.id)) : undefined);
  };

  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    pendingEntries = 0;
    flushes++;
    await store.transact((tx) => {
      for (const p of batch) {
        if (p.via?.dropped) { dropDescents(p); continue; }
        if (p.fast) {
          SyncPathCache.notifyListingDigested(tx, p.dir.id, job.startMs, job.recursive, p.refreshed ?? 'keep');
          summary.unchanged += p.fastEntries ?? 0;
          for (const c of p.fastChildren ?? []) {
            const d = p.descended?.get(c.path.slice(c.path.lastIndexOf('/') + 1));
            if (d && !d.dropped) d.confirmed = true; // its id is the committed edge's
            else childDirs.push(c);
          }
        } else {
          apply(tx, p);
        }
      }
    });
    for (const p of batch) if (p.via && !p.via.dropped) directories++;
  };

  const streaming = async (dir: BatchDir, ufs: Ufs): Promise<void> => {
    await flush();
    const r = await syncDirectory(store, ufs, { dirId: dir.id, dirPath: dir.path, ufsPath: dir.ufsPath, startMs: job.startMs, recursive: job.recursive, pageSize }, now, signal);
    addSummary(summary, r.summary);
    staleFileIds.push(...r.staleFileIds);
    for (const c of r.childDirs) childDirs.push(fromChild(dir, c));
    if (r.missing) missing.push(dir.path);
  };

  /** List one directory into `pending` (or sync it the streaming way); its subdirectories found go to `found`. */
  const listOne = async (w: Work, found: Array<{ parent: Pending; name: string; id: number }>): Promise<void> => {
    const dir = w.dir;
    const ufs = ufsOf(dir.mountId);
    // One page and the end of the listing, or a large directory.
    const it = ufs.list(dir.ufsPath, { pageSize, scope, ...(signal ? { signal } : {}) })[Symbol.asyncIterator]();
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
      if (isMissing(err) && !w.via) { missing.push(dir.path); return; }
      throw err;
    } finally {
      await it.return?.(undefined);
    }
    if (w.via) {
      // A descent: its parent's apply confirms it (and gives a new one its id); the streaming
      // way needs that id now.
      if (large) await flush();
      if (w.via.dropped) return;
      if (large) directories++;
    }
    if (large) { await streaming(dir, ufs); return; }
    const fresh = dir.id < 0; // a new directory, created by its parent's apply in this task
    const dirInode = fresh ? undefined : InodeTree.get(store, dir.id);
    if (!fresh && (!dirInode || dirInode.type !== 'directory')) { if (w.via) giveBack(w.via); return; }
    const listing = listingDigest(entries);
    const version = fresh ? 0 : InodeTree.childrenVersion(store, dir.id);
    // The listing is the digest's and so are the children (same version): no edge scan.
    let edges = dirInode && listingPart(dirInode) === listing && versionPart(dirInode) === version ? subdirIds(dir.id, entries) : undefined;
    const fast = edges !== undefined;
    let refreshed: string | undefined;
    if (!edges) {
      edges = new Map<string, number>();
      if (!fresh) {
        digestScans++;
        for (const e of InodeTree.childEntries(store, dir.id, undefined, edgeCap + 1)) edges.set(e.name, e.id);
      }
      if (edges.size > edgeCap) {
        if (w.via) { giveBack(w.via); return; } // goes back to the coordinator's fan-out
        await streaming(dir, ufs);
        return;
      }
      // The listing is the digest's and the children, scanned, are too (an older digest, or a
      // change undone): fast, and the digest is recorded again with the children version.
      if (dirInode && listingPart(dirInode) === listing) {
        const children = new ChildSetDigest();
        for (const [name, id] of edges) children.add(name, id);
        if (digestBody(dirInode) === digestBodyOf(listing, children)) refreshed = composeDigest(listing, children, version);
      }
    }
    const p: Pending = { dir, entries: fast || refreshed ? [] : entries, listing, edges, version, fast: fast || refreshed !== undefined,
      ...(refreshed ? { refreshed } : {}), ...(w.via ? { via: w.via } : {}) };
    if (p.fast) {
      digestHits++;
      p.fastEntries = entries.length;
      p.fastChildren = [];
      for (const st of entries) {
        if (st.type !== 'directory') continue;
        const id = edges.get(st.name);
        if (id !== undefined) p.fastChildren.push(childDir(dir, st.name, id));
      }
    }
    for (const st of entries) if (st.type === 'directory') found.push({ parent: p, name: st.name, id: edges.get(st.name) ?? -1 });
    pending.push(p);
    pendingEntries += p.fast ? 1 : entries.length + 1;
    if (pendingEntries >= BATCH_ENTRIES) await flush();
  };

  const taken = new Set<number>();
  try {
    let level: Work[] = job.dirs.map((dir) => ({ dir }));
    let listed = 0;
    while (level.length > 0) {
      const found: Array<{ parent: Pending; name: string; id: number }> = [];
      for (const w of level) {
        throwIfCancelled(signal, `sync of ${w.dir.path}`);
        if (w.dir.id >= 0) {
          if (taken.has(w.dir.id)) continue; // listed twice in one batch: applied once
          taken.add(w.dir.id);
        }
        listed++;
        try {
          await listOne(w, found);
        } catch (err) {
          if ((err as { code?: string }).code === 'CANCELLED') throw err;
          // A descent that fails is given back to the coordinator (listed again, counted there).
          if (w.via) { giveBack(w.via); continue; }
          if (job.dirs.length === 1) throw err;
          summary.failed++;
        }
      }
      // Go on below while the level found is narrow and the task's bounds allow.
      if (!job.recursive || found.length === 0 || found.length > DESCEND_WIDTH) break;
      if (listed + found.length > (job.descend?.dirs ?? DESCEND_DIRS) || Date.now() - t0 > (job.descend?.ms ?? DESCEND_MS)) break;
      level = [];
      for (const f of found) {
        const fromEdges = f.id >= 0 ? InodeTree.get(store, f.id) : undefined;
        // A committed child that is a mount point (or not a directory) is not descended into.
        if (f.id >= 0 && (!fromEdges || fromEdges.type !== 'directory' || fromEdges.mountId !== undefined)) continue;
        const d: Descent = { dir: childDir(f.parent.dir, f.name, f.id), dropped: false };
        (f.parent.descended ??= new Map()).set(f.name, d);
        level.push({ dir: d.dir, via: d });
      }
    }
    await flush();
  } finally {
    scope.close();
  }
  return { summary, childDirs, staleFileIds, missing, digestHits, digestScans, directories };

  /**
   * The ids of the subdirectories of a listing whose children are the digest's, one edge get
   * each; undefined when one is missing (then the edges are scanned).
   */
  function subdirIds(dirId: number, entries: readonly UfsStatus[]): Map<string, number> | undefined {
    const ids = new Map<string, number>();
    for (const st of entries) {
      if (st.type !== 'directory') continue;
      const id = InodeTree.childId(store, dirId, st.name);
      if (id === undefined) return undefined;
      ids.set(st.name, id);
    }
    return ids;
  }
}

/** Has the directory no child at all (committed)? One cursor step. */
function isEmpty(store: MetaStore | MetaTxn, dirId: number): boolean {
  for (const _ of InodeTree.childEntries(store, dirId, undefined, 1)) return false;
  return true;
}
