// An in-memory metadata engine for unit tests and throw-away embedded use: sorted arrays per
// table, replaced (copy on write) at each commit so that an open range iterator reads the
// snapshot it started on. Private to its object (`shared: false`): another opening of
// `memory:` is another, empty store, so it cannot serve worker threads. Callbacks run one
// at a time when `transact` is called; values are stored and returned as structured clones.
// Nothing is synced anywhere, so each transaction is its own commit group.

import { ErrorCode, StrataError } from '../../../errors.js';
import type { CommitStats, Key, MetaStore, MetaTxn, OpenOptions, RangeOptions } from '../../meta-store.js';
import { DELETED, TxnOverlay } from '../overlay.js';

interface Row { key: Key; value: unknown }

/** The order of `Key`: numbers before strings, strings by code point, arrays element-wise. */
export function compareKeys(a: Key, b: Key): number {
  const x = Array.isArray(a) ? a : [a];
  const y = Array.isArray(b) ? b : [b];
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const c = compareScalar(x[i]!, y[i]!);
    if (c !== 0) return c;
  }
  return x.length - y.length;
}

function compareScalar(a: string | number, b: string | number): number {
  if (typeof a === 'number') return typeof b === 'number' ? (a < b ? -1 : a > b ? 1 : 0) : -1;
  if (typeof b === 'number') return 1;
  if (a === b) return 0;
  // Code point order (= UTF-8 byte order), not UTF-16 code unit order.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    if (ca > 0xffff) i++;
  }
  return a.length - b.length;
}

/** First index whose key is >= `key` (or > with `after`). */
function lowerBound(rows: readonly Row[], key: Key, after = false): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareKeys(rows[mid]!.key, key);
    if (c < 0 || (after && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryStore<T extends string = string> implements MetaStore<T> {
  readonly shared = false;
  private tables = new Map<string, Row[]>();
  private closed = false;

  constructor(readonly uri: string, options: OpenOptions) {
    for (const t of options.tables) this.tables.set(t, []);
  }

  private rows(table: T): Row[] {
    if (this.closed) throw new StrataError(ErrorCode.FAILED_PRECONDITION, `the metadata store ${this.uri} is closed`);
    const rows = this.tables.get(table);
    if (!rows) throw new StrataError(ErrorCode.INTERNAL, `the metadata store has no table ${table} (not registered when it was opened)`);
    return rows;
  }

  get<V>(table: T, key: Key): V | undefined {
    const rows = this.rows(table);
    const i = lowerBound(rows, key);
    const row = rows[i];
    return row && compareKeys(row.key, key) === 0 ? structuredClone(row.value) as V : undefined;
  }

  *range<V>(table: T, options: RangeOptions): Iterable<{ key: Key; value: V }> {
    const rows = this.rows(table);
    const lo = options.start === undefined ? 0 : lowerBound(rows, options.start);
    const hi = options.end === undefined ? rows.length : lowerBound(rows, options.end);
    const limit = options.limit ?? Infinity;
    let n = 0;
    if (options.reverse) {
      for (let i = hi - 1; i >= lo && n < limit; i--, n++) yield { key: structuredClone(rows[i]!.key), value: structuredClone(rows[i]!.value) as V };
    } else {
      for (let i = lo; i < hi && n < limit; i++, n++) yield { key: structuredClone(rows[i]!.key), value: structuredClone(rows[i]!.value) as V };
    }
  }

  count(table: T): number {
    return this.rows(table).length;
  }

  transact<R>(fn: (tx: MetaTxn<T>) => R): Promise<R> {
    try {
      const tx = new TxnOverlay<T>({ base: this, compare: compareKeys });
      const result = fn(tx);
      // Build every new table before replacing any: a clone failure writes nothing.
      const next = new Map<string, Row[]>();
      for (const [table, writes] of tx.writes) {
        const rows = [...this.rows(table)];
        for (const { key, value } of writes.values()) {
          const i = lowerBound(rows, key);
          const hit = i < rows.length && compareKeys(rows[i]!.key, key) === 0;
          if (value === DELETED) { if (hit) rows.splice(i, 1); continue; }
          const row = { key: structuredClone(key), value: structuredClone(value) };
          if (hit) rows[i] = row;
          else rows.splice(i, 0, row);
        }
        next.set(table, rows);
      }
      for (const [table, rows] of next) this.tables.set(table, rows);
      this.committed++;
      return Promise.resolve(result);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private committed = 0;

  commitStats(): CommitStats {
    return { groups: this.committed, transactions: this.committed };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.tables = new Map();
  }
}
