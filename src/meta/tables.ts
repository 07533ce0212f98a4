// The tables of Strata's metadata store and the one place that opens it. Only src/meta names
// these tables: everything above reaches them through the inode tree's transaction API and
// the small stores beside it (absent cache, persist jobs, pending writes, block index, …).

import type { MetaReader, MetaStore, MetaTxn } from './meta-store.js';
import { openMetaStore } from './engines/index.js';

/** The tables Strata uses. */
export const STRATA_TABLES = [
  'inode',      // inode id -> InodeRecord
  'edge',       // [parent id, child name] -> child id
  'mount',      // mount path -> MountRecord
  'pathconf',   // path -> properties
  'sys',        // counters and format version
  'block',      // [file id, block index] -> BlockRecord
  'pending',    // file id -> write in progress (crash cleanup)
  'persist',    // file id -> PersistJob
  'absent',     // path -> time it was found absent in the UFS
  'syncpoint',  // path -> active sync point
  'ttl',        // [expiry ms, inode id] -> 1 (TTL index)
  'intent',     // intent id -> an open namespace operation (UFS change + commit), see intents.ts
  'childver',   // directory id -> version of its set of children (InodeTree; dir-digest.ts)
  'subdirs',    // directory id -> number of its children that are directories (absent: 0; InodeTree)
] as const;

export type Table = typeof STRATA_TABLES[number];

/** Strata's store, its transactions and reads (store or transaction). */
export type StrataStore = MetaStore<Table>;
export type StrataTxn = MetaTxn<Table>;
export type StrataReader = MetaReader<Table>;

/** Open Strata's metadata store at `uri` (`lmdb:///data/meta`, `memory:`). */
export function openStrataStore(uri: string): StrataStore {
  return openMetaStore<Table>(uri, { tables: STRATA_TABLES, recordTables: ['inode'] });
}

export { lmdbUri } from './engines/index.js';
