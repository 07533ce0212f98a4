// The metadata engine interface: a small ordered, transactional key-value store with named
// tables (in the manner of JuiceFS's tkv adapter). The engine knows no table of its own: the
// application layer (src/meta/tables.ts) registers its table names when it opens a store, and
// only src/meta names them. Engines live in src/meta/engines/<name>/, opened by URI
// (`openMetaStore('lmdb:///dir')`, `memory:`), so another engine (etcd) is one new folder.
//
// Reads are synchronous: the embedded engine (LMDB) reads a memory map in ~1 µs, and making
// each read a promise would double the cost of a path lookup. A networked engine keeps a
// local replica fed by its watch stream for reads and sends transactions to the server
// (see docs/architecture.md, "Other engines").

/**
 * Keys are strings, numbers or arrays of them, ordered element by element: numbers before
 * strings, numbers by value, strings by code point (UTF-8 byte order), an array after each
 * of its prefixes (`[7] < [7, ''] < [7, 'a'] < [8]`).
 */
export type Key = string | number | Array<string | number>;

export interface RangeOptions {
  /** Inclusive start key (with `reverse`: still the lower bound). */
  start?: Key;
  /** Exclusive end key (with `reverse`: still the upper bound). */
  end?: Key;
  /** At most this many entries. */
  limit?: number;
  /** Highest key first. */
  reverse?: boolean;
}

/** The reads common to a store and a transaction (helpers that work on either take this). */
export interface MetaReader<T extends string = string> {
  get<V>(table: T, key: Key): V | undefined;
  /** Entries with `start <= key < end`, in key order (or reverse), at most `limit`. */
  range<V>(table: T, options: RangeOptions): Iterable<{ key: Key; value: V }>;
}

/**
 * Operations inside one atomic transaction. The callback that receives it must be
 * synchronous. Reads see the transaction's own writes: `get` of a key put or deleted in it
 * returns that value or undefined, and `range` merges the pending puts and deletes with the
 * stored rows, in order, honouring `limit` and `reverse`.
 */
export interface MetaTxn<T extends string = string> extends MetaReader<T> {
  /** Buffer a write; a value may not be `undefined`. An invalid key (too long) throws here. */
  put(table: T, key: Key, value: unknown): void;
  del(table: T, key: Key): void;
}

/**
 * The metadata engine. What every engine promises, within one process and across threads
 * and processes that open the same URI (the promises a distributed engine, etcd, must keep):
 *
 * - **Atomicity and isolation.** A transaction's writes become visible all at once or not
 *   at all. Transactions are serializable: each one's reads inside the callback and its
 *   writes behave as if no other transaction ran in between (an engine detects a conflict
 *   and re-runs the callback, or serialises callbacks as LMDB's single writer does).
 * - **Visibility.** When `transact` resolves, the commit is visible to every later read of
 *   this store object, and to every other opening of the same URI, in any thread or process,
 *   from that thread's next event-loop turn on (an LMDB reader keeps one snapshot for the
 *   turn it reads in; `shared` tells whether other openings exist: a `memory:` store is
 *   private to its object). Reads outside a transaction are not isolated from each other: two `get`s may
 *   see two different commits.
 * - **Ordering.** `range` yields keys in the order of `Key`; values are copies (mutating one
 *   never changes the store).
 * - **A throwing callback** (or an invalid key or value, or a failed commit) rejects the
 *   promise and writes nothing; what the callback put is never seen by anyone.
 * - **Re-run.** A callback may be run more than once before its transaction commits; it must
 *   be deterministic and free of side effects outside the transaction (collect results in
 *   its return value, or reset collected state at its start), and the result of the run that
 *   committed is what `transact` resolves with.
 * - **Commit groups (group commit).** Transactions issued while the engine is busy committing
 *   (or in one event turn) may be committed together as one *group*: one engine transaction
 *   and one sync to stable storage (LMDB: one write transaction and one fsync; etcd: one
 *   txn). Each transaction of a group stays atomic on its own: it applies in full or not at
 *   all, its callback runs after the previous member's writes are applied (serial order is
 *   issue order), and a callback that throws is dropped from the group without touching the
 *   others. **`transact` resolves only once the group that holds it is durable** (synced:
 *   it survives a crash of the process and of the machine), never earlier; a group that
 *   fails to commit rejects every transaction in it. So an acknowledgement that awaits
 *   `transact` is an acknowledgement of durable state, and concurrent callers share the
 *   cost of one sync instead of paying one each. `commitStats` counts the groups.
 */
export interface MetaStore<T extends string = string> extends MetaReader<T> {
  /** The URI this store was opened with (`lmdb:///dir`, `memory:`): what workers open. */
  readonly uri: string;
  /** Whether other openings of `uri` (threads, processes) see the same data. */
  readonly shared: boolean;
  /**
   * Make this thread's reads outside transactions see every commit that resolved before the
   * call, now rather than from its next event-loop turn (an engine that keeps a read snapshot
   * per turn renews it). A thread that starts work another thread sent it calls this first,
   * and a thread that resumes on another thread's reply (after that thread's commit) too.
   * Engines whose reads always see the latest commit leave it out.
   */
  refresh?(): void;
  /** Number of entries in a table (engine statistics, O(1) where the engine allows). */
  count(table: T): number;
  /**
   * Run `fn` atomically; resolves with its result once the transaction is committed and
   * visible to every reader. See the interface's promises on throwing and re-run.
   */
  transact<R>(fn: (tx: MetaTxn<T>) => R): Promise<R>;
  /**
   * Commit groups formed since the store was opened and the transactions they held
   * (`transactions / groups` is the mean group size). Engine statistics for the report.
   */
  commitStats(): CommitStats;
  close(): Promise<void>;
}

/** What `MetaStore.commitStats` reports. */
export interface CommitStats {
  /** Engine commits (each one sync to stable storage). */
  groups: number;
  /** Transactions committed in them (those with a callback that threw not counted). */
  transactions: number;
}

/** What the application layer tells an engine when it opens a store. */
export interface OpenOptions {
  /** Every table the application uses (an engine may refuse other names). */
  tables: readonly string[];
  /** Tables whose values are records of one shape (an engine may store their structure once). */
  recordTables?: readonly string[];
}

/** The largest string, used as an exclusive upper bound of a key range. */
export const KEY_MAX = '\uffff';
