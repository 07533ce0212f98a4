// The services of one Strata instance, as wired by the bootstrap (src/coordinator/bootstrap.ts),
// and the few helpers that every part of the coordinator shares: the UFS of a mount, a
// writable path's mount, a path's inode synced per the call's options, a mutation on the
// path's shard actor, and settling an intent after a failure.

import type { RecentRuns } from '../metrics/recent-runs.js';
import type { ActiveSyncManager } from '../activesync/manager.js';
import type { ActorSystem } from '../actors/actor-system.js';
import type { LockRequest } from '../actors/path-locks.js';
import type { BlockStore } from '../cache/block-store.js';
import type { ServerConfig } from '../config/keys.js';
import type { DataPath } from '../data/data-path.js';
import { ErrorCode, readOnly, toStrataError } from '../errors.js';
import type { StrataError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AbsentPathCache } from '../meta/absent-cache.js';
import type { DataDirLock } from '../meta/data-dir-lock.js';
import type { InodeRecord } from '../meta/inode.js';
import type { IdAllocator, InodeTree } from '../meta/inode-tree.js';
import type { Intent, IntentJournal } from '../meta/intents.js';
import type { MetaStore } from '../meta/meta-store.js';
import type { MountRecord, MountTable } from '../meta/mount-table.js';
import type { PathConf } from '../meta/path-conf.js';
import type { Metrics } from '../metrics/metrics.js';
import type { OptionResolver } from '../options/options.js';
import type { PersistQueue } from '../persist/persist-queue.js';
import type { MetadataSync } from '../sync/metadata-sync.js';
import type { GetStatusOptions } from '../types.js';
import type { MountedUfsCache } from '../ufs/mounted-ufs.js';
import type { Ufs } from '../ufs/ufs.js';
import type { IntentRecovery } from './intent-recovery.js';
import type { ActorSlot } from '../actors/shard-actor.js';

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

/** Everything a Strata instance runs on (built by the bootstrap, closed by closeServices). */
export interface Services {
  dataDir: string;
  config: ServerConfig;
  log: Logger;
  store: MetaStore;
  tree: InodeTree;
  mounts: MountTable;
  pathConf: PathConf;
  absent: AbsentPathCache;
  options: OptionResolver;
  blocks: BlockStore;
  ufsCache: MountedUfsCache;
  metrics: Metrics;
  actors: ActorSystem;
  sync: MetadataSync;
  data: DataPath;
  persistQueue: PersistQueue;
  activeSync: ActiveSyncManager;
  /** Intents of operations that change a UFS and then the namespace (see src/meta/intents.ts). */
  journal: IntentJournal;
  recovery: IntentRecovery;
  ids: IdAllocator;
  /** The latest loadMetadata / checkConsistency runs (the report's recentRuns). */
  runs: RecentRuns;
  /** The exclusive lock on the data directory, held until closeServices. */
  dirLock?: DataDirLock;
  /** When recovery began (ms since the epoch): every UFS write of this instance is younger. */
  recoveryStartMs?: number;
  housekeeping?: NodeJS.Timeout;
  /** Stops the start-up sweep of crash leftovers in the cache directory. */
  sweep?: AbortController;
}

/** The (counted, time-limited) UFS client of a mount. */
export function ufsOf(s: Services, mount: MountRecord): Ufs {
  return s.ufsCache.get(mount, s.metrics.ufsCall);
}

/** The mount of a path that may be changed: READ_ONLY under a read-only mount, and names the UFS cannot store refused now. */
export function writable(s: Services, path: string): { mount: MountRecord; ufsPath: string } {
  const r = s.mounts.resolve(path);
  if (r.mount.readOnly) throw readOnly(path, r.mount.path);
  // A name the UFS could never store is refused now, not acknowledged and failed later.
  ufsOf(s, r.mount).validatePath?.(r.ufsPath);
  return r;
}

/** The inode of a path, synced with the UFS as the call's options ask. */
export function statInode(s: Services, path: string, options: GetStatusOptions = {}): Promise<InodeRecord> {
  return s.sync.access(path, options, false);
}

/** As statInode, undefined for a path that does not exist. */
export async function tryStat(s: Services, path: string, options: GetStatusOptions = {}): Promise<InodeRecord | undefined> {
  try {
    return await statInode(s, path, options);
  } catch (err) {
    if ((err as StrataError).code === ErrorCode.NOT_FOUND) return undefined;
    throw err;
  }
}

/** Run a mutation on the path's shard actor holding an exclusive lock on `path`. */
export function mutate<T>(s: Services, path: string, run: (slot: ActorSlot) => Promise<T>, extra: LockRequest[] = [], subtree = false): Promise<T> {
  return s.actors.tell(path, [{ path, exclusive: true, subtree }, ...extra], run);
}

/** After a failure past the UFS step: settle the intent now (best effort; else at the next start). */
export async function settle(s: Services, id: number | undefined, intent: Intent): Promise<void> {
  if (id === undefined) return;
  await s.recovery.resolve({ id, intent, ms: Date.now() }).catch((err: unknown) => logError(s, `could not settle an interrupted ${intent.op}`, err));
}

/** Surface an error of background work in the log. */
export function logError(s: Services, what: string, err: unknown): void {
  s.log.warn({ err: toStrataError(err).toJSON() }, what);
}
