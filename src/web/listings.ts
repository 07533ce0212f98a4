// Paged directory listings for the console: a listing is opened once (one `listStatus`
// stream) and each "next page" continues that same stream, so a 100k-entry directory is
// never read whole and page N costs one page, not N. Cursors belong to one session, are
// bounded in number and closed when idle.

import { randomBytes } from 'node:crypto';
import { ErrorCode, StrataError } from '../errors.js';
import type { FileInfo } from '../types.js';

interface Cursor {
  id: string;
  owner: string;
  path: string;
  iterator: AsyncIterator<FileInfo[]>;
  /** Entries already returned before the next page. */
  offset: number;
  lastUsedMs: number;
  busy: boolean;
  /** The next page, read ahead to tell whether the current one is the last. */
  ahead?: IteratorResult<FileInfo[]>;
}

/** One page of a listing. */
export interface ListingPage {
  path: string;
  entries: FileInfo[];
  /** Index of the first entry of this page in the listing. */
  offset: number;
  /** Pass back to get the next page; absent on the last page. */
  cursor?: string;
}

export class ListingCursors {
  private readonly cursors = new Map<string, Cursor>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: { idleMs?: number; perOwner?: number } = {}) {
    this.timer = setInterval(() => this.sweep(), Math.min(this.idleMs, 30_000));
    this.timer.unref();
  }

  private get idleMs(): number {
    return this.opts.idleMs ?? 120_000;
  }

  /** Open a listing of `path` for `owner` (a session id) and return its first page. */
  async open(owner: string, path: string, pages: AsyncIterable<FileInfo[]>): Promise<ListingPage> {
    const mine = [...this.cursors.values()].filter((c) => c.owner === owner);
    if (mine.length >= (this.opts.perOwner ?? 8)) {
      mine.sort((a, b) => a.lastUsedMs - b.lastUsedMs);
      this.close(mine[0]!.id);
    }
    const c: Cursor = {
      id: randomBytes(12).toString('base64url'), owner, path,
      iterator: pages[Symbol.asyncIterator](), offset: 0, lastUsedMs: Date.now(), busy: false,
    };
    this.cursors.set(c.id, c);
    return this.step(c);
  }

  /** The next page of an open listing. */
  async next(owner: string, id: string): Promise<ListingPage> {
    const c = this.cursors.get(id);
    if (!c || c.owner !== owner) {
      throw new StrataError(ErrorCode.NOT_FOUND, 'this listing expired or does not exist; open the directory again');
    }
    if (c.busy) throw new StrataError(ErrorCode.FAILED_PRECONDITION, 'the previous page of this listing is still being read');
    return this.step(c);
  }

  /**
   * Return the page read ahead (or read one now) and read the following one before
   * answering, so that the answer knows whether it is the last page (no cursor then).
   */
  private async step(c: Cursor): Promise<ListingPage> {
    c.busy = true;
    try {
      const r = c.ahead ?? (await c.iterator.next());
      const entries = r.done ? [] : r.value;
      c.ahead = r.done ? r : await c.iterator.next();
      c.lastUsedMs = Date.now();
      const page: ListingPage = { path: c.path, entries, offset: c.offset };
      c.offset += entries.length;
      if (c.ahead.done) this.close(c.id);
      else page.cursor = c.id;
      return page;
    } catch (err) {
      this.close(c.id);
      throw err;
    } finally {
      c.busy = false;
    }
  }

  /** Close every cursor of `owner` (logout). */
  closeOwner(owner: string): void {
    for (const c of [...this.cursors.values()]) if (c.owner === owner) this.close(c.id);
  }

  private close(id: string): void {
    const c = this.cursors.get(id);
    if (!c) return;
    this.cursors.delete(id);
    void c.iterator.return?.().catch(() => {});
  }

  private sweep(): void {
    const limit = Date.now() - this.idleMs;
    for (const c of [...this.cursors.values()]) if (!c.busy && c.lastUsedMs < limit) this.close(c.id);
  }

  closeAll(): void {
    clearInterval(this.timer);
    for (const id of [...this.cursors.keys()]) this.close(id);
  }

  get size(): number {
    return this.cursors.size;
  }
}
