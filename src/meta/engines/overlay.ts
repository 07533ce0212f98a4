// A transaction's write set over an engine's committed rows, shared by the engines that
// buffer writes and apply them at commit (LMDB, memory): later writes to a key replace
// earlier ones, and reads see them — `get` directly, `range` by merging the pending puts and
// deletes in the range with the stored rows, in the engine's key order, with limit/reverse.
// A range within one leading id (one directory's edges, one file's blocks) merges only the
// writes under that id: a transaction that applies many directories does not re-scan them all.

import type { Key, MetaReader, MetaTxn, RangeOptions } from '../meta-store.js';

/** Marks a pending delete in a write set. */
export const DELETED = Symbol('deleted');

export interface PendingWrite { key: Key; value: unknown }

/** How an engine plugs into the overlay. */
export interface OverlayEngine<T extends string> {
  /** Committed rows (read inside the engine's transaction, where it has one). */
  base: MetaReader<T>;
  /** The engine's key order (must be the order its `range` yields). */
  compare(a: Key, b: Key): number;
  /** Throws when a key cannot be stored (too long); called as writes are buffered. */
  checkKey?(table: T, key: Key): void;
}

/** Writes of a table below which a range filters them all rather than by leading id. */
const INDEX_FROM = 64;

/**
 * A table's writes grouped by the leading integer of their array keys ([parent id, name],
 * [file id, index]), built on the first range that can use it and kept up to date after.
 * `mixed` once any key of the table is not such an array: the table is then always filtered.
 */
interface HeadIndex {
  byHead: Map<number, Map<string, PendingWrite>>;
  mixed: boolean;
}

/** The leading integer of an array key, or undefined. */
function headOf(key: Key): number | undefined {
  if (typeof key !== 'object' || key.length < 2) return undefined;
  const h = key[0];
  return typeof h === 'number' && Number.isInteger(h) ? h : undefined;
}

/**
 * The leading ids a range can hold when both its bounds are array keys with integer heads
 * `lo` and `hi` (`[lo, …] <= key < [hi, …]`): every key in it is an array whose head lies in
 * [lo, hi] (an integer head when the table's keys all have one). Undefined otherwise.
 */
function headSpan(options: RangeOptions): [number, number] | undefined {
  const { start, end } = options;
  if (typeof start !== 'object' || typeof end !== 'object' || start.length === 0 || end.length === 0) return undefined;
  const lo = start[0];
  const hi = end[0];
  if (typeof lo !== 'number' || typeof hi !== 'number' || !Number.isInteger(lo) || !Number.isInteger(hi)) return undefined;
  return hi >= lo && hi - lo <= 4 ? [lo, hi] : undefined;
}

/** A transaction's buffered writes; `writes` is what the engine applies at commit. */
export class TxnOverlay<T extends string> implements MetaTxn<T> {
  readonly writes = new Map<T, Map<string, PendingWrite>>();
  private readonly indexes = new Map<T, HeadIndex>();

  constructor(private readonly engine: OverlayEngine<T>) {}

  private slot(table: T): Map<string, PendingWrite> {
    let m = this.writes.get(table);
    if (!m) this.writes.set(table, (m = new Map()));
    return m;
  }

  get<V>(table: T, key: Key): V | undefined {
    const w = this.writes.get(table)?.get(keyId(key));
    if (w) return w.value === DELETED ? undefined : (w.value as V);
    return this.engine.base.get<V>(table, key);
  }

  put(table: T, key: Key, value: unknown): void {
    if (value === undefined) throw new TypeError(`cannot store undefined in ${table}`);
    this.write(table, key, value);
  }

  del(table: T, key: Key): void {
    this.write(table, key, DELETED);
  }

  private write(table: T, key: Key, value: unknown): void {
    this.engine.checkKey?.(table, key);
    const id = keyId(key);
    const w: PendingWrite = { key, value };
    this.slot(table).set(id, w);
    const index = this.indexes.get(table);
    if (index && !index.mixed) index.mixed = !addToIndex(index, id, w);
  }

  /** The index of a table's writes by leading id (built now when the table has enough writes). */
  private indexOf(table: T, overlay: Map<string, PendingWrite>): HeadIndex | undefined {
    let index = this.indexes.get(table);
    if (index || overlay.size < INDEX_FROM) return index;
    index = { byHead: new Map(), mixed: false };
    for (const [id, w] of overlay) if (!addToIndex(index, id, w)) { index.mixed = true; break; }
    if (index.mixed) index.byHead.clear();
    this.indexes.set(table, index);
    return index;
  }

  /** This transaction's writes that may lie in the range (all of the table's, or those under its leading ids). */
  private candidates(table: T, overlay: Map<string, PendingWrite>, options: RangeOptions): Iterable<PendingWrite> {
    const span = headSpan(options);
    if (!span) return overlay.values();
    const index = this.indexOf(table, overlay);
    if (!index || index.mixed) return overlay.values();
    const out: PendingWrite[] = [];
    for (let h = span[0]; h <= span[1]; h++) {
      const m = index.byHead.get(h);
      if (m) for (const w of m.values()) out.push(w);
    }
    return out;
  }

  *range<V>(table: T, options: RangeOptions): Iterable<{ key: Key; value: V }> {
    const overlay = this.writes.get(table);
    if (!overlay || overlay.size === 0) {
      yield* this.engine.base.range<V>(table, options);
      return;
    }
    const cmp = this.engine.compare;
    const dir = options.reverse ? -1 : 1;
    // This transaction's writes inside the range, in iteration order.
    const inRange: PendingWrite[] = [];
    for (const p of this.candidates(table, overlay, options)) {
      if ((options.start === undefined || cmp(p.key, options.start) >= 0) && (options.end === undefined || cmp(p.key, options.end) < 0)) inRange.push(p);
    }
    if (inRange.length === 0) {
      yield* this.engine.base.range<V>(table, options);
      return;
    }
    inRange.sort((a, b) => cmp(a.key, b.key) * dir);
    const shadowed = new Set(inRange.map((p) => keyId(p.key)));
    let i = 0;
    let emitted = 0;
    const limit = options.limit ?? Infinity;
    if (limit <= 0) return;
    // Stored rows without the limit: shadowed and deleted rows do not count towards it.
    for (const e of this.engine.base.range<V>(table, { ...options, limit: undefined })) {
      while (i < inRange.length && cmp(inRange[i]!.key, e.key) * dir < 0) {
        const p = inRange[i++]!;
        if (p.value !== DELETED) { yield { key: p.key, value: p.value as V }; if (++emitted >= limit) return; }
      }
      if (shadowed.has(keyId(e.key))) continue;
      yield e;
      if (++emitted >= limit) return;
    }
    for (; i < inRange.length; i++) {
      const p = inRange[i]!;
      if (p.value !== DELETED) { yield { key: p.key, value: p.value as V }; if (++emitted >= limit) return; }
    }
  }
}

/** File a write under its key's leading id; false when the key has none (the table is mixed). */
function addToIndex(index: HeadIndex, id: string, w: PendingWrite): boolean {
  const h = headOf(w.key);
  if (h === undefined) return false;
  let m = index.byHead.get(h);
  if (!m) index.byHead.set(h, (m = new Map()));
  m.set(id, w);
  return true;
}

/** A string identity for a key in a write set (distinct keys, distinct ids). */
export function keyId(key: Key): string {
  if (typeof key !== 'object') return (typeof key === 'number' ? 'n' : 's') + key;
  // The common shapes ([id, name] edges, [id, index] blocks) without JSON's cost.
  if (key.length === 2 && typeof key[0] === 'number') return `a${key[0]}\u0001${typeof key[1] === 'number' ? 'n' : 's'}${key[1]}`;
  return 'j' + JSON.stringify(key);
}
