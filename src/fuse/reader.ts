// Ranged reads of one open file through one streaming readFile: sequential FUSE reads (128 KB
// each) are cut from a single server stream instead of one request each. The kernel's
// read-ahead may deliver requests slightly out of order, so recently read bytes are kept in
// a small window; a jump outside it starts a new stream at the wanted offset.

import type { FileSystem } from '../fs.js';
import type { ReadOptions } from '../types.js';

/** Bytes of recently streamed data kept for out-of-order and repeated reads. */
const WINDOW_BYTES = 4 << 20;
/** A forward gap up to this size is read through rather than starting a new stream. */
const SKIP_BYTES = 2 << 20;

interface Segment { offset: number; bytes: Uint8Array }

export class StreamingReader {
  private it: AsyncIterator<Uint8Array> | undefined;
  /** File offset of the next byte the stream yields. */
  private streamPos = 0;
  private eof = false;
  private segments: Segment[] = [];
  private windowBytes = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly fs: FileSystem, private path: string, private readonly options: ReadOptions = {}) {}

  /** Follow a rename of the open file (the open stream keeps reading the same content). */
  setPath(path: string): void {
    this.path = path;
  }

  /** Fill `buf` from `position`; resolves to the bytes filled (less at end of file). Calls are serialised. */
  read(buf: Buffer, position: number): Promise<number> {
    const run = this.queue.then(() => this.readNow(buf, position));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readNow(buf: Buffer, position: number): Promise<number> {
    let filled = this.fromWindow(buf, position, 0);
    while (filled < buf.length) {
      const at = position + filled;
      // Not in the window: behind it, or too far ahead to read through.
      if (!this.it || at < this.streamPos || at > this.streamPos + SKIP_BYTES) await this.restart(at);
      if (this.eof) break;
      const r = await this.it!.next();
      if (r.done) {
        this.eof = true;
        break;
      }
      this.push(r.value);
      filled = this.fromWindow(buf, position, filled);
    }
    return filled;
  }

  /** Copy what the window holds of [position + from, …) into buf; returns the new fill level. */
  private fromWindow(buf: Buffer, position: number, from: number): number {
    let filled = from;
    for (const s of this.segments) {
      const at = position + filled;
      if (filled >= buf.length) break;
      if (at < s.offset || at >= s.offset + s.bytes.length) continue;
      const start = at - s.offset;
      const n = Math.min(buf.length - filled, s.bytes.length - start);
      buf.set(s.bytes.subarray(start, start + n), filled);
      filled += n;
    }
    return filled;
  }

  private push(bytes: Uint8Array): void {
    this.segments.push({ offset: this.streamPos, bytes });
    this.streamPos += bytes.length;
    this.windowBytes += bytes.length;
    while (this.windowBytes > WINDOW_BYTES && this.segments.length > 1) {
      this.windowBytes -= this.segments.shift()!.bytes.length;
    }
  }

  private async restart(offset: number): Promise<void> {
    await this.stop();
    this.segments = [];
    this.windowBytes = 0;
    this.streamPos = offset;
    this.eof = false;
    this.it = this.fs.readFile(this.path, { ...this.options, offset })[Symbol.asyncIterator]();
  }

  private async stop(): Promise<void> {
    const it = this.it;
    this.it = undefined;
    if (it?.return) await it.return(undefined).catch(() => undefined);
  }

  /** Stop the stream (the server stops sending). */
  async close(): Promise<void> {
    await this.queue;
    await this.stop();
    this.segments = [];
    this.windowBytes = 0;
  }
}
