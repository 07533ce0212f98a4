// The composition root: opens the metadata store on a data directory, wires every service
// of a Strata instance (mount table, sync engine, actors, data path, persist queue, active
// sync), runs crash recovery before anything is served, starts the background work, and
// closes it all in reverse order. `Coordinator.open` delegates here.

import { RecentRuns } from '../metrics/recent-runs.js';
import { mkdirSync } from 'node:fs';
import { join, resolve as resolveFs } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ActiveSyncManager } from '../activesync/manager.js';
import { ActorSystem } from '../actors/actor-system.js';
import { BlockStore } from '../cache/block-store.js';
import { CacheManagement } from '../cache/cache-management.js';
import { TtlChecker } from '../cache/ttl-checker.js';
import { ServerConfig } from '../config/keys.js';
import { DataPath } from '../data/data-path.js';
import { ErrorCode, mountConflict, StrataError } from '../errors.js';
import type { FileSystem } from '../fs.js';
import { logger as defaultLogger } from '../log.js';
import { AbsentPathCache } from '../meta/absent-cache.js';
import { DataDirLock } from '../meta/data-dir-lock.js';
import type { InodeRecord } from '../meta/inode.js';
import { ROOT_ID } from '../meta/inode.js';
import { IdAllocator, InodeTree } from '../meta/inode-tree.js';
import { IntentJournal } from '../meta/intents.js';
import { lmdbUri, openStrataStore } from '../meta/tables.js';
import { PendingWrites } from '../meta/pending-writes.js';
import type { MetaStore } from '../meta/meta-store.js';
import { MountTable } from '../meta/mount-table.js';
import type { MountRecord } from '../meta/mount-table.js';
import { HARD_MAX_DEPTH, ROOT } from '../meta/path.js';
import { PathConf } from '../meta/path-conf.js';
import { Metrics } from '../metrics/metrics.js';
import { OptionResolver } from '../options/options.js';
import { PersistQueue } from '../persist/persist-queue.js';
import { MetadataSync } from '../sync/metadata-sync.js';
import { syncPathsTogether } from '../sync/sync-paths.js';
import { SYNC_TASK_MODULE } from '../sync/worker-tasks.js';
import { MountedUfsCache } from '../ufs/mounted-ufs.js';
import { createUfs } from '../ufs/registry.js';
import { hasUfsCapability } from '../ufs/ufs.js';
import { IntentRecovery } from './intent-recovery.js';
import { logError, ufsOf } from './services.js';
import type { CoordinatorOptions, Services } from './services.js';

/** How long a delete through Strata keeps a sync that started earlier from resurrecting the path. */
const TOMBSTONE_TTL_MS = 10 * 60_000;

/** What the bootstrap builds on the services and then starts (the coordinator). */
export interface Composed {
  /** Start the background work owned by the composed object (after recovery). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Open (or create) a Strata instance on a data directory: take the directory's exclusive
 * lock (a directory in use by another live process fails with FAILED_PRECONDITION), wire
 * the services, build `compose(services)` on them, recover, then start background work.
 */
export async function bootstrap<T extends Composed>(opts: CoordinatorOptions, compose: (s: Services) => T): Promise<T> {
  const dir = resolveFs(opts.dataDir);
  mkdirSync(dir, { recursive: true });
  const lock = DataDirLock.acquire(dir);
  try {
    return await openLocked(opts, compose, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function openLocked<T extends Composed>(opts: CoordinatorOptions, compose: (s: Services) => T, lock: DataDirLock): Promise<T> {
  const s = await wire(opts);
  let c: T;
  try {
    c = compose(s); // a malformed mount.allowed.roots fails the start, not the first mount
  } catch (err) {
    await closeServices(s).catch(() => undefined);
    throw err;
  }
  // Recovery completes before anything is answered. The worker threads start (load their
  // modules, open LMDB) while recovery runs here, or after open (workersAfterOpen).
  const warm = opts.workersAfterOpen ? Promise.resolve() : s.actors.warmUp();
  try {
    s.recoveryStartMs = Date.now();
    await recover(s);
  } finally {
    await warm;
  }
  s.persistQueue.start();
  await c.start();
  s.dirLock = lock; // held until closeServices
  if (opts.workersAfterOpen) s.actors.warmUpSoon((err) => s.log.error({ err }, 'the worker threads failed to start: directory syncs will fail'));
  return c;
}

/** Build every service on the data directory (no background work started yet). */
async function wire(opts: CoordinatorOptions): Promise<Services> {
  const config = opts.config ?? new ServerConfig();
  const depth = config.get('path.max.depth');
  if (!Number.isSafeInteger(depth) || depth < 1 || depth > HARD_MAX_DEPTH) {
    throw new StrataError(ErrorCode.INVALID_ARGUMENT, `path.max.depth must be an integer from 1 to ${HARD_MAX_DEPTH} (a path holds at most ${HARD_MAX_DEPTH} components), not ${depth}`);
  }
  const log = opts.logger ?? defaultLogger;
  const dataDir = resolveFs(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const store = openStrataStore(lmdbUri(join(dataDir, 'meta')));
  const tree = new InodeTree(store);
  await tree.init().catch(async (err: unknown) => { await store.close().catch(() => undefined); throw err; }); // a foreign or newer format
  const mounts = new MountTable(store);
  await ensureRootMount(store, mounts, dataDir, opts.rootUfs);
  const pathConf = new PathConf(store);
  const absent = new AbsentPathCache(store);
  const options = new OptionResolver(config, mounts, pathConf);
  const blocks = new BlockStore(store, dataDir, config.get('cache.capacity'), config.get('cache.block.size'));
  const ufsCache = new MountedUfsCache(config.ufsDefaults, config.get('ufs.timeout'));
  const metrics = new Metrics();
  // Directory syncs run on worker threads that open the store again by its URI: an engine
  // whose openings are separate stores (memory:) would let them write where nobody reads.
  if (!store.shared) throw new StrataError(ErrorCode.INTERNAL, `metadata store ${store.uri} is private to one opening; the sync workers need an engine whose openings share one store (lmdb:)`);
  const actors = new ActorSystem({
    shardCount: config.get('shard.count'),
    shardDepth: config.get('shard.depth'),
    threads: config.get('worker.threads'),
    workerInit: { dataDir, metaUri: store.uri, ufsDefaults: config.ufsDefaults, ufsTimeoutMs: config.get('ufs.timeout'), taskModules: [SYNC_TASK_MODULE] },
    onCounters: (c) => metrics.merge(c),
    // A worker's commits resolved before its reply: this thread's next reads must see them.
    afterTask: () => store.refresh?.(),
  });
  const sync = new MetadataSync({
    store, tree, mounts, ufs: ufsCache, actors, absent, options, metrics, blocks,
    parallelism: () => ({ dirs: config.get('sync.parallelism'), prefetch: config.get('sync.prefetch.parallelism') }),
  });
  const data = new DataPath(blocks, metrics, config.get('cache.read.ahead.blocks'));
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
      syncPaths: (paths) => syncPathsTogether({
        store, mounts, blocks, metrics, statuses: sync.statuses,
        ufsOf: (m) => ufsCache.get(m, metrics.ufsCall),
        tellSync: (p, run) => actors.tellSync(p, run),
      }, paths).then((failed) => failed.filter((f) => (f.err as StrataError).code !== ErrorCode.NOT_FOUND)),
      syncDir: (p) => sync.syncListingNow(p).catch(ignoreMissing),
      syncTree: (p) => sync.syncTreeNow(p).catch(ignoreMissing),
    },
    intervalMs: (p) => options.get(p, 'active.sync.interval'),
    batchMax: config.get('active.sync.batch'),
    ufsOf: (m) => ufsCache.rawUfs(m),
    notifyPort: config.get('active.sync.notify.port'),
  });
  const journal = new IntentJournal(store);
  const s: Services = {
    dataDir, config, log, store, tree, mounts, pathConf, absent, options, blocks, ufsCache, metrics, actors,
    sync, data, persistQueue, activeSync, journal, ids: new IdAllocator(store), runs: new RecentRuns(),
    recovery: undefined as unknown as IntentRecovery,
  };
  s.recovery = new IntentRecovery({ store, tree, mounts, blocks, journal, metrics, log, ufsOf: (m) => ufsOf(s, m) });
  return s;
}

/** Create the root mount of a new data directory, or check the given root UFS against it. */
async function ensureRootMount(store: MetaStore, mounts: MountTable, dataDir: string, rootUfs?: string): Promise<void> {
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
    const root = InodeTree.root(tx);
    InodeTree.update(tx, { ...root, mountId });
  });
  mounts.reload();
}

/** Crash recovery: discard cache blocks of writes that never committed, orphan temp files, open intents. */
async function recover(s: Services): Promise<void> {
  const pending: number[] = [];
  for (const fileId of PendingWrites.fileIds(s.store)) pending.push(fileId);
  for (const fileId of pending) await s.blocks.discardUncommitted(fileId);
  if (pending.length) {
    await s.store.transact((tx) => { for (const id of pending) PendingWrites.clear(tx, id); });
    s.log.info({ writes: pending.length }, 'discarded uncommitted writes after a crash');
  }
  // Operations cut short between their UFS change and their metadata commit.
  const intents = await s.recovery.resolveAll();
  if (intents.recovered || intents.unresolved) s.log.info(intents, 'resolved interrupted namespace operations');
}

/**
 * Cache management and the TTL checker, on top of the file system `fs` (the coordinator):
 * `load` reads through it, an expired TTL frees or deletes through it.
 */
export function cacheServices(s: Services, fs: Pick<FileSystem, 'readFile' | 'free' | 'delete'>): { cacheOps: CacheManagement; ttl: TtlChecker } {
  const cacheOps = new CacheManagement({
    tree: s.tree, store: s.store, blocks: s.blocks, persistQueue: s.persistQueue,
    access: (p, o, listing) => s.sync.access(p, o, listing),
    loadTree: (p, signal) => s.sync.loadMetadata(p, true, undefined, signal).then(() => undefined),
    read: (p, o) => fs.readFile(p, o),
  });
  const ttl = new TtlChecker(s.store, {
    pathOf: (id) => s.tree.pathOf(id),
    free: (p) => fs.free(p, { recursive: true }),
    delete: (p) => fs.delete(p, { recursive: true }),
  }, s.metrics, s.log);
  return { cacheOps, ttl };
}

/** Periodic bounded clean-ups: expired delete tombstones in the absent-path table. */
export function startHousekeeping(s: Services): void {
  // Leftovers of a crash in the cache directory, swept once in the background after start.
  // File times come from the kernel's coarse clock, which may lag Date.now() by a tick:
  // a second of margin keeps every file of this instance (a leftover younger than that
  // waits for the next start).
  const opened = Date.now() - 1000;
  // Only the mounts this instance opened with can hold a crashed predecessor's temp files (a
  // write in flight at a crash was to a mount of its table, which this instance inherits); a
  // mount added since is not walked (a walk of a whole local tree, as long as a cold sync's
  // listing, on the coordinator's thread: it overlapped the first sync of a new mount).
  const atOpen = new Set(s.mounts.ids());
  s.sweep = new AbortController();
  const { signal } = s.sweep;
  setTimeout(() => {
    s.blocks.sweepLeftovers(opened, signal).then(
      (r) => { if (r.files) s.log.info({ files: r.files, bytes: r.bytes }, 'removed leftover cache files of an earlier crash'); },
      (err) => { if (!signal.aborted) logError(s, 'cache leftover sweep failed', err); },
    );
    // Temp files of UFS writes (persists, CACHE_THROUGH, THROUGH) cut short by a crash, in
    // every local mount: a walk of the whole UFS tree, so never on the start's path. This
    // instance wrote nothing to a UFS before recovery began, and a file it touched since has a
    // time no earlier than that less one coarse-clock tick (a crashed instance's last write is
    // older by at least a process start): 20 ms of margin tell them apart.
    sweepUfsTempFiles(s, atOpen, (s.recoveryStartMs ?? opened) - 20, signal).catch((err) => { if (!signal.aborted) logError(s, 'UFS temp file sweep failed', err); });
  }, 1000).unref();
  s.housekeeping = setInterval(() => {
    s.absent.sweepTombstones(Date.now() - TOMBSTONE_TTL_MS).catch((err) => logError(s, 'tombstone sweep failed', err));
  }, 60_000);
  s.housekeeping.unref();
}

/** Remove the temp files interrupted UFS writes left in each mount of `mountIds` (still mounted), one mount after another. */
async function sweepUfsTempFiles(s: Services, mountIds: ReadonlySet<number>, before: number, signal: AbortSignal): Promise<void> {
  // By id, unsorted: list() sorts with localeCompare, whose first call with two mounts or more
  // loads ICU's collation data (~8 ms of CPU, 30-140 ms of wall on a loaded machine, on the
  // coordinator's thread during a first sync).
  for (const id of mountIds) {
    if (signal.aborted) return;
    const m = s.mounts.byId(id);
    if (!m) continue; // unmounted since
    try {
      const ufs = s.ufsCache.rawUfs(m);
      if (!hasUfsCapability(ufs, 'cleanupInterruptedWrites')) continue;
      const removed = await ufs.cleanupInterruptedWrites({ before, signal });
      if (removed) s.log.info({ mount: m.path, removed }, 'removed temp files of interrupted UFS writes');
    } catch (err) {
      if (!signal.aborted) logError(s, `temp file cleanup of ${m.path} failed`, err);
    }
  }
}

/** Stop the services' background work and close them, the data-directory lock last. */
export async function closeServices(s: Services): Promise<void> {
  clearInterval(s.housekeeping);
  s.sweep?.abort();
  await s.activeSync.close();
  await s.persistQueue.stop();
  await s.actors.close();
  await s.ufsCache.closeAll();
  await s.store.close();
  s.dirLock?.release();
}
