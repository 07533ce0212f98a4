// The metadata engine interface: a small ordered, transactional key-value store with named
// tables (in the manner of JuiceFS's tkv adapter). Everything Strata persists about the
// namespace (inodes, edges, mounts, path configuration, caches, queues) is built on these
// few calls, so that another engine (etcd) is one new file and no caller changes.
//
// Reads are synchronous: the embedded engine (LMDB) reads a memory map in ~1 µs, and making
// each read a promise would double the cost of a path lookup. A networked engine keeps a
// local replica fed by its watch stream for reads and sends transactions to the server
// (see docs/architecture.md, "Metadata engines").

/** Keys are strings, numbers or arrays of them, ordered element by element. */
export type Key = string | number | Array<string | number>;

/** The tables Strata uses. */
export type Table =
  | 'inode'      // inode id -> InodeRecord
  | 'edge'       // [parent id, child name] -> child id
  | 'mount'      // mount path -> MountRecord
  | 'pathconf'   // path -> properties
  | 'sys'        // counters and format version
  | 'block'      // [file id, block index] -> BlockRecord
  | 'pending'    // file id -> write in progress (crash cleanup)
  | 'persist'    // file id -> PersistJob
  | 'absent'     // path -> time it was found absent in the UFS
  | 'syncpoint'  // path -> active sync point
  | 'ttl'        // [expiry ms, inode id] -> 1 (TTL index)
  | 'intent';    // intent id -> an open namespace operation (UFS change + commit), see intents.ts

export interface RangeOptions {
  /** Inclusive start key. */
  start?: Key;
  /** Exclusive end key. */
  end?: Key;
  limit?: number;
  reverse?: boolean;
}

/** Operations inside one atomic transaction. The callback must be synchronous. */
export interface MetaTxn {
  get<V>(table: Table, key: Key): V | undefined;
  put(table: Table, key: Key, value: unknown): void;
  del(table: Table, key: Key): void;
  /** Range read that sees the transaction's own writes. */
  range<V>(table: Table, options: RangeOptions): Iterable<{ key: Key; value: V }>;
}

/** The metadata engine. */
export interface MetaStore {
  get<V>(table: Table, key: Key): V | undefined;
  range<V>(table: Table, options: RangeOptions): Iterable<{ key: Key; value: V }>;
  /** Number of entries in a table (engine statistics, O(1) where the engine allows). */
  count(table: Table): number;
  /**
   * Run `fn` atomically; resolves with its result once the transaction is committed and
   * visible to every reader. `fn` must be synchronous and deterministic: an engine may run
   * it again after a conflict. A throw aborts the transaction and rejects the promise.
   */
  transact<T>(fn: (tx: MetaTxn) => T): Promise<T>;
  close(): Promise<void>;
}

/** The largest string, used as an exclusive upper bound of a key range. */
export const KEY_MAX = '\uffff';
