// What Strata checks before it trusts a metadata file: the LMDB data file's two meta pages
// (magic, format version, page size, last page inside the file) are read with plain file
// I/O before LMDB maps the file, so a garbage, zeroed or truncated file gives a clear error
// instead of a crash; then Strata's own format record in the 'sys' table is checked.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, StrataError } from '../errors.js';
import type { StrataStore } from './tables.js';
import { ROOT_ID } from './inode.js';
import type { InodeRecord } from './inode.js';

const MDB_MAGIC = 0xbeefc0de;
const MDB_DATA_VERSION = 2;
/** Size of an LMDB page header in the lmdb-js build (the meta record starts after it). */
const PAGE_HEADER = 24;
const META_BYTES = 160;
/** Offsets in a meta page (after the page header) of the md_root of its two B-trees. */
const DB_ROOTS = [24 + 40, 24 + 48 + 40] as const;
const P_INVALID = 0xffffffffffffffffn;

/** Strata's format record: `sys` / `format`. */
export interface FormatRecord {
  magic: 'strata-meta';
  version: number;
  createdMs: number;
}
export const FORMAT_MAGIC = 'strata-meta';
/**
 * The metadata layout this build writes and reads. 2: directories carry children versions
 * (table `childver`, docs/metadata-sync-digest.md), which every edge write must set; a build
 * of version 1 would write edges without them and leave stored digests trusted wrongly, so it
 * must refuse a store once a version-2 build opened it. A version-1 store is upgraded in place
 * (nothing to rewrite: a digest without a version costs one edge scan and is recorded again).
 */
/*
 * 3: directories carry their count of subdirectories (table `subdirs`, the POSIX link count
 * 2 + subdirectories without a scan), which every edge write keeps; a version-2 build would
 * add and remove directories without counting them. A store of an older version is upgraded
 * in place by counting once: one pass over the inode table at the first start.
 */
export const FORMAT_VERSION = 3;

/** Count every directory's subdirectories from the inode table (the upgrade to version 3) and write the counts. */
async function countSubdirs(store: StrataStore): Promise<void> {
  const counts = new Map<number, number>();
  for (const { value } of store.range<InodeRecord>('inode', {})) {
    if (value.type === 'directory' && value.id !== ROOT_ID) counts.set(value.parentId, (counts.get(value.parentId) ?? 0) + 1);
  }
  await store.transact((tx) => {
    for (const { key } of tx.range('subdirs', {})) tx.del('subdirs', key);
    for (const [id, n] of counts) tx.put('subdirs', id, n);
  });
}

function corrupt(file: string, why: string): StrataError {
  return new StrataError(ErrorCode.FAILED_PRECONDITION,
    `the metadata file ${file} is not a usable Strata metadata store (${why}); restore it from a backup, or move the data directory aside to start empty`);
}

/** Parse one LMDB meta page; throws naming what is wrong. */
function readMeta(fd: number, file: string, offset: number, size: number): { psize: number; roots: bigint[]; txnId: bigint } {
  const buf = Buffer.alloc(PAGE_HEADER + META_BYTES);
  if (readSync(fd, buf, 0, buf.length, offset) !== buf.length) throw corrupt(file, `truncated: ${size} bytes`);
  const magic = buf.readUInt32LE(PAGE_HEADER);
  if (magic !== MDB_MAGIC) throw corrupt(file, `no LMDB header at byte ${offset} (magic 0x${magic.toString(16)})`);
  const version = buf.readUInt32LE(PAGE_HEADER + 4) & 0xffff;
  if (version !== MDB_DATA_VERSION) throw corrupt(file, `LMDB data format ${version}, this build reads ${MDB_DATA_VERSION}`);
  const psize = buf.readUInt32LE(PAGE_HEADER + 24);
  if (psize < 512 || psize > 65536 || (psize & (psize - 1)) !== 0) throw corrupt(file, `page size ${psize}`);
  // The roots of the free-page and main B-trees (md_root of mm_dbs[0] and [1], 48 bytes each
  // from byte 24 of the meta); P_INVALID (all ones) for an empty tree.
  const roots = [DB_ROOTS[0], DB_ROOTS[1]].map((at) => buf.readBigUInt64LE(PAGE_HEADER + at)).filter((r) => r !== P_INVALID);
  return { psize, roots, txnId: buf.readBigUInt64LE(PAGE_HEADER + 128) };
}

/**
 * Check the LMDB data file under `dir` (when it exists) before it is opened: both meta pages
 * valid and the newest one's tree roots within the file. Throws FAILED_PRECONDITION.
 */
export function checkLmdbFile(dir: string): void {
  const file = join(dir, 'data.mdb');
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // a new store
    throw corrupt(file, `cannot be read: ${(err as Error).message}`);
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) throw corrupt(file, 'empty (0 bytes)');
    const m0 = readMeta(fd, file, 0, size);
    if (size < 2 * m0.psize) throw corrupt(file, `truncated: ${size} bytes, less than two ${m0.psize}-byte meta pages`);
    const m1 = readMeta(fd, file, m0.psize, size);
    if (m1.psize !== m0.psize) throw corrupt(file, `meta pages disagree on the page size (${m0.psize}, ${m1.psize})`);
    const newest = m1.txnId > m0.txnId ? m1 : m0;
    const pages = BigInt(Math.floor(size / m0.psize));
    // Not the meta's last page number: LMDB counts there the pages a transaction allocated at the
    // end of the file and freed again before its commit (loose pages, never written), so after
    // a crash the file may rightly end before it (kill -9 in the fault suite met this). The
    // roots of the committed trees were written before their meta: past the end, the copy is cut.
    const highest = newest.roots.reduce((a, b) => (b > a ? b : a), -1n);
    if (highest >= pages) {
      throw corrupt(file, `truncated: the store's root page ${highest} (${m0.psize}-byte pages) is past the end of the file, which holds ${pages} pages`);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Check Strata's format record, writing it into a new store (or one made before records
 * existed). Throws UNSUPPORTED_VERSION for a newer layout, FAILED_PRECONDITION for a
 * record that is not Strata's.
 */
export async function ensureFormat(store: StrataStore, where: string): Promise<void> {
  const rec = store.get<FormatRecord>('sys', 'format');
  if (rec === undefined) {
    // A new store (nothing to count), or one made before records existed.
    if (store.get('inode', ROOT_ID)) await countSubdirs(store);
    await store.transact((tx) => {
      if (!tx.get('sys', 'format')) tx.put('sys', 'format', { magic: FORMAT_MAGIC, version: FORMAT_VERSION, createdMs: Date.now() } satisfies FormatRecord);
    });
    return;
  }
  if (typeof rec !== 'object' || rec === null || rec.magic !== FORMAT_MAGIC || typeof rec.version !== 'number') {
    throw corrupt(where, `its format record is not Strata's: ${JSON.stringify(rec).slice(0, 80)}`);
  }
  if (rec.version > FORMAT_VERSION) {
    throw new StrataError(ErrorCode.UNSUPPORTED_VERSION,
      `the metadata store ${where} has format version ${rec.version}; this Strata reads version ${FORMAT_VERSION} (upgrade Strata)`);
  }
  if (rec.version < FORMAT_VERSION) {
    if (rec.version < 3) await countSubdirs(store);
    await store.transact((tx) => {
      const now = tx.get<FormatRecord>('sys', 'format');
      if (now && now.version < FORMAT_VERSION) tx.put('sys', 'format', { ...now, version: FORMAT_VERSION } satisfies FormatRecord);
    });
  }
}
