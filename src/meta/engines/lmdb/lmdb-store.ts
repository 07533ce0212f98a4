// The embedded metadata engine: one LMDB environment in a directory, a named database per
// table the application registers. Transactions buffer their writes (overlay.ts) and apply
// them in one lmdb-js async transaction (batched with others of the same event turn,
// committed by LMDB's single writer, so callbacks are serialised), so a callback that throws
// leaves nothing behind: keys are checked against LMDB's key limit as they are buffered, and
// the apply runs in a child transaction that a failure aborts. The data file is checked
// before LMDB maps it (store-format.ts). Opened by `lmdb:///dir`; every thread and process
// that opens the same directory sees every commit once its transaction has resolved.
// Group commit: the callbacks lmdb-js batches into one write transaction are one commit
// group (one fsync, overlapped with the next group's writes); `transact` resolves only when
// its group has been flushed to disk, so what a caller acknowledges after it is durable.

import * as lmdb from 'lmdb';
import type { Database, RootDatabase } from 'lmdb';
import { mkdirSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ErrorCode, StrataError } from '../../../errors.js';
import type { CommitStats, Key, MetaStore, MetaTxn, OpenOptions, RangeOptions } from '../../meta-store.js';
import { checkLmdbFile } from '../../store-format.js';
import { DELETED, TxnOverlay } from '../overlay.js';
import { guardDetachedCommitFailures, storeCommitError } from './store-errors.js';

/**
 * A commit group whose flush to disk failed: its callers get an error, never an
 * acknowledgement (the commit may be visible to readers but is not known to be durable).
 */
function flushFailure(err: unknown, dir: string): unknown {
  const mapped = storeCommitError(err, dir);
  if (mapped instanceof StrataError) return mapped;
  return new StrataError(ErrorCode.INTERNAL,
    `the metadata store could not flush a commit to disk under ${dir}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/**
 * The largest encoded key LMDB takes with the 8 KB pages used here (lmdb-js reports 4026);
 * a longer key is refused when it is buffered, before anything is written.
 */
export const MAX_KEY_BYTES = 4026;

/** lmdb-js's own key encoder (exported, not declared in its types; returns a shared buffer). */
const encodeKey = (lmdb as unknown as { keyValueToBuffer(key: unknown): Uint8Array }).keyValueToBuffer;

/**
 * An upper bound of a key's encoded size, without encoding it: a number takes at most 9
 * bytes, a string at most 3 bytes per UTF-16 code unit, each array element one separator.
 */
function keyBytesBound(key: Key): number {
  if (typeof key === 'number') return 10;
  if (typeof key === 'string') return key.length * 3 + 8;
  let n = 8;
  for (let i = 0; i < key.length; i++) {
    const e = key[i]!;
    n += typeof e === 'number' ? 10 : e.length * 3 + 2;
  }
  return n;
}

function checkKey(table: string, key: Key): void {
  // Cheap bound first: only keys that might be long are encoded (an edge key [id, name] of
  // a name under ~1,300 characters never is: it is put once per entry of every sync).
  if (keyBytesBound(key) <= MAX_KEY_BYTES) return;
  const size = encodeKey(key).length;
  if (size > MAX_KEY_BYTES) {
    throw new StrataError(ErrorCode.INVALID_PATH,
      `a ${table} key of ${size} bytes exceeds the metadata store's key limit of ${MAX_KEY_BYTES} bytes (${JSON.stringify(key).slice(0, 80)}…)`);
  }
}

/**
 * LMDB's order: that of the encoded keys' bytes. (lmdb-js's `compareKeys` compares strings
 * by UTF-16 code unit, which differs from the stored order for characters above U+FFFF.)
 */
function compareStored(a: Key, b: Key): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  // Without surrogates, code unit order is code point order is UTF-8 byte order.
  if (!hasSurrogate(a) && !hasSurrogate(b)) return lmdb.compareKeys(a, b);
  return Buffer.compare(Buffer.from(encodeKey(a)), Buffer.from(encodeKey(b)));
}

const SURROGATE = /[\ud800-\udfff]/;
function hasSurrogate(k: Key): boolean {
  if (typeof k === 'string') return SURROGATE.test(k);
  if (typeof k === 'number') return false;
  for (const e of k) if (typeof e === 'string' && SURROGATE.test(e)) return true;
  return false;
}

/** The `lmdb:` URI of a directory (absolute, percent-encoded). */
export function lmdbUri(dir: string): string {
  return 'lmdb://' + pathToFileURL(resolve(dir)).pathname;
}

/** The directory of an `lmdb:` URI (`lmdb:///abs/dir`; `lmdb:rel/dir` is relative to the cwd). */
export function lmdbDir(uri: string): string {
  const rest = uri.replace(/^lmdb:/, '');
  if (rest.startsWith('//')) {
    const u = new URL(uri);
    if (u.host !== '') throw new StrataError(ErrorCode.INVALID_ARGUMENT, `an lmdb: metadata store URI names a local directory, not the host ${u.host} (${uri})`);
    return fileURLToPath('file://' + u.pathname);
  }
  if (rest === '') throw new StrataError(ErrorCode.INVALID_ARGUMENT, `the metadata store URI ${uri} names no directory`);
  return isAbsolute(rest) ? rest : resolve(rest);
}

/** LMDB-backed MetaStore. */
export class LmdbStore<T extends string = string> implements MetaStore<T> {
  readonly shared = true;
  readonly uri: string;
  private readonly env: RootDatabase;
  private readonly dbs = new Map<string, Database>();

  private constructor(readonly path: string, options: OpenOptions) {
    this.uri = lmdbUri(path);
    mkdirSync(path, { recursive: true });
    checkLmdbFile(path);
    try {
      this.env = lmdb.open({
        path,
        maxDbs: 32,
        // Values are msgpack (lmdb-js default); keys ordered-binary (arrays order element-wise).
        mapSize: 64 * 1024 * 1024 * 1024,
        pageSize: 8192,
        // Map the file in chunks of 16 pages on demand (lmdb-js's MDB_REMAP_CHUNKS) instead of
        // one mapping of the whole file: the kernel then maps only the chunks read, not every
        // page around them (fault-around), so the resident file pages of a 1M-entry sync are
        // ~140 MiB instead of ~180 (bench/RESULTS.md, "peak RSS at 1M"). A runtime choice:
        // the file format is the same, so data directories written either way open either way.
        remapChunks: true,
      });
      const records = new Set(options.recordTables ?? []);
      for (const t of options.tables) {
        // Records of one shape share msgpack structures (field names stored once in the DB):
        // smaller values and much faster encode/decode on the sync and lookup paths.
        this.dbs.set(t, this.env.openDB(records.has(t) ? { name: t, sharedStructuresKey: Symbol.for('structures') } : { name: t }));
      }
    } catch (err) {
      throw new StrataError(ErrorCode.FAILED_PRECONDITION,
        `the metadata store ${path} cannot be opened (${(err as Error).message}); restore it from a backup, or move the data directory aside to start empty`, { cause: err });
    }
  }

  /** Open (or create) the store in the directory of an `lmdb:` URI. */
  static openUri<T extends string>(uri: string, options: OpenOptions): LmdbStore<T> {
    guardDetachedCommitFailures();
    return new LmdbStore<T>(lmdbDir(uri), options);
  }

  /** lmdb-js renews its read snapshot on a timer after the turn that read; renew it now. */
  refresh(): void {
    this.env.resetReadTxn();
  }

  private db(table: T): Database {
    const db = this.dbs.get(table);
    if (!db) throw new StrataError(ErrorCode.INTERNAL, `the metadata store has no table ${table} (not registered when it was opened)`);
    return db;
  }

  get<V>(table: T, key: Key): V | undefined {
    return this.db(table).get(key as never) as V | undefined;
  }

  *range<V>(table: T, options: RangeOptions): Iterable<{ key: Key; value: V }> {
    if (!options.reverse) {
      const it = this.db(table).getRange({ start: options.start as never, end: options.end as never, limit: options.limit });
      for (const { key, value } of it) yield { key: key as Key, value: value as V };
      return;
    }
    // lmdb-js walks a reverse range from `start` (inclusive) down to `end` (exclusive); ours
    // keeps start the inclusive lower bound and end the exclusive upper one.
    const limit = options.limit ?? Infinity;
    if (limit <= 0) return;
    const it = this.db(table).getRange({ start: options.end as never, end: options.start as never, inclusiveEnd: true, reverse: true });
    let n = 0;
    for (const { key, value } of it) {
      if (options.end !== undefined && compareStored(key as Key, options.end) >= 0) continue;
      if (options.start !== undefined && compareStored(key as Key, options.start) < 0) return;
      yield { key: key as Key, value: value as V };
      if (++n >= limit) return;
    }
  }

  count(table: T): number {
    return (this.db(table).getStats() as { entryCount: number }).entryCount;
  }

  transact<R>(fn: (tx: MetaTxn<T>) => R): Promise<R> {
    const committed = this.env.transaction(() => {
      const tx = new TxnOverlay<T>({ base: this, compare: compareStored, checkKey });
      const result = fn(tx);
      this.countMember();
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
    }) as Promise<R>;
    // The flush of the group this transaction just joined: lmdb-js keeps one flush promise for
    // the group being formed, so it must be taken now, before a later call starts the next one.
    // A failed flush (fsync) fails every caller of the group: what it wrote is not durable.
    // The handler is attached now, so a failure before `committed` settles is never unhandled.
    const flushed: Promise<unknown> = this.env.flushed.then(() => undefined, (err: unknown) => err ?? new Error('flush failed'));
    return committed.then(async (result) => {
      const flushErr = await flushed;
      if (flushErr !== undefined) throw flushFailure(flushErr, this.path);
      return result;
    })
      .catch((err: unknown) => { throw storeCommitError(err, this.path); });
  }

  private groups = 0;
  private members = 0;
  private groupOpen = false;

  /** Count a callback run in the current write transaction (its group ends with the turn). */
  private countMember(): void {
    this.members++;
    if (this.groupOpen) return;
    // lmdb-js runs the callbacks of one write transaction synchronously, one after another.
    this.groupOpen = true;
    this.groups++;
    queueMicrotask(() => { this.groupOpen = false; });
  }

  commitStats(): CommitStats {
    return { groups: this.groups, transactions: this.members };
  }

  async close(): Promise<void> {
    await this.env.close();
  }
}
