// The embedded metadata engine: one LMDB environment under <data-dir>/meta, a named database
// per table. Transactions buffer their writes and apply them in one lmdb-js async
// transaction (batched with others of the same event turn, committed by LMDB's writer), so
// a callback that throws leaves nothing behind: keys are checked against LMDB's key limit as
// they are buffered, and the apply runs in a child transaction that a failure aborts. The
// data file is checked before LMDB maps it (store-format.ts). Safe to open from several
// worker threads.

import * as lmdb from 'lmdb';
import { compareKeys, open } from 'lmdb';
import { guardDetachedCommitFailures, storeCommitError } from './store-errors.js';
import type { Database, RootDatabase } from 'lmdb';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, StrataError } from '../errors.js';
import type { Key, MetaStore, MetaTxn, RangeOptions, Table } from './meta-store.js';
import { checkLmdbFile } from './store-format.js';

const TABLES: Table[] = ['inode', 'edge', 'mount', 'pathconf', 'sys', 'block', 'pending', 'persist', 'absent', 'syncpoint', 'ttl', 'intent'];

/**
 * The largest encoded key LMDB takes with the 8 KB pages used here (lmdb-js reports 4026);
 * a longer key is refused when it is buffered, before anything is written.
 */
export const MAX_KEY_BYTES = 4026;

/** lmdb-js's own key encoder (exported, not declared in its types). */
const encodeKey = (lmdb as unknown as { keyValueToBuffer(key: unknown): Uint8Array }).keyValueToBuffer;

function checkKey(table: Table, key: Key): void {
  // Cheap bound first: only keys that might be long are encoded.
  if (typeof key === 'number') return;
  if (typeof key === 'string' && key.length * 3 + 8 <= MAX_KEY_BYTES) return;
  const size = encodeKey(key).length;
  if (size > MAX_KEY_BYTES) {
    throw new StrataError(ErrorCode.INVALID_PATH,
      `a ${table} key of ${size} bytes exceeds the metadata store's key limit of ${MAX_KEY_BYTES} bytes (${JSON.stringify(key).slice(0, 80)}…)`);
  }
}

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
    checkKey(table, key);
    this.slot(table).set(keyId(key), { key, value });
  }

  del(table: Table, key: Key): void {
    checkKey(table, key);
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
    checkLmdbFile(path);
    try {
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
    } catch (err) {
      throw new StrataError(ErrorCode.FAILED_PRECONDITION,
        `the metadata store ${path} cannot be opened (${(err as Error).message}); restore it from a backup, or move the data directory aside to start empty`, { cause: err });
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
      if (tx.writes.size === 0) return result;
      // lmdb-js commits what an outer transaction callback wrote even when it throws; a
      // child transaction is aborted by a throw, so a failed apply leaves nothing.
      this.env.childTransaction(() => {
        for (const [table, writes] of tx.writes) {
          const db = this.db(table);
          for (const { key, value } of writes.values()) {
            if (value === DELETED) db.removeSync(key as never);
            else db.putSync(key as never, value);
          }
        }
      });
      return result;
    }).catch((err: unknown) => { throw storeCommitError(err, this.path); }) as Promise<T>;
  }

  async close(): Promise<void> {
    await this.env.close();
  }
}
