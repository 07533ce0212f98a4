// The data path: streams file bytes in and out. Writes cut the client's stream into cache
// blocks and/or tee it to the UFS according to the write type; reads serve cached blocks
// (hot: no UFS call) and fetch missing ones from the UFS, caching them on the way under
// read type CACHE. Concurrent cold reads of one block share one UFS read, and a cold read
// that goes on past a block fetches the next few uncached blocks in the background (bounded
// read-ahead). Hot reads in the default chunk size stream block files into reusable buffers
// (read-buffers.ts).

import { open as openFile } from 'node:fs/promises';
import { INLINE_MAX } from '../cache/block-store.js';
import type { BlockStore } from '../cache/block-store.js';
import { ErrorCode, StrataError } from '../errors.js';
import type { DataSource } from '../fs.js';
import type { InodeRecord } from '../meta/inode.js';
import type { ReadType, WriteType } from '../types.js';
import { UfsChangedError } from '../ufs/ufs.js';
import type { Ufs, UfsStatus } from '../ufs/ufs.js';
import type { Metrics } from '../metrics/metrics.js';
import { READ_BUFFER_BYTES, acquireReadBuffer, releaseReadBuffer } from './read-buffers.js';


/** Normalise any data source to an async iterable of chunks. */
export async function* chunksOf(data: DataSource): AsyncIterable<Uint8Array> {
  if (data instanceof Uint8Array) {
    yield data;
    return;
  }
  for await (const c of data as AsyncIterable<Uint8Array>) {
    if (!(c instanceof Uint8Array)) throw new StrataError(ErrorCode.BAD_REQUEST, 'file data must be bytes');
    yield c;
  }
}

export interface WriteOutcome {
  length: number;
  ufs?: UfsStatus;
  /**
   * The whole content of a small cached file, not yet stored: the caller stages it inline
   * in the transaction that creates the file (one commit, no block file, no fsync).
   */
  inline?: Uint8Array;
}

/** Where the bytes of one write go. */
export interface WriteTarget {
  fileId: number;
  writeType: WriteType;
  blockSize: number;
  ufs?: Ufs;
  ufsPath?: string;
  /** Cached blocks may be evicted at once (the UFS will hold the bytes: CACHE_THROUGH). */
  evictable: boolean;
  /** Called once before the first block goes to the cache (to record the write for crash cleanup). */
  beforeBlocks?: () => Promise<void>;
  /** Awaited before the UFS copy can become visible (UfsWriteOptions.beforePlace): the write's intent is durable. */
  beforePlace?: () => Promise<void>;
  /**
   * Called with the outcome once the UFS copy is placed, while the UFS makes that durable
   * (UfsWriteOptions.afterPlace): the caller commits the file meanwhile.
   */
  afterPlace?: (outcome: WriteOutcome) => Promise<void>;
  onBytes?: (total: number) => void;
}

/** Uncached blocks a cold read fetches ahead of the one it serves (default of `cache.read.ahead.blocks`). */
export const READ_AHEAD_BLOCKS = 4;
/** Bytes of read-ahead held at once over all reads (and at most a quarter of the cache). */
export const READ_AHEAD_MAX_BYTES = 64 << 20;

/** Cache writes of blocks a read served that may still be running before it waits for one. */
const PUTS_IN_FLIGHT = 8;

/** A block being read from the UFS: its bytes, and its cache write (a UFS failure is in `bytes` only). */
interface ColdBlock {
  bytes: Promise<Buffer>;
  cached: Promise<void>;
}

/** A block fetched ahead of a read. */
interface AheadBlock {
  size: number;
  block: Promise<Buffer | undefined>;
  cached: Promise<void>;
}

/** The cache writes a read started and has not seen end, and the first that failed. */
interface PendingPuts {
  set: Set<Promise<void>>;
  error?: unknown;
}

export class DataPath {
  private readonly coldReads = new Map<string, ColdBlock>();
  /** Bytes of blocks fetched ahead and not yet served or dropped (all reads). */
  private aheadBytes = 0;

  /** @param readAheadBlocks uncached blocks a cold read fetches ahead (0: none) */
  constructor(private readonly blocks: BlockStore, private readonly metrics: Metrics, private readonly readAheadBlocks = READ_AHEAD_BLOCKS) {}

  /**
   * Write a stream per the write type: MUST_CACHE and ASYNC_THROUGH to durable cache blocks,
   * THROUGH to the UFS only, CACHE_THROUGH to both (the call returns when both hold it).
   * A file that fits in one inline block is returned as `inline` for the caller to commit.
   */
  async write(data: DataSource, t: WriteTarget): Promise<WriteOutcome> {
    const toCache = t.writeType !== 'THROUGH';
    const toUfs = t.writeType === 'THROUGH' || t.writeType === 'CACHE_THROUGH';
    // Every block a client writes is complete and on disk before the call returns.
    const durable = toCache;
    let length = 0;
    let index = 0;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let inline: Uint8Array | undefined;
    // One sync and one index commit per file, not per block (BlockBatch).
    const batch = toCache ? this.blocks.batch(t.fileId, t.evictable, durable) : undefined;
    const flush = async (final: boolean): Promise<void> => {
      if (final && index === 0 && pendingBytes <= INLINE_MAX) {
        inline = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        return;
      }
      while (pendingBytes >= t.blockSize || (final && pendingBytes > 0)) {
        // The block's chunks are written gathered (no copy); a chunk that straddles the
        // block boundary is split by view.
        const size = Math.min(t.blockSize, pendingBytes);
        const parts: Uint8Array[] = [];
        let got = 0;
        while (got < size) {
          const c = pending.shift()!;
          const take = Math.min(c.length, size - got);
          parts.push(take === c.length ? c : c.subarray(0, take));
          if (take < c.length) pending.unshift(c.subarray(take));
          got += take;
        }
        pendingBytes -= size;
        if (index === 0) await t.beforeBlocks?.();
        await batch!.put(index++, parts);
      }
      if (final) await batch!.seal();
    };
    const onBytes = t.onBytes;
    async function* tee(): AsyncIterable<Uint8Array> {
      for await (const chunk of chunksOf(data)) {
        length += chunk.length;
        if (toCache) {
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= t.blockSize) await flush(false);
        }
        onBytes?.(length);
        if (toUfs) yield chunk;
      }
      if (toCache) await flush(true);
    }
    try {
      if (toUfs) {
        const afterPlace = t.afterPlace;
        const ufs = await t.ufs!.write(t.ufsPath!, tee(), {
          overwrite: true, recursive: true,
          ...(t.beforePlace ? { beforePlace: t.beforePlace } : {}),
          // The source has ended by then: length and inline are final.
          ...(afterPlace ? { afterPlace: (st: UfsStatus) => afterPlace({ length, ufs: st, inline }) } : {}),
        });
        return { length, ufs, inline };
      }
      for await (const _ of tee()) { /* cache only: tee() did the work */ }
      return { length, inline };
    } catch (err) {
      await batch?.abort();
      throw err;
    }
  }

  /**
   * Stream bytes [offset, offset + length) of a file. Blocks that are cached are served
   * from disk; the others come from the UFS (and are cached whole under CACHE). Under CACHE a
   * block fetched from the UFS starts the fetch of up to `readAheadBlocks` uncached blocks
   * after it within the range (each kept for this read, so an eviction meanwhile costs no
   * second UFS read); `current` tells whether the content id is still the file's (a block of
   * a replaced file is not cached).
   */
  async *read(inode: InodeRecord, ufs: Ufs | undefined, ufsPath: string, offset: number, length: number,
    readType: ReadType, chunkSize: number, evictable: boolean, current?: () => boolean): AsyncIterable<Uint8Array> {
    const end = Math.min(inode.length, offset + length);
    const bs = inode.blockSize > 0 ? inode.blockSize : this.blocks.blockSize;
    const ahead = new Map<number, AheadBlock>();
    const puts: PendingPuts = { set: new Set() };
    try {
      yield* this.readRange(inode, ufs, ufsPath, offset, end, bs, readType, chunkSize, evictable, ahead, puts, current);
      // A block is served as soon as its bytes are in; the read ends once they are cached too.
      await Promise.all(puts.set);
      if (puts.error !== undefined) throw puts.error;
    } finally {
      // Blocks fetched ahead and never served: their bytes are no longer held here.
      for (const a of ahead.values()) this.aheadBytes -= a.size;
      ahead.clear();
    }
  }

  /**
   * Start fetching the uncached blocks after `index` (up to READ_AHEAD_BLOCKS ahead, before
   * `endIndex`), within the read-ahead byte budget.
   */
  private readAhead(inode: InodeRecord, ufs: Ufs, ufsPath: string, index: number, endIndex: number, bs: number, evictable: boolean,
    ahead: Map<number, AheadBlock>, current: (() => boolean) | undefined): void {
    const budget = Math.min(READ_AHEAD_MAX_BYTES, this.blocks.capacity / 4);
    for (let j = index + 1; j <= Math.min(endIndex, index + this.readAheadBlocks); j++) {
      if (ahead.has(j) || this.blocks.has(inode.fileId, j) !== undefined) continue;
      const start = j * bs;
      const size = Math.min(inode.length, start + bs) - start;
      if (this.aheadBytes + size > budget) return;
      this.aheadBytes += size;
      this.metrics.inc('cache', 'readAheadBlocks');
      const cold = this.fetchBlock(inode, ufs, ufsPath, j, start, size, evictable, current);
      ahead.set(j, { size, block: cold.bytes.catch(() => undefined), cached: cold.cached });
    }
  }

  private async *readRange(inode: InodeRecord, ufs: Ufs | undefined, ufsPath: string, offset: number, end: number, bs: number,
    readType: ReadType, chunkSize: number, evictable: boolean,
    fetched: Map<number, AheadBlock>, puts: PendingPuts, current: (() => boolean) | undefined): AsyncIterable<Uint8Array> {
    const track = async (cached: Promise<void>): Promise<void> => {
      const q: Promise<void> = cached.catch((err: unknown) => { puts.error ??= err; }).finally(() => puts.set.delete(q));
      puts.set.add(q);
      // Cache writes slower than the UFS: wait for one rather than hold ever more blocks.
      if (puts.set.size >= PUTS_IN_FLIGHT) await Promise.race(puts.set);
    };
    const endIndex = Math.ceil(end / bs) - 1;
    let pos = offset;
    // Read-ahead of one cached block: the next block's disk read runs while this one is sent.
    let ahead: { index: number; read: Promise<Buffer | null> } | undefined;
    const readCached = (index: number, from: number, want: number): Promise<Buffer | null> =>
      this.blocks.read(inode.fileId, index, from, want).catch(() => null);
    // A block whose file could not be streamed whole goes the buffered way (and then the UFS).
    let noStream = -1;
    while (pos < end) {
      const index = Math.floor(pos / bs);
      const blockStart = index * bs;
      const blockEnd = Math.min(inode.length, blockStart + bs);
      const want = Math.min(end, blockEnd) - pos;
      const early = fetched.get(index);
      if (early) {
        // Fetched ahead: served from memory (cached too, unless the cache dropped it since).
        fetched.delete(index);
        this.aheadBytes -= early.size;
        const block = await early.block;
        if (block && block.length === blockEnd - blockStart) {
          this.metrics.inc('cache', 'misses');
          await track(early.cached);
          if (ufs) this.readAhead(inode, ufs, ufsPath, index, endIndex, bs, evictable, fetched, current);
          yield* slices(block.subarray(pos - blockStart, pos - blockStart + want), chunkSize);
          pos += want;
          continue;
        }
      }
      if (chunkSize === READ_BUFFER_BYTES && noStream !== index && !(ahead && ahead.index === index)) {
        const file = this.blocks.localFile(inode.fileId, index);
        if (file && file.size >= pos - blockStart + want) {
          const served = yield* streamFile(file.path, pos - blockStart, want);
          if (served > 0) {
            this.metrics.inc('cache', 'hits');
            this.metrics.inc('cache', 'bytesReadCached', served);
          }
          pos += served;
          if (served < want) noStream = index;
          continue;
        }
      }
      const cached = ahead && ahead.index === index ? await ahead.read : await this.blocks.read(inode.fileId, index, pos - blockStart, want);
      ahead = undefined;
      const nextStart = blockEnd;
      if (nextStart < end && cached && cached.length === want) {
        const nextIndex = index + 1;
        ahead = { index: nextIndex, read: readCached(nextIndex, 0, Math.min(end, nextStart + bs) - nextStart) };
      }
      if (cached && cached.length === want) {
        this.metrics.inc('cache', 'hits');
        this.metrics.inc('cache', 'bytesReadCached', want);
        yield* slices(cached, chunkSize);
        pos += want;
        continue;
      }
      this.metrics.inc('cache', 'misses');
      if (inode.ps !== 'PERSISTED' || !ufs) {
        throw new StrataError(ErrorCode.FAILED_PRECONDITION,
          `block ${index} of ${inode.name} is not cached and the file is ${inode.ps} (no UFS copy to read)`);
      }
      if (readType === 'NO_CACHE') {
        // Stream straight from the UFS, nothing cached.
        for await (const c of ufs.read(ufsPath, { offset: pos, length: want, ...fingerprintOf(inode) })) {
          this.metrics.inc('cache', 'bytesReadUfs', c.length);
          yield c;
        }
        pos += want;
        continue;
      }
      const cold = this.fetchBlock(inode, ufs, ufsPath, index, blockStart, blockEnd - blockStart, evictable, current);
      const block = await cold.bytes;
      await track(cold.cached);
      if (index < endIndex) this.readAhead(inode, ufs, ufsPath, index, endIndex, bs, evictable, fetched, current);
      yield* slices(block.subarray(pos - blockStart, pos - blockStart + want), chunkSize);
      pos += want;
    }
  }

  /**
   * Read one whole block from the UFS and cache it (unless `current` says the content id is
   * no longer the file's): the bytes are there for the readers as soon as the UFS delivered
   * them, while the block is written to the cache. Concurrent readers share the fetch (until
   * the block is cached).
   */
  private fetchBlock(inode: InodeRecord, ufs: Ufs, ufsPath: string, index: number, start: number, size: number, evictable: boolean,
    current?: () => boolean): ColdBlock {
    const key = `${inode.fileId}:${index}`;
    const held = this.coldReads.get(key);
    if (held) return held;
    const bytes = (async () => {
      const parts: Uint8Array[] = [];
      let n = 0;
      for await (const c of ufs.read(ufsPath, { offset: start, length: size, ...fingerprintOf(inode) })) {
        parts.push(c);
        n += c.length;
      }
      if (n !== size) throw new UfsChangedError(`${inode.name} (expected ${size} bytes of block ${index}, got ${n})`);
      this.metrics.inc('cache', 'bytesReadUfs', n);
      return Buffer.concat(parts, n);
    })();
    const cached = bytes.then(async (buf) => {
      if (current && !current()) return; // replaced meanwhile: its blocks would never be removed
      try {
        await this.blocks.put(inode.fileId, index, buf, evictable, false);
        // Replaced while the block was written: the replacing commit removed the content id's
        // blocks before this one was indexed, so it goes now (nothing reads that id any more).
        if (current && !current()) await this.blocks.removeFile(inode.fileId);
      } catch (err) {
        // A full cache (capacity or disk) does not fail a read: serve the bytes uncached.
        if ((err as StrataError).code !== ErrorCode.RESOURCE_EXHAUSTED) throw err;
        this.metrics.inc('cache', 'bypassOnFull');
      }
    }, () => undefined); // a failed UFS read fails `bytes`, which every reader awaits
    const block: ColdBlock = { bytes, cached };
    this.coldReads.set(key, block);
    bytes.catch(() => undefined); // read-ahead may never await it
    cached.catch(() => undefined).finally(() => this.coldReads.delete(key));
    return block;
  }
}

/** The read option that makes the UFS check it opened the version this inode describes. */
function fingerprintOf(inode: InodeRecord): { fingerprint?: string } {
  return inode.ufsContent !== undefined ? { fingerprint: inode.ufsContent } : {};
}

/**
 * Stream bytes [from, from + want) of a block file in chunks of READ_BUFFER_BYTES read into
 * pooled buffers, the next chunk's read running while this one is consumed. Returns the
 * bytes yielded: fewer than `want` when the file is missing or shorter than its record (the
 * caller serves the rest another way). A consumer may give each chunk back to the pool
 * (releaseReadBuffer) once it no longer reads it.
 */
async function* streamFile(path: string, from: number, want: number): AsyncGenerator<Uint8Array, number> {
  let fh;
  try {
    fh = await openFile(path, 'r');
  } catch {
    return 0;
  }
  let served = 0;
  let pending: { buf: Buffer; read: Promise<number> } | undefined;
  const start = (off: number): { buf: Buffer; read: Promise<number> } => {
    const buf = acquireReadBuffer();
    const n = Math.min(READ_BUFFER_BYTES, want - off);
    return { buf, read: readFully(fh!, buf, n, from + off) };
  };
  try {
    if ((await fh.stat()).size < from + want) return 0;
    pending = start(0);
    while (served < want) {
      const cur = pending!;
      pending = undefined;
      const n = await cur.read.catch(() => -1);
      const expected = Math.min(READ_BUFFER_BYTES, want - served);
      if (n !== expected) {
        releaseReadBuffer(cur.buf);
        return served;
      }
      if (served + n < want) pending = start(served + n);
      served += n;
      yield n === READ_BUFFER_BYTES ? cur.buf : cur.buf.subarray(0, n);
    }
    return served;
  } finally {
    if (pending) {
      // Abandoned with a read in flight: the buffer is ours again once the read settles.
      const p = pending;
      await p.read.catch(() => 0);
      releaseReadBuffer(p.buf);
    }
    await fh.close().catch(() => undefined);
  }
}

/** Read exactly `n` bytes at `position` unless the file ends first; resolves with the bytes read. */
async function readFully(fh: import('node:fs/promises').FileHandle, buf: Buffer, n: number, position: number): Promise<number> {
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, got, n - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

function* slices(buf: Uint8Array, chunkSize: number): Iterable<Uint8Array> {
  if (buf.length <= chunkSize) {
    yield buf;
    return;
  }
  for (let i = 0; i < buf.length; i += chunkSize) yield buf.subarray(i, Math.min(buf.length, i + chunkSize));
}
