// Request bodies held whole before they go to writeFile. writeFile takes the path's
// exclusive lock for the whole write; streaming a client's body into it would let a client
// that stalls half way hold that lock for as long as it likes, and a second PUT of the key
// would wait behind it (s3-tests test_atomic_dual_write_*). So a PUT body is received first
// (kept in memory up to SPOOL_MEMORY_BYTES, beyond that in a temp file of the gateway's own
// directory, constant memory) and written from there: a lock is only ever held while bytes
// move from local memory or disk, never while the gateway waits on a client.

import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';

/** A body up to this size stays in memory; a larger one goes to a temp file. */
export const SPOOL_MEMORY_BYTES = 1024 * 1024;

/** A received body, replayable once or more; `dispose` frees its memory or temp file. */
export interface SpooledBody {
  readonly length: number;
  /** A body held in memory, as one buffer (writeFile takes it as is: no stream to pull). */
  readonly whole?: Uint8Array;
  chunks(): AsyncIterable<Uint8Array>;
  dispose(): Promise<void>;
}

/** The gateway's spool directory (DATA_DIR/spool); leftovers of a crash go at open. */
export class BodySpool {
  readonly dir: string;

  constructor(dataDir: string, private readonly memoryBytes = SPOOL_MEMORY_BYTES) {
    this.dir = join(dataDir, 'spool');
  }

  async open(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
  }

  /**
   * Receive `body` whole. A failure of the body (a bad digest, a client gone) rejects and
   * leaves nothing behind.
   */
  async take(body: AsyncIterable<Uint8Array>): Promise<SpooledBody> {
    const held: Uint8Array[] = [];
    let length = 0;
    let file: string | undefined;
    let out: WriteStream | undefined;
    try {
      for await (const c of body) {
        length += c.length;
        if (!out) {
          held.push(c);
          if (length <= this.memoryBytes) continue;
          file = join(this.dir, randomBytes(12).toString('hex'));
          out = createWriteStream(file);
          out.on('error', () => undefined); // seen by write/close through `errored`
          for (const h of held.splice(0)) await write(out, h);
          continue;
        }
        await write(out, c);
      }
      if (out) await close(out);
    } catch (err) {
      out?.destroy();
      if (file) await rm(file, { force: true });
      throw err;
    }
    if (file === undefined) {
      const whole = held.length === 1 ? held[0]! : Buffer.concat(held, length);
      return {
        length,
        whole,
        async *chunks() { yield whole; },
        dispose: async () => { held.length = 0; },
      };
    }
    const path = file;
    return {
      length,
      async *chunks() {
        for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) yield c as Buffer;
      },
      dispose: () => rm(path, { force: true }),
    };
  }
}

/** Write with the stream's back-pressure; an error of the stream rejects here, never crashes. */
async function write(out: WriteStream, c: Uint8Array): Promise<void> {
  if (out.errored) throw out.errored;
  if (!out.write(c)) await once(out, 'drain');
}

async function close(out: WriteStream): Promise<void> {
  if (out.errored) throw out.errored;
  out.end();
  await once(out, 'close');
  if (out.errored) throw out.errored;
}
