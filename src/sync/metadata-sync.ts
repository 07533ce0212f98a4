// Metadata sync on access and on demand: decides from the load type, the sync interval and
// the sync-time cache whether a path (or a directory's listing) must be checked against
// the UFS, loads paths not yet in the namespace, and runs recursive syncs as a
// breadth-first fan-out across shard actors with bounded parallelism. Whether a sync is due
// is the sync-time cache's rule (meta/sync-path-cache.ts). Concurrent syncs of the same
// path are joined (the task tracker), and a recursive sync absorbs a recursive request for
// a path below it (as Alluxio's mdsync TaskTracker), not repeated.

import type { BlockStore } from '../cache/block-store.js';
import type { Metrics } from '../metrics/metrics.js';
import type { OptionResolver } from '../options/options.js';
import { ErrorCode, StrataError, absentPath, notFound, notADirectory } from '../errors.js';
import { cancelledError, shareSignal, throwIfCancelled } from '../cancel.js';
import type { AbsentPathCache } from '../meta/absent-cache.js';
import type { InodeRecord } from '../meta/inode.js';
import { InodeTree } from '../meta/inode-tree.js';
import type { Resolution } from '../meta/inode-tree.js';
import type { MetaStore } from '../meta/meta-store.js';
import type { MountRecord, MountTable } from '../meta/mount-table.js';
import { ancestors, joinPath } from '../meta/path.js';
import { SyncPathCache, UfsStatusCache } from '../meta/sync-path-cache.js';
import type { ConsistencyReport, LoadType, ProgressListener, SyncSummary } from '../types.js';
import type { MountedUfsCache } from '../ufs/mounted-ufs.js';
import type { Ufs, UfsStatus } from '../ufs/ufs.js';
import { addSummary, emptySummary } from './applier.js';
import type { ChildDir, DirSyncResult, TreeSyncResult } from './applier.js';
import type { SyncActors, SyncDirTask, SyncDirsTask, SyncTreeTask } from './worker-tasks.js';
import type { BatchDir, DirBatchResult } from './dir-batch.js';
import { applyStatus } from './sync-paths.js';

/** Most directories of one BFS level sent to the pool in one task. */
const MAX_DIRS_PER_TASK = 64;

export interface AccessOptions {
  syncIntervalMs?: number;
  loadType?: LoadType;
}

export interface SyncDeps {
  store: MetaStore;
  tree: InodeTree;
  mounts: MountTable;
  ufs: MountedUfsCache;
  actors: SyncActors;
  absent: AbsentPathCache;
  options: OptionResolver;
  metrics: Metrics;
  blocks: BlockStore;
  parallelism: () => { dirs: number; prefetch: number };
}

export class MetadataSync {
  /** Syncs in progress, by kind and path: concurrent requests join them. */
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(private readonly d: SyncDeps) {}

  private ufsOf(mount: MountRecord): Ufs {
    return this.d.ufs.get(mount, this.d.metrics.ufsCall);
  }

  private joined<T>(key: string, run: () => Promise<T>): Promise<T> {
    const cur = this.inflight.get(key);
    if (cur) {
      this.d.metrics.inc('sync', 'joined');
      return cur as Promise<T>;
    }
    const p = run().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** Recently fetched UFS statuses (see syncSelf's `statusSince`). */
  readonly statuses = new UfsStatusCache<UfsStatus | null>();


  /**
   * The inode of `path`, fresh per the call's sync interval and load type. With `listing`,
   * a directory's children are loaded/synced too. Throws NOT_FOUND.
   */
  async access(path: string, opts: AccessOptions, listing: boolean): Promise<InodeRecord> {
    const now = Date.now();
    const interval = this.d.options.syncInterval(path, opts.syncIntervalMs);
    const loadType = this.d.options.loadType(path, opts.loadType);
    let res = this.d.tree.resolve(path);
    if (!res.inode) {
      res = await this.loadMissing(path, res, loadType, interval, now);
    } else if (SyncPathCache.shouldSyncPath(res.chain, interval, now) && path !== '/') {
      const mount = this.d.mounts.resolve(path);
      if (mount.mount.path !== path) {
        await this.joined(`self:${path}`, () => this.syncSelf(path));
        res = this.d.tree.resolve(path);
        if (!res.inode) throw absentPath(path);
      }
    }
    let inode = res.inode!;
    if (listing && inode.type === 'directory') {
      // res.chain ends at this inode (a syncSelf above re-resolved it).
      if (SyncPathCache.shouldSyncListing(res.chain, interval, loadType, now)) {
        await this.syncChildren(path, inode);
        inode = this.d.tree.getInode(inode.id) ?? inode;
      }
    }
    return inode;
  }

  /**
   * Does a recursive listing of the directory `path` need a recursive sync first? When its
   * interval is due (a due interval re-syncs even a tree synced recursively before: ls -R -f),
   * or when it was never listed (or load type ALWAYS) and no recursive sync covers it.
   */
  treeSyncDue(path: string, root: InodeRecord, opts: AccessOptions): boolean {
    const loadType = this.d.options.loadType(path, opts.loadType);
    if (loadType === 'NEVER') return false;
    const interval = this.d.options.syncInterval(path, opts.syncIntervalMs);
    return SyncPathCache.shouldSyncTree(this.d.tree.resolve(path).chain, root, interval, loadType, Date.now());
  }

  /** Load a path that is not in the namespace, per the load type. */
  private async loadMissing(path: string, res: Resolution, loadType: LoadType, interval: number, now: number): Promise<Resolution> {
    if (loadType === 'NEVER') throw absentPath(path);
    const deepest = res.chain[res.chain.length - 1]!;
    if (deepest.type !== 'directory') throw notADirectory(joinPath('/', res.components.slice(0, res.found).join('/')));
    if (loadType === 'ONCE') {
      // As in Alluxio, a path not in the namespace is looked up in the UFS once (then
      // remembered absent), even when its parent's listing was loaded. With
      // absent.from.listing=true a loaded, fresh listing answers absent children instead
      // (cheaper; right when every write goes through Strata). See docs/semantics.md.
      if (this.d.options.get(path, 'absent.from.listing') && deepest.loaded && !SyncPathCache.due(interval, SyncPathCache.lastSynced(res.chain, true), now)) {
        this.d.metrics.inc('sync', 'listingHits');
        throw absentPath(path);
      }
      const absentEnabled = this.d.options.get(path, 'absent.cache.enabled');
      if (absentEnabled && this.d.absent.check(path, this.d.options.get(path, 'absent.cache.ttl'), now) !== undefined) {
        this.d.metrics.inc('sync', 'absentHits');
        throw absentPath(path);
      }
    }
    await this.joined(`self:${path}`, () => this.syncSelf(path));
    const after = this.d.tree.resolve(path);
    if (!after.inode) throw absentPath(path);
    return after;
  }

  /**
   * Make the inode of one path match the UFS: create it (and missing ancestors), update it,
   * or remove it and remember it absent.
   */
  async syncSelf(path: string, opts: { statusSince?: number; signal?: AbortSignal } = {}): Promise<void> {
    const { mount, ufsPath } = this.d.mounts.resolve(path);
    this.d.metrics.inc('sync', 'paths');
    // A status fetched since `statusSince` may answer; its fetch time is then the time this
    // sync vouches for, so a change through Strata after the fetch is never undone.
    const cached = opts.statusSince === undefined ? undefined : this.statuses.get(path, opts.statusSince);
    if (cached) this.d.metrics.inc('sync', 'statusCacheHits');
    const startMs = cached ? cached.ms : Date.now();
    const st = cached ? cached.status : await this.ufsOf(mount).getStatus(ufsPath, opts.signal ? { signal: opts.signal } : {});
    if (!cached) this.statuses.put(path, st, startMs);
    const stale: number[] = [];
    await this.d.actors.tellSync(path, () => this.d.store.transact((tx) => applyStatus(tx, { path, status: st ?? null, startMs }, Date.now(), stale)));
    await this.dropStale(stale);
  }

  private async dropStale(fileIds: number[]): Promise<void> {
    for (const id of fileIds) {
      const freed = await this.d.blocks.removeFile(id);
      if (freed) this.d.metrics.inc('cache', 'staleBytesDropped', freed);
    }
  }

  private mountIdFor(path: string, inode: InodeRecord): { mountId: number; ufsPath: string } {
    if (inode.mountId !== undefined) return { mountId: inode.mountId, ufsPath: '' };
    const { mount, ufsPath } = this.d.mounts.resolve(path);
    return { mountId: mount.mountId, ufsPath };
  }

  /** Sync one directory's listing on the pool, through its shard actor. */
  private async syncDir(dir: ChildDir & { mountId: number }, recursive: boolean, signal?: AbortSignal): Promise<DirSyncResult> {
    throwIfCancelled(signal, `sync of ${dir.path}`);
    const t0 = Date.now();
    const msg: SyncDirTask = {
      kind: 'syncDir',
      mountId: dir.mountId,
      job: { dirId: dir.id, dirPath: dir.path, ufsPath: dir.ufsPath, startMs: t0, recursive, pageSize: this.d.options.get(dir.path, 'sync.list.page.size') },
    };
    const shared = shareSignal(signal);
    if (shared.flag) msg.cancel = shared.flag;
    let result: DirSyncResult;
    try {
      result = await this.d.actors.offload<DirSyncResult>(dir.path, msg);
    } finally {
      shared.dispose();
    }
    this.d.metrics.inc('sync', 'directories');
    this.d.metrics.inc('sync', 'entries', entriesOf(result.summary));
    this.d.metrics.inc('sync', 'timeMs', Date.now() - t0);
    await this.dropStale(result.staleFileIds);
    if (result.missing) {
      // The directory itself is gone from the UFS: reconcile its own entry.
      await this.syncSelf(dir.path);
    }
    return result;
  }

  /** Sync the children of a directory (one level). */
  syncChildren(path: string, inode: InodeRecord): Promise<SyncSummary> {
    return this.joined(`dir:${path}`, async () => {
      const { mountId, ufsPath } = this.mountIdFor(path, inode);
      const r = await this.syncDir({ id: inode.id, path, ufsPath, mountId }, false);
      return r.summary;
    });
  }

  /**
   * Sync a directory's listing now, never joining a sync already in flight (it may have
   * listed before the change that asks for this one: active sync events).
   */
  async syncListingNow(path: string): Promise<void> {
    const inode = this.d.tree.resolve(path).inode;
    if (!inode) return this.syncSelf(path);
    if (inode.type !== 'directory') return this.syncSelf(path);
    const { mountId, ufsPath } = this.mountIdFor(path, inode);
    await this.syncDir({ id: inode.id, path, ufsPath, mountId }, false);
  }

  /** Sync a subtree now, never joining a recursive sync already in flight (see syncListingNow). */
  async syncTreeNow(path: string): Promise<void> {
    const inode = this.d.tree.resolve(path).inode;
    if (!inode || inode.type !== 'directory') {
      await this.loadMetadata(path, true);
      return;
    }
    await this.syncTree(path, inode);
  }

  /** `loadMetadata`: sync a path now, one level or its whole subtree (BFS). */
  async loadMetadata(path: string, recursive: boolean, onProgress?: ProgressListener, signal?: AbortSignal): Promise<SyncSummary> {
    throwIfCancelled(signal, `sync of ${path}`);
    this.d.metrics.inc('sync', 'loadMetadata');
    const before = this.d.tree.resolve(path);
    if (!before.inode || before.inode.type === 'file') {
      await this.syncSelf(path, { signal });
      const after = this.d.tree.resolve(path);
      if (!after.inode && !before.inode) throw notFound(path);
      const s = emptySummary();
      if (!before.inode) s.created++;
      else if (!after.inode) s.deleted++;
      else if (after.inode.fileId !== before.inode.fileId || after.inode.mode !== before.inode.mode || after.inode.length !== before.inode.length) s.updated++;
      else s.unchanged++;
      // A new directory (or a file replaced by one): its listing is loaded too.
      if (after.inode?.type === 'directory' && before.inode?.type !== 'directory') {
        return addSummary(s, await this.loadMetadata(path, recursive, onProgress, signal));
      }
      return s;
    }
    if (!recursive) return this.syncChildren(path, before.inode);
    return this.joinedAbortable(`rec:${path}`, signal, (s) => this.syncTree(path, before.inode!, onProgress, s));
  }

  /**
   * `joined` for work that can be cancelled: the run gets a signal that aborts only when
   * every caller that joined it has aborted (a caller without a signal never does); a caller
   * whose own signal aborts gets CANCELLED at once.
   */
  private joinedAbortable<T>(key: string, signal: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let entry = (this.abortable.get(key) ?? this.covering(key)) as { p: Promise<T>; controller: AbortController; live: number } | undefined;
    if (entry) {
      this.d.metrics.inc('sync', 'joined');
    } else {
      const controller = new AbortController();
      const e = { p: undefined as unknown as Promise<T>, controller, live: 0 };
      e.p = run(controller.signal).finally(() => this.abortable.delete(key));
      this.abortable.set(key, e);
      entry = e;
    }
    const e = entry;
    if (!signal) {
      e.live = Number.POSITIVE_INFINITY;
      return e.p;
    }
    e.live++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        if (--e.live <= 0) e.controller.abort(signal.reason);
        reject(cancelledError(signal, `sync of ${key.slice(4)}`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      e.p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private readonly abortable = new Map<string, { p: Promise<unknown>; controller: AbortController; live: number }>();

  /**
   * A running recursive sync of an ancestor absorbs a recursive request for a path below
   * it (Alluxio's mdsync TaskTracker): the request joins it (and gets its summary) instead
   * of listing the subtree a second time. One map lookup per ancestor.
   */
  private covering(key: string): { p: Promise<unknown>; controller: AbortController; live: number } | undefined {
    if (!key.startsWith('rec:')) return undefined;
    const anc = ancestors(key.slice(4));
    for (let i = anc.length - 1; i >= 0; i--) {
      const e = this.abortable.get(`rec:${anc[i]}`);
      if (e && !e.controller.signal.aborted) return e;
    }
    return undefined;
  }

  /**
   * Breadth-first sync of a subtree: at most `sync.parallelism` directories of the current
   * level in flight, and up to `sync.prefetch.parallelism` directories of the next level
   * started early while the current level finishes. A directory that fails is counted and
   * skipped; the tree stays consistent and the next sync completes it.
   */
  private async syncTree(path: string, root: InodeRecord, onProgress?: ProgressListener, signal?: AbortSignal): Promise<SyncSummary> {
    const { mountId, ufsPath } = this.mountIdFor(path, root);
    const mount = this.d.mounts.byId(mountId);
    if (mount && this.d.ufs.rawUfs(mount).flatListing && this.d.mounts.nestedUnder(path).length === 0) {
      return this.syncTreeFlat(path, root, mountId, ufsPath, onProgress, signal);
    }
    const total = emptySummary();
    const { dirs: maxDirs, prefetch: maxPrefetch } = this.d.parallelism();
    const pageSize = this.d.options.get(path, 'sync.list.page.size');
    // Queues and running counts (in tasks) of the current level and the next one.
    const queued: [BatchDir[], BatchDir[]] = [[{ id: root.id, path, ufsPath, mountId }], []];
    const running = [0, 0];
    let level = 0;
    let done = 0;
    let firstError: unknown;
    // One cancellation flag for every task of this sync (one listener on the caller's signal).
    const shared = shareSignal(signal);
    // Directories per task: the queue spread over the tasks allowed in flight, so that a
    // wide level goes out in few large tasks and a narrow one still uses every thread.
    const take = (q: BatchDir[], slots: number): BatchDir[] =>
      q.splice(0, Math.min(MAX_DIRS_PER_TASK, Math.max(1, Math.ceil(q.length / Math.max(1, slots)))));

    try {
      await new Promise<void>((resolveAll) => {
        const pump = (): void => {
          const cur = level % 2;
          const nxt = 1 - cur;
          if (signal?.aborted) {
            // Cancelled: start nothing more; done once the directories in flight are applied.
            queued[0].length = 0;
            queued[1].length = 0;
            if (running[0] === 0 && running[1] === 0) resolveAll();
            return;
          }
          if (queued[cur].length === 0 && running[cur] === 0) {
            if (queued[nxt].length === 0 && running[nxt] === 0) return resolveAll();
            level++; // the next level becomes current (its early starts keep their count)
            return pump();
          }
          while (queued[cur].length > 0 && running[cur] < maxDirs) start(take(queued[cur], maxDirs), cur, level);
          while (queued[nxt].length > 0 && running[nxt] < maxPrefetch) start(take(queued[nxt], maxPrefetch), nxt, level + 1);
        };
        const start = (dirs: BatchDir[], slot: number, dirLevel: number): void => {
          running[slot]!++;
          let synced = dirs.length;
          this.syncDirs(dirs, pageSize, shared.flag, signal).then((r) => {
            addSummary(total, r.summary);
            synced = r.directories ?? dirs.length;
            // Children go one level below this directory's level.
            const childSlot = (dirLevel + 1) % 2;
            for (const c of r.childDirs) queued[childSlot].push(c);
          }, (err) => {
            total.failed += dirs.length;
            this.d.metrics.inc('sync', 'failedDirectories', dirs.length);
            if (dirLevel === 0) firstError = err;
          }).finally(() => {
            running[slot]!--;
            done += synced;
            onProgress?.({ done, phase: 'sync', total: done + queued[0].length + queued[1].length + running[0]! + running[1]! });
            pump();
          });
        };
        pump();
      });
    } finally {
      shared.dispose();
    }
    throwIfCancelled(signal, `sync of ${path}`);
    if (firstError) throw firstError;
    return total;
  }

  /** Sync a batch of directories of a recursive sync on the pool (sync/dir-batch.ts). */
  private async syncDirs(dirs: BatchDir[], pageSize: number, cancel: SharedArrayBuffer | undefined, signal?: AbortSignal): Promise<DirBatchResult> {
    throwIfCancelled(signal, `sync of ${dirs[0]!.path}`);
    const t0 = Date.now();
    const msg: SyncDirsTask = { kind: 'syncDirs', job: { dirs, startMs: t0, recursive: true, pageSize } };
    if (cancel) msg.cancel = cancel;
    const result = await this.d.actors.offload<DirBatchResult>(dirs[0]!.path, msg);
    // With the subdirectories the task went on with (sync/dir-batch.ts, DESCEND_WIDTH).
    this.d.metrics.inc('sync', 'directories', result.directories ?? dirs.length);
    this.d.metrics.inc('sync', 'entries', entriesOf(result.summary));
    this.d.metrics.inc('sync', 'digestHits', result.digestHits);
    this.d.metrics.inc('sync', 'digestScans', result.digestScans ?? 0);
    this.d.metrics.inc('sync', 'timeMs', Date.now() - t0);
    await this.dropStale(result.staleFileIds);
    // Directories gone from the UFS: reconcile their own entries.
    for (const p of result.missing) await this.syncSelf(p);
    return result;
  }

  /**
   * A recursive sync from one flat listing of the subtree (object stores list ~1,000 keys
   * per call without a delimiter, against one call per directory for the BFS), applied on
   * the pool through the sync lane of the root's shard.
   */
  private async syncTreeFlat(path: string, root: InodeRecord, mountId: number, ufsPath: string, onProgress?: ProgressListener, signal?: AbortSignal): Promise<SyncSummary> {
    const t0 = Date.now();
    const msg: SyncTreeTask = { kind: 'syncTree', mountId, job: { dirId: root.id, dirPath: path, ufsPath, startMs: t0, pageSize: this.d.options.get(path, 'sync.list.page.size') } };
    // The worker stops between listing pages once every caller has left.
    const shared = shareSignal(signal);
    if (shared.flag) msg.cancel = shared.flag;
    // One long task: the worker reports entries applied while it runs.
    let result: TreeSyncResult;
    try {
      result = await this.d.actors.offload<TreeSyncResult>(path, msg,
        onProgress ? { onProgress: (done) => onProgress({ done, phase: 'sync' }) } : {});
    } finally {
      shared.dispose();
    }
    this.d.metrics.inc('sync', 'directories', result.directories);
    this.d.metrics.inc('sync', 'flatTreeSyncs');
    this.d.metrics.inc('sync', 'entries', entriesOf(result.summary));
    this.d.metrics.inc('sync', 'timeMs', Date.now() - t0);
    await this.dropStale(result.staleFileIds);
    if (result.missing) await this.syncSelf(path, { signal });
    const s = result.summary;
    onProgress?.({ done: s.created + s.updated + s.deleted + s.unchanged, phase: 'sync' });
    return s;
  }

  /**
   * Paths under `path` (one level, or the subtree) where Strata and the UFS disagree:
   * `deleted` (in Strata, missing in the UFS), `changed` (another type or fingerprint) and
   * `ufsOnly` (in the UFS, missing from a directory whose listing Strata has loaded);
   * `inconsistent` is all of them. An unpersisted file with a UFS object at its path counts
   * as changed (a sync would otherwise bring that version back). Pending files, the temp files of UFS writes and nested
   * mount points are skipped. With `repair`, each path is synced.
   */
  async checkConsistency(path: string, root: InodeRecord, recursive: boolean, repair: boolean, signal?: AbortSignal): Promise<ConsistencyReport> {
    const checkStart = Date.now();
    const what = `checkConsistency of ${path}`;
    const ufsOpts = signal ? { signal } : {};
    const changed: string[] = [];
    const deleted: string[] = [];
    const ufsOnly: string[] = [];
    const rootMount = this.d.mounts.resolve(path).mount.mountId;
    const check = async (cp: string, inode: InodeRecord): Promise<void> => {
      if (inode.ps === 'NOT_PERSISTED' && inode.type === 'file') {
        // An unpersisted file has no UFS copy; one there is another version (stale, or an
        // outside writer's) and a sync would bring it back: reported as changed.
        const { mount, ufsPath } = this.d.mounts.resolve(cp);
        const t = Date.now();
        const st = await this.ufsOf(mount).getStatus(ufsPath, ufsOpts);
        this.statuses.put(cp, st, t);
        if (st) changed.push(cp);
        return;
      }
      if (inode.ps !== 'PERSISTED') return;
      const { mount, ufsPath } = this.d.mounts.resolve(cp);
      const t = Date.now();
      const st = await this.ufsOf(mount).getStatus(ufsPath, ufsOpts);
      this.statuses.put(cp, st, t);
      if (!st) deleted.push(cp);
      else if (st.type !== inode.type || (inode.type === 'file' && (st.contentHash !== inode.ufsContent || st.metaHash !== inode.ufsMeta))) changed.push(cp);
    };
    /** Entries of the UFS directory that the loaded Strata directory lacks. */
    const extra = async (dp: string, dir: InodeRecord): Promise<void> => {
      if (!dir.loaded || dir.ps !== 'PERSISTED') return;
      const { mount, ufsPath } = this.d.mounts.resolve(dp);
      let pages: AsyncIterable<Array<{ name: string }>>;
      try {
        pages = this.ufsOf(mount).list(ufsPath, ufsOpts);
        for await (const page of pages) {
          throwIfCancelled(signal, what);
          for (const e of page) {
            if (!this.d.tree.getChild(dir.id, e.name)) ufsOnly.push(joinPath(dp, e.name));
          }
        }
      } catch (err) {
        // A directory missing in the UFS is reported by check() as deleted.
        if ((err as { code?: string }).code !== 'NOT_FOUND' && (err as { code?: string }).code !== 'NOT_A_DIRECTORY') throw err;
      }
    };
    await check(path, root);
    if (root.type === 'directory') {
      await extra(path, root);
      const entries = recursive ? this.d.tree.walk(path, root) : this.children(path, root);
      for (const { path: cp, inode } of entries) {
        if (inode.id === root.id || inode.mountId !== undefined) continue;
        if (this.d.mounts.resolve(cp).mount.mountId !== rootMount) continue; // below a nested mount
        throwIfCancelled(signal, what);
        await check(cp, inode);
        if (recursive && inode.type === 'directory') await extra(cp, inode);
      }
    }
    const inconsistent = [...deleted, ...changed, ...ufsOnly];
    let repaired = 0;
    if (repair) {
      for (const ip of inconsistent) {
        // The status this check fetched answers (no second getStatus per path).
        throwIfCancelled(signal, what);
        await this.syncSelf(ip, { statusSince: checkStart, signal });
        repaired++;
      }
    }
    return { inconsistent, repaired, changed, deleted, ufsOnly };
  }

  private *children(path: string, dir: InodeRecord): Iterable<{ path: string; inode: InodeRecord }> {
    for (const c of this.d.tree.iterateChildren(dir.id)) yield { path: joinPath(path, c.name), inode: c };
  }

  /** Force the next access of a path (and anything below) to consult the UFS. */
  async needsSync(path: string): Promise<void> {
    await this.d.absent.clearUnder(path);
    const r = this.d.tree.resolve(path);
    // A path not in the namespace: its deepest known ancestor's loaded listing would still
    // answer "absent" under ONCE, so that ancestor's listing is what must be re-checked.
    const target = r.inode ?? r.chain[r.chain.length - 1];
    if (target) {
      const id = target.id;
      await this.d.store.transact((tx) => SyncPathCache.invalidate(tx, id));
    }
    // Ancestors' recursive sync times no longer vouch for this path.
    for (const a of r.chain.slice(0, r.found)) {
      if (a.syncRec) {
        await this.d.store.transact((tx) => SyncPathCache.dropRecursive(tx, a.id));
      }
    }
  }
}

/** Entries a sync looked at: created, updated, deleted or unchanged (the `sync.entries` counter). */
function entriesOf(s: SyncSummary): number {
  return s.created + s.updated + s.deleted + s.unchanged;
}
