// The absent-path cache (Alluxio's UfsAbsentPathCache): paths known to be missing in the
// UFS, so that probing them again under load type ONCE costs no UFS call. Entries live in
// the 'absent' table; a path is absent when it or any ancestor is recorded. Entries are
// also written as tombstones when Strata deletes a path, so that a sync whose listing
// started before the delete never resurrects it.

import type { StrataStore, StrataTxn } from './tables.js';
import { ancestors, isUnder } from './path.js';

export interface AbsentEntry {
  ms: number;
  /** Written by a delete through Strata (also a tombstone for concurrent syncs). */
  deleted?: boolean;
}

/** The key range of the paths strictly below `path` ('0' follows '/' in byte order). */
function keysBelow(path: string): { start: string; end: string } {
  return path === '/' ? { start: '/', end: '0' } : { start: path + '/', end: path + '0' };
}

export class AbsentPathCache {
  constructor(private readonly store: StrataStore) {}

  /** The time `path` (or an ancestor) was found absent, if known and not older than `ttlMs`. */
  check(path: string, ttlMs: number, now = Date.now()): number | undefined {
    for (const p of [...ancestors(path), path]) {
      const e = this.store.get<AbsentEntry>('absent', p);
      if (e && (ttlMs < 0 || now - e.ms <= ttlMs)) return e.ms;
    }
    return undefined;
  }

  add(path: string, now = Date.now()): Promise<void> {
    return this.store.transact((tx) => tx.put('absent', path, { ms: now } satisfies AbsentEntry));
  }

  /** The entry of exactly `path` (not its ancestors), in a transaction or from the store. */
  static entry(r: Pick<StrataTxn, 'get'>, path: string): AbsentEntry | undefined {
    return r.get<AbsentEntry>('absent', path);
  }

  /** In a transaction: forget exactly `path` (an entry the UFS has again). */
  static forget(tx: StrataTxn, path: string): void {
    tx.del('absent', path);
  }

  /**
   * In a transaction: record `path` found absent in the UFS at `ms`. With `keepTombstone`, a
   * tombstone of a delete through Strata stays as it is (it guards concurrent syncs).
   */
  static markAbsent(tx: StrataTxn, path: string, ms: number, keepTombstone = false): void {
    if (keepTombstone && tx.get<AbsentEntry>('absent', path)?.deleted) return;
    tx.put('absent', path, { ms } satisfies AbsentEntry);
  }

  /** In a transaction: record a delete through Strata. */
  static tombstone(tx: StrataTxn, path: string, now = Date.now()): void {
    tx.put('absent', path, { ms: now, deleted: true } satisfies AbsentEntry);
  }

  /** In a transaction: forget a path and its ancestors (Strata created it). */
  static clearPath(tx: StrataTxn, path: string): void {
    for (const p of [...ancestors(path), path]) tx.del('absent', p);
  }

  /** Forget everything at or under a prefix (remount, needsSync). Range scan over the prefix. */
  async clearUnder(prefix: string): Promise<void> {
    const keys: string[] = [];
    for (const { key } of this.store.range('absent', { start: prefix, end: keysBelow(prefix).end })) {
      if (isUnder(key as string, prefix)) keys.push(key as string);
    }
    if (keys.length) await this.store.transact((tx) => { for (const k of keys) tx.del('absent', k); });
  }

  private sweepCursor: string | undefined;

  /**
   * Drop tombstones older than `olderThan` (they only matter while a sync that started before
   * the delete could still be running), looking at no more than `budget` entries per call and
   * resuming where the previous call stopped, so the cost per call stays bounded however
   * large the table grows.
   */
  async sweepTombstones(olderThan: number, budget = 10_000): Promise<number> {
    const expired: string[] = [];
    let seen = 0;
    let last: string | undefined;
    for (const { key, value } of this.store.range<AbsentEntry>('absent', { start: this.sweepCursor === undefined ? undefined : this.sweepCursor + '\u0000', limit: budget })) {
      seen++;
      last = key as string;
      if (value.deleted && value.ms < olderThan) expired.push(last);
    }
    this.sweepCursor = seen < budget ? undefined : last; // wrap around at the end
    if (expired.length) await this.store.transact((tx) => { for (const k of expired) tx.del('absent', k); });
    return expired.length;
  }

  /**
   * Entries of a directory's direct children by name, with one range read (usually empty),
   * so that applying a page of a listing needs no lookup per entry.
   */
  static children(tx: Pick<StrataTxn, 'range'>, dirPath: string): Map<string, AbsentEntry> {
    const out = new Map<string, AbsentEntry>();
    const range = keysBelow(dirPath);
    for (const { key, value } of tx.range<AbsentEntry>('absent', range)) {
      const rest = (key as string).slice(range.start.length);
      if (rest && !rest.includes('/')) out.set(rest, value);
    }
    return out;
  }

  /**
   * Entries anywhere below `dirPath`, by path, with one range read; undefined when there are
   * more than `max` (the caller then looks each path up).
   */
  static below(tx: Pick<StrataTxn, 'range'>, dirPath: string, max = 10_000): Map<string, AbsentEntry> | undefined {
    const out = new Map<string, AbsentEntry>();
    for (const { key, value } of tx.range<AbsentEntry>('absent', { ...keysBelow(dirPath), limit: max + 1 })) {
      out.set(key as string, value);
    }
    return out.size > max ? undefined : out;
  }
}
