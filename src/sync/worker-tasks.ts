// The sync engine's tasks for the worker pool and what it needs of the actor layer. The
// worker (src/actors/worker.ts) is generic: it loads the task table of this module (the
// URL `SYNC_TASK_MODULE`, passed in its WorkerInit) and dispatches on the task's kind. The
// shapes here are structural, so sync/ does not import actors/ (which sits above it).

import type { MetaStore } from '../meta/meta-store.js';
import type { Ufs } from '../ufs/ufs.js';
import { syncDirectory, syncTreeFlat } from './applier.js';
import type { DirSyncJob, DirSyncResult, TreeSyncResult } from './applier.js';
import { syncDirBatch } from './dir-batch.js';
import type { DirBatchJob, DirBatchResult } from './dir-batch.js';

/** Sync one directory's listing. */
export interface SyncDirTask {
  kind: 'syncDir';
  mountId: number;
  job: DirSyncJob;
  /** Set to 1 when the caller has left (src/cancel.ts): the task stops between pages. */
  cancel?: SharedArrayBuffer;
}

/** Sync the listings of a batch of directories of a recursive sync (sync/dir-batch.ts). */
export interface SyncDirsTask {
  kind: 'syncDirs';
  job: DirBatchJob;
  /** Set to 1 when the caller has left (src/cancel.ts): the task stops between directories. */
  cancel?: SharedArrayBuffer;
}

/** Sync a whole subtree from one flat recursive listing (UFSs that list flat cheaply: S3). */
export interface SyncTreeTask {
  kind: 'syncTree';
  mountId: number;
  job: Omit<DirSyncJob, 'recursive'>;
  /** Set to 1 when the caller has left (src/cancel.ts): the task stops between pages. */
  cancel?: SharedArrayBuffer;
}

/** What a sync task gets from its worker thread (the actor layer's TaskContext). */
export interface SyncTaskContext {
  store: MetaStore;
  ufsOf(mountId: number): Ufs;
  progress?: (done: number) => void;
  signal?: AbortSignal;
}

/**
 * What the sync engine needs of the actor layer (ActorSystem provides it): a sync lane per
 * shard, and tasks run on the pool through it.
 */
export interface SyncActors {
  tellSync<T>(path: string, run: () => Promise<T>): Promise<T>;
  offload<T>(path: string, task: SyncDirTask | SyncDirsTask | SyncTreeTask, opts?: { onProgress?: (done: number) => void }): Promise<T>;
}

/** The URL of this module, for WorkerInit.taskModules (the .ts source under tsx, .js when built). */
export const SYNC_TASK_MODULE = import.meta.url;

/** The task table the worker registers: handlers by kind. */
const tasks = {
  syncDir: (task: SyncDirTask, ctx: SyncTaskContext): Promise<DirSyncResult> =>
    syncDirectory(ctx.store, ctx.ufsOf(task.mountId), task.job, Date.now, ctx.signal),
  syncDirs: (task: SyncDirsTask, ctx: SyncTaskContext): Promise<DirBatchResult> =>
    syncDirBatch(ctx.store, (id) => ctx.ufsOf(id), task.job, Date.now, ctx.signal),
  syncTree: (task: SyncTreeTask, ctx: SyncTaskContext): Promise<TreeSyncResult> =>
    syncTreeFlat(ctx.store, ctx.ufsOf(task.mountId), task.job, Date.now, ctx.progress, ctx.signal),
};

export default tasks;
