// The coordinator: Strata's FileSystem in library mode and the back end of the TCP server.
// It validates every call, resolves its options (call > path > mount > server), routes
// mutations to the shard actor of the path, syncs metadata through MetadataSync, moves data
// through DataPath and keeps the mount table. Reads of fresh metadata go straight to LMDB.

import { mkdirSync } from 'node:fs';
import { join, resolve as resolveFs } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ActiveSyncManager } from '../activesync/manager.js';
import { ActorSystem } from '../actors/actor-system.js';
import type { LockRequest } from '../actors/path-locks.js';
import { BlockStore } from '../cache/block-store.js';
import { CacheManagement } from '../cache/cache-management.js';
import { TtlChecker } from '../cache/ttl-checker.js';
import { ServerConfig, isConfigKey, isUfsOptionKey, validateProperty } from '../config/keys.js';
import { describeConfig } from '../config/describe.js';
import {
  ErrorCode, StrataError, alreadyExists, directoryNotEmpty, invalidArgument, invalidPath, isADirectory,
  mountConflict, notADirectory, notFound, readOnly, toStrataError,
} from '../errors.js';
import type { DataSource, FileSystem } from '../fs.js';
import { logger as defaultLogger } from '../log.js';
import type { Logger } from '../log.js';
import { AbsentPathCache } from '../meta/absent-cache.js';
import type { InodeRecord } from '../meta/inode.js';
import { ROOT_ID } from '../meta/inode.js';
import { IdAllocator, InodeTree } from '../meta/inode-tree.js';
import { DataDirLock } from '../meta/data-dir-lock.js';
import { IntentJournal } from '../meta/intents.js';
import type { Intent } from '../meta/intents.js';
import { LmdbStore } from '../meta/lmdb-store.js';
import type { MetaStore } from '../meta/meta-store.js';
import { MountTable } from '../meta/mount-table.js';
import type { MountRecord } from '../meta/mount-table.js';
import { baseName, isUnder, joinPath, normalizePath, parentPath, pathComponents, ROOT } from '../meta/path.js';
import { PathConf } from '../meta/path-conf.js';
import { MetadataSync } from '../sync/metadata-sync.js';
import type {
  CacheOpOptions, CacheOpResult, ConfEntry, ConsistencyOptions, ConsistencyReport, CreateDirectoryOptions, CreateFileOptions,
  DeleteOptions, FileInfo, GetStatusOptions, ListStatusOptions, LoadMetadataOptions, MountInfo, MountOptions,
  PathConfEntry, ReadOptions, RenameOptions, Report, SetAttributesOptions, SyncPointInfo, SyncSummary, TtlAction, WithProgress, WriteType,
} from '../types.js';
import { MountedUfsCache, ufsTimeoutMs } from '../ufs/mounted-ufs.js';
import { InstrumentedUfs } from '../ufs/instrumented.js';
import { createUfs } from '../ufs/registry.js';
import { LocalUfs } from '../ufs/local/local-ufs.js';
import { UfsChangedError } from '../ufs/ufs.js';
import type { Ufs } from '../ufs/ufs.js';
import { AllowedRoots } from '../auth/allowed-roots.js';
import { DataPath } from './data-path.js';
import { IntentRecovery } from './intent-recovery.js';
import { Metrics } from './metrics.js';
import { OptionResolver } from './options.js';
import { PersistQueue } from './persist-queue.js';
import { validateOptions } from './validate-options.js';

export interface CoordinatorOptions {
  dataDir: string;
  /** Root UFS URI; default file://<dataDir>/ufs. */
  rootUfs?: string;
  config?: ServerConfig;
  logger?: Logger;
  /**
   * Start the worker threads (needed by directory syncs only) once open has returned, instead
   * of waiting for them: `strata server` listens sooner, and a sync sent meanwhile waits for
   * them. Default false: open resolves with the workers ready.
   */
  workersAfterOpen?: boolean;
}

const VERSION = '0.1.0';
/** How long a delete through Strata keeps a sync that started earlier from resurrecting the path. */
const TOMBSTONE_TTL_MS = 10 * 60_000;
const MAX_PAGE = 1000;
/** UFS errors of a call refused before it changed anything. */
const REFUSALS = new Set<string>([ErrorCode.ALREADY_EXISTS, ErrorCode.NOT_FOUND, ErrorCode.INVALID_PATH, ErrorCode.PERMISSION_DENIED, ErrorCode.READ_ONLY, ErrorCode.NOT_A_DIRECTORY]);

export class Coordinator implements FileSystem {
  private readonly startedAt = Date.now();
  private closed = false;

  private constructor(
    readonly metrics: Metrics,
    readonly dataDir: string,
    readonly config: ServerConfig,
    readonly store: MetaStore,
    readonly tree: InodeTree,
    readonly mounts: MountTable,
    private readonly pathConf: PathConf,
    private readonly absent: AbsentPathCache,
    private readonly options: OptionResolver,
    readonly blocks: BlockStore,
    private readonly actors: ActorSystem,
    private readonly ufsCache: MountedUfsCache,
    private readonly sync: MetadataSync,
    private readonly data: DataPath,
    private readonly persistQueue: PersistQueue,
    private readonly activeSync: ActiveSyncManager,
    private readonly log: Logger,
  ) {
    this.ids = new IdAllocator(store);
    this.journal = new IntentJournal(store);
    this.recovery = new IntentRecovery({ store, tree, mounts, blocks, journal: this.journal, metrics, log, ufsOf: (m) => this.ufsOf(m) });
    this.cacheOps = new CacheManagement({
      tree, store, blocks, persistQueue,
      access: (p, o, listing) => sync.access(p, o, listing),
      loadTree: (p) => sync.loadMetadata(p, true).then(() => undefined),
      read: (p, o) => this.readFile(p, o),
    });
    this.ttl = new TtlChecker(store, {
      pathOf: (id) => tree.pathOf(id),
      free: (p) => this.free(p, { recursive: true }),
      delete: (p) => this.delete(p, { recursive: true }),
    }, this.metrics, log);
  }

  private readonly ttl: TtlChecker;
  private readonly ids: IdAllocator;
  /** Intents of operations that change a UFS and then the namespace (see src/meta/intents.ts). */
  private readonly journal: IntentJournal;
  private readonly recovery: IntentRecovery;
  /** The targets mounts may name (src/auth/allowed-roots.ts), built on first use. */
  private get allowedRoots(): AllowedRoots {
    this.allowedRootsCache ??= new AllowedRoots({
      list: this.config.get('mount.allowed.roots'), dataDir: this.dataDir,
      rootUfs: this.mounts.root!.ufsUri, ufsDefaults: this.config.ufsDefaults,
    });
    return this.allowedRootsCache;
  }
  private allowedRootsCache: AllowedRoots | undefined;
  private readonly cacheOps: CacheManagement;

  /** The exclusive lock on the data directory, held until close(). */
  private dirLock: DataDirLock | undefined;

  /**
   * Open (or create) a Strata instance on a data directory. Takes the directory's exclusive
   * lock first: a directory in use by another live process fails with FAILED_PRECONDITION.
   */
  static async open(opts: CoordinatorOptions): Promise<Coordinator> {
    const dir = resolveFs(opts.dataDir);
    mkdirSync(dir, { recursive: true });
    const lock = DataDirLock.acquire(dir);
    try {
      const c = await Coordinator.openLocked(opts);
      c.dirLock = lock;
      return c;
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  private static async openLocked(opts: CoordinatorOptions): Promise<Coordinator> {
    const config = opts.config ?? new ServerConfig();
    const log = opts.logger ?? defaultLogger;
    const dataDir = resolveFs(opts.dataDir);
    mkdirSync(dataDir, { recursive: true });
    const store = LmdbStore.open(join(dataDir, 'meta'));
    const tree = new InodeTree(store);
    await tree.init().catch(async (err: unknown) => { await store.close().catch(() => undefined); throw err; }); // a foreign or newer format
    const mounts = new MountTable(store);
    await Coordinator.ensureRootMount(store, mounts, dataDir, opts.rootUfs);
    const pathConf = new PathConf(store);
    const absent = new AbsentPathCache(store);
    const options = new OptionResolver(config, mounts, pathConf);
    const blocks = new BlockStore(store, dataDir, config.get('cache.capacity'), config.get('cache.block.size'));
    const ufsCache = new MountedUfsCache(config.ufsDefaults, config.get('ufs.timeout'));
    const metrics = new Metrics();
    const actors = new ActorSystem({
      shardCount: config.get('shard.count'),
      shardDepth: config.get('shard.depth'),
      threads: config.get('worker.threads'),
      workerInit: { dataDir, metaDir: join(dataDir, 'meta'), ufsDefaults: config.ufsDefaults, ufsTimeoutMs: config.get('ufs.timeout') },
      onCounters: (c) => metrics.merge(c),
    });
    const sync = new MetadataSync({
      store, tree, mounts, ufs: ufsCache, actors, absent, options, metrics, blocks,
      parallelism: () => ({ dirs: config.get('sync.parallelism'), prefetch: config.get('sync.prefetch.parallelism') }),
    });
    const data = new DataPath(blocks, metrics);
    const persistQueue = new PersistQueue({
      store, tree, mounts, blocks, metrics, actors, log,
      ufsOf: (m) => ufsCache.get(m, metrics.ufsCall),
      initialWaitMs: (p) => options.get(p, 'persist.initial.wait'),
      maxIntervalMs: config.get('persist.max.interval'),
      parallelism: config.get('persist.parallelism'),
    });
    const ignoreMissing = (err: unknown) => { if ((err as StrataError).code !== ErrorCode.NOT_FOUND) throw err; };
    const activeSync = new ActiveSyncManager({
      store, mounts, metrics, log,
      target: {
        syncPath: (p) => sync.syncSelf(p).catch(ignoreMissing),
        syncDir: (p) => sync.syncListingNow(p).catch(ignoreMissing),
        syncTree: (p) => sync.syncTreeNow(p).catch(ignoreMissing),
      },
      intervalMs: (p) => options.get(p, 'active.sync.interval'),
      batchMax: config.get('active.sync.batch'),
      ufsOptions: (m) => ufsCache.optionsOf(m),
      notifyPort: config.get('active.sync.notify.port'),
    });
    const c = new Coordinator(metrics, dataDir, config, store, tree, mounts, pathConf, absent, options, blocks, actors, ufsCache, sync, data, persistQueue, activeSync, log);
    try {
      void c.allowedRoots; // a malformed mount.allowed.roots fails the start, not the first mount
    } catch (err) {
      await c.close().catch(() => undefined);
      throw err;
    }
    // Recovery completes before anything is answered. The worker threads start (load their
    // modules, open LMDB) while recovery runs here, or after open (workersAfterOpen).
    const warm = opts.workersAfterOpen ? Promise.resolve() : actors.warmUp();
    try {
      await c.recover();
    } finally {
      await warm;
    }
    persistQueue.start();
    c.ttl.start();
    c.startHousekeeping();
    await activeSync.startAll();
    for (const m of mounts.list()) await c.autoActiveSync(m);
    if (opts.workersAfterOpen) actors.warmUpSoon((err) => log.error({ err }, 'the worker threads failed to start: directory syncs will fail'));
    return c;
  }

  private static async ensureRootMount(store: MetaStore, mounts: MountTable, dataDir: string, rootUfs?: string): Promise<void> {
    const existing = mounts.root;
    if (existing) {
      if (rootUfs && rootUfs.replace(/\/+$/, '') !== existing.ufsUri.replace(/\/+$/, '')) {
        throw mountConflict(`the data directory ${dataDir} has root UFS ${existing.ufsUri}; --root-ufs ${rootUfs} differs (use a new data directory)`);
      }
      return;
    }
    let uri = rootUfs;
    if (!uri) {
      const dir = join(dataDir, 'ufs');
      mkdirSync(dir, { recursive: true });
      uri = pathToFileURL(dir).href;
    }
    const ufs = createUfs(uri, {});
    try {
      await ufs.check();
    } finally {
      await ufs.close();
    }
    await store.transact((tx) => {
      const mountId = InodeTree.allocId(tx);
      const record: MountRecord = { mountId, path: ROOT, ufsUri: uri!, readOnly: false, options: {}, createdMs: Date.now() };
      mounts.add(tx, record);
      const root = tx.get<InodeRecord>('inode', ROOT_ID)!;
      tx.put('inode', ROOT_ID, { ...root, mountId });
    });
    mounts.reload();
  }

  /** Crash recovery: discard cache blocks of writes that never committed. */
  private async recover(): Promise<void> {
    const pending: number[] = [];
    for (const { key } of this.store.range('pending', {})) pending.push(key as number);
    for (const fileId of pending) await this.blocks.discardUncommitted(fileId);
    if (pending.length) {
      await this.store.transact((tx) => { for (const id of pending) tx.del('pending', id); });
      this.log.info({ writes: pending.length }, 'discarded uncommitted writes after a crash');
    }
    // Temp files of UFS writes (persists, CACHE_THROUGH, THROUGH) cut short by a crash. Nothing
    // is in flight yet at start, so every temp file is an orphan (minimum age 0).
    for (const m of this.mounts.list()) {
      if (!m.ufsUri.startsWith('file:')) continue;
      const ufs = this.ufsCache.rawUfs(m);
      if (!(ufs instanceof LocalUfs)) continue;
      try {
        const removed = await ufs.cleanupTempFiles(0);
        if (removed) this.log.info({ mount: m.path, removed }, 'removed temp files of interrupted UFS writes');
      } catch (err) {
        this.logError(`temp file cleanup of ${m.path} failed`, err);
      }
    }
    // Operations cut short between their UFS change and their metadata commit.
    const intents = await this.recovery.resolveAll();
    if (intents.recovered || intents.unresolved) this.log.info(intents, 'resolved interrupted namespace operations');
  }

  /** After a failure past the UFS step: settle the intent now (best effort; else at the next start). */
  private async settle(id: number | undefined, intent: Intent): Promise<void> {
    if (id === undefined) return;
    await this.recovery.resolve({ id, intent, ms: Date.now() }).catch((err: unknown) => this.logError(`could not settle an interrupted ${intent.op}`, err));
  }

  private housekeeping: NodeJS.Timeout | undefined;

  /** Periodic bounded clean-ups: expired delete tombstones in the absent-path table. */
  private startHousekeeping(): void {
    this.housekeeping = setInterval(() => {
      this.absent.sweepTombstones(Date.now() - TOMBSTONE_TTL_MS).catch((err) => this.logError('tombstone sweep failed', err));
    }, 60_000);
    this.housekeeping.unref();
  }

  // ---------------------------------------------------------------- helpers

  private op(name: string): void {
    if (this.closed) throw new StrataError(ErrorCode.CONNECTION_CLOSED, 'the coordinator is closed');
    this.metrics.inc('ops', name);
  }

  private ufsOf(mount: MountRecord): Ufs {
    return this.ufsCache.get(mount, this.metrics.ufsCall);
  }

  private writable(path: string): { mount: MountRecord; ufsPath: string } {
    const r = this.mounts.resolve(path);
    if (r.mount.readOnly) throw readOnly(path, r.mount.path);
    // A name the UFS could never store is refused now, not acknowledged and failed later.
    this.ufsOf(r.mount).validatePath?.(r.ufsPath);
    return r;
  }

  private ufsUriOf(mount: MountRecord, ufsPath: string): string {
    if (!ufsPath) return mount.ufsUri;
    return mount.ufsUri.endsWith('/') ? mount.ufsUri + ufsPath : `${mount.ufsUri}/${ufsPath}`;
  }

  /** The public status of an inode at a path. */
  private info(path: string, inode: InodeRecord): FileInfo {
    const { mount, ufsPath } = this.mounts.resolve(path);
    return this.infoOf(path, path === ROOT ? '' : baseName(path), inode, mount.path, this.ufsUriOf(mount, ufsPath));
  }

  /**
   * The status of a child of a listed directory: the mount and UFS location come from the
   * directory's (computed once per directory), except for a nested mount point.
   */
  private childInfo(dir: { path: string; mountPath: string; ufsUri: string }, inode: InodeRecord): FileInfo {
    const path = joinPath(dir.path, inode.name);
    if (inode.mountId !== undefined) return this.info(path, inode);
    const ufsUri = dir.ufsUri.endsWith('/') ? dir.ufsUri + inode.name : `${dir.ufsUri}/${inode.name}`;
    return this.infoOf(path, inode.name, inode, dir.mountPath, ufsUri);
  }

  private infoOf(path: string, name: string, inode: InodeRecord, mountPoint: string, ufsPath: string): FileInfo {
    const info: FileInfo = {
      path,
      name,
      type: inode.type,
      length: inode.length,
      mtimeMs: inode.mtimeMs,
      fileId: inode.fileId,
      persistenceState: inode.ps,
      cachedBytes: inode.type === 'file' ? this.blocks.cachedBytes(inode.fileId) : 0,
      pinned: inode.pinned,
      mountPoint,
      ufsPath,
      mode: inode.mode,
      ...(inode.uid !== undefined ? { uid: inode.uid } : {}),
      ...(inode.gid !== undefined ? { gid: inode.gid } : {}),
      ttlMs: inode.ttlMs,
      ttlAction: inode.ttlAction,
    };
    if (inode.mountId !== undefined) info.isMountPoint = true;
    if (inode.persistAttempts) info.persistAttempts = inode.persistAttempts;
    if (inode.xattr && Object.keys(inode.xattr).length) info.xattr = { ...inode.xattr };
    if (inode.lastPersistError) info.lastPersistError = inode.lastPersistError;
    return info;
  }

  private async statInode(path: string, options: GetStatusOptions = {}): Promise<InodeRecord> {
    return this.sync.access(path, options, false);
  }

  private async tryStat(path: string, options: GetStatusOptions = {}): Promise<InodeRecord | undefined> {
    try {
      return await this.statInode(path, options);
    } catch (err) {
      if ((err as StrataError).code === ErrorCode.NOT_FOUND) return undefined;
      throw err;
    }
  }

  /** Run a mutation on the path's shard actor holding an exclusive lock on `path`. */
  private mutate<T>(path: string, run: () => Promise<T>, extra: LockRequest[] = [], subtree = false): Promise<T> {
    return this.actors.tell(path, [{ path, exclusive: true, subtree }, ...extra], run);
  }

  // ---------------------------------------------------------------- metadata reads

  async getStatus(path: string, options: GetStatusOptions = {}): Promise<FileInfo> {
    this.op('getStatus');
    validateOptions('getStatus', options);
    const p = normalizePath(path);
    return this.info(p, await this.statInode(p, options));
  }

  async exists(path: string, options: GetStatusOptions = {}): Promise<boolean> {
    this.op('exists');
    validateOptions('getStatus', options, 'exists');
    return (await this.tryStat(normalizePath(path), options)) !== undefined;
  }

  async *listStatus(path: string, options: ListStatusOptions = {}): AsyncIterable<FileInfo[]> {
    this.op('listStatus');
    validateOptions('listStatus', options);
    const p = normalizePath(path);
    const pageSize = Math.max(1, Math.min(options.pageSize ?? MAX_PAGE, MAX_PAGE));
    let root = await this.sync.access(p, options, !options.recursive);
    if (root.type === 'file') {
      yield [this.info(p, root)];
      return;
    }
    if (options.recursive && this.sync.treeSyncDue(p, root, options)) {
      await this.sync.loadMetadata(p, true);
      root = this.tree.getInode(root.id) ?? root;
    }
    // Depth-first walk, each directory listed in full (paged) before its subdirectories, so
    // every directory appears before its children. The stack holds the subdirectories still
    // to visit (ids and paths only): memory grows with the width of the tree, not its size.
    const stack: Array<{ id: number; path: string }> = [{ id: root.id, path: p }];
    let page: FileInfo[] = [];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      const { mount, ufsPath } = this.mounts.resolve(dir.path);
      const ctx = { path: dir.path, mountPath: mount.path, ufsUri: this.ufsUriOf(mount, ufsPath) };
      const subdirs: Array<{ id: number; path: string }> = [];
      let after: string | undefined;
      for (;;) {
        if (after === undefined && dir.id === root.id && !options.recursive) after = options.startAfter;
        const children = this.tree.listChildren(dir.id, after, pageSize);
        for (const c of children) {
          page.push(this.childInfo(ctx, c));
          if (options.recursive && c.type === 'directory') subdirs.push({ id: c.id, path: joinPath(dir.path, c.name) });
          if (page.length >= pageSize) {
            yield page;
            page = [];
          }
        }
        if (children.length < pageSize) break;
        after = children[children.length - 1]!.name;
      }
      for (let i = subdirs.length - 1; i >= 0; i--) {
        const sd = subdirs[i]!;
        const inode = this.tree.getInode(sd.id);
        if (!inode) continue; // removed meanwhile
        if (!inode.loaded && this.options.loadType(sd.path, options.loadType) !== 'NEVER') {
          // A subtree never listed: load all of it at once (a parallel BFS), not level by level.
          await this.sync.loadMetadata(sd.path, true);
          stack.push(sd);
        } else {
          stack.push(sd);
        }
      }
    }
    if (page.length) yield page;
  }

  // ---------------------------------------------------------------- namespace mutations

  /** Ensure the parent of `path` exists as a directory, creating missing ones when recursive. */
  private async ensureParent(path: string, recursive: boolean, writeType: WriteType, opts: GetStatusOptions): Promise<InodeRecord> {
    const parent = parentPath(path);
    const existing = await this.tryStat(parent, opts);
    if (existing) {
      if (existing.type !== 'directory') throw notADirectory(parent);
      return existing;
    }
    if (!recursive) throw notFound(parent, 'parent directory');
    return this.makeDirs(parent, writeType, opts);
  }

  /** Create a directory and any missing ancestors, in the UFS (unless MUST_CACHE) and in Strata. */
  private async makeDirs(path: string, writeType: WriteType, opts: GetStatusOptions): Promise<InodeRecord> {
    const { mount, ufsPath } = this.writable(path);
    // Ancestors first, each loaded from the UFS if it exists there.
    const comps = pathComponents(path);
    let cur = this.tree.getInode(ROOT_ID)!;
    let curPath = ROOT;
    for (const name of comps) {
      const next = joinPath(curPath, name);
      const found = await this.tryStat(next, opts);
      if (found) {
        if (found.type !== 'directory') throw notADirectory(next);
        cur = found;
        curPath = next;
        continue;
      }
      break;
    }
    if (curPath === path) return cur;
    const persisted = writeType !== 'MUST_CACHE';
    const intent: Intent = { op: 'mkdir', path };
    const intentId = persisted ? await this.journal.begin(intent) : undefined;
    if (persisted) await this.ufsOf(mount).mkdir(ufsPath, { recursive: true }).catch(async (err: unknown) => { await this.settle(intentId, intent); throw err; });
    const rest = pathComponents(path).slice(pathComponents(curPath).length);
    const startId = cur.id;
    return this.store.transact((tx) => {
      IntentJournal.finish(tx, intentId);
      const now = Date.now();
      let parent = tx.get<InodeRecord>('inode', startId)!;
      let p = curPath;
      for (const name of rest) {
        p = joinPath(p, name);
        const existing = InodeTree.child(tx, parent.id, name);
        if (existing) {
          if (existing.type !== 'directory') throw notADirectory(p);
          parent = existing;
          continue;
        }
        parent = InodeTree.create(tx, parent, name, {
          type: 'directory', ps: persisted ? 'PERSISTED' : 'NOT_PERSISTED', loaded: true, syncMs: now, ufsContent: 'dir',
        }, now);
        AbsentPathCache.clearPath(tx, p);
      }
      return parent;
    });
  }

  async createDirectory(path: string, options: CreateDirectoryOptions = {}): Promise<FileInfo> {
    this.op('createDirectory');
    validateOptions('createDirectory', options);
    const p = normalizePath(path);
    if (p === ROOT) {
      if (options.allowExists) return this.getStatus(ROOT);
      throw alreadyExists(ROOT);
    }
    this.writable(p);
    const writeType = this.options.writeType(p, options.writeType);
    return this.mutate(p, async () => {
      const existing = await this.tryStat(p, options);
      if (existing) {
        if (existing.type === 'directory' && (options.allowExists || options.recursive)) return this.info(p, existing);
        throw alreadyExists(p);
      }
      await this.ensureParent(p, !!options.recursive, writeType, options);
      const inode = await this.makeDirs(p, writeType, options);
      return this.info(p, inode);
    });
  }

  async writeFile(path: string, data: DataSource, options: CreateFileOptions & WithProgress = {}): Promise<FileInfo> {
    this.op('writeFile');
    validateOptions('writeFile', options);
    const p = normalizePath(path);
    if (p === ROOT) throw isADirectory(ROOT);
    const { mount, ufsPath } = this.writable(p);
    const writeType = this.options.writeType(p, options.writeType);
    const blockSize = options.blockSize ?? this.blocks.blockSize;
    const cacheFirst = writeType === 'MUST_CACHE' || writeType === 'ASYNC_THROUGH';
    return this.mutate(p, async () => {
      // A cache-first write must not depend on the UFS answering: when it cannot tell whether
      // the path exists there, the file is new as far as Strata knows (its persist overwrites).
      const existing = await this.tryStat(p, options).catch((err: unknown) => {
        if (!cacheFirst || (err as StrataError).code !== ErrorCode.UFS_UNAVAILABLE) throw err;
        this.metrics.inc('ops', 'writesDuringUfsOutage');
        return undefined;
      });
      if (existing) {
        if (existing.type === 'directory') throw isADirectory(p);
        if (!options.overwrite) throw alreadyExists(p);
        if (existing.mountId !== undefined) throw mountConflict(`${p} is a mount point`);
      }
      await this.ensureParent(p, options.recursive ?? false, writeType, options);
      const fileId = await this.ids.take();
      let recorded = false;
      const ps = writeType === 'MUST_CACHE' ? 'NOT_PERSISTED' : writeType === 'ASYNC_THROUGH' ? 'TO_BE_PERSISTED' : 'PERSISTED';
      // A write that goes to the UFS records its intent first (a crash after the UFS write
      // and before the commit is rolled forward from the UFS at the next start).
      // Over an unpersisted file the UFS may still hold an older copy (ASYNC_THROUGH keeps it
      // until its persist): its hash tells recovery that such a file is not this write's.
      const before = !cacheFirst && existing && existing.ps !== 'PERSISTED'
        ? (await this.ufsOf(mount).getStatus(ufsPath))?.contentHash : undefined;
      const writeIntent: Intent = { op: 'write', path: p, fileId, ...(before !== undefined ? { before } : {}) };
      const intentId = cacheFirst ? undefined : await this.journal.begin(writeIntent);
      // An unpersisted file replacing a file with a UFS copy: that copy goes too (see unlink below).
      const unlink = { id: this.journal.id(), needed: false };
      let outcome;
      try {
        outcome = await this.data.write(data, {
          fileId, writeType, blockSize, ufs: this.ufsOf(mount), ufsPath, evictable: ps === 'PERSISTED',
          // Block files written before the commit are found and discarded after a crash.
          beforeBlocks: async () => {
            recorded = true;
            await this.store.transact((tx) => tx.put('pending', fileId, { path: p, ms: Date.now() }));
          },
          onBytes: options.onProgress ? (n) => options.onProgress!({ done: n, bytes: n, phase: 'write' }) : undefined,
        });
      } catch (err) {
        await this.blocks.removeFile(fileId).catch(() => undefined);
        if (recorded) await this.store.transact((tx) => tx.del('pending', fileId));
        await this.settle(intentId, writeIntent);
        throw err;
      }
      this.metrics.inc('ops', `write.${writeType}`);
      this.metrics.inc('ops', 'bytesWritten', outcome.length);
      const inlineBytes = outcome.inline;
      const release = inlineBytes ? await this.blocks.reserve(inlineBytes.length) : undefined;
      const old: number[] = [];
      let inode: InodeRecord;
      try {
        inode = await this.store.transact((tx) => {
          const now = Date.now();
          const parent = this.tree.resolve(parentPath(p)).inode;
          if (!parent || parent.type !== 'directory') throw notFound(parentPath(p), 'parent directory');
          const prev = InodeTree.child(tx, parent.id, baseName(p));
          if (prev) {
            if (prev.type === 'directory') throw isADirectory(p);
            InodeTree.removeSubtree(tx, prev, (i) => { old.push(i.fileId); tx.del('persist', i.fileId); });
            unlink.needed = ps === 'NOT_PERSISTED' && prev.ps !== 'NOT_PERSISTED';
            if (unlink.needed) IntentJournal.put(tx, unlink.id, { op: 'unlink', path: p, fileId });
          }
          IntentJournal.finish(tx, intentId);
          const created = InodeTree.create(tx, tx.get<InodeRecord>('inode', parent.id)!, baseName(p), {
            type: 'file', fileId, length: outcome.length, ps, blockSize,
            mtimeMs: outcome.ufs?.mtimeMs ?? now,
            ufsContent: outcome.ufs?.contentHash, ufsMeta: outcome.ufs?.metaHash,
            ...(outcome.ufs?.mode !== undefined ? { mode: outcome.ufs.mode & 0o7777 } : {}),
            pinned: ps === 'TO_BE_PERSISTED',
            ttlMs: options.ttlMs ?? -1, ttlAction: options.ttlAction ?? 'free',
            syncMs: now,
            ...(options.xattr && Object.keys(options.xattr).length ? { xattr: { ...options.xattr } } : {}),
          }, now);
          if (inlineBytes) this.blocks.stageInline(tx, fileId, 0, inlineBytes, ps === 'PERSISTED');
          if (recorded) tx.del('pending', fileId);
          TtlChecker.index(tx, undefined, created);
          AbsentPathCache.clearPath(tx, p);
          if (ps === 'TO_BE_PERSISTED') PersistQueue.enqueue(tx, created, now);
          return created;
        });
        if (inlineBytes) this.blocks.committed(fileId, 0, inlineBytes.length, ps === 'PERSISTED');
      } catch (err) {
        if (!inlineBytes) await this.blocks.removeFile(fileId).catch(() => undefined);
        if (recorded) await this.store.transact((tx) => tx.del('pending', fileId)).catch(() => undefined);
        await this.settle(intentId, writeIntent);
        throw err;
      } finally {
        release?.();
      }
      if (unlink.needed) {
        // The client now has an unpersisted file: the old UFS copy must not come back by a
        // sync after a delete or rename. A UFS that fails here leaves the intent for the next start.
        try {
          await this.ufsOf(mount).delete(ufsPath);
          await this.journal.end(unlink.id);
        } catch (err) {
          this.logError(`could not remove the old UFS copy of ${p}`, err);
        }
      }
      for (const id of old) if (id !== fileId) await this.blocks.removeFile(id);
      this.persistQueue.forget(old);
      if (ps === 'TO_BE_PERSISTED') this.persistQueue.added(fileId);
      return this.info(p, inode);
    });
  }

  async *readFile(path: string, options: ReadOptions = {}): AsyncIterable<Uint8Array> {
    this.op('readFile');
    validateOptions('readFile', options);
    const p = normalizePath(path);
    // A UFS object that is not the version the metadata describes is never served: before
    // the first byte, the file is re-synced and its new version served; later, the read fails
    // (FAILED_PRECONDITION) and the next one sees the new version (docs/semantics.md).
    let served = false;
    try {
      for await (const c of this.readVersion(p, options)) {
        served = true;
        yield c;
      }
    } catch (err) {
      if (!(err instanceof UfsChangedError)) throw err;
      this.metrics.inc('cache', 'ufsChangedResyncs');
      await this.sync.syncSelf(p);
      if (served) throw err;
      yield* this.readVersion(p, options);
    }
  }

  /** Stream a file as its current metadata describes it (UfsChangedError if the UFS differs). */
  private async *readVersion(p: string, options: ReadOptions): AsyncIterable<Uint8Array> {
    const inode = await this.statInode(p, options);
    if (inode.type === 'directory') throw isADirectory(p);
    let offset = options.offset ?? 0;
    let length = options.length ?? inode.length;
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument(`offset must be a non-negative integer, got ${offset}`);
    if (!Number.isSafeInteger(length) || length < 0) throw invalidArgument(`length must be a non-negative integer, got ${length}`);
    if (options.tail !== undefined) {
      if (!Number.isSafeInteger(options.tail) || options.tail < 0) throw invalidArgument(`tail must be a non-negative integer, got ${options.tail}`);
      offset = Math.max(0, inode.length - options.tail);
      length = inode.length - offset;
    }
    const { mount, ufsPath } = this.mounts.resolve(p);
    const readType = this.options.readType(p, options.readType);
    const chunk = Math.max(4096, Math.min(options.chunkSize ?? 1 << 20, 4 << 20));
    const evictable = inode.ps === 'PERSISTED' && !inode.pinned;
    yield* this.data.read(inode, inode.ps === 'PERSISTED' ? this.ufsOf(mount) : undefined, ufsPath, offset, length, readType, chunk, evictable);
  }

  async delete(path: string, options: DeleteOptions = {}): Promise<void> {
    this.op('delete');
    validateOptions('delete', options);
    const p = normalizePath(path);
    if (p === ROOT) throw invalidPath(p, 'the root cannot be deleted');
    const { mount, ufsPath } = this.writable(p);
    if (this.mounts.byPath(p)) throw mountConflict(`${p} is a mount point: unmount it instead`);
    const nested = this.mounts.nestedUnder(p);
    if (nested.length) throw mountConflict(`${p} contains the mount point ${nested[0]!.path}: unmount it first`);
    return this.mutate(p, async () => {
      let inode = await this.statInode(p, options);
      if (inode.type === 'directory') {
        inode = await this.sync.access(p, options, true); // see the UFS children before deciding
        if (!options.recursive && this.tree.hasChildren(inode.id)) throw directoryNotEmpty(p);
      }
      // The UFS entry goes whatever the persistence state: a pending ASYNC_THROUGH file or an
      // unpersisted one may have replaced an older persisted copy still in the UFS, which a
      // sync would otherwise resurrect (a missing UFS path is no error). Intent first: a
      // crash between the UFS delete and the commit is finished at the next start.
      const deleteIntent: Intent = { op: 'delete', path: p, inodeId: inode.id };
      const intentId = options.strataOnly ? undefined : await this.journal.begin(deleteIntent);
      if (!options.strataOnly) {
        try {
          await this.ufsOf(mount).delete(ufsPath, { recursive: true });
        } catch (err) {
          await this.journal.end(intentId); // the delete failed: the client is told, nothing is rolled forward
          throw err;
        }
      }
      const freed: number[] = [];
      await this.store.transact((tx) => {
        IntentJournal.finish(tx, intentId);
        const cur = tx.get<InodeRecord>('inode', inode.id);
        if (!cur) return;
        InodeTree.removeSubtree(tx, cur, (i) => {
          if (i.type === 'file') freed.push(i.fileId);
          tx.del('persist', i.fileId);
        });
        AbsentPathCache.tombstone(tx, p);
      });
      this.persistQueue.forget(freed);
      for (const id of freed) await this.blocks.removeFile(id);
    }, [], true);
  }

  async rename(src: string, dst: string, options: RenameOptions = {}): Promise<void> {
    this.op('rename');
    validateOptions('rename', options);
    const s = normalizePath(src);
    let d = normalizePath(dst);
    if (s === ROOT) throw invalidPath(s, 'the root cannot be renamed');
    if (this.mounts.byPath(s)) throw mountConflict(`${s} is a mount point and cannot be renamed`);
    const dstInode = await this.tryStat(d, options);
    if (dstInode?.type === 'directory') d = joinPath(d, baseName(s));
    if (s === d) return;
    if (isUnder(d, s)) throw invalidPath(d, `cannot move ${s} into itself`);
    const sm = this.writable(s);
    const dm = this.writable(d);
    if (sm.mount.mountId !== dm.mount.mountId) {
      throw mountConflict(`cannot rename across mounts: ${s} is on ${sm.mount.path}, ${d} is on ${dm.mount.path}`);
    }
    if (this.mounts.nestedUnder(s).length) throw mountConflict(`${s} contains a mount point and cannot be renamed`);
    return this.mutate(s, async () => {
      const inode = await this.statInode(s, options);
      if (await this.tryStat(d, options)) throw alreadyExists(d);
      const parent = await this.statInode(parentPath(d), options).catch((err) => {
        if ((err as StrataError).code === ErrorCode.NOT_FOUND) throw notFound(parentPath(d), 'destination directory');
        throw err;
      });
      if (parent.type !== 'directory') throw notADirectory(parentPath(d));
      if (inode.type === 'directory') await this.sync.access(s, options, true);
      const inUfs = inode.ps === 'PERSISTED' || inode.type === 'directory';
      // An unpersisted or pending file may have replaced an older persisted copy: drop that
      // from the old name (the queued persist writes the current bytes under the new one).
      // Intent first: a crash between the UFS step and the commit is resolved at the next start.
      const renameIntent: Intent = { op: 'rename', src: s, dst: d, inodeId: inode.id, ufs: inUfs ? 'rename' : 'delete' };
      const intentId = await this.journal.begin(renameIntent);
      try {
        if (inUfs) await this.ufsOf(sm.mount).rename(sm.ufsPath, dm.ufsPath);
        else await this.ufsOf(sm.mount).delete(sm.ufsPath);
      } catch (err) {
        // Refused up front: nothing changed. Anything else may have been cut short half way
        // (an object store copies, then deletes): completed or undone now.
        if (REFUSALS.has((err as StrataError).code)) await this.journal.end(intentId);
        else await this.settle(intentId, renameIntent);
        throw err;
      }
      const replaced: number[] = [];
      await this.store.transact((tx) => {
        IntentJournal.finish(tx, intentId);
        const par = tx.get<InodeRecord>('inode', parent.id);
        if (!par) throw notFound(parentPath(d), 'destination directory');
        // Both paths are locked, so a change at either since the UFS step came from a sync that
        // listed the UFS after it: it may have dropped the source (gone from the UFS) or loaded
        // the destination first. Neither undoes the rename: the source comes back as moved (a
        // directory is listed again), a loaded destination gives way.
        const cur = tx.get<InodeRecord>('inode', inode.id) ?? (inode.type === 'directory' ? { ...inode, loaded: false, syncMs: 0 } : inode);
        const there = InodeTree.child(tx, par.id, baseName(d));
        if (there) {
          if (there.mountId !== undefined || there.id === cur.id) throw alreadyExists(d);
          InodeTree.removeSubtree(tx, there, (i) => { if (i.type === 'file') replaced.push(i.fileId); tx.del('persist', i.fileId); });
        }
        InodeTree.move(tx, cur, par, baseName(d));
        AbsentPathCache.tombstone(tx, s);
        AbsentPathCache.clearPath(tx, d);
      }).catch(async (err: unknown) => { await this.settle(intentId, renameIntent); throw err; });
      for (const id of replaced) await this.blocks.removeFile(id);
    }, [{ path: d, exclusive: true, subtree: true }], true);
  }

  /** Change mode, owner, group or mtime kept in the inode (the UFS keeps its own). */
  async setAttributes(path: string, attributes: SetAttributesOptions): Promise<FileInfo> {
    this.op('setAttributes');
    const p = normalizePath(path);
    const a = attributes ?? {};
    const intIn = (name: string, v: unknown, max: number): void => {
      if (v !== undefined && (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > max)) {
        throw invalidArgument(`${name} must be an integer between 0 and ${max}, got ${String(v)}`);
      }
    };
    intIn('mode', a.mode, 0o7777);
    intIn('uid', a.uid, 0xffffffff);
    intIn('gid', a.gid, 0xffffffff);
    if (a.mtimeMs !== undefined && !Number.isFinite(a.mtimeMs)) throw invalidArgument(`mtimeMs must be a number, got ${String(a.mtimeMs)}`);
    this.writable(p);
    return this.mutate(p, async () => {
      const inode = await this.statInode(p);
      const updated = await this.store.transact((tx) => {
        const cur = tx.get<InodeRecord>('inode', inode.id);
        if (!cur) throw notFound(p);
        const next: InodeRecord = {
          ...cur,
          ...(a.mode !== undefined ? { mode: a.mode } : {}),
          ...(a.uid !== undefined ? { uid: a.uid } : {}),
          ...(a.gid !== undefined ? { gid: a.gid } : {}),
          ...(a.mtimeMs !== undefined ? { mtimeMs: a.mtimeMs } : {}),
          touchMs: Date.now(),
        };
        tx.put('inode', cur.id, next);
        return next;
      });
      return this.info(p, updated);
    });
  }

  // ---------------------------------------------------------------- mounts

  async mount(path: string, ufsUri: string, options: MountOptions = {}): Promise<void> {
    this.op('mount');
    validateOptions('mount', options);
    const p = normalizePath(path);
    if (p === ROOT) throw mountConflict('/ is the root mount; mount below it');
    if (typeof ufsUri !== 'string' || !ufsUri) throw invalidArgument('a UFS URI is required');
    const opts = options.options ?? {};
    for (const [k, v] of Object.entries(opts)) {
      if (typeof v !== 'string') throw invalidArgument(`mount option ${k} must be a string`);
      if (isConfigKey(k)) validateProperty(k, v, 'path');
      else if (!isUfsOptionKey(k)) throw invalidArgument(`unknown mount option ${JSON.stringify(k)}`);
    }
    // Parse the URI first: a malformed one (s3:// without a bucket) is INVALID_ARGUMENT, not a conflict.
    await createUfs(ufsUri, { ...this.config.ufsDefaults, ...opts }).close();
    this.mounts.checkNew(p, ufsUri);
    // What a mount may reach (mount.allowed.roots, never the data directory): before any UFS call.
    this.allowedRoots.check(ufsUri, { ...this.config.ufsDefaults, ...opts });
    const under = this.mounts.resolve(p);
    if (under.mount.readOnly) throw readOnly(p, under.mount.path);
    return this.mutate(p, async () => {
      if (await this.tryStat(p, { loadType: 'ONCE' })) throw mountConflict(`mount path ${p} already exists`);
      const parent = await this.tryStat(parentPath(p));
      if (!parent) throw notFound(parentPath(p), 'parent directory of the mount point');
      if (parent.type !== 'directory') throw notADirectory(parentPath(p));
      // Checked under the mount's timeout: a server that hangs fails the mount, never the caller.
      const ufs = new InstrumentedUfs(createUfs(ufsUri, { ...this.config.ufsDefaults, ...opts }),
        { count: this.metrics.ufsCall, timeoutMs: ufsTimeoutMs(opts, this.config.get('ufs.timeout')) });
      try {
        await ufs.check();
      } finally {
        await ufs.close().catch(() => undefined);
      }
      this.mounts.checkNew(p, ufsUri); // again: another mount may have landed meanwhile
      await this.store.transact((tx) => {
        const par = tx.get<InodeRecord>('inode', parent.id);
        if (!par) throw notFound(parentPath(p));
        if (InodeTree.child(tx, par.id, baseName(p))) throw mountConflict(`mount path ${p} already exists`);
        const mountId = InodeTree.allocId(tx);
        this.mounts.add(tx, { mountId, path: p, ufsUri, readOnly: !!options.readOnly, options: opts, createdMs: Date.now() });
        InodeTree.create(tx, par, baseName(p), { type: 'directory', mountId, ufsContent: 'dir' });
      });
      this.mounts.reload();
      await this.absent.clearUnder(p);
      this.log.info({ path: p, ufsUri, readOnly: !!options.readOnly }, 'mounted');
      await this.autoActiveSync(this.mounts.byPath(p)!);
    });
  }

  async unmount(path: string): Promise<void> {
    this.op('unmount');
    const p = normalizePath(path);
    if (p === ROOT) throw mountConflict('the root mount cannot be unmounted');
    const m = this.mounts.byPath(p);
    if (!m) throw invalidArgument(`${p} is not a mount point`);
    const nested = this.mounts.nestedUnder(p);
    if (nested.length) throw mountConflict(`${p} has the nested mount ${nested[0]!.path}: unmount it first`);
    return this.mutate(p, async () => {
      const inode = this.tree.require(p);
      // Unpersisted data exists nowhere else: refuse rather than lose it (before changing anything).
      for (const { path: ip, inode: i } of this.tree.walk(p, inode)) {
        if (i.type === 'file' && (i.ps === 'TO_BE_PERSISTED' || i.ps === 'NOT_PERSISTED')) {
          throw new StrataError(ErrorCode.FAILED_PRECONDITION, `${p} holds files not persisted to its UFS (e.g. ${ip}): persist or delete them first`);
        }
      }
      await this.activeSync.stopUnder(p);
      const freed: number[] = [];
      await this.store.transact((tx) => {
        const cur = tx.get<InodeRecord>('inode', inode.id);
        if (cur) InodeTree.removeSubtree(tx, cur, (i) => { if (i.type === 'file') freed.push(i.fileId); });
        this.mounts.remove(tx, p);
      });
      this.mounts.reload();
      await this.ufsCache.drop(m.mountId);
      await this.absent.clearUnder(p);
      for (const id of freed) await this.blocks.removeFile(id);
      this.log.info({ path: p }, 'unmounted');
    }, [], true);
  }

  async getMountTable(): Promise<MountInfo[]> {
    this.op('getMountTable');
    return this.mounts.list().map(MountTable.info);
  }

  // ---------------------------------------------------------------- sync

  async loadMetadata(path: string, options: LoadMetadataOptions & WithProgress = {}): Promise<SyncSummary> {
    this.op('loadMetadata');
    validateOptions('loadMetadata', options);
    const p = normalizePath(path);
    return this.sync.loadMetadata(p, !!options.recursive, options.onProgress, options.signal);
  }

  async checkConsistency(path: string, options: ConsistencyOptions = {}): Promise<ConsistencyReport> {
    this.op('checkConsistency');
    validateOptions('checkConsistency', options);
    const p = normalizePath(path);
    const root = await this.statInode(p, { syncIntervalMs: -1 });
    return this.sync.checkConsistency(p, root, !!options.recursive, !!options.repair);
  }

  async needsSync(path: string): Promise<void> {
    this.op('needsSync');
    await this.sync.needsSync(normalizePath(path));
  }

  // ---------------------------------------------------------------- cache management

  async load(path: string, options: CacheOpOptions & WithProgress = {}): Promise<CacheOpResult> {
    this.op('load');
    validateOptions('cacheOp', options, 'load');
    return this.cacheOps.load(normalizePath(path), options);
  }

  async free(path: string, options: CacheOpOptions = {}): Promise<CacheOpResult> {
    this.op('free');
    validateOptions('cacheOp', options, 'free');
    return this.cacheOps.free(normalizePath(path), options);
  }

  async persist(path: string, options: CacheOpOptions = {}): Promise<CacheOpResult> {
    this.op('persist');
    validateOptions('cacheOp', options, 'persist');
    const p = normalizePath(path);
    this.writable(p);
    return this.cacheOps.persist(p, options);
  }

  async setPinned(path: string, pinned: boolean, options: CacheOpOptions = {}): Promise<CacheOpResult> {
    this.op(pinned ? 'pin' : 'unpin');
    validateOptions('cacheOp', options, 'setPinned');
    return this.cacheOps.setPinned(normalizePath(path), pinned, options);
  }

  async setTtl(path: string, ttlMs: number, action: TtlAction = 'free'): Promise<void> {
    this.op('setTtl');
    return this.cacheOps.setTtl(normalizePath(path), ttlMs, action);
  }

  /** Replace the extended attributes of a file (S3 ETag, content type, user metadata). */
  async setXattr(path: string, xattr: Record<string, string>): Promise<void> {
    this.op('setXattr');
    const p = normalizePath(path);
    if (!xattr || typeof xattr !== 'object' || Object.values(xattr).some((v) => typeof v !== 'string')) {
      throw invalidArgument('xattr must be an object of string values');
    }
    return this.mutate(p, async () => {
      const inode = await this.statInode(p);
      await this.store.transact((tx) => {
        const cur = tx.get<InodeRecord>('inode', inode.id);
        if (!cur) throw notFound(p);
        const next: InodeRecord = { ...cur };
        if (Object.keys(xattr).length) next.xattr = { ...xattr };
        else delete next.xattr;
        tx.put('inode', cur.id, next);
      });
    });
  }

  // ---------------------------------------------------------------- active sync

  async startSync(path: string): Promise<void> {
    this.op('startSync');
    const p = normalizePath(path);
    const inode = await this.statInode(p);
    if (inode.type !== 'directory') throw notADirectory(p);
    await this.activeSync.start(p, this.mounts.resolve(p).mount);
  }

  async stopSync(path: string): Promise<void> {
    this.op('stopSync');
    await this.activeSync.stop(normalizePath(path));
  }

  async getSyncPathList(): Promise<SyncPointInfo[]> {
    this.op('getSyncPathList');
    return this.activeSync.list();
  }

  /** Start active sync on a mount whose `activeSync` option (or preset) asks for it. */
  private async autoActiveSync(m: MountRecord): Promise<void> {
    if (!this.options.get(m.path, 'activeSync') || this.activeSync.has(m.path)) return;
    try {
      await this.activeSync.start(m.path, m, false);
    } catch (err) {
      if ((err as StrataError).code !== ErrorCode.ALREADY_EXISTS) throw err;
    }
  }

  // ---------------------------------------------------------------- configuration and report

  async setPathConf(path: string, properties: Record<string, string>): Promise<void> {
    this.op('setPathConf');
    const p = normalizePath(path);
    if (!properties || typeof properties !== 'object' || Object.keys(properties).length === 0) {
      throw invalidArgument('pathConf add needs at least one --property KEY=VALUE');
    }
    await this.pathConf.add(p, properties);
  }

  async listPathConf(): Promise<PathConfEntry[]> {
    this.op('listPathConf');
    return this.pathConf.list();
  }

  async removePathConf(path: string): Promise<void> {
    this.op('removePathConf');
    const p = normalizePath(path);
    if (!(await this.pathConf.remove(p))) throw notFound(p, 'path configuration for');
  }

  /** The server's effective configuration with the source of each value (secrets redacted). */
  async getConf(key?: string): Promise<ConfEntry[]> {
    this.op('getConf');
    return describeConfig(this.config, key);
  }

  async getReport(): Promise<Report> {
    const cache = this.blocks.stats();
    const hits = this.metrics.get('cache', 'hits');
    const misses = this.metrics.get('cache', 'misses');
    const actors = this.actors.stats();
    return {
      server: { version: VERSION, uptimeMs: Date.now() - this.startedAt, startedAt: new Date(this.startedAt).toISOString() },
      namespace: { inodes: this.store.count('inode'), mounts: this.mounts.list().length },
      ops: { ...this.metrics.groups.ops },
      ufsCalls: { ...this.metrics.groups.ufsCalls },
      cache: {
        hits, misses,
        usedBytes: cache.usedBytes, capacityBytes: cache.capacityBytes,
        hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
        evictedBytes: cache.evictedBytes,
        bytesByState: { evictable: cache.evictableBytes, unevictable: cache.usedBytes - cache.evictableBytes },
        bypassOnFull: this.metrics.get('cache', 'bypassOnFull'),
        ufsChangedResyncs: this.metrics.get('cache', 'ufsChangedResyncs'),
      },
      sync: { ...this.metrics.groups.sync, actorShards: actors.shards, actorQueued: actors.queued, actorMessages: actors.handled },
      persist: { ...this.metrics.groups.persist, ...this.persistQueue.stats() },
      activeSync: { ...this.metrics.groups.activeSync, ...this.activeSync.lagStats(), syncPoints: this.activeSync.list().length },
      intents: { recovered: 0, unresolved: 0, ...this.metrics.groups.intents, open: this.journal.count() },
      ...(Object.keys(this.metrics.groups.gateway).length ? { gateway: { ...this.metrics.groups.gateway } } : {}),
    };
  }

  /** Prometheus text exposition of the counters and gauges. */
  async prometheus(): Promise<string> {
    const r = await this.getReport();
    return this.metrics.prometheus({
      cacheUsedBytes: r.cache.usedBytes, cacheCapacityBytes: r.cache.capacityBytes, inodes: r.namespace.inodes,
      persistPending: r.persist.pending ?? 0, persistFailed: r.persist.failed ?? 0,
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.housekeeping);
    await this.ttl.stop();
    await this.activeSync.close();
    await this.persistQueue.stop();
    await this.actors.close();
    await this.ufsCache.closeAll();
    await this.store.close();
    this.dirLock?.release();
  }

  /** Internal: surface errors of background work to logs. */
  private logError(what: string, err: unknown): void {
    this.log.warn({ err: toStrataError(err).toJSON() }, what);
  }
}
