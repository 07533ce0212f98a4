// The rows of the ASYNC_THROUGH persist queue ('persist' table: file id -> PersistJob),
// written in the transaction that makes a file visible and deleted in the one that records
// it persisted, so a crash never loses a job. The queue's scheduling lives in the persist
// queue; this module is only its durable rows.

import type { StrataReader, StrataTxn } from './tables.js';

export interface PersistJob {
  inodeId: number;
  fileId: number;
  enqueuedMs: number;
  nextMs: number;
  attempts: number;
  lastError?: string;
}

export const PersistJobs = {
  get(r: StrataReader, fileId: number): PersistJob | undefined {
    return r.get<PersistJob>('persist', fileId);
  },
  put(tx: StrataTxn, job: PersistJob): void {
    tx.put('persist', job.fileId, job);
  },
  /** Drop a file's job (persisted, deleted, replaced); nothing when it has none. */
  del(tx: StrataTxn, fileId: number): void {
    tx.del('persist', fileId);
  },
  /** Every job, in file id order (streamed). */
  *all(r: StrataReader): Iterable<PersistJob> {
    for (const { value } of r.range<PersistJob>('persist', {})) yield value;
  },
};
