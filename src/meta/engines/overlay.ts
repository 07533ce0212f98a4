// A transaction's write set over an engine's committed rows, shared by the engines that
// buffer writes and apply them at commit (LMDB, memory): later writes to a key replace
// earlier ones, and reads see them — `get` directly, `range` by merging the pending puts and
// deletes in the range with the stored rows, in the engine's key order, with limit/reverse.

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

/** A transaction's buffered writes; `writes` is what the engine applies at commit. */
export class TxnOverlay<T extends string> implements MetaTxn<T> {
  readonly writes = new Map<T, Map<string, PendingWrite>>();

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
    this.engine.checkKey?.(table, key);
    this.slot(table).set(keyId(key), { key, value });
  }

  del(table: T, key: Key): void {
    this.engine.checkKey?.(table, key);
    this.slot(table).set(keyId(key), { key, value: DELETED });
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
    const inRange = [...overlay.values()]
      .filter((p) => (options.start === undefined || cmp(p.key, options.start) >= 0) &&
        (options.end === undefined || cmp(p.key, options.end) < 0))
      .sort((a, b) => cmp(a.key, b.key) * dir);
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

/** A string identity for a key in a write set (distinct keys, distinct ids). */
export function keyId(key: Key): string {
  if (typeof key !== 'object') return (typeof key === 'number' ? 'n' : 's') + key;
  // The common shapes ([id, name] edges, [id, index] blocks) without JSON's cost.
  if (key.length === 2 && typeof key[0] === 'number') return `a${key[0]}\u0001${typeof key[1] === 'number' ? 'n' : 's'}${key[1]}`;
  return 'j' + JSON.stringify(key);
}
