// The data cache: file contents in fixed-size blocks, one local file per block under
// <data-dir>/cache, an index in meta/block-index.ts, and a byte capacity. Only evictable
// blocks (persisted in the UFS and not pinned) are ever evicted, least recently used first;
// when the cache is full of unevictable data a new block gets RESOURCE_EXHAUSTED.
// A block is indexed only once its file holds every byte (written to `<name>.tmp`, every
// write's length checked, fsynced when durable, renamed): a full disk (ENOSPC) fails the
// put with RESOURCE_EXHAUSTED and leaves no block file, short or empty, behind. The blocks
// of one written file go through a BlockBatch: one directory fsync and one index commit per
// file instead of per block, the block files' fsyncs overlapped with the writes after them.

import { mkdirSync, rmSync, statfsSync } from 'node:fs';
import { lstat, readFile, readdir, rename, rm, open as openFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, StrataError } from '../errors.js';
import { BlockIndex } from '../meta/block-index.js';
import type { MetaStore, MetaTxn } from '../meta/meta-store.js';

export interface BlockRecord {
  size: number;
  /** Persisted in the UFS and not pinned: may be evicted. */
  evictable: boolean;
  /** The bytes of a small block, kept in LMDB itself (durable by the commit, no file). */
  data?: Uint8Array;
}

/** Blocks up to this size live inline in the index (a small file costs no file and no fsync). */
export const INLINE_MAX = 32 * 1024;

type BlockKey = [number, number];

/** Suffix of a block file being written (renamed to its final name once complete). */
const TEMP_SUFFIX = '.tmp';

/** A local file-system failure of the cache as a StrataError: a full disk is RESOURCE_EXHAUSTED. */
export function cacheIoError(err: unknown, what: string): StrataError {
  if (err instanceof StrataError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const reason = err instanceof Error ? err.message : String(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new StrataError(ErrorCode.RESOURCE_EXHAUSTED, `${what}: the cache disk is full (${String(code)}); free or persist data, or give the data directory more room`, { cause: err });
  }
  return new StrataError(ErrorCode.INTERNAL, `${what}: ${reason}`, { cause: err });
}

/** fsync a directory so a rename in it is durable (ignored where unsupported). */
async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await openFile(dir, 'r');
    await fh.sync();
  } catch {
    // some platforms refuse fsync on a directory; the file itself is synced
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

const keyOf = (fileId: number, index: number): string => `${fileId}:${index}`;

/** Block files of one write whose fsyncs may be in flight at once (the next write waits). */
const SYNC_WINDOW = 4;

function sizeOf(data: Uint8Array | readonly Uint8Array[]): number {
  if (data instanceof Uint8Array) return data.length;
  let n = 0;
  for (const c of data) n += c.length;
  return n;
}

/** Write every byte of `data` (one buffer or several, gathered) from offset 0; a short write continues. */
async function writeAll(fh: FileHandle, data: Uint8Array | readonly Uint8Array[], what: string): Promise<void> {
  const parts = data instanceof Uint8Array ? [data] : data.filter((c) => c.length > 0);
  let pos = 0;
  let i = 0;
  let skip = 0; // bytes of parts[i] already written
  while (i < parts.length) {
    const batch = parts.slice(i, i + 64).map((c, k) => (k === 0 && skip ? c.subarray(skip) : c));
    const { bytesWritten } = batch.length === 1
      ? await fh.write(batch[0]!, 0, batch[0]!.length, pos)
      : await fh.writev(batch, pos);
    if (bytesWritten <= 0) throw new StrataError(ErrorCode.INTERNAL, `${what}: write made no progress at byte ${pos}`);
    pos += bytesWritten;
    let left = bytesWritten;
    while (left > 0 && i < parts.length) {
      const rest = parts[i]!.length - skip;
      if (left >= rest) { left -= rest; i++; skip = 0; } else { skip += left; left = 0; }
    }
  }
}

/**
 * The blocks of one file being written (every write type that caches): each block file is
 * written under its temp name and its fsync started at once, at most SYNC_WINDOW of them in
 * flight (the next block waits for the oldest), each renamed to its final name once synced.
 * `seal` waits for them all, fsyncs their directory once and indexes every block — a small
 * last one inline — in one commit, so a file costs one directory fsync and one index commit
 * whatever its number of blocks. Nothing is indexed before the seal: after a crash the
 * write's `pending` entry has the files discarded at the next start; a failed write calls
 * `abort`, which removes them. Capacity is reserved per block as it is put.
 */
export class BlockBatch {
  private readonly written: Array<{ index: number; size: number; inline?: Uint8Array }> = [];
  private readonly syncs: Array<Promise<void>> = [];
  private waited = 0;
  private readonly releases: Array<() => void> = [];
  private failed: unknown;
  private sealed = false;

  constructor(private readonly blocks: BlockStore, readonly fileId: number, private readonly evictable: boolean, private readonly durable: boolean) {}

  /** Write block `index` (one buffer, or chunks written gathered without joining them). */
  async put(index: number, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    if (this.failed !== undefined) throw this.failed;
    const size = sizeOf(data);
    this.releases.push(await this.blocks.reserve(size));
    if (size <= INLINE_MAX) {
      const bytes = data instanceof Uint8Array ? data : Buffer.concat(data as Uint8Array[], size);
      this.written.push({ index, size, inline: bytes });
      return;
    }
    while (this.syncs.length - this.waited >= SYNC_WINDOW) await this.syncs[this.waited++];
    if (this.failed !== undefined) throw this.failed;
    await this.blocks.writeTemp(this.fileId, index, data);
    this.written.push({ index, size });
    this.syncs.push(this.blocks.placeTemp(this.fileId, index, this.durable).catch((err: unknown) => { this.failed ??= err; }));
  }

  /** Wait for every block file to be synced and named, then index them all in one commit. */
  async seal(): Promise<void> {
    await Promise.all(this.syncs);
    if (this.failed !== undefined) throw this.failed;
    if (this.durable && this.written.some((w) => !w.inline)) await this.blocks.syncDirOf(this.fileId);
    const store = this.blocks.metaStore;
    const recs = this.written.map((w): BlockRecord => ({ size: w.size, evictable: this.evictable, ...(w.inline ? { data: w.inline } : {}) }));
    const prev = this.written.map((w) => BlockIndex.get<BlockRecord>(store, this.fileId, w.index));
    if (this.written.length) {
      await store.transact((tx) => { this.written.forEach((w, i) => BlockIndex.put(tx, this.fileId, w.index, recs[i]!)); })
        .catch((err: unknown) => { throw cacheIoError(err, `index the ${this.written.length} cache blocks of ${this.fileId}`); });
    }
    this.sealed = true;
    this.written.forEach((w, i) => this.blocks.accountIndexed(this.fileId, w.index, prev[i], { size: recs[i]!.size, evictable: this.evictable }));
    this.release();
  }

  /** After a failure: wait for the syncs in flight and remove every block file not indexed. */
  async abort(): Promise<void> {
    await Promise.all(this.syncs);
    if (!this.sealed) await this.blocks.removeUnindexed(this.fileId, this.written.filter((w) => !w.inline).map((w) => w.index));
    this.release();
  }

  private release(): void {
    for (const r of this.releases.splice(0)) r();
  }
}

export interface BlockStoreStats {
  usedBytes: number;
  capacityBytes: number;
  evictableBytes: number;
  evictedBytes: number;
  blocks: number;
}

export class BlockStore {
  private readonly root: string;
  /** Evictable blocks in LRU order (Map keeps insertion order; a hit moves a key to the end). */
  private readonly lru = new Map<string, { fileId: number; index: number; size: number }>();
  private used = 0;
  private evictableBytes = 0;
  private evicted = 0;
  private blocks = 0;
  /** Cached bytes per content id (O(cached files)), for file status. */
  private readonly perFile = new Map<number, number>();
  /** Bytes reserved by writes in progress. */
  private reserved = 0;

  constructor(private readonly store: MetaStore, dataDir: string, public capacity: number, readonly blockSize: number) {
    this.root = join(dataDir, 'cache');
    for (let i = 0; i < 256; i++) mkdirSync(join(this.root, i.toString(16).padStart(2, '0')), { recursive: true });
    // The index is O(cached blocks), read once at start.
    for (const { key, value } of BlockIndex.all<BlockRecord>(store)) {
      const [fileId, index] = key as BlockKey;
      this.account(fileId, index, { size: value.size, evictable: value.evictable }, +1);
    }
  }

  /**
   * Remove what a crash left in the cache directory: `.tmp` files of unfinished block writes
   * and block files that were never indexed (killed between the rename and the index
   * commit). Only files last modified before `before` (when this instance opened) are
   * touched, so writes in flight are safe; each directory is streamed, never listed whole.
   */
  async sweepLeftovers(before: number, signal?: AbortSignal): Promise<{ files: number; bytes: number }> {
    const removed = { files: 0, bytes: 0 };
    for (let i = 0; i < 256 && !signal?.aborted; i++) {
      const dir = join(this.root, i.toString(16).padStart(2, '0'));
      // One scandir per directory (an opendir iteration is three thread-pool round trips and
      // an async iterator even for an empty one: the 256 empty directories of a new cache took
      // ~25 ms of coordinator CPU, now ~9). A directory holds 1/256 of the blocks: its names
      // at once are a bounded, passing allocation.
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        continue; // recreated by the next put
      }
      for (const d of entries) {
        if (signal?.aborted) break;
        const m = /^(\d+)-(\d+)(\.tmp)?$/.exec(d.name);
        if (!m || !d.isFile()) continue;
        if (!m[3] && BlockIndex.get<BlockRecord>(this.store, Number(m[1]), Number(m[2])) !== undefined) continue;
        const path = join(dir, d.name);
        const st = await lstat(path).catch(() => undefined);
        if (!st || st.mtimeMs >= before) continue;
        // An indexed block may have been committed since the check above: look once more.
        if (!m[3] && BlockIndex.get<BlockRecord>(this.store, Number(m[1]), Number(m[2])) !== undefined) continue;
        await rm(path, { force: true });
        removed.files++;
        removed.bytes += st.size;
      }
    }
    return removed;
  }

  private file(fileId: number, index: number): string {
    return join(this.root, (fileId & 0xff).toString(16).padStart(2, '0'), `${fileId}-${index}`);
  }

  /** Size of a cached block, or undefined. */
  has(fileId: number, index: number): number | undefined {
    return BlockIndex.get<BlockRecord>(this.store, fileId, index)?.size;
  }

  /**
   * The local file holding a cached block, for a reader on this machine that reads it itself
   * (the embedded FUSE mount); marks the block recently used. Undefined when the block is not
   * cached or lives inline in the index. Block files are immutable under their name.
   */
  localFile(fileId: number, index: number): { path: string; size: number } | undefined {
    const rec = BlockIndex.get<BlockRecord>(this.store, fileId, index);
    if (!rec || rec.data) return undefined;
    const k = keyOf(fileId, index);
    const lru = this.lru.get(k);
    if (lru) { this.lru.delete(k); this.lru.set(k, lru); }
    return { path: this.file(fileId, index), size: rec.size };
  }

  /** Read part of a cached block; null when the block is not (or no longer) cached, or its file is short. */
  async read(fileId: number, index: number, offset: number, length: number): Promise<Buffer | null> {
    const rec = BlockIndex.get<BlockRecord>(this.store, fileId, index);
    if (!rec) return null;
    const k = keyOf(fileId, index);
    const lru = this.lru.get(k);
    if (lru) { this.lru.delete(k); this.lru.set(k, lru); }
    const end = Math.min(rec.size, offset + length);
    if (end <= offset) return Buffer.alloc(0);
    if (rec.data) return Buffer.from(rec.data.buffer, rec.data.byteOffset + offset, end - offset);
    try {
      // A block file shorter than its index record (damaged outside Strata) is not served.
      if (offset === 0 && end === rec.size) {
        const all = await readFile(this.file(fileId, index));
        return all.length === rec.size ? all : null;
      }
      const fh = await openFile(this.file(fileId, index), 'r');
      try {
        const buf = Buffer.allocUnsafe(end - offset);
        let got = 0;
        while (got < buf.length) {
          const { bytesRead } = await fh.read(buf, got, buf.length - got, offset + got);
          if (bytesRead === 0) return null;
          got += bytesRead;
        }
        return buf;
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /**
   * Make room for `size` bytes, evicting LRU evictable blocks; RESOURCE_EXHAUSTED if
   * impossible. Resolves with the function that ends the reservation.
   */
  async reserve(size: number): Promise<() => void> {
    const victims: Array<{ fileId: number; index: number; size: number }> = [];
    let freeable = 0;
    const need = this.used + this.reserved + size - this.capacity;
    if (need > 0) {
      for (const v of this.lru.values()) {
        if (freeable >= need) break;
        victims.push(v);
        freeable += v.size;
      }
      if (freeable < need) {
        throw new StrataError(ErrorCode.RESOURCE_EXHAUSTED,
          `cache is full: ${this.used} of ${this.capacity} bytes used, ${this.used - this.evictableBytes} bytes cannot be evicted (not persisted or pinned); persist or free data, or raise cache.capacity`);
      }
    }
    this.reserved += size;
    let done = false;
    const release = (): void => { if (!done) { done = true; this.reserved -= size; } };
    try {
      if (victims.length) await this.dropBlocks(victims.map((v) => [v.fileId, v.index] as BlockKey), true);
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  /**
   * In the caller's transaction: store a small block inline (size <= INLINE_MAX), under a
   * reservation the caller holds. Call `committed` once the transaction committed.
   */
  stageInline(tx: MetaTxn, fileId: number, index: number, data: Uint8Array, evictable: boolean): void {
    if (data.length > INLINE_MAX) throw new RangeError(`inline block of ${data.length} bytes`);
    BlockIndex.put(tx, fileId, index, { size: data.length, evictable, data } satisfies BlockRecord);
  }

  /** Account a block staged in a committed transaction. */
  committed(fileId: number, index: number, size: number, evictable: boolean): void {
    this.account(fileId, index, { size, evictable }, +1);
  }

  /**
   * Store a block. `durable` fsyncs the block before the index commit (for data that
   * exists nowhere else: MUST_CACHE and ASYNC_THROUGH).
   */
  async put(fileId: number, index: number, data: Uint8Array, evictable: boolean, durable: boolean): Promise<void> {
    const release = await this.reserve(data.length);
    try {
      if (data.length <= INLINE_MAX) {
        const prev = BlockIndex.get<BlockRecord>(this.store, fileId, index);
        await this.store.transact((tx) => this.stageInline(tx, fileId, index, data, evictable))
          .catch((err: unknown) => { throw cacheIoError(err, `store cache block ${fileId}:${index} inline`); });
        if (prev) this.account(fileId, index, prev, -1);
        this.committed(fileId, index, data.length, evictable);
        return;
      }
      try {
        await this.writeBlockFile(fileId, index, data, durable);
      } catch (err) {
        // The disk filled before cache.capacity did: evict evictable blocks (twice the room
        // needed, LRU first) and try once more; with nothing evictable the put fails.
        if ((err as StrataError).code !== ErrorCode.RESOURCE_EXHAUSTED || !(await this.evictForDisk(2 * data.length).catch(() => false))) throw err;
        await this.writeBlockFile(fileId, index, data, durable);
      }
      const prev = BlockIndex.get<BlockRecord>(this.store, fileId, index);
      try {
        await this.store.transact((tx) => BlockIndex.put(tx, fileId, index, { size: data.length, evictable } satisfies BlockRecord));
      } catch (err) {
        if (!prev) await rm(this.file(fileId, index), { force: true }).catch(() => undefined);
        throw cacheIoError(err, `index cache block ${fileId}:${index}`);
      }
      if (prev) this.account(fileId, index, prev, -1);
      this.account(fileId, index, { size: data.length, evictable }, +1);
    } finally {
      release();
    }
  }

  /**
   * A batch for the blocks of one file being written: see BlockBatch. `durable` syncs every
   * block file (and their directory) before the batch is sealed.
   */
  batch(fileId: number, evictable: boolean, durable: boolean): BlockBatch {
    return new BlockBatch(this, fileId, evictable, durable);
  }

  /** @internal BlockBatch: write the bytes of a block file under its temp name (no sync, no rename). */
  async writeTemp(fileId: number, index: number, data: Uint8Array | readonly Uint8Array[]): Promise<string> {
    const tmp = this.file(fileId, index) + TEMP_SUFFIX;
    const put = async (): Promise<void> => {
      const fh = await openFile(tmp, 'w');
      try {
        await writeAll(fh, data, `cache block ${fileId}:${index}`);
      } finally {
        await fh.close();
      }
    };
    const size = sizeOf(data);
    try {
      try {
        await put();
      } catch (err) {
        const e = cacheIoError(err, `write cache block ${fileId}:${index} (${size} bytes)`);
        // As put: a disk full before cache.capacity evicts evictable blocks, then once more.
        if (e.code !== ErrorCode.RESOURCE_EXHAUSTED || !(await this.evictForDisk(2 * size).catch(() => false))) throw e;
        await put();
      }
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw cacheIoError(err, `write cache block ${fileId}:${index} (${size} bytes)`);
    }
    return tmp;
  }

  /** @internal BlockBatch: sync a written temp block file (when durable) and give it its final name. */
  async placeTemp(fileId: number, index: number, durable: boolean): Promise<void> {
    const path = this.file(fileId, index);
    const tmp = path + TEMP_SUFFIX;
    try {
      if (durable) {
        const fh = await openFile(tmp, 'r+');
        try { await fh.sync(); } finally { await fh.close(); }
      }
      await rename(tmp, path);
    } catch (err) {
      throw cacheIoError(err, `sync cache block ${fileId}:${index}`);
    }
  }

  /** @internal BlockBatch: fsync the directory of a file's block files. */
  syncDirOf(fileId: number): Promise<void> {
    return fsyncDir(join(this.file(fileId, 0), '..'));
  }

  /** @internal BlockBatch: remove block files (final and temp names) that were never indexed. */
  async removeUnindexed(fileId: number, indexes: readonly number[]): Promise<void> {
    await Promise.all(indexes.flatMap((i) => {
      const p = this.file(fileId, i);
      return [rm(p, { force: true }), rm(p + TEMP_SUFFIX, { force: true })];
    })).catch(() => undefined);
  }

  /** @internal BlockBatch: account a block indexed by a committed transaction (replacing `prev`). */
  accountIndexed(fileId: number, index: number, prev: BlockRecord | undefined, rec: BlockRecord): void {
    if (prev) this.account(fileId, index, prev, -1);
    this.account(fileId, index, rec, +1);
  }

  /** @internal */
  get metaStore(): MetaStore {
    return this.store;
  }

  /** Evict LRU evictable blocks worth at least `bytes` (or all there are); false when none. */
  private async evictForDisk(bytes: number): Promise<boolean> {
    const victims: BlockKey[] = [];
    let freed = 0;
    for (const v of this.lru.values()) {
      if (freed >= bytes) break;
      victims.push([v.fileId, v.index]);
      freed += v.size;
    }
    if (!victims.length) return false;
    await this.dropBlocks(victims, true);
    this.diskEvictions++;
    return true;
  }

  /** Times the disk (not cache.capacity) was full and evictable blocks were dropped for room. */
  diskEvictions = 0;

  /**
   * Write a block file completely: temp name, every write's byte count checked (a short
   * write continues where it stopped), fsync when durable, rename over the final name (and
   * the directory fsynced when durable). Any failure removes the temp file; ENOSPC / EDQUOT
   * become RESOURCE_EXHAUSTED, other errors INTERNAL, naming the block.
   */
  private async writeBlockFile(fileId: number, index: number, data: Uint8Array, durable: boolean): Promise<void> {
    const path = this.file(fileId, index);
    const tmp = `${path}${TEMP_SUFFIX}`;
    let placed = false;
    try {
      const fh = await openFile(tmp, 'w');
      try {
        let off = 0;
        while (off < data.length) {
          const { bytesWritten } = await fh.write(data, off, data.length - off, off);
          if (bytesWritten <= 0) throw new StrataError(ErrorCode.INTERNAL, `cache block ${fileId}:${index}: write made no progress at byte ${off} of ${data.length}`);
          off += bytesWritten;
        }
        if (durable) await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      placed = true;
      if (durable) await fsyncDir(join(path, '..'));
    } catch (err) {
      if (!placed) await rm(tmp, { force: true }).catch(() => undefined);
      else await rm(path, { force: true }).catch(() => undefined);
      throw cacheIoError(err, `write cache block ${fileId}:${index} (${data.length} bytes)`);
    }
  }

  private account(fileId: number, index: number, rec: BlockRecord, sign: 1 | -1): void {
    this.used += sign * rec.size;
    this.blocks += sign;
    const f = (this.perFile.get(fileId) ?? 0) + sign * rec.size;
    if (f > 0) this.perFile.set(fileId, f);
    else this.perFile.delete(fileId);
    const k = keyOf(fileId, index);
    if (rec.evictable) {
      this.evictableBytes += sign * rec.size;
      if (sign > 0) this.lru.set(k, { fileId, index, size: rec.size });
      else this.lru.delete(k);
    }
  }

  private async dropBlocks(keys: BlockKey[], eviction: boolean): Promise<number> {
    const recs = keys.map((k) => BlockIndex.get<BlockRecord>(this.store, k[0], k[1]));
    await this.store.transact((tx) => { for (const k of keys) BlockIndex.del(tx, k); });
    let bytes = 0;
    keys.forEach((k, i) => {
      const rec = recs[i];
      if (!rec) return;
      this.account(k[0], k[1], rec, -1);
      bytes += rec.size;
    });
    if (eviction) this.evicted += bytes;
    await Promise.all(keys.filter((_, i) => !recs[i]?.data).map((k) => rm(this.file(k[0], k[1]), { force: true })));
    return bytes;
  }

  private keysOf(fileId: number): BlockKey[] {
    const keys: BlockKey[] = [];
    for (const key of BlockIndex.keysOf(this.store, fileId)) keys.push(key);
    return keys;
  }

  /** Drop every cached block of a content id; returns the bytes freed. */
  async removeFile(fileId: number): Promise<number> {
    const keys = this.keysOf(fileId);
    return keys.length ? this.dropBlocks(keys, false) : 0;
  }

  /** Mark all blocks of a file evictable or not (persisted / pinned changes). */
  async setEvictable(fileId: number, evictable: boolean): Promise<void> {
    const keys = this.keysOf(fileId);
    if (!keys.length) return;
    const changed: Array<[BlockKey, BlockRecord]> = [];
    await this.store.transact((tx) => {
      for (const k of keys) {
        const rec = BlockIndex.get<BlockRecord>(tx, k[0], k[1]);
        if (rec && rec.evictable !== evictable) {
          BlockIndex.put(tx, k[0], k[1], { ...rec, evictable });
          changed.push([k, { size: rec.size, evictable: rec.evictable }]);
        }
      }
    });
    for (const [k, rec] of changed) {
      this.account(k[0], k[1], rec, -1);
      this.account(k[0], k[1], { ...rec, evictable }, +1);
    }
  }

  /** Bytes cached for a content id. */
  cachedBytes(fileId: number): number {
    return this.perFile.get(fileId) ?? 0;
  }

  stats(): BlockStoreStats {
    return { usedBytes: this.used, capacityBytes: this.capacity, evictableBytes: this.evictableBytes, evictedBytes: this.evicted, blocks: this.blocks };
  }

  /** Remove block files left by a write that never committed (crash recovery). */
  async discardUncommitted(fileId: number): Promise<void> {
    await this.removeFile(fileId);
    for (let i = 0; ; i++) {
      const p = this.file(fileId, i);
      let found = false;
      for (const f of [p, p + TEMP_SUFFIX]) {
        try { rmSync(f); found = true; } catch { /* absent */ }
      }
      if (!found) break;
    }
  }

  /** Free bytes on the cache's file system (for the report). */
  diskFree(): number {
    try {
      const s = statfsSync(this.root);
      return s.bavail * s.bsize;
    } catch {
      return -1;
    }
  }
}
