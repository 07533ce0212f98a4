// Decoded inode records by id, for the lookups outside transactions (path resolution, child
// listing). Correct across threads and processes: every transaction that writes an inode also
// bumps a stored epoch (`noteInodeWrite`, called by InodeTree's write paths in whichever thread
// commits), and the cache serves nothing filled under another epoch than the one stored now.
// The epoch is read once per synchronous stretch (until the microtasks queued so far have run):
// a commit becomes visible to a reader only when its `transact` resolves, which is later.

import type { StrataReader, StrataStore, StrataTxn } from './tables.js';
import type { InodeRecord } from './inode.js';

/** The 'sys' key of the inode epoch: changed by every commit that writes an inode. */
const EPOCH_KEY = 'inodeEpoch';

/** Default bound on cached records (a few MiB). */
export const INODE_CACHE_ENTRIES = 16_384;

/**
 * Record in a transaction that it writes an inode: the epoch changes with the commit, so
 * every thread's InodeCache drops what it holds at its next lookup. Cheap to call many
 * times in one transaction (an overlay read and write; one stored put at commit). Returns
 * the new epoch: values grow from commit to commit, so one taken in a transaction is never
 * taken by another (InodeTree's children versions are such values).
 */
export function noteInodeWrite(tx: StrataTxn): number {
  const epoch = (tx.get<number>('sys', EPOCH_KEY) ?? 0) + 1;
  tx.put('sys', EPOCH_KEY, epoch);
  return epoch;
}

/** The inode epoch as stored (readers of a store or a transaction). */
export function inodeEpoch(r: StrataReader): number {
  return r.get<number>('sys', EPOCH_KEY) ?? 0;
}

/**
 * A bounded map of decoded inode records, valid for one stored epoch. Callers must treat the
 * records it returns as immutable (as every caller of the store does: a change is a new
 * record written in a transaction).
 */
export class InodeCache {
  private readonly records = new Map<number, InodeRecord>();
  /** Path resolutions (InodeTree.resolve's answers, opaque here), valid for the same epoch as the records. */
  private readonly paths = new Map<string, object>();
  /** Resolutions answered from the cache (statistics, tests). */
  pathHits = 0;
  private epoch = -1;
  /** True from a `validate` until the microtask it queued runs: the epoch read then still holds. */
  private checked = false;
  private readonly uncheck = (): void => { this.checked = false; };
  /** Lookups answered from the cache, and those that read the store (statistics, tests). */
  hits = 0;
  misses = 0;
  /** Reads of the stored epoch (statistics, tests). */
  epochReads = 0;

  constructor(private readonly store: StrataStore, private readonly maxEntries = INODE_CACHE_ENTRIES) {}

  /**
   * Check the stored epoch (one small read, made once per synchronous stretch): when another
   * commit changed any inode since the records were read, forget them. Call before the `get`s
   * of a synchronous stretch (they then read one snapshot). Many calls in one stretch — the
   * getStatus calls of one socket read, 64 of them at 64 in flight — cost one read: a commit
   * is seen once its `transact` resolves, and what follows that resolution runs after the
   * microtask queued here (an LMDB reader keeps its snapshot for the stretch anyway).
   */
  validate(): void {
    if (this.checked) return;
    this.checked = true;
    queueMicrotask(this.uncheck);
    this.epochReads++;
    const e = inodeEpoch(this.store);
    if (e !== this.epoch) {
      this.records.clear();
      this.paths.clear();
      this.epoch = e;
    }
  }

  /** The record of `id` (from the cache, else the store); call `validate` first. */
  get(id: number): InodeRecord | undefined {
    const hit = this.records.get(id);
    if (hit !== undefined) {
      this.hits++;
      return hit;
    }
    this.misses++;
    const rec = this.store.get<InodeRecord>('inode', id);
    if (rec !== undefined) {
      setBounded(this.records, id, rec, this.maxEntries);
    }
    return rec;
  }

  /** The resolution kept for `path` under the current epoch (call `validate` first). */
  resolution<T extends object>(path: string): T | undefined {
    const r = this.paths.get(path);
    if (r !== undefined) this.pathHits++;
    return r as T | undefined;
  }

  /** Keep the resolution of `path` read under the current epoch (immutable: callers only read it). */
  keepResolution(path: string, r: object): void {
    setBounded(this.paths, path, r, this.maxEntries);
  }

  /** Records held now. */
  get size(): number {
    return this.records.size;
  }
}

/**
 * Set `key` in a map of at most `max` entries: a full map first drops its oldest quarter
 * (insertion order) — bounded memory, no per-hit bookkeeping.
 */
function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (map.size >= max) {
    let n = max >> 2;
    for (const k of map.keys()) {
      map.delete(k);
      if (--n <= 0) break;
    }
  }
  map.set(key, value);
}
