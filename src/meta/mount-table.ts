// The mount table: which UFS serves which part of the namespace. Rows live in the 'mount'
// table of the StrataStore (so they survive restart) and in memory for routing; resolution
// is the longest mount path that is a prefix of the path. Overlaps are refused.

import { redactOptions } from '../config/redact.js';
import { mountConflict } from '../errors.js';
import type { MountInfo } from '../types.js';
import type { StrataStore, StrataTxn } from './tables.js';
import { ROOT, isUnder, relativeTo } from './path.js';

export interface MountRecord {
  mountId: number;
  path: string;
  ufsUri: string;
  readOnly: boolean;
  options: Record<string, string>;
  createdMs: number;
}

/** Where a path lands: its mount and the path relative to the mount's UFS root. */
export interface MountResolution {
  mount: MountRecord;
  /** UFS-relative path ('' for the mount point itself). */
  ufsPath: string;
}

/** Normalised form of a UFS URI for overlap checks (no trailing slash). */
export function normalizeUfsUri(uri: string): string {
  return uri.length > 1 && uri.endsWith('/') && !uri.endsWith('://') ? uri.replace(/\/+$/, '') : uri;
}

function ufsOverlap(a: string, b: string): boolean {
  const x = normalizeUfsUri(a);
  const y = normalizeUfsUri(b);
  const under = (p: string, q: string) => p === q || p.startsWith(q.endsWith('/') ? q : q + '/');
  return under(x, y) || under(y, x);
}

export class MountTable {
  /** Sorted by path length, longest first, so the first prefix match is the deepest mount. */
  private mounts: MountRecord[] = [];

  constructor(private readonly store: StrataStore) {
    this.reload();
  }

  /** Re-read the table from the store (after a change made by another thread). */
  reload(): void {
    const rows: MountRecord[] = [];
    for (const { value } of this.store.range<MountRecord>('mount', {})) rows.push(value);
    this.setRows(rows);
  }

  private setRows(rows: MountRecord[]): void {
    this.mounts = rows.sort((a, b) => b.path.length - a.path.length);
  }

  get root(): MountRecord | undefined {
    return this.mounts.find((m) => m.path === ROOT);
  }

  list(): MountRecord[] {
    return [...this.mounts].sort((a, b) => a.path.localeCompare(b.path));
  }

  /** The ids of the mounts, in no particular order (no sort: see list()). */
  ids(): number[] {
    return this.mounts.map((m) => m.mountId);
  }

  byId(mountId: number): MountRecord | undefined {
    return this.mounts.find((m) => m.mountId === mountId);
  }

  byPath(path: string): MountRecord | undefined {
    return this.mounts.find((m) => m.path === path);
  }

  /** The mount serving `path` (the root mount at least). */
  resolve(path: string): MountResolution {
    for (const mount of this.mounts) {
      if (isUnder(path, mount.path)) return { mount, ufsPath: relativeTo(path, mount.path) };
    }
    throw mountConflict(`no mount serves ${path} (the root mount is missing)`);
  }

  /** Mounts strictly below `path`. */
  nestedUnder(path: string): MountRecord[] {
    return this.mounts.filter((m) => m.path !== path && isUnder(m.path, path));
  }

  /** Refuse a new mount that would shadow or overlap another. */
  checkNew(path: string, ufsUri: string): void {
    const same = this.byPath(path);
    if (same) throw mountConflict(`${path} is already a mount point (of ${same.ufsUri})`);
    for (const m of this.mounts) {
      if (ufsOverlap(m.ufsUri, ufsUri)) {
        throw mountConflict(`UFS ${ufsUri} overlaps ${m.ufsUri}, already mounted at ${m.path}`);
      }
    }
  }

  /** Add a row in a transaction; call `commit()` after the transaction succeeded. */
  add(tx: StrataTxn, record: MountRecord): void {
    tx.put('mount', record.path, record);
  }

  remove(tx: StrataTxn, path: string): void {
    tx.del('mount', path);
  }

  /** Public view of a row, secrets redacted. */
  static info(m: MountRecord): MountInfo {
    return { path: m.path, ufsUri: m.ufsUri, readOnly: m.readOnly, options: redactOptions(m.options), mountId: m.mountId };
  }
}
