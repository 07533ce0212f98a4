// Active sync points ('syncpoint' table: path -> record, whose shape active sync owns), so
// that they survive restart.

import type { StrataReader, StrataTxn } from './tables.js';

export const SyncPoints = {
  *all<R>(r: StrataReader): Iterable<R> {
    for (const { value } of r.range<R>('syncpoint', {})) yield value;
  },
  put<R>(tx: StrataTxn, path: string, record: R): void {
    tx.put('syncpoint', path, record);
  },
  del(tx: StrataTxn, path: string): void {
    tx.del('syncpoint', path);
  },
};
