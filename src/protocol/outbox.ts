// Outgoing frame batching shared by the server and the client: every frame sent during one
// turn of the event loop (flushed by setImmediate, after the I/O callbacks that produced
// them) is written to the socket in one go (small frames concatenated into one buffer, large
// data frames passed through without a copy), so pipelined calls cost one syscall per batch.

import { encodeDataFrameHead, encodeFrame } from './codec.js';

/** Frames at least this big are written as they are rather than copied into the batch. */
const PASS_THROUGH_BYTES = 32 * 1024;

/** The part of a socket the outbox needs (net.Socket fits). */
export interface FrameSink {
  /** `done` is called once the bytes are handed to the OS (or the write failed). */
  write(buf: Uint8Array, done?: (err?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
  readonly writableNeedDrain: boolean;
}

/** Collects encoded frames and flushes them to the sink once per tick. */
export class Outbox {
  private parts: Uint8Array[] = [];
  /** Callbacks of parts passed through without a copy, by part (sendData's `onWritten`). */
  private written = new Map<Uint8Array, () => void>();
  private scheduled = false;
  private readonly flushBound = (): void => this.flush();

  constructor(private readonly sink: FrameSink) {}

  /** Queue one message; it is written at the end of the current tick. */
  send(msg: unknown): void {
    if (this.sink.destroyed) return;
    this.parts.push(encodeFrame(msg));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushBound);
    }
  }

  /** Queue a frame encoded already (`encodeAnswerFrame`); it is written at the end of the current tick. */
  sendFrame(frame: Uint8Array): void {
    if (this.sink.destroyed) return;
    this.parts.push(frame);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushBound);
    }
  }

  /**
   * Queue a binary data frame for stream `id`. The chunk is not copied: it must not be
   * modified until written (the contract of stream.write).
   */
  sendData(id: number, chunk: Uint8Array, onWritten?: () => void): void {
    if (this.sink.destroyed) return;
    this.parts.push(encodeDataFrameHead(id, chunk.length), chunk);
    if (onWritten) this.written.set(chunk, onWritten);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushBound);
    }
  }

  /** True when the socket's buffer is full: streaming producers should wait for 'drain'. */
  get congested(): boolean {
    return this.sink.writableNeedDrain;
  }

  /** Write everything queued now. */
  flush(): void {
    this.scheduled = false;
    const parts = this.parts;
    if (parts.length === 0) return;
    this.parts = [];
    const written = this.written;
    if (written.size > 0) this.written = new Map();
    if (this.sink.destroyed) return; // (callbacks dropped: their chunks are left to the GC)
    if (parts.length === 1) {
      this.sink.write(parts[0]!);
      return;
    }
    this.sink.cork();
    let run: Uint8Array[] = [];
    let runBytes = 0;
    const writeRun = (): void => {
      if (run.length === 1) this.sink.write(run[0]!);
      else if (run.length > 1) this.sink.write(Buffer.concat(run, runBytes));
      run = [];
      runBytes = 0;
    };
    for (const p of parts) {
      if (p.length >= PASS_THROUGH_BYTES) {
        writeRun();
        const done = written.size > 0 ? written.get(p) : undefined;
        if (done) this.sink.write(p, () => done());
        else this.sink.write(p);
      } else {
        // Copied into the batch below: a chunk waiting for its write is free once copied.
        const done = written.size > 0 ? written.get(p) : undefined;
        if (done) {
          run.push(Uint8Array.prototype.slice.call(p));
          runBytes += p.length;
          done();
          continue;
        }
        run.push(p);
        runBytes += p.length;
      }
    }
    writeRun();
    this.sink.uncork();
  }
}
