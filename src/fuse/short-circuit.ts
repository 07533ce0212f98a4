// Short-circuit reads of a FUSE daemon on the server's host: for a file cached whole, the
// server names its block files (`getLocalBlocks`) and the daemon opens them read-only, so the
// binding serves reads with pread on the FUSE threads (no hop to JavaScript, no TCP). Keyed by
// the content id the daemon opened; anything unexpected means "read over TCP instead".

import { open as openFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { ErrorCode, StrataError } from '../errors.js';
import type { Logger } from '../log.js';
import type { LocalBlocksResult } from '../protocol/messages.js';
import type { FileInfo } from '../types.js';

/** Asks the server for a file's block files (StrataClient.getLocalBlocks). */
export type LocalBlocksLookup = (path: string) => Promise<LocalBlocksResult | null>;

/** Files up to this size are not asked about: their one block lives inline in the server's index. */
const INLINE_MAX = 32 * 1024;

/** Errors meaning the server will never answer this daemon (off, not loopback, an older server). */
const REFUSALS: ReadonlySet<string> = new Set([ErrorCode.FAILED_PRECONDITION, ErrorCode.PERMISSION_DENIED, ErrorCode.BAD_REQUEST]);

export interface OpenedBlocks {
  files: FileHandle[];
  /** End offset in the file of each block file. */
  ends: number[];
}

/** Counters of short-circuit opens, for tests and logs. */
export interface ShortCircuitStats { opened: number; fellBack: number }

export class ShortCircuitReads {
  private disabled = false;
  readonly stats: ShortCircuitStats = { opened: 0, fellBack: 0 };

  constructor(private readonly lookup: LocalBlocksLookup, private readonly log: Logger) {}

  /**
   * The opened block files of `info` (the version this open reads: its fileId), or undefined to
   * read over TCP: not cached whole, inline, another version on the server, a block evicted
   * (ENOENT), a file the daemon's user may not read, a size that does not match, or a server
   * that does not share its block files (then never asked again).
   */
  async open(path: string, info: FileInfo): Promise<OpenedBlocks | undefined> {
    if (this.disabled || info.type !== 'file' || info.length <= INLINE_MAX || info.cachedBytes !== info.length) return undefined;
    let answer: LocalBlocksResult | null;
    try {
      answer = await this.lookup(path);
    } catch (err) {
      if (err instanceof StrataError && REFUSALS.has(err.code)) {
        this.disabled = true;
        this.log.info({ reason: err.message }, 'short-circuit reads are off for this mount (the server does not share its block files)');
      }
      this.stats.fellBack++;
      return undefined;
    }
    if (!answer || answer.fileId !== info.fileId || answer.length !== info.length) {
      this.stats.fellBack++;
      return undefined;
    }
    const files: FileHandle[] = [];
    const ends: number[] = [];
    let end = 0;
    try {
      for (const b of answer.blocks) {
        const f = await openFile(b.path, 'r');
        files.push(f);
        // A block file shorter or longer than its record is not this block: read over TCP.
        if ((await f.stat()).size !== b.size) throw new Error(`${b.path} is not ${b.size} bytes`);
        end += b.size;
        ends.push(end);
      }
      this.stats.opened++;
      return { files, ends };
    } catch (err) {
      this.log.debug({ path, err: (err as Error).message }, 'short-circuit open failed; reading over TCP');
      for (const f of files) await f.close().catch(() => undefined);
      this.stats.fellBack++;
      return undefined;
    }
  }
}
