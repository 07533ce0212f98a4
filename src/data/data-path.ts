// The data path: streams file bytes in and out. Writes cut the client's stream into cache
// blocks and/or tee it to the UFS according to the write type; reads serve cached blocks
// (hot: no UFS call) and fetch missing ones from the UFS, caching them on the way under
// read type CACHE. Concurrent cold reads of one block share one UFS read. Hot reads in the
// default chunk size stream block files into reusable buffers (read-buffers.ts).

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

export class DataPath {
  private readonly coldReads = new Map<string, Promise<Buffer>>();

  constructor(private readonly blocks: BlockStore, private readonly metrics: Metrics) {}

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
   * from disk; the others come from the UFS (and are cached whole under CACHE).
   */
  async *read(inode: InodeRecord, ufs: Ufs | undefined, ufsPath: string, offset: number, length: number,
    readType: ReadType, chunkSize: number, evictable: boolean): AsyncIterable<Uint8Array> {
    const end = Math.min(inode.length, offset + length);
    const bs = inode.blockSize > 0 ? inode.blockSize : this.blocks.blockSize;
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
      const block = await this.fetchBlock(inode, ufs, ufsPath, index, blockStart, blockEnd - blockStart, evictable);
      yield* slices(block.subarray(pos - blockStart, pos - blockStart + want), chunkSize);
      pos += want;
    }
  }

  /** Read one whole block from the UFS and cache it; concurrent readers share the fetch. */
  private fetchBlock(inode: InodeRecord, ufs: Ufs, ufsPath: string, index: number, start: number, size: number, evictable: boolean): Promise<Buffer> {
    const key = `${inode.fileId}:${index}`;
    let p = this.coldReads.get(key);
    if (!p) {
      p = (async () => {
        const parts: Uint8Array[] = [];
        let n = 0;
        for await (const c of ufs.read(ufsPath, { offset: start, length: size, ...fingerprintOf(inode) })) {
          parts.push(c);
          n += c.length;
        }
        if (n !== size) throw new UfsChangedError(`${inode.name} (expected ${size} bytes of block ${index}, got ${n})`);
        this.metrics.inc('cache', 'bytesReadUfs', n);
        const buf = Buffer.concat(parts, n);
        try {
          await this.blocks.put(inode.fileId, index, buf, evictable, false);
        } catch (err) {
          // A full cache (capacity or disk) does not fail a read: serve the bytes uncached.
          if ((err as StrataError).code !== ErrorCode.RESOURCE_EXHAUSTED) throw err;
          this.metrics.inc('cache', 'bypassOnFull');
        }
        return buf;
      })().finally(() => this.coldReads.delete(key));
      this.coldReads.set(key, p);
    }
    return p;
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
