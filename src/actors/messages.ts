// Messages that a shard actor executes on the Piscina pool, and their results. Each carries
// everything the worker needs (ids, paths, times): workers hold no state of their own
// beyond caches of the LMDB environment and UFS clients, so a recycled thread loses nothing.

import type { MessagePort } from 'node:worker_threads';
import type { CounterGroup } from '../coordinator/metrics.js';
import type { DirSyncJob, DirSyncResult, TreeSyncResult } from '../sync/applier.js';

/** Data every worker gets at start (Piscina workerData). */
export interface WorkerInit {
  dataDir: string;
  metaDir: string;
  ufsDefaults: Record<string, string>;
  ufsTimeoutMs: number;
}

export interface SyncDirMessage {
  kind: 'syncDir';
  mountId: number;
  job: DirSyncJob;
  /** Set to 1 when the caller has left (src/cancel.ts): the task stops between pages. */
  cancel?: SharedArrayBuffer;
}

/** Sync a whole subtree from one flat recursive listing (UFSs that list flat cheaply: S3). */
export interface SyncTreeMessage {
  kind: 'syncTree';
  mountId: number;
  job: Omit<DirSyncJob, 'recursive'>;
  /** Where to report entries applied so far (a comlink-exposed sink; transferred). */
  progress?: MessagePort;
  /** Set to 1 when the caller has left (src/cancel.ts): the task stops between pages. */
  cancel?: SharedArrayBuffer;
}

/** Answered at once: used to have every thread loaded before work arrives. */
export interface PingMessage {
  kind: 'ping';
}

export type WorkerMessage = SyncDirMessage | SyncTreeMessage | PingMessage;

export interface WorkerReply<T> {
  result: T;
  counters: Partial<Record<CounterGroup, Record<string, number>>>;
}

export type SyncDirReply = WorkerReply<DirSyncResult>;
export type SyncTreeReply = WorkerReply<TreeSyncResult>;
