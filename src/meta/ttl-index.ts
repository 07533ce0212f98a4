// The TTL index ('ttl' table: [expiry ms, inode id] -> 1), moved in the transaction that
// sets an inode's TTL, so the checker finds due inodes with one range read from the start.

import type { InodeRecord } from './inode.js';
import type { StrataReader, StrataTxn } from './tables.js';

export type TtlKey = [number, number];

export const TtlIndex = {
  /** In a transaction that sets an inode's TTL: move its index entry. */
  move(tx: StrataTxn, before: InodeRecord | undefined, after: InodeRecord): void {
    if (before && before.ttlMs >= 0) tx.del('ttl', [before.createdMs + before.ttlMs, before.id]);
    if (after.ttlMs >= 0) tx.put('ttl', [after.createdMs + after.ttlMs, after.id], 1);
  },
  /** Entries due by `now`, from `start` on, at most `limit`. */
  *due(r: StrataReader, now: number, start: TtlKey | undefined, limit: number): Iterable<TtlKey> {
    for (const { key } of r.range('ttl', { start, end: [now + 1], limit })) yield key as TtlKey;
  },
  del(tx: StrataTxn, key: TtlKey): void {
    tx.del('ttl', key);
  },
};
