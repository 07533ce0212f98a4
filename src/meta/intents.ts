// The intent journal: before a namespace operation changes a UFS (mkdir, write, delete,
// rename, persist, removal of a stale copy) it records what it is about to do in the
// 'intent' table, durably; the metadata commit that completes the operation deletes the
// record in the same transaction. A record still present at start-up is an operation cut
// short by a crash, resolved by the coordinator's IntentRecovery (roll forward or back).

import type { StrataStore, StrataTxn } from './tables.js';

/** One open operation. Paths are Strata paths (the UFS location is resolved from the mount table). */
export type Intent =
  /** `mkdir -p` in the UFS, then the directory inodes. */
  | { op: 'mkdir'; path: string }
  /**
   * A THROUGH / CACHE_THROUGH write: the UFS file, then the inode commit. `before` is the
   * content hash of a UFS file already at the path that Strata does not vouch for (the old
   * copy under an unpersisted file): finding that one after a crash means the write never landed.
   * `committed`: rewritten so by the commit of the file, which runs while the UFS makes its
   * placement durable (the directory's fsync); ended once that is done. Open at a start, it
   * means the commit is durable but the UFS placement may not be: the file stays only if the
   * UFS holds it.
   */
  | { op: 'write'; path: string; fileId: number; before?: string; committed?: true }
  /** A delete: the UFS entry (recursively), then the inodes. */
  | { op: 'delete'; path: string; inodeId: number }
  /** A rename: the UFS entry is renamed (`rename`) or, for an unpersisted file, its stale UFS copy deleted (`delete`). */
  | { op: 'rename'; src: string; dst: string; inodeId: number; ufs: 'rename' | 'delete' }
  /** A persist: the UFS file, then PERSISTED. */
  | { op: 'persist'; path: string; inodeId: number; fileId: number }
  /** After an overwrite by an unpersisted file was committed: remove the old UFS copy. */
  | { op: 'unlink'; path: string; fileId: number };

export interface OpenIntent {
  id: number;
  intent: Intent;
  ms: number;
}

/** The last id handed out in this process (shared by every journal: ids never collide). */
let lastId = 0;

/** Allocation, recording and completion of intents. */
export class IntentJournal {
  constructor(private readonly store: StrataStore) {
    for (const { key } of store.range<unknown>('intent', { reverse: true, limit: 1 })) lastId = Math.max(lastId, key as number);
  }

  /** A fresh id (for an intent written inside a caller's transaction with `put`); grows across restarts too. */
  id(): number {
    lastId = Math.max(lastId + 1, Date.now() * 1000);
    return lastId;
  }

  /** Record an intent durably (its own commit); resolves with its id once it is on disk. */
  async begin(intent: Intent): Promise<number> {
    const id = this.id();
    await this.store.transact((tx) => IntentJournal.put(tx, id, intent));
    return id;
  }

  /**
   * Start recording an intent: its id at once, and its commit, which the caller must await
   * before the UFS change it announces can become visible (UfsWriteOptions.beforePlace) and
   * before settling it. Lets the commit overlap the UFS work that precedes that point.
   */
  start(intent: Intent): { id: number; durable: Promise<void> } {
    const id = this.id();
    const durable = this.store.transact((tx) => IntentJournal.put(tx, id, intent));
    durable.catch(() => undefined); // awaited by the caller; never an unhandled rejection meanwhile
    return { id, durable };
  }

  /** Record an intent inside a transaction. */
  static put(tx: StrataTxn, id: number, intent: Intent): void {
    tx.put('intent', id, { id, intent, ms: Date.now() } satisfies OpenIntent);
  }

  /** Complete an intent inside the transaction that commits the operation. */
  static finish(tx: StrataTxn, id: number | undefined): void {
    if (id !== undefined) tx.del('intent', id);
  }

  /** Complete or drop an intent on its own (the operation failed before changing anything, or finished its UFS step last). */
  async end(id: number | undefined): Promise<void> {
    if (id === undefined) return;
    await this.store.transact((tx) => tx.del('intent', id));
  }

  /** The open intents, oldest first. */
  *open(): Iterable<OpenIntent> {
    for (const { value } of this.store.range<OpenIntent>('intent', {})) yield value;
  }

  count(): number {
    return this.store.count('intent');
  }
}
