// Writes in progress ('pending' table: file id -> { path, ms }): recorded before a write's
// first cached block, deleted in the transaction that commits the file (or when it fails),
// so the blocks of a write a crash cut short are found and discarded at the next start.

import type { StrataReader, StrataTxn } from './tables.js';

export interface PendingWrite { path: string; ms: number }

export const PendingWrites = {
  record(tx: StrataTxn, fileId: number, path: string, ms = Date.now()): void {
    tx.put('pending', fileId, { path, ms } satisfies PendingWrite);
  },
  clear(tx: StrataTxn, fileId: number): void {
    tx.del('pending', fileId);
  },
  /** File ids of the writes still recorded (after a crash: never committed). */
  *fileIds(r: StrataReader): Iterable<number> {
    for (const { key } of r.range('pending', {})) yield key as number;
  },
};
