// The index of cached blocks ('block' table: [file id, block index] -> the block's record,
// whose shape the block store owns). Blocks of a file are one key range.

import type { StrataReader, StrataTxn } from './tables.js';

export type BlockKey = [number, number];

export const BlockIndex = {
  get<R>(r: StrataReader, fileId: number, index: number): R | undefined {
    return r.get<R>('block', [fileId, index]);
  },
  put<R>(tx: StrataTxn, fileId: number, index: number, record: R): void {
    tx.put('block', [fileId, index], record);
  },
  del(tx: StrataTxn, key: BlockKey): void {
    tx.del('block', key);
  },
  /** Every block, in key order (streamed). */
  *all<R>(r: StrataReader): Iterable<{ key: BlockKey; value: R }> {
    for (const e of r.range<R>('block', {})) yield e as { key: BlockKey; value: R };
  },
  /** The keys of one file's blocks. */
  *keysOf(r: StrataReader, fileId: number): Iterable<BlockKey> {
    for (const { key } of r.range('block', { start: [fileId, 0], end: [fileId + 1] })) yield key as BlockKey;
  },
};
