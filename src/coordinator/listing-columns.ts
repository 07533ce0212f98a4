// Listings straight into the columnar page of the wire (protocol v3, protocol/page-codec.ts) for
// the TCP server: a directory page is built from the inode records with no FileInfo per entry,
// and the page of an unchanged directory is kept and sent again while the inode epoch
// (meta/inode-cache.ts: bumped by every commit that writes an inode or an edge, in any thread)
// and the directory's path and mount context are those it was built under. Cached bytes, which
// change without an inode commit, are read again for every page served.

import { throwIfCancelled } from '../cancel.js';
import { inodeEpoch } from '../meta/inode-cache.js';
import { atimeOf, ctimeOf } from '../meta/inode.js';
import type { InodeRecord } from '../meta/inode.js';
import { bytesOf, encodePage, newColumns, NO_INDEX, numberColumn, PAGE_FORMAT, PS_INDEX, timeColumn } from '../protocol/page-codec.js';
import type { ColumnarPage } from '../protocol/page-codec.js';
import type { ListStatusOptions } from '../types.js';
import { nodeFields } from './file-info.js';
import type { DirContext, FileInfoMapper } from './file-info.js';
import { listPaged, MAX_PAGE } from './listing.js';
import type { Services } from './services.js';

/** Default bound on the pages kept (about 60 KiB each for 1,000 entries). */
export const LISTING_CACHE_PAGES = 64;

/** One built page and what it was built under. */
interface Built {
  epoch: number;
  path: string;
  mountPath: string;
  ufsUri: string;
  page: ColumnarPage;
  /** Inodes read for the page (listChildren's count: the walk stops when it is below the page size). */
  read: number;
  /** The last name read (where the next page starts). */
  last: string | undefined;
  /** Entry index and content id of each file (their cached bytes are read again per use). */
  files: Int32Array;
  fileIds: Float64Array;
  /** Cached bytes per entry as in `page.cb`. */
  cb: Float64Array;
}

const isPlain = (n: number): boolean => typeof n === 'number' && !Number.isNaN(n);

/**
 * Pages of directory listings as columns, with a bounded cache of the pages of unchanged
 * directories. One per Coordinator (it reads that instance's tree, mounts and block store).
 */
export class ListingPageCache {
  private readonly pages = new Map<string, Built>();
  /** Pages served from the cache, and pages built (statistics, tests). */
  hits = 0;
  misses = 0;

  constructor(private readonly s: Services, private readonly infos: FileInfoMapper, private readonly maxPages = LISTING_CACHE_PAGES) {}

  /** Pages held now. */
  get size(): number {
    return this.pages.size;
  }

  /** Forget every page (they would be rebuilt anyway; for tests and memory pressure). */
  clear(): void {
    this.pages.clear();
  }

  /**
   * listStatus's pages as columns: a directory's own children from the cache or built from
   * the inode records; a file, or a recursive listing, through listPaged and encodePage.
   */
  async *list(p: string, options: ListStatusOptions): AsyncIterable<ColumnarPage> {
    if (options.recursive) {
      for await (const page of listPaged(this.s, this.infos, p, options)) yield encodePage(page);
      return;
    }
    const pageSize = Math.max(1, Math.min(options.pageSize ?? MAX_PAGE, MAX_PAGE));
    const root = await this.s.sync.access(p, options, true);
    if (root.type === 'file') {
      yield encodePage([this.infos.info(p, root)]);
      return;
    }
    throwIfCancelled(options.signal, `listStatus of ${p}`);
    const ctx = this.infos.dirContext(p);
    let after = options.startAfter;
    for (;;) {
      const b = this.page(ctx, root.id, after, pageSize);
      if (b.page.n > 0) yield b.page;
      if (b.read < pageSize) return;
      after = b.last;
    }
  }

  /** One page of the children of directory `dirId` (at `ctx`) after `after`. */
  private page(ctx: DirContext, dirId: number, after: string | undefined, limit: number): Built {
    const key = `${dirId}\u0000${limit}\u0000${after === undefined ? '' : '\u0001' + after}`;
    const epoch = inodeEpoch(this.s.tree.store);
    const held = this.pages.get(key);
    if (held && held.epoch === epoch && held.path === ctx.path && held.mountPath === ctx.mountPath && held.ufsUri === ctx.ufsUri) {
      this.hits++;
      this.pages.delete(key); // most recently used last
      const fresh = this.refreshCachedBytes(held);
      this.pages.set(key, fresh);
      return fresh;
    }
    this.misses++;
    const built = this.build(ctx, dirId, after, limit, epoch);
    if (built) {
      this.pages.delete(key);
      this.pages.set(key, built);
      if (this.pages.size > this.maxPages) this.pages.delete(this.pages.keys().next().value!);
      return built;
    }
    return this.uncached(ctx, dirId, after, limit, epoch);
  }

  /** `b` with the cached bytes of its files as the block store has them now (a new page only when one changed). */
  private refreshCachedBytes(b: Built): Built {
    const blocks = this.s.blocks;
    let cb: Float64Array | undefined;
    for (let k = 0; k < b.files.length; k++) {
      const i = b.files[k]!;
      const v = blocks.cachedBytes(b.fileIds[k]!);
      if (v !== (cb ?? b.cb)[i]) (cb ??= Float64Array.from(b.cb))[i] = v;
    }
    if (!cb) return b;
    return { ...b, cb, page: { ...b.page, cb: numberColumn(cb) } };
  }

  /**
   * Build a page from the inode records; undefined when it holds a nested mount point (its
   * entry depends on the mount table) or an entry sent whole (its cached bytes would not be
   * refreshed): such a page is built by `uncached` every time.
   */
  private build(ctx: DirContext, dirId: number, after: string | undefined, limit: number, epoch: number): Built | undefined {
    const children = this.s.tree.listChildren(dirId, after, limit);
    for (const c of children) if (c.mountId !== undefined) return undefined;
    const built = this.columns(ctx, children, epoch);
    for (const e of built.page.x) if (e.length === 3) return undefined;
    return built;
  }

  /** A page never cached (it holds a nested mount point): through FileInfo and encodePage. */
  private uncached(ctx: DirContext, dirId: number, after: string | undefined, limit: number, epoch: number): Built {
    const children = this.s.tree.listChildren(dirId, after, limit);
    const page = encodePage(children.map((c) => this.infos.childInfo(ctx, c)));
    return {
      epoch, path: ctx.path, mountPath: ctx.mountPath, ufsUri: ctx.ufsUri, page, read: children.length,
      last: children.length ? children[children.length - 1]!.name : undefined,
      files: new Int32Array(0), fileIds: new Float64Array(0), cb: new Float64Array(0),
    };
  }

  /** The columns of the children of one directory (what encodePage makes of their FileInfo). */
  private columns(ctx: DirContext, children: readonly InodeRecord[], epoch: number): Built {
    const n = children.length;
    const blocks = this.s.blocks;
    const { names, pi, mi, ui, fl, len, mt, fid, cb, ttl, mode, at, ct } = newColumns(n);
    const x: ColumnarPage['x'] = [];
    const fileIdx: number[] = [];
    const fileIds: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = children[i]!;
      const ps = PS_INDEX.get(c.ps);
      const isFile = c.type === 'file';
      if ((!isFile && c.type !== 'directory') || ps === undefined || typeof c.name !== 'string' || !isPlain(c.length) || !isPlain(c.mtimeMs) ||
          (c.ctimeMs !== undefined && !isPlain(c.ctimeMs)) || (c.atimeMs !== undefined && !isPlain(c.atimeMs)) ||
          !isPlain(c.fileId) || typeof c.pinned !== 'boolean' || (c.mode !== undefined && !isPlain(c.mode)) ||
          (c.ttlMs !== undefined && !isPlain(c.ttlMs)) || (c.ttlAction !== undefined && c.ttlAction !== 'free' && c.ttlAction !== 'delete')) {
        // Not what the columns carry: the entry travels whole, as encodePage would send it.
        names[i] = '';
        pi[i] = NO_INDEX; mi[i] = NO_INDEX; ui[i] = NO_INDEX;
        len[i] = NaN; mt[i] = NaN; fid[i] = NaN; cb[i] = NaN; ttl[i] = NaN; mode[i] = NaN; at[i] = NaN; ct[i] = NaN;
        x.push([i, { ...this.infos.childInfo(ctx, c) } as Record<string, unknown>, 1]);
        continue;
      }
      names[i] = c.name;
      // pi, mi, ui stay 0: the one path prefix, mount point and UFS prefix of this directory.
      fl[i] = (isFile ? 0 : 1) | (c.pinned ? 2 : 0) | ((c.ttlAction === undefined ? 0 : c.ttlAction === 'free' ? 1 : 2) << 3) | (ps << 5);
      len[i] = c.length; mt[i] = c.mtimeMs; fid[i] = c.fileId; at[i] = atimeOf(c); ct[i] = ctimeOf(c);
      if (isFile) {
        cb[i] = blocks.cachedBytes(c.fileId);
        fileIdx.push(i);
        fileIds.push(c.fileId);
      }
      ttl[i] = c.ttlMs ?? NaN; mode[i] = c.mode ?? NaN;
      // The fields FileInfoMapper adds only when set (file-info.ts).
      const subdirs = isFile ? 0 : this.s.tree.subdirs(c.id);
      if (c.uid !== undefined || c.gid !== undefined || c.persistAttempts || c.lastPersistError || c.ufsEtag || c.xattr || subdirs > 0 || c.node !== undefined) {
        const extra: Record<string, unknown> = {};
        if (c.uid !== undefined) extra.uid = c.uid;
        if (c.gid !== undefined) extra.gid = c.gid;
        if (c.persistAttempts) extra.persistAttempts = c.persistAttempts;
        if (c.xattr && Object.keys(c.xattr).length) extra.xattr = { ...c.xattr };
        if (c.lastPersistError) extra.lastPersistError = c.lastPersistError;
        if (c.ufsEtag) extra.ufsEtag = c.ufsEtag;
        if (subdirs > 0) extra.subdirs = subdirs;
        if (c.node !== undefined) Object.assign(extra, nodeFields(c));
        if (Object.keys(extra).length) x.push([i, extra]);
      }
    }
    const slash = (s: string): string => (s.endsWith('/') ? s : `${s}/`);
    const page: ColumnarPage = {
      f: PAGE_FORMAT, n, names, pp: [slash(ctx.path)], pi: bytesOf(pi), mp: [ctx.mountPath], mi: bytesOf(mi), up: [slash(ctx.ufsUri)], ui: bytesOf(ui), fl,
      len: numberColumn(len), mt: numberColumn(mt), fid: numberColumn(fid), cb: numberColumn(cb), ttl: numberColumn(ttl), mode: numberColumn(mode),
      at: timeColumn(at, mt), ct: timeColumn(ct, mt), x,
    };
    return {
      epoch, path: ctx.path, mountPath: ctx.mountPath, ufsUri: ctx.ufsUri, page, read: n,
      last: n ? children[n - 1]!.name : undefined,
      files: Int32Array.from(fileIdx), fileIds: Float64Array.from(fileIds), cb: Float64Array.from(cb),
    };
  }
}
