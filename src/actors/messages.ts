// Tasks that a shard actor runs on the Piscina pool, and their replies. The actor layer is
// generic: a task names its `kind`, and the worker looks the kind up in the task tables of
// the modules listed in `WorkerInit.taskModules` (the sync engine registers its directory
// syncs there). Each task carries everything its handler needs (ids, paths, times): workers
// hold no state beyond caches of the metadata store and UFS clients, so a lost thread loses nothing.

import type { MessagePort } from 'node:worker_threads';
import type { CounterGroup } from '../metrics/metrics.js';
import type { MetaStore } from '../meta/meta-store.js';
import type { Ufs } from '../ufs/ufs.js';

/** Data every worker gets at start (Piscina workerData). */
export interface WorkerInit {
  dataDir: string;
  /** The metadata store's URI (`lmdb:///…`): an engine whose openings share one store. */
  metaUri: string;
  ufsDefaults: Record<string, string>;
  ufsTimeoutMs: number;
  /**
   * URLs of the modules whose default export is a `TaskTable` (loaded once per thread).
   * A kind registered twice is an error at worker start.
   */
  taskModules: string[];
}

/** One unit of work for the pool; `kind` picks the handler. Fields beyond it are the handler's. */
export interface WorkerTask {
  readonly kind: string;
  /** Where the handler reports progress (a comlink-exposed sink; set and transferred by the actor system). */
  progress?: MessagePort;
  /** Set to 1 when the caller has left (src/cancel.ts): a handler stops between steps. */
  cancel?: SharedArrayBuffer;
}

/** What a handler gets from its worker thread. */
export interface TaskContext {
  /** The metadata store, opened once per thread. */
  store: MetaStore;
  /** The UFS client of a mount (cached per thread; its calls are counted for this task). */
  ufsOf(mountId: number): Ufs;
  /** Report progress of a long task (present when the caller asked for progress). */
  progress?: (done: number) => void;
  /** Aborts when the caller has left (from the task's `cancel` flag). */
  signal?: AbortSignal;
}

/** A task handler: runs in a worker thread, returns a structured-cloneable result. */
export type TaskHandler = (task: never, ctx: TaskContext) => Promise<unknown>;

/** What a task module registers: handlers by task kind. */
export type TaskTable = Record<string, TaskHandler>;

/** Answered by the worker itself: used to have every thread loaded before work arrives. */
export interface PingTask extends WorkerTask {
  kind: 'ping';
}

export interface WorkerReply<T> {
  result: T;
  counters: Partial<Record<CounterGroup, Record<string, number>>>;
}
