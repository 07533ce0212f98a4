// The metadata engines, registered by URI scheme (as JuiceFS's pkg/meta registers its
// drivers): `openMetaStore(uri, options)` picks the engine from the scheme. A new engine is
// a folder under src/meta/engines/ and one `registerMetaEngine` line here; nothing above
// src/meta knows which engine runs.

import { ErrorCode, StrataError } from '../../errors.js';
import type { MetaStore, OpenOptions } from '../meta-store.js';
import { LmdbStore } from './lmdb/lmdb-store.js';
import { MemoryStore } from './memory/memory-store.js';

/** Opens a store of one engine; `uri` starts with the engine's scheme. */
export type MetaEngineFactory = <T extends string>(uri: string, options: OpenOptions) => MetaStore<T>;

const engines = new Map<string, MetaEngineFactory>();

/** Register an engine under a URI scheme (`lmdb`, `memory`, `etcd`, …). */
export function registerMetaEngine(scheme: string, open: MetaEngineFactory): void {
  engines.set(scheme.toLowerCase(), open);
}

/** The schemes of the registered engines. */
export function metaEngines(): string[] {
  return [...engines.keys()];
}

/** Open (or create) the metadata store named by `uri` with the application's tables. */
export function openMetaStore<T extends string>(uri: string, options: OpenOptions): MetaStore<T> {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(uri);
  const open = m ? engines.get(m[1]!.toLowerCase()) : undefined;
  if (!open) {
    throw new StrataError(ErrorCode.INVALID_ARGUMENT,
      `no metadata engine for ${JSON.stringify(uri)}: expected one of ${metaEngines().map((s) => s + ':').join(', ')}`);
  }
  return open<T>(uri, options);
}

registerMetaEngine('lmdb', (uri, options) => LmdbStore.openUri(uri, options));
registerMetaEngine('memory', (uri, options) => new MemoryStore(uri, options));

export { lmdbUri } from './lmdb/lmdb-store.js';
