// One file open for writing through the mount. Sequential writes of a new or truncated file
// are buffered in memory and, past `bufferBytes`, streamed into one writeFile (the path's
// write type); random writes, appends to and rewrites of existing content are staged in a
// local file and committed whole. A commit (flush, fsync, release) replaces the Strata file
// atomically: readers see the old or the new version, never a mix.

import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileSystem } from '../fs.js';
import type { CreateFileOptions, FileInfo, ReadOptions } from '../types.js';

/** A byte stream written by FUSE writes and consumed by writeFile, with back-pressure. */
export class ByteChannel implements AsyncIterable<Uint8Array> {
  private items: Uint8Array[] = [];
  private bytes = 0;
  private ended = false;
  private failure: unknown;
  private consumer: (() => void) | undefined;
  private producers: Array<() => void> = [];

  constructor(private readonly highWater = 8 << 20, private readonly chunk = 1 << 20) {}

  /** Queue bytes; resolves when the queue is below its high-water mark again. */
  async push(b: Uint8Array): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.items.push(b);
    this.bytes += b.length;
    this.wakeConsumer();
    while (this.bytes > this.highWater && this.failure === undefined) {
      await new Promise<void>((r) => this.producers.push(r));
    }
    if (this.failure !== undefined) throw this.failure;
  }

  end(): void {
    this.ended = true;
    this.wakeConsumer();
  }

  /** The consumer failed: wake and fail every producer. */
  fail(err: unknown): void {
    this.failure = err;
    for (const p of this.producers.splice(0)) p();
  }

  private wakeConsumer(): void {
    const c = this.consumer;
    this.consumer = undefined;
    c?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      if (this.items.length) {
        // Coalesce what is queued into one chunk of up to `chunk` bytes.
        const parts: Uint8Array[] = [];
        let n = 0;
        while (this.items.length && (n === 0 || n + this.items[0]!.length <= this.chunk)) {
          const b = this.items.shift()!;
          parts.push(b);
          n += b.length;
        }
        this.bytes -= n;
        if (this.bytes <= this.highWater) for (const p of this.producers.splice(0)) p();
        yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => { this.consumer = r; });
    }
  }
}

/** Attributes a commit must keep (a writeFile makes a new inode with default attributes). */
export interface WantedAttributes {
  mode?: number;
  uid?: number;
  gid?: number;
  mtimeMs?: number;
  atimeMs?: number;
}

export interface WriterContext {
  fs: FileSystem;
  /** Directory for staged files. */
  stagingDir: string;
  /** Memory buffered before sequential writes are streamed. */
  bufferBytes: number;
  writeOptions: CreateFileOptions;
  readOptions: ReadOptions;
  /** Unique name for a staged file. */
  nextStageName(): string;
  /** Called after every commit with the new status (`created`: the commit made a new name in its directory). */
  committed(path: string, info: FileInfo, wanted: WantedAttributes, created: boolean): Promise<void>;
  /** End any other writer's stream on `path` (it holds the path's lock until it ends). */
  settleOthers(path: string, self: FileWriter): Promise<void>;
}

type Mode = 'buffer' | 'stream' | 'staged' | 'clean';

export class FileWriter {
  /** Logical size of the file as this handle sees it. */
  size: number;
  /** When this handle last changed the content (mtime) and the content or an attribute (ctime). */
  mtimeMs = Date.now();
  ctimeMs = this.mtimeMs;
  dirty: boolean;
  /** release() was called: the handle is closing, nothing may stage or write through it again. */
  closed = false;
  readonly wanted: WantedAttributes;
  private mode: Mode;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private channel: ByteChannel | undefined;
  private streamDone: Promise<FileInfo> | undefined;
  private staged: { file: FileHandle; path: string } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * @param base size of the committed content this handle starts from (0: new or truncated)
   * @param truncated the handle starts empty and must commit even without writes (O_TRUNC)
   * @param exclusive a file created by this handle that is not in Strata yet: its first
   *   commit creates it and fails with ALREADY_EXISTS when someone else created it meanwhile
   */
  constructor(private readonly ctx: WriterContext, public path: string, base: number, truncated: boolean, wanted: WantedAttributes,
    public exclusive = false) {
    this.size = truncated ? 0 : base;
    this.dirty = (truncated && base > 0) || exclusive;
    this.mode = this.size === 0 ? 'buffer' : 'clean';
    this.wanted = { ...wanted };
  }

  /** The content changes now: mtime and ctime, and a time set by utimens before gives way. */
  private changed(): void {
    this.mtimeMs = this.ctimeMs = Date.now();
    delete this.wanted.mtimeMs;
  }

  /** Run calls on this handle one at a time, in arrival order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  write(data: Buffer, position: number): Promise<number> {
    return this.serial(async () => {
      this.changed();
      if ((this.mode === 'buffer' || this.mode === 'stream') && position === this.size) {
        this.dirty = true;
        this.size += data.length;
        if (this.mode === 'buffer') {
          this.chunks.push(data);
          this.buffered += data.length;
          if (this.buffered > this.ctx.bufferBytes) await this.startStream();
        } else {
          await this.channel!.push(data);
        }
        return data.length;
      }
      await this.stage();
      await this.staged!.file.write(data, 0, data.length, position);
      this.dirty = true;
      this.size = Math.max(this.size, position + data.length);
      return data.length;
    });
  }

  /** Read what this handle holds (its uncommitted bytes included); undefined: read Strata. */
  read(buf: Buffer, position: number): Promise<number | undefined> {
    return this.serial(async () => {
      if (this.mode === 'clean') return undefined;
      if (position >= this.size) return 0;
      if (this.mode === 'buffer') {
        const all = Buffer.concat(this.chunks, this.buffered);
        const n = Math.min(buf.length, all.length - position);
        all.copy(buf, 0, position, position + n);
        return n;
      }
      await this.stage();
      const { bytesRead } = await this.staged!.file.read(buf, 0, Math.min(buf.length, this.size - position), position);
      return bytesRead;
    });
  }

  truncate(size: number): Promise<void> {
    return this.serial(async () => {
      this.changed();
      if (size === this.size) return;
      if (size === 0 && this.mode !== 'staged') {
        await this.endStream().catch(() => undefined);
        this.chunks = [];
        this.buffered = 0;
        this.mode = 'buffer';
      } else if (this.mode === 'buffer' && size < this.size) {
        const all = Buffer.concat(this.chunks, this.buffered).subarray(0, size);
        this.chunks = [Buffer.from(all)];
        this.buffered = size;
      } else {
        await this.stage();
        await this.staged!.file.truncate(size);
      }
      this.size = size;
      this.dirty = true;
    });
  }

  /** Commit uncommitted bytes now (flush, fsync); resolves when the write type's promise holds. */
  commit(): Promise<void> {
    return this.serial(() => this.commitNow());
  }

  /** End a running stream (commit what it has) so that another call may take the path's lock. */
  settle(): Promise<void> {
    return this.serial(async () => {
      if (this.mode === 'stream') await this.commitNow();
    });
  }

  /** Commit if needed and drop the staged file. */
  release(): Promise<void> {
    this.closed = true;
    return this.serial(async () => {
      try {
        await this.commitNow();
      } finally {
        await this.dropStaged();
      }
    });
  }

  /** Forget uncommitted bytes (the file was deleted). */
  discard(): Promise<void> {
    return this.serial(async () => {
      this.dirty = false;
      if (this.channel) {
        this.channel.fail(new Error('discarded'));
        this.channel.end();
        await this.streamDone?.catch(() => undefined);
      }
      this.channel = undefined;
      this.streamDone = undefined;
      this.chunks = [];
      this.buffered = 0;
      await this.dropStaged();
      this.mode = 'clean';
    });
  }

  private async commitNow(): Promise<void> {
    if (!this.dirty) return;
    const overwrite = !this.exclusive;
    let info: FileInfo;
    if (this.mode === 'stream') {
      info = await this.endStream();
      this.mode = 'clean';
    } else {
      await this.ctx.settleOthers(this.path, this);
      if (this.mode === 'buffer') {
        info = await this.ctx.fs.writeFile(this.path, Buffer.concat(this.chunks, this.buffered), { ...this.ctx.writeOptions, overwrite });
      } else if (this.mode === 'staged') {
        await this.staged!.file.sync().catch(() => undefined);
        const source = createReadStream('', { fd: this.staged!.file.fd, start: 0, end: Math.max(0, this.size - 1), autoClose: false, highWaterMark: 1 << 20 });
        info = await this.ctx.fs.writeFile(this.path, this.size === 0 ? new Uint8Array(0) : source, { ...this.ctx.writeOptions, overwrite });
        if (this.size === 0) source.destroy();
      } else {
        info = await this.ctx.fs.writeFile(this.path, new Uint8Array(0), { ...this.ctx.writeOptions, overwrite });
      }
    }
    this.dirty = false;
    const created = this.exclusive;
    this.exclusive = false;
    await this.ctx.committed(this.path, info, this.wanted, created);
  }

  private async startStream(): Promise<void> {
    await this.ctx.settleOthers(this.path, this);
    const channel = new ByteChannel();
    this.channel = channel;
    this.streamDone = this.ctx.fs.writeFile(this.path, channel, { ...this.ctx.writeOptions, overwrite: !this.exclusive });
    this.streamDone.catch((err) => channel.fail(err));
    this.mode = 'stream';
    const chunks = this.chunks;
    this.chunks = [];
    this.buffered = 0;
    for (const c of chunks) await channel.push(c);
  }

  private async endStream(): Promise<FileInfo> {
    const channel = this.channel;
    const done = this.streamDone;
    this.channel = undefined;
    this.streamDone = undefined;
    if (!channel || !done) throw new Error('no stream');
    channel.end();
    return done;
  }

  /** Switch to a staged local file holding the current content of this handle. */
  private async stage(): Promise<void> {
    if (this.mode === 'staged') return;
    const path = join(this.ctx.stagingDir, this.ctx.nextStageName());
    const file = await open(path, 'w+', 0o600);
    try {
      if (this.mode === 'buffer') {
        if (this.buffered) await file.write(Buffer.concat(this.chunks, this.buffered), 0, this.buffered, 0);
        this.chunks = [];
        this.buffered = 0;
      } else {
        if (this.mode === 'stream') {
          // The streamed part is committed first, then read back as the base of the staged file.
          const info = await this.endStream();
          const created = this.exclusive;
          this.exclusive = false;
          await this.ctx.committed(this.path, info, this.wanted, created);
        }
        let at = 0;
        if (this.size > 0 && !this.exclusive) {
          for await (const chunk of this.ctx.fs.readFile(this.path, { ...this.ctx.readOptions, offset: 0, length: this.size })) {
            await file.write(chunk, 0, chunk.length, at);
            at += chunk.length;
          }
        }
        if (at < this.size) await file.truncate(this.size);
      }
    } catch (err) {
      await file.close().catch(() => undefined);
      await rm(path, { force: true });
      throw err;
    }
    this.staged = { file, path };
    this.mode = 'staged';
  }

  private async dropStaged(): Promise<void> {
    const s = this.staged;
    if (!s) return;
    this.staged = undefined;
    if (this.mode === 'staged') this.mode = 'clean';
    await s.file.close().catch(() => undefined);
    await rm(s.path, { force: true });
  }
}
