// Per-path configuration (`fsadmin pathConf`): properties set on a path prefix, stored in
// the 'pathconf' table so they survive restart, and held in memory for lookups. The
// longest matching prefix wins, together with mount options (see OptionResolver).

import { validateProperty } from '../config/keys.js';
import type { PathConfEntry } from '../types.js';
import type { StrataStore } from './tables.js';
import { isUnder } from './path.js';

export class PathConf {
  private entries = new Map<string, Record<string, string>>();

  constructor(private readonly store: StrataStore) {
    for (const { key, value } of store.range<Record<string, string>>('pathconf', {})) this.entries.set(key as string, value);
  }

  list(): PathConfEntry[] {
    return [...this.entries].sort(([a], [b]) => a.localeCompare(b)).map(([path, properties]) => ({ path, properties }));
  }

  /** Add properties to a path (merged with what it has), validated first. */
  async add(path: string, properties: Record<string, string>): Promise<void> {
    for (const [k, v] of Object.entries(properties)) validateProperty(k, v, 'path');
    const merged = { ...(this.entries.get(path) ?? {}), ...properties };
    await this.store.transact((tx) => tx.put('pathconf', path, merged));
    this.entries.set(path, merged);
  }

  /** Remove all properties of a path; false when it had none. */
  async remove(path: string): Promise<boolean> {
    if (!this.entries.has(path)) return false;
    await this.store.transact((tx) => tx.del('pathconf', path));
    this.entries.delete(path);
    return true;
  }

  /** The value of `key` on the longest configured prefix of `path`, with that prefix's length. */
  lookup(path: string, key: string): { value: string; depth: number } | undefined {
    let best: { value: string; depth: number } | undefined;
    for (const [prefix, props] of this.entries) {
      const v = props[key];
      if (v !== undefined && isUnder(path, prefix) && (!best || prefix.length > best.depth)) best = { value: v, depth: prefix.length };
    }
    return best;
  }
}
