// The sync applier: makes Strata's view of one directory (or one path) match the UFS.
// It lists the UFS directory page by page, applies each page in one transaction (create,
// update in place, new fileId on content change), then removes children the UFS no longer
// has. It is lock-free and safe against concurrent client mutations: a child that Strata
// changed after the listing started, an unpersisted file, and a mount point are never
// deleted or replaced; a path deleted through Strata after the listing started is never
// resurrected. The same code runs on a Piscina worker (recursive sync) and inline.

import { AbsentPathCache } from '../meta/absent-cache.js';
import type { AbsentEntry } from '../meta/absent-cache.js';
import type { MetaStore, MetaTxn } from '../meta/meta-store.js';
import { InodeTree } from '../meta/inode-tree.js';
import type { InodeRecord } from '../meta/inode.js';
import { joinPath } from '../meta/path.js';
import { SyncPathCache } from '../meta/sync-path-cache.js';
import type { SyncSummary } from '../types.js';
import type { Ufs, UfsStatus } from '../ufs/ufs.js';
import { ufsJoin } from '../ufs/ufs.js';
import { throwIfCancelled } from '../cancel.js';

export interface DirSyncJob {
  dirId: number;
  dirPath: string;
  /** UFS-relative path of the directory in its mount. */
  ufsPath: string;
  /** When the listing started: the time this sync vouches for. */
  startMs: number;
  /** Mark the directory as synced recursively (set on every directory of a recursive sync). */
  recursive: boolean;
  pageSize?: number;
}

export interface ChildDir {
  id: number;
  path: string;
  ufsPath: string;
  /** Set when the child is a mount point (synced through its own mount). */
  mountId?: number;
}

export interface DirSyncResult {
  summary: SyncSummary;
  /** Child directories (for a recursive sync's next level). */
  childDirs: ChildDir[];
  /** Content ids whose cached blocks are stale and must be dropped. */
  staleFileIds: number[];
  /** The directory no longer exists in the UFS (it was removed from Strata if allowed). */
  missing?: boolean;
}

export const emptySummary = (): SyncSummary => ({ created: 0, updated: 0, deleted: 0, unchanged: 0, failed: 0 });

export function addSummary(into: SyncSummary, s: SyncSummary): SyncSummary {
  into.created += s.created;
  into.updated += s.updated;
  into.deleted += s.deleted;
  into.unchanged += s.unchanged;
  into.failed += s.failed;
  return into;
}

/** Inode fields that mirror a UFS status. */
export function fromUfs(st: UfsStatus): Partial<InodeRecord> & Pick<InodeRecord, 'type'> {
  return {
    type: st.type,
    length: st.type === 'file' ? st.length : 0,
    mtimeMs: st.mtimeMs,
    // The UFS's ctime where it has one, else the mtime (absent); the access time is the mtime.
    ...(st.ctimeMs !== undefined && st.ctimeMs !== st.mtimeMs ? { ctimeMs: st.ctimeMs } : {}),
    ...(st.mode !== undefined ? { mode: st.mode & 0o7777 } : {}),
    ps: 'PERSISTED',
    ufsContent: st.contentHash,
    ufsMeta: st.metaHash,
    ufsEtag: st.etag,
  };
}

/** `existing` with the fields of the UFS status `st` (times included: Strata's own ctime and atime give way). */
function updatedFromUfs(existing: InodeRecord, st: UfsStatus): InodeRecord {
  const { ctimeMs: _c, atimeMs: _a, ...rest } = existing;
  return { ...rest, ...fromUfs(st) };
}

/** May a sync remove this inode because the UFS no longer has it? */
export function syncMayDelete(inode: InodeRecord, startMs: number): boolean {
  if (inode.mountId !== undefined) return false;
  if (inode.ps === 'NOT_PERSISTED' || inode.ps === 'TO_BE_PERSISTED') return false;
  return inode.touchMs < startMs;
}

/** What a directory sync knows up front about absent-cache entries of its children. */
export interface ApplyContext {
  /** The absent-cache entry of a child (read up front per page); when unset, each is looked up. */
  absent?: (path: string, name: string) => AbsentEntry | undefined;
  /** Id source for new inodes (ids reserved per page). */
  ids?: () => number;
  /**
   * The current child `name` of the directory, when the caller knows it cheaply (a
   * directory known to have no children yet); when unset, it is looked up.
   */
  child?: (name: string) => InodeRecord | undefined;
  /** Called when an entry is left as it is for safety (a mount point, a change through Strata, an unpersisted file, a recent delete). */
  onKept?: () => void;
}

/** Was this path deleted through Strata after `startMs` (so a stale listing must not resurrect it)? */
function deletedSince(t: AbsentEntry | undefined, startMs: number): boolean {
  return !!t?.deleted && t.ms >= startMs;
}

/** True when applying `st` to `existing` would change nothing (the re-sync fast path). */
export function isUnchanged(existing: InodeRecord | undefined, st: UfsStatus, startMs: number): boolean {
  if (!existing) return false;
  if (existing.mountId !== undefined || existing.touchMs >= startMs) return true;
  if (existing.ps === 'NOT_PERSISTED' || existing.ps === 'TO_BE_PERSISTED') return true;
  if (existing.type !== st.type || existing.ufsMeta !== st.metaHash) return false;
  return existing.ufsContent === st.contentHash;
}

/**
 * Apply one UFS entry to the child `name` of `dir`. Returns what happened and, for a
 * content change or a replaced entry, the stale content ids.
 */
export function applyEntry(
  tx: MetaTxn, dir: InodeRecord, dirPath: string, st: UfsStatus, startMs: number, now: number, ctx: ApplyContext = {},
): { outcome: keyof SyncSummary; stale?: number[]; inode?: InodeRecord } {
  const existing = ctx.child ? ctx.child(st.name) : InodeTree.child(tx, dir.id, st.name);
  if (!existing) {
    const path = joinPath(dirPath, st.name);
    const absent = ctx.absent ? ctx.absent(path, st.name) : AbsentPathCache.entry(tx, path);
    if (deletedSince(absent, startMs)) { ctx.onKept?.(); return { outcome: 'unchanged' }; }
    const fields = fromUfs(st);
    fields.createdMs = now;
    fields.touchMs = 0;
    const inode = InodeTree.create(tx, dir, st.name, fields, now, ctx.ids);
    if (absent) AbsentPathCache.forget(tx, path);
    return { outcome: 'created', inode };
  }
  if (existing.mountId !== undefined || existing.touchMs >= startMs || existing.ps === 'NOT_PERSISTED' || existing.ps === 'TO_BE_PERSISTED') {
    // A mount point is never replaced; an entry changed through Strata since the listing
    // started, or not yet persisted, is Strata's to keep.
    ctx.onKept?.();
    return { outcome: 'unchanged', inode: existing };
  }
  if (existing.type !== st.type) {
    // A file became a directory or the reverse: replace the whole entry.
    const stale: number[] = [];
    InodeTree.removeSubtree(tx, existing, (i) => { if (i.type === 'file') stale.push(i.fileId); });
    const inode = InodeTree.create(tx, dir, st.name, { ...fromUfs(st), createdMs: now, touchMs: 0 }, now);
    return { outcome: 'updated', stale, inode };
  }
  if (existing.ufsContent !== st.contentHash && st.type === 'file') {
    // New content: new content id, the old cached blocks are never served again.
    const fileId = InodeTree.allocId(tx);
    const updated = InodeTree.update(tx, { ...updatedFromUfs(existing, st), fileId, cachedBytes: 0, ...SyncPathCache.statusFields('file', now), xattr: undefined });
    return { outcome: 'updated', stale: [existing.fileId], inode: updated };
  }
  if (existing.ufsMeta !== st.metaHash || (st.type === 'directory' && existing.ufsContent !== st.contentHash)) {
    // For a directory this is its own status, not its listing: leave its listing's sync time.
    const updated = InodeTree.update(tx, { ...updatedFromUfs(existing, st), ...SyncPathCache.statusFields(st.type, now) });
    return { outcome: 'updated', inode: updated };
  }
  return { outcome: 'unchanged', inode: existing };
}

/**
 * Remove an inode the UFS no longer has, keeping whatever may not be deleted (unpersisted
 * files, mount points, entries changed through Strata since `startMs`) and their ancestors.
 * Returns the number removed and collects content ids to drop.
 */
export function pruneMissing(tx: MetaTxn, inode: InodeRecord, startMs: number, stale: number[]): number {
  return InodeTree.removeSubtree(tx, inode, (i) => { if (i.type === 'file') stale.push(i.fileId); }, (i) => !syncMayDelete(i, startMs));
}

/** A child directory to walk next: a mount point is synced through its own mount's root. */
function childDir(job: DirSyncJob, inode: InodeRecord): ChildDir {
  const mounted = inode.mountId !== undefined;
  return { id: inode.id, path: joinPath(job.dirPath, inode.name), ufsPath: mounted ? '' : ufsJoin(job.ufsPath, inode.name), mountId: inode.mountId };
}

/**
 * Sync one directory's children with its UFS listing. Pages are applied as they arrive;
 * the seen-name set is per directory (bounded by one directory's size, not the tree's).
 */
export async function syncDirectory(store: MetaStore, ufs: Ufs, job: DirSyncJob, now = Date.now, signal?: AbortSignal): Promise<DirSyncResult> {
  const summary = emptySummary();
  const childDirs: ChildDir[] = [];
  const staleFileIds: number[] = [];
  const seen = new Set<string>();
  const pages = ufs.list(job.ufsPath, { pageSize: job.pageSize ?? 1000, ...(signal ? { signal } : {}) });
  try {
    for await (const page of pages) {
      throwIfCancelled(signal, `sync of ${job.dirPath}`);
      // Fast path of a re-sync: a page whose entries all match needs no write transaction.
      const known = page.map((st) => InodeTree.child(store, job.dirId, st.name));
      if (known.every((e, i) => isUnchanged(e, page[i]!, job.startMs))) {
        known.forEach((e, i) => {
          const st = page[i]!;
          seen.add(st.name);
          summary.unchanged++;
          if (e!.type === 'directory') childDirs.push(childDir(job, e!));
        });
        continue;
      }
      await store.transact((tx) => {
        const dir = InodeTree.get(tx, job.dirId);
        if (!dir || dir.type !== 'directory') return;
        const t = now();
        // Read inside the page's transaction: a delete through Strata during this sync is seen.
        const absent = AbsentPathCache.children(tx, job.dirPath);
        let nextId = -1;
        const ctx: ApplyContext = {
          absent: (_path, name) => absent.get(name),
          ids: () => {
            if (nextId < 0) nextId = InodeTree.allocIds(tx, page.length * 2);
            return nextId++;
          },
        };
        for (const st of page) {
          seen.add(st.name);
          const r = applyEntry(tx, dir, job.dirPath, st, job.startMs, t, ctx);
          summary[r.outcome]++;
          if (r.stale) staleFileIds.push(...r.stale);
          if (r.inode?.type === 'directory') childDirs.push(childDir(job, r.inode));
        }
      });
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'NOT_FOUND' || (err as { code?: string }).code === 'NOT_A_DIRECTORY') {
      return { summary, childDirs: [], staleFileIds, missing: true };
    }
    throw err;
  }
  // Children Strata has but the UFS does not: remove, page by page. Only edges are read
  // (the name is in the key); an inode is decoded only when its child is gone.
  let after: string | undefined;
  for (;;) {
    let scanned = 0;
    const gone: InodeRecord[] = [];
    for (const { name, id } of InodeTree.childEntries(store, job.dirId, after, 1000)) {
      scanned++;
      after = name;
      if (seen.has(name)) continue;
      const c = InodeTree.get(store, id);
      if (c) gone.push(c);
    }
    if (scanned === 0) break;
    if (gone.length) {
      await store.transact((tx) => {
        for (const g of gone) {
          const cur = InodeTree.child(tx, job.dirId, g.name);
          if (cur) summary.deleted += pruneMissing(tx, cur, job.startMs, staleFileIds);
        }
      });
    }
    // Mount points and unpersisted children the UFS lacks still count as children to walk.
    for (const g of gone) {
      if (g.type === 'directory' && g.mountId !== undefined) {
        childDirs.push(childDir(job, g));
      }
    }
    if (scanned < 1000) break;
  }
  await store.transact((tx) => SyncPathCache.notifyListingSynced(tx, job.dirId, job.startMs, job.recursive));
  return { summary, childDirs, staleFileIds };
}

/** Page transactions of a flat tree sync issued before the oldest one has committed. */
const COMMITS_IN_FLIGHT = 4;

/** A directory of a flat tree sync whose listing is still arriving. */
interface OpenDir {
  id: number;
  /** Path relative to the synced root ('' for the root). */
  rel: string;
  path: string;
  seen: Set<string>;
  /** Its inode as read in the transaction of page `page` (read once per page, not per entry). */
  inode?: InodeRecord;
  page?: number;
  /** The page whose transaction created it: in that transaction its only children are the ones this sync adds. */
  createdIn?: number;
}

export interface TreeSyncResult {
  summary: SyncSummary;
  staleFileIds: number[];
  directories: number;
  /** The root no longer exists in the UFS. */
  missing?: boolean;
}

/**
 * Sync a whole subtree from ONE flat recursive listing (S3: ListObjectsV2 without a
 * delimiter, ~1,000 keys per call instead of one call per directory). Keys arrive in sorted
 * order, so all entries below a directory are contiguous: a stack of the directories still
 * open (bounded by the depth) holds their seen-names; a directory is closed — its missing
 * children removed, its listing marked synced (recursively) — as soon as the listing moves
 * past it. Each page is one transaction; the same safety rules as syncDirectory apply.
 * The subtree must not contain nested mount points (the caller checks).
 */
export async function syncTreeFlat(store: MetaStore, ufs: Ufs, job: Omit<DirSyncJob, 'recursive'>, now = Date.now,
  onProgress?: (entries: number) => void, signal?: AbortSignal): Promise<TreeSyncResult> {
  let entries = 0;
  const summary = emptySummary();
  const staleFileIds: number[] = [];
  let directories = 0;
  const stack: OpenDir[] = [{ id: job.dirId, rel: '', path: job.dirPath, seen: new Set() }];

  // A directory the listing has moved past: its missing children are removed in the page's
  // transaction, but it is marked synced only in a later transaction, once every page that
  // held its entries has committed (`marks`): with commits pipelined (below), a page whose
  // commit fails must not leave a directory that vouches for entries it lacks.
  const close = (tx: MetaTxn, dir: OpenDir, closed: number[]): void => {
    const gone: InodeRecord[] = [];
    for (const { name, id } of InodeTree.childEntries(tx, dir.id)) {
      if (dir.seen.has(name)) continue;
      const c = InodeTree.get(tx, id);
      if (c) gone.push(c);
    }
    for (const c of gone) summary.deleted += pruneMissing(tx, c, job.startMs, staleFileIds);
    closed.push(dir.id);
    directories++;
  };
  const mark = (tx: MetaTxn, ids: number[]): void => {
    for (const id of ids) SyncPathCache.notifyListingSynced(tx, id, job.startMs, true);
  };
  const isInside = (rel: string, dirRel: string): boolean => dirRel === '' || rel === dirRel || rel.startsWith(dirRel + '/');

  const pages = ufs.list(job.ufsPath, { recursive: true, pageSize: job.pageSize ?? 1000, ...(signal ? { signal } : {}) })[Symbol.asyncIterator]();
  // The next page is fetched while this one is applied and committed (one page ahead).
  let ahead = pages.next();
  let pageNo = 0;
  // Commits pipelined one page deep: page N+1 is applied while page N's group is flushed
  // (LMDB syncs a commit outside its write lock), instead of waiting one fsync per page.
  // Callbacks still run in issue order; once one throws, the later ones apply nothing.
  let failed = false;
  const inFlight: Array<{ commit: Promise<number[]>; entries: number }> = [];
  /** Directories closed in pages that have committed: marked synced by the next transaction. */
  let marks: number[] = [];
  /** Wait for the oldest page commits until at most `keep` are in flight. */
  const settle = async (keep: number): Promise<void> => {
    while (inFlight.length > keep) {
      const p = inFlight.shift()!;
      marks.push(...await p.commit);
      entries += p.entries;
      onProgress?.(entries);
    }
  };
  try {
    for (;;) {
      const got = await ahead;
      if (got.done) break;
      const page = got.value;
      if (failed) await settle(0); // a page before failed: its error
      // Stopped between pages: what was applied stays; open directories are not marked synced.
      throwIfCancelled(signal, `sync of ${job.dirPath}`);
      ahead = pages.next();
      ahead.catch(() => undefined); // its failure is met when it is awaited (or dropped after ours)
      const thisPage = ++pageNo;
      const ready = marks;
      marks = [];
      const commit = store.transact((tx): number[] => {
        if (failed) return [];
        const closed: number[] = [];
        try {
          mark(tx, ready);
          const t = now();
          // Absent entries below the root, read once per page (usually none); ids per page.
          const absent = AbsentPathCache.below(tx, job.dirPath);
          let nextId = -1;
          // The directory of the entry being applied, and whether this transaction created it
          // (then no child of it is stored yet, and the listing names each key once: no lookup).
          let curDir = 0;
          let curNew = false;
          const ctx: ApplyContext = {
            absent: absent ? (path) => absent.get(path) : undefined,
            ids: () => {
              if (nextId < 0) nextId = InodeTree.allocIds(tx, page.length * 2);
              return nextId++;
            },
            child: (name) => (curNew ? undefined : InodeTree.child(tx, curDir, name)),
          };
          for (const st of page) {
            const slash = st.name.lastIndexOf('/');
            const parentRel = slash < 0 ? '' : st.name.slice(0, slash);
            const name = st.name.slice(slash + 1);
            // Directories the listing has moved past are complete.
            while (stack.length > 1 && !isInside(parentRel, stack[stack.length - 1]!.rel)) close(tx, stack.pop()!, closed);
            const top = stack[stack.length - 1]!;
            if (top.rel !== parentRel) continue; // a parent the listing skipped (invalid name): not ours to judge
            // The parent as of this page's transaction (the apply of its children does not change it).
            if (top.page !== thisPage) { top.inode = InodeTree.get(tx, top.id); top.page = thisPage; }
            const dir = top.inode;
            if (!dir || dir.type !== 'directory') continue;
            // A name listed twice in one directory (S3 may hold both `d/x` and `d/x/…`) is looked up.
            curNew = top.createdIn === thisPage && !top.seen.has(name);
            curDir = dir.id;
            top.seen.add(name);
            const r = applyEntry(tx, dir, top.path, { ...st, name }, job.startMs, t, ctx);
            summary[r.outcome]++;
            if (r.stale) staleFileIds.push(...r.stale);
            if (r.inode?.type === 'directory' && r.inode.mountId === undefined) {
              stack.push({
                id: r.inode.id, rel: st.name, path: joinPath(top.path, name), seen: new Set(), inode: r.inode, page: thisPage,
                ...(r.outcome === 'created' ? { createdIn: thisPage } : {}),
              });
            }
          }
        } catch (err) {
          failed = true;
          throw err;
        }
        return closed;
      });
      commit.catch(() => undefined); // met by settle()
      inFlight.push({ commit, entries: page.length });
      await settle(COMMITS_IN_FLIGHT);
    }
    await settle(0);
  } catch (err) {
    void pages.return?.(undefined).catch(() => undefined); // after the page in flight: stops the listing
    await Promise.allSettled(inFlight.map((p) => p.commit));
    const code = (err as { code?: string }).code;
    if (code !== 'NOT_FOUND' && code !== 'NOT_A_DIRECTORY') throw err;
    // The root is gone from the UFS: the caller reconciles its own entry.
    return { summary, staleFileIds, directories, missing: true };
  }
  await store.transact((tx) => {
    const closed: number[] = [];
    while (stack.length > 0) close(tx, stack.pop()!, closed);
    mark(tx, marks);
    mark(tx, closed);
  });
  return { summary, staleFileIds, directories };
}
