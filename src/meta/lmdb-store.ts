// The embedded metadata engine: one LMDB environment under <data-dir>/meta, a named database
// per table. Transactions buffer their writes and apply them in one lmdb-js async
// transaction (batched with others of the same event turn, committed by LMDB's writer), so
// a callback that throws leaves nothing behind. Safe to open from several worker threads.

import { compareKeys, open } from 'lmdb';
import { guardDetachedCommitFailures, storeCommitError } from './store-errors.js';
import type { Database, RootDatabase } from 'lmdb';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Key, MetaStore, MetaTxn, RangeOptions, Table } from './meta-store.js';

const TABLES: Table[] = ['inode', 'edge', 'mount', 'pathconf', 'sys', 'block', 'pending', 'persist', 'absent', 'syncpoint', 'ttl'];

const DELETED = Symbol('deleted');
type Pending = { key: Key; value: unknown };

/** A transaction's write set: later writes to a key replace earlier ones. */
class BufferedTxn implements MetaTxn {
  readonly writes = new Map<Table, Map<string, Pending>>();

  constructor(private readonly store: LmdbStore) {}

  private slot(table: Table): Map<string, Pending> {
    let m = this.writes.get(table);
    if (!m) this.writes.set(table, (m = new Map()));
    return m;
  }

  get<V>(table: Table, key: Key): V | undefined {
    const w = this.writes.get(table)?.get(keyId(key));
    if (w) return w.value === DELETED ? undefined : (w.value as V);
    return this.store.get<V>(table, key);
  }

  put(table: Table, key: Key, value: unknown): void {
    if (value === undefined) throw new TypeError(`cannot store undefined in ${table}`);
    this.slot(table).set(keyId(key), { key, value });
  }

  del(table: Table, key: Key): void {
    this.slot(table).set(keyId(key), { key, value: DELETED });
  }

  *range<V>(table: Table, options: RangeOptions): Iterable<{ key: Key; value: V }> {
    const overlay = this.writes.get(table);
    if (!overlay || overlay.size === 0) {
      yield* this.store.range<V>(table, options);
      return;
    }
    // Merge the store's range with this transaction's writes inside the range.
    const inRange = [...overlay.values()]
      .filter((p) => (options.start === undefined || compareKeys(p.key, options.start) >= 0) &&
        (options.end === undefined || compareKeys(p.key, options.end) < 0))
      .sort((a, b) => compareKeys(a.key, b.key) * (options.reverse ? -1 : 1));
    const shadowed = new Set(inRange.map((p) => keyId(p.key)));
    let i = 0;
    let emitted = 0;
    const limit = options.limit ?? Infinity;
    const dir = options.reverse ? -1 : 1;
    for (const e of this.store.range<V>(table, { ...options, limit: undefined })) {
      while (i < inRange.length && compareKeys(inRange[i]!.key, e.key) * dir < 0) {
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

/** A string identity for a key in a transaction's write set (distinct keys, distinct ids). */
function keyId(key: Key): string {
  if (typeof key !== 'object') return (typeof key === 'number' ? 'n' : 's') + key;
  // The common shapes ([id, name] edges, [id, index] blocks) without JSON's cost.
  if (key.length === 2 && typeof key[0] === 'number') return `a${key[0]}\u0001${typeof key[1] === 'number' ? 'n' : 's'}${key[1]}`;
  return 'j' + JSON.stringify(key);
}

/** LMDB-backed MetaStore. */
export class LmdbStore implements MetaStore {
  private readonly env: RootDatabase;
  private readonly dbs = new Map<Table, Database>();

  private constructor(readonly path: string) {
    mkdirSync(path, { recursive: true });
    this.env = open({
      path,
      maxDbs: 32,
      // Values are msgpack (lmdb-js default); keys ordered-binary (arrays order element-wise).
      mapSize: 64 * 1024 * 1024 * 1024,
      pageSize: 8192,
    });
    for (const t of TABLES) {
      // Inode records share msgpack structures (field names stored once in the DB): smaller
      // values and much faster encode/decode on the sync and lookup paths.
      this.dbs.set(t, this.env.openDB(t === 'inode' ? { name: t, sharedStructuresKey: Symbol.for('structures') } : { name: t }));
    }
  }

  /** Open (or create) the store under `dir`. */
  static open(dir: string): LmdbStore {
    guardDetachedCommitFailures();
    return new LmdbStore(join(dir));
  }

  private db(table: Table): Database {
    return this.dbs.get(table)!;
  }

  get<V>(table: Table, key: Key): V | undefined {
    return this.db(table).get(key as never) as V | undefined;
  }

  *range<V>(table: Table, options: RangeOptions): Iterable<{ key: Key; value: V }> {
    const it = this.db(table).getRange({
      start: options.start as never,
      end: options.end as never,
      limit: options.limit,
      reverse: options.reverse,
    });
    for (const { key, value } of it) yield { key: key as Key, value: value as V };
  }

  count(table: Table): number {
    return (this.db(table).getStats() as { entryCount: number }).entryCount;
  }

  transact<T>(fn: (tx: MetaTxn) => T): Promise<T> {
    return this.env.transaction(() => {
      const tx = new BufferedTxn(this);
      const result = fn(tx);
      for (const [table, writes] of tx.writes) {
        const db = this.db(table);
        for (const { key, value } of writes.values()) {
          if (value === DELETED) db.removeSync(key as never);
          else db.putSync(key as never, value);
        }
      }
      return result;
    }).catch((err: unknown) => { throw storeCommitError(err, this.path); }) as Promise<T>;
  }

  async close(): Promise<void> {
    await this.env.close();
  }
}
