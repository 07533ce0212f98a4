// The POSIX view of a Strata namespace (or subtree): FUSE operations by path over the
// FileSystem interface (TCP client or in-process Coordinator). Owns the open-file table
// (readers stream, writers buffer/stream/stage and commit atomically), a short-lived
// status cache fed by listings, POSIX rename/unlink rules on top of Strata's, and the
// user.strata.* extended attributes. Errors leave through the table in errno.ts.

import { mkdir, open as openFile, readdir, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { constants as fsc } from 'node:fs';
import type { FileSystem } from '../fs.js';
import { ErrorCode, StrataError, withoutStack } from '../errors.js';
import { MAX_PATH_BYTES } from '../meta/path.js';
import type { Logger } from '../log.js';
import type { CreateFileOptions, CreateNodeOptions, FileInfo, NodeKind, ReadOptions, SetAttributesOptions } from '../types.js';
import { clearDirectReads, E, FuseErrno, setDirectReads } from './binding.js';
import type { AttrCache, AttrEntry, FuseCaller, KnownDirs, FuseHandlers, FuseStat, FuseStatfs, FuseTime } from './binding.js';
import { DirListCache } from './dir-cache.js';
import { DirNames } from './dir-names.js';
import { nameTooLong } from './errno.js';
import { StreamingReader } from './reader.js';
import type { ShortCircuitReads, ShortCircuitStats } from './short-circuit.js';
import { FileWriter } from './writer.js';
import type { WantedAttributes } from './writer.js';

export interface StrataFuseOptions {
  fs: FileSystem;
  /** Strata path shown as the mount's root. */
  root: string;
  readOnly: boolean;
  /** Owner of entries whose inode has none (files loaded from a UFS). */
  defaultUid: number;
  defaultGid: number;
  /** How long a status read from the server (or a listing) is reused, ms (0: never). */
  attrTimeoutMs: number;
  stagingDir: string;
  /** Sequential bytes kept in memory before a write is streamed to the server. */
  writeBufferBytes: number;
  writeOptions: CreateFileOptions;
  readOptions: ReadOptions;
  log: Logger;
  /**
   * The block cache's files when it is on this machine (embedded mount): reads of a file whose
   * blocks are all cached are then served by the binding from those files on the FUSE threads.
   */
  localBlocks?: LocalBlockFiles;
  /**
   * Short-circuit reads for a daemon on the server's host (TCP): the server names a cached
   * file's block files and the binding reads them (used when `localBlocks` is absent).
   */
  shortCircuit?: ShortCircuitReads;
}

/** Where the cached blocks of a content id are, for a reader on the same machine. */
export interface LocalBlockFiles {
  readonly blockSize: number;
  localFile(fileId: number, index: number): { path: string; size: number } | undefined;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
/** The file-type bits of each kind of special file, and the kind of each (mknod's mode). */
const NODE_TYPE: Readonly<Record<NodeKind, number>> = {
  symlink: S_IFLNK, fifo: 0o010000, socket: 0o140000, char: 0o020000, block: 0o060000,
};
const KIND_OF_TYPE: ReadonlyMap<number, NodeKind> = new Map(Object.entries(NODE_TYPE).map(([k, t]) => [t, k as NodeKind]));
const O_ACCMODE = 3;
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
const STATUS_CACHE_MAX = 100_000;
const STATFS_TTL_MS = 5_000;
/** Names handed to the kernel per paged readdir call (it takes what fits in its buffer). */
const READDIR_PAGE = 512;
/** How long after this mount's last change a directory it created is known whole (outside additions show after that). */
const KNOWN_DIR_MS = 5_000;
/** Directories up to this many names are handed to libfuse whole (bounded memory, one hop). */
const WHOLE_DIR_MAX = 10_000;
/** Names fetched from the server per listing page. */
const LIST_PAGE = 1000;
/** Longest a created file's stat stays in the binding's cache (it is dropped at the first change anyway). */
const SEED_MS = 1000;

/** Extended attributes readable on every entry (getfattr -n user.strata.NAME). */
export const XATTRS = ['persistenceState', 'cachedBytes', 'fileId', 'ufsPath', 'pinned', 'mountPoint'] as const;
const XATTR_PREFIX = 'user.strata.';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

type Handle = { kind: 'read'; path: string; reader: StreamingReader; size: number; direct?: FileHandle[] }
  | { kind: 'write'; path: string; writer: FileWriter; reader?: StreamingReader };

/**
 * An open directory listed in pages: a window of names from entry `base` on, refilled from
 * one listStatus stream as the kernel's offset moves forward (a 100k-entry directory is never
 * one array); an offset behind the window (rewinddir) starts the stream again.
 */
interface DirListing {
  path: string;
  it: AsyncIterator<FileInfo[]> | undefined;
  base: number;
  names: string[];
  done: boolean;
  /** When the listing started (a whole one is cached from then on), and the mount's change count then. */
  since: number;
  changes: number;
  /** Entries of `names` from the server (the names after them are this mount's uncommitted creates). */
  listed?: number;
}

/** Handle numbers are unique in the process (the binding's direct-read table is process-wide). */
let nextHandleNumber = 1;

export class StrataFuse implements FuseHandlers {
  private readonly handles = new Map<number, Handle>();
  private readonly dirs = new Map<number, DirListing>();
  /** Writers by Strata path (for getattr of files being written and commits of the same path). */
  private readonly writers = new Map<string, Set<FileWriter>>();
  private readonly statusCache = new Map<string, { info: FileInfo; until: number }>();
  /**
   * The binding's attribute cache (getattr answered on the FUSE threads), fed with what
   * `remember` learns, in batches sent at the end of the current turn; never holds a path
   * with an open writer (whose size and mtime only JavaScript knows).
   */
  private attrCache: AttrCache | undefined;
  /** The binding's copy of `known` (lookups of names a known directory lacks answered there). */
  private knownDirs: KnownDirs | undefined;
  private readonly attrBatch = new Map<string, AttrEntry>();
  private attrFlushQueued = false;
  private statfsCache: { value: FuseStatfs; until: number } | undefined;
  private stageSeq = 0;
  /**
   * Directories this mount created, whose names it knows while it keeps changing them (a lookup
   * of another name there is ENOENT without a server call: the failed lookup before a create).
   */
  private readonly known: DirNames;
  /** Whole listings of directories (up to WHOLE_DIR_MAX names) reused within the attribute timeout. */
  private readonly listings: DirListCache;
  /** Calls of `forget` so far: a listing during which this mount changed anything is not cached. */
  private changes = 0;
  /** Files whose stat was put in the binding's cache at create and not dropped yet. */
  private readonly seeded = new Set<string>();

  constructor(private readonly o: StrataFuseOptions) {
    // Mirrored into the binding (once mounted), which then answers the lookups of absent names itself.
    const mount = (p: string): string | undefined => (this.knownDirs ? this.fusePath(p) : undefined);
    this.known = new DirNames(Math.min(o.attrTimeoutMs, KNOWN_DIR_MS), {
      known: (dir, names, until) => {
        const d = mount(dir);
        if (d === undefined) return;
        const paths: string[] = [];
        for (const n of names) paths.push(d === '/' ? `/${n}` : `${d}/${n}`);
        this.knownDirs!.known(d, paths, until);
      },
      present: (path, until) => { const f = mount(path); if (f !== undefined) this.knownDirs!.present(f, until); },
      gone: (path, until) => { const f = mount(path); if (f !== undefined) this.knownDirs!.gone(f, until); },
      forgetDir: (dir) => { const d = mount(dir); if (d !== undefined) this.knownDirs!.forgetDir(d); },
      clear: () => this.knownDirs?.clear(),
    });
    this.listings = new DirListCache(o.attrTimeoutMs);
  }

  /** Opens served by short-circuit reads and those that fell back to TCP (undefined: not a TCP mount on the server's host). */
  get shortCircuitStats(): ShortCircuitStats | undefined {
    return this.o.shortCircuit?.stats;
  }

  /** Create the staging directory (empty) and remove those of daemons that are gone. */
  async start(): Promise<void> {
    await mkdir(this.o.stagingDir, { recursive: true, mode: 0o700 });
    const parent = dirname(this.o.stagingDir);
    for (const name of await readdir(parent).catch(() => [] as string[])) {
      const m = /^strata-fuse-(\d+)-/.exec(name);
      if (!m || name === basename(this.o.stagingDir) || pidAlive(Number(m[1]))) continue;
      await rm(join(parent, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Commit every open writer (called before unmounting) and drop the staging directory. */
  async stop(): Promise<void> {
    for (const d of this.dirs.values()) await d.it?.return?.(undefined).catch(() => undefined);
    this.dirs.clear();
    for (const [fh, h] of this.handles) {
      if (h.kind === 'write') await h.writer.release().catch((err) => this.o.log.warn({ err, path: h.path }, 'commit at unmount failed'));
      else {
        if (h.direct) clearDirectReads(fh);
        await this.closeDirect(h);
        await h.reader.close();
      }
    }
    this.handles.clear();
    await rm(this.o.stagingDir, { recursive: true, force: true });
  }

  /** Number of open files (tests and the daemon's shutdown log). */
  get openFiles(): number {
    return this.handles.size;
  }

  // ------------------------------------------------------------------ paths and status

  private strataPath(p: string): string {
    if (nameTooLong(p)) throw new FuseErrno(E.ENAMETOOLONG, `a name in ${p} is longer than 255 bytes`);
    if (p === '/' || p === '') return this.o.root;
    const path = this.o.root === '/' ? p : this.o.root + p;
    // Strata's own limit on a whole path (MAX_PATH_BYTES, from the root of its namespace): a
    // longer one is ENAMETOOLONG, as on a local file system, not the EINVAL of INVALID_PATH.
    if (path.length > MAX_PATH_BYTES / 3 && Buffer.byteLength(path) > MAX_PATH_BYTES) {
      throw new FuseErrno(E.ENAMETOOLONG, `${p.slice(0, 64)}…: the Strata path is longer than ${MAX_PATH_BYTES} bytes`);
    }
    return path;
  }

  private writable(): void {
    if (this.o.readOnly) throw new FuseErrno(E.EROFS, 'the mount is read-only');
  }

  private parentOf(p: string): string {
    const i = p.lastIndexOf('/');
    return i <= 0 ? '/' : p.slice(0, i);
  }

  private remember(info: FileInfo): void {
    if (this.o.attrTimeoutMs <= 0) return;
    if (this.statusCache.size >= STATUS_CACHE_MAX) {
      const oldest = this.statusCache.keys().next().value;
      if (oldest !== undefined) this.statusCache.delete(oldest);
    }
    const until = Date.now() + this.o.attrTimeoutMs;
    this.statusCache.delete(info.path);
    this.statusCache.set(info.path, { info, until });
    // A known directory has every name whose status this mount holds (the binding's copy too).
    if (this.known.size) this.known.present(info.path);
    // The binding's cache carries no device number: device nodes are answered here.
    if (this.attrCache && !this.writers.has(info.path) && !info.rdev) {
      const path = this.fusePath(info.path);
      if (path !== undefined) {
        this.attrBatch.set(info.path, { path, stat: this.statOf(info), untilMs: until });
        if (!this.attrFlushQueued) {
          this.attrFlushQueued = true;
          queueMicrotask(() => this.flushAttrs());
        }
      }
    }
  }

  private flushAttrs(): void {
    this.attrFlushQueued = false;
    if (!this.attrCache || this.attrBatch.size === 0) return;
    const entries: AttrEntry[] = [];
    for (const [strataPath, e] of this.attrBatch) if (!this.writers.has(strataPath)) entries.push(e);
    this.attrBatch.clear();
    this.attrCache.put(entries);
  }

  /** The mount-relative path of a Strata path (undefined outside the mount's root). */
  private fusePath(path: string): string | undefined {
    const root = this.o.root;
    if (root === '/') return path;
    if (path === root) return '/';
    return path.startsWith(`${root}/`) ? path.slice(root.length) : undefined;
  }

  private forget(path: string, subtree = false): void {
    this.statusCache.delete(path);
    this.changes++;
    this.seeded.delete(path);
    this.listings.drop(this.parentOf(path));
    this.listings.drop(path);
    this.attrBatch.delete(path);
    const fp = this.attrCache ? this.fusePath(path) : undefined;
    if (fp !== undefined) this.attrCache!.remove(fp);
    if (subtree) {
      this.statusCache.clear();
      this.known.clear();
      this.listings.clear();
      this.attrBatch.clear();
      this.attrCache?.clear();
    }
  }

  /** The binding's attribute cache of this mount (called once mounted). */
  attachAttrCache(cache: AttrCache): void {
    this.attrCache = cache;
  }

  /** The binding's copy of the known directories (called once mounted). */
  attachKnownDirs(known: KnownDirs): void {
    this.knownDirs = known;
  }

  private async status(path: string): Promise<FileInfo> {
    const c = this.statusCache.get(path);
    if (c && c.until > Date.now()) return c.info;
    // The lookup before every create of a new name lands here: an answer, not a fault (no stack).
    if (this.known.absent(path)) throw withoutStack(() => new StrataError(ErrorCode.NOT_FOUND, `${path} does not exist (its directory was listed a moment ago)`));
    const info = await this.o.fs.getStatus(path);
    this.remember(info);
    return info;
  }

  private async tryStatus(path: string): Promise<FileInfo | undefined> {
    try {
      return await this.status(path);
    } catch (err) {
      if (err instanceof StrataError && err.code === ErrorCode.NOT_FOUND) return undefined;
      throw err;
    }
  }

  private statOf(info: FileInfo): FuseStat {
    const dir = info.type === 'directory';
    const mode = (info.mode ?? (dir ? DIR_MODE : FILE_MODE)) & 0o7777;
    const t = info.mtimeMs;
    const st: FuseStat = {
      mode: (dir ? S_IFDIR : info.node ? NODE_TYPE[info.node] : S_IFREG) | mode,
      uid: info.uid ?? this.o.defaultUid,
      gid: info.gid ?? this.o.defaultGid,
      size: dir ? 4096 : info.length,
      // A directory: itself, its `.`, and each subdirectory's `..` (the count the server keeps).
      nlink: dir ? 2 + (info.subdirs ?? 0) : 1,
      mtimeMs: t, atimeMs: info.atimeMs ?? t, ctimeMs: info.ctimeMs ?? t,
      blksize: 1 << 20,
      blocks: info.node ? 0 : Math.ceil((dir ? 4096 : info.length) / 512),
    };
    if (info.rdev) st.rdev = info.rdev;
    return st;
  }

  private writerOf(path: string): FileWriter | undefined {
    const set = this.writers.get(path);
    if (!set) return undefined;
    // A writer whose release is under way (the kernel sends RELEASE after close returns) is
    // gone: a truncate or open that follows the close must not stage through it again.
    let last: FileWriter | undefined;
    for (const w of set) if (!w.closed) last = w;
    return last;
  }

  /** A writer of a file it created that is not committed yet (the file is not in Strata). */
  private pendingNew(path: string): FileWriter | undefined {
    const w = this.writerOf(path);
    return w?.exclusive ? w : undefined;
  }

  async getattr(p: string): Promise<FuseStat> {
    const path = this.strataPath(p);
    const pending = this.pendingNew(path);
    if (pending) {
      const t = pending.wanted.mtimeMs ?? pending.mtimeMs;
      return {
        mode: S_IFREG | (pending.wanted.mode ?? FILE_MODE), uid: pending.wanted.uid ?? this.o.defaultUid,
        gid: pending.wanted.gid ?? this.o.defaultGid, size: pending.size, nlink: 1,
        mtimeMs: t, atimeMs: pending.wanted.atimeMs ?? t, ctimeMs: pending.ctimeMs, blksize: 1 << 20, blocks: Math.ceil(pending.size / 512),
      };
    }
    const st = this.statOf(await this.status(path));
    const w = this.writerOf(path);
    if (w && w.dirty) {
      st.size = w.size;
      st.blocks = Math.ceil(w.size / 512);
      st.mtimeMs = w.wanted.mtimeMs ?? w.mtimeMs;
      st.ctimeMs = Math.max(st.ctimeMs, w.ctimeMs);
      if (w.wanted.atimeMs !== undefined) st.atimeMs = w.wanted.atimeMs;
    }
    return st;
  }

  /**
   * Every name of a directory (the stock binding only, which takes one array per directory:
   * see docs/fuse.md), read from the server in pages that also prime the status cache, so the
   * stat() calls that follow a listing are answered locally. The corrected binding lists in
   * pages instead (opendir, readdirPage, releasedir).
   */
  async readdir(p: string): Promise<string[]> {
    const path = this.strataPath(p);
    const names = ['.', '..'];
    for await (const page of this.o.fs.listStatus(path, { pageSize: LIST_PAGE })) {
      for (const info of page) {
        if (info.path === path) {
          if (info.type === 'file') throw new FuseErrno(E.ENOTDIR, `${path} is a file`);
          continue;
        }
        names.push(info.name);
        this.remember(info);
      }
    }
    // Files created through this mount and still open (not in Strata until their first commit).
    names.push(...this.pendingNames(path));
    return names;
  }

  async opendir(p: string): Promise<number> {
    const path = this.strataPath(p);
    const fh = this.newHandleNumber();
    this.dirs.set(fh, { path, it: undefined, base: 0, names: [], done: false, since: Date.now(), changes: this.changes });
    return fh;
  }

  /**
   * A directory of up to WHOLE_DIR_MAX names is handed to libfuse whole at the first call (it
   * then answers the kernel's next calls itself: one hop per directory); a larger one goes in
   * pages of READDIR_PAGE names from a window that moves with the kernel's offset.
   */
  async readdirPage(p: string, fh: number, offset: number): Promise<{ names: string[]; whole: boolean }> {
    const d = this.dirs.get(fh);
    if (!d) throw new FuseErrno(E.EBADF, `no open directory ${fh}`);
    if (offset === 0 && !d.it) {
      // Listed whole within the attribute timeout (its statuses are still cached too): no server call.
      const cached = this.listings.get(d.path);
      if (cached) return { names: ['.', '..', ...cached, ...this.pendingNames(d.path)], whole: true };
      d.since = Date.now();
      d.changes = this.changes;
    }
    if (offset < d.base || !d.it) {
      await d.it?.return?.(undefined).catch(() => undefined);
      d.it = this.o.fs.listStatus(d.path, { pageSize: LIST_PAGE })[Symbol.asyncIterator]();
      d.base = 0;
      d.names = ['.', '..'];
      d.done = false;
    }
    // Forget what the kernel has taken, then fill the window up to a page past the offset.
    if (offset > d.base) {
      d.names = d.names.slice(Math.min(offset - d.base, d.names.length));
      d.base = offset;
    }
    const wanted = offset === 0 && d.base === 0 ? WHOLE_DIR_MAX + 2 : offset + READDIR_PAGE;
    while (!d.done && d.base + d.names.length < wanted) {
      const r = await d.it.next();
      if (r.done) {
        d.done = true;
        d.listed = d.names.length;
        d.names.push(...this.pendingNames(d.path));
        break;
      }
      for (const info of r.value) {
        if (info.path === d.path) {
          if (info.type === 'file') throw new FuseErrno(E.ENOTDIR, `${d.path} is a file`);
          continue;
        }
        d.names.push(info.name);
        this.remember(info);
      }
    }
    if (offset === 0 && d.base === 0 && d.done) {
      if (d.changes === this.changes) this.listings.put(d.path, d.names.slice(2, d.listed), d.since);
      return { names: d.names, whole: true };
    }
    const from = offset - d.base;
    return { names: from >= d.names.length ? [] : d.names.slice(from, from + READDIR_PAGE), whole: false };
  }

  async releasedir(_p: string, fh: number): Promise<void> {
    const d = this.dirs.get(fh);
    this.dirs.delete(fh);
    await d?.it?.return?.(undefined).catch(() => undefined);
  }

  /** Names of files created through this mount in `dir` and not committed yet (not in Strata). */
  private pendingNames(dir: string): string[] {
    const prefix = dir === '/' ? '/' : dir + '/';
    const out: string[] = [];
    for (const [wp, set] of this.writers) {
      if (!wp.startsWith(prefix) || wp.indexOf('/', prefix.length) >= 0) continue;
      if ([...set].some((w) => w.exclusive)) out.push(wp.slice(prefix.length));
    }
    return out;
  }

  // ------------------------------------------------------------------ open files

  private newHandleNumber(): number {
    let fh = nextHandleNumber;
    while (this.handles.has(fh) || this.dirs.has(fh) || fh === 0) fh = (fh + 1) >>> 0;
    nextHandleNumber = (fh + 1) >>> 0 || 1;
    return fh;
  }

  private addHandle(h: Handle): number {
    const fh = this.newHandleNumber();
    this.handles.set(fh, h);
    if (h.kind === 'write') {
      let set = this.writers.get(h.path);
      if (!set) this.writers.set(h.path, (set = new Set()));
      set.add(h.writer);
      this.forgetAttr(h.path);
    }
    return fh;
  }

  private handle(fh: number): Handle {
    const h = this.handles.get(fh);
    if (!h) throw new FuseErrno(E.EBADF, `no open file ${fh}`);
    return h;
  }

  /** Drop a path from the binding's attribute cache only (a writer opens on it). */
  private forgetAttr(path: string): void {
    this.attrBatch.delete(path);
    const fp = this.attrCache ? this.fusePath(path) : undefined;
    if (fp !== undefined) this.attrCache!.remove(fp);
  }

  private unregisterWriter(path: string, w: FileWriter): void {
    const set = this.writers.get(path);
    if (!set) return;
    set.delete(w);
    if (!set.size) this.writers.delete(path);
  }

  /** Follow a path change libfuse reports (rename, hidden unlinked file) in the handle. */
  private track(h: Handle, path: string): void {
    if (h.path === path) return;
    if (h.kind === 'write') {
      this.unregisterWriter(h.path, h.writer);
      h.writer.path = path;
      let set = this.writers.get(path);
      if (!set) this.writers.set(path, (set = new Set()));
      set.add(h.writer);
      this.forgetAttr(path);
    }
    h.path = path;
    (h.kind === 'read' ? h.reader : h.reader)?.setPath(path);
  }

  private writerContext() {
    return {
      fs: this.o.fs,
      stagingDir: this.o.stagingDir,
      bufferBytes: this.o.writeBufferBytes,
      writeOptions: this.o.writeOptions,
      readOptions: this.o.readOptions,
      nextStageName: () => `w-${process.pid}-${++this.stageSeq}`,
      committed: (path: string, info: FileInfo, wanted: WantedAttributes, created: boolean) => this.afterCommit(path, info, wanted, created),
      settleOthers: (path: string, self: FileWriter) => this.settle(path, self),
    };
  }

  /**
   * A commit makes a new inode: put back the mode, owner and times the file should keep. A
   * commit that created the name changed its directory at the file's ctime (one transaction).
   */
  private async afterCommit(path: string, info: FileInfo, wanted: WantedAttributes, created: boolean): Promise<void> {
    const change: SetAttributesOptions = {};
    if (wanted.mode !== undefined && (info.mode ?? FILE_MODE) !== wanted.mode) change.mode = wanted.mode;
    if (wanted.uid !== undefined && (info.uid ?? this.o.defaultUid) !== wanted.uid) change.uid = wanted.uid;
    if (wanted.gid !== undefined && (info.gid ?? this.o.defaultGid) !== wanted.gid) change.gid = wanted.gid;
    if (wanted.mtimeMs !== undefined) change.mtimeMs = wanted.mtimeMs;
    if (wanted.atimeMs !== undefined) change.atimeMs = wanted.atimeMs;
    let now = info;
    if (Object.keys(change).length) now = await this.o.fs.setAttributes(path, change);
    this.forget(path);
    this.remember(now);
    if (created) this.dirChanged(this.parentOf(path), info.ctimeMs);
  }

  /**
   * The directory `dir` got or lost a name through this mount: POSIX changed its mtime and
   * ctime. With the time the server set (`atMs`, from the status the same commit returned) the
   * cached status is brought up to date in place, so a loop of creates costs no status call of
   * the directory; without it the cached status goes (the next stat asks the server).
   */
  private dirChanged(dir: string, atMs?: number, subdirsAdded = 0): void {
    const c = this.statusCache.get(dir);
    if (atMs !== undefined && c && c.until > Date.now()) {
      const subdirs = (c.info.subdirs ?? 0) + subdirsAdded;
      const { subdirs: _old, ...rest } = c.info;
      this.remember({ ...rest, mtimeMs: atMs, ctimeMs: atMs, ...(subdirs > 0 ? { subdirs } : {}) });
      return;
    }
    this.statusCache.delete(dir);
    this.forgetAttr(dir);
  }

  /** End the sequential streams of writers of `path` (other than `self`): they hold its lock. */
  private async settle(path: string, self?: FileWriter): Promise<void> {
    const set = this.writers.get(path);
    if (!set) return;
    for (const w of [...set]) if (w !== self) await w.settle();
  }

  private wantedOf(info: FileInfo): WantedAttributes {
    return {
      mode: (info.mode ?? FILE_MODE) & 0o7777,
      ...(info.uid !== undefined ? { uid: info.uid } : {}),
      ...(info.gid !== undefined ? { gid: info.gid } : {}),
    };
  }

  async open(p: string, flags: number): Promise<number> {
    const path = this.strataPath(p);
    await this.materialize(path);
    const info = await this.status(path);
    if (info.type === 'directory') throw new FuseErrno(E.EISDIR, `${path} is a directory`);
    const access = flags & O_ACCMODE;
    if (access === fsc.O_RDONLY) {
      if (flags & fsc.O_TRUNC) this.writable();
      const direct = this.o.localBlocks || !this.o.shortCircuit ? await this.openBlockFiles(info) : await this.o.shortCircuit.open(path, info);
      const fh = this.addHandle({ kind: 'read', path, size: info.length, reader: new StreamingReader(this.o.fs, path, this.o.readOptions), direct: direct?.files });
      if (direct && !setDirectReads(fh, direct.files.map((f) => f.fd), direct.ends)) await this.closeDirect(this.handles.get(fh));
      return fh;
    }
    this.writable();
    // The file may be in the middle of a write by another handle: start from what it holds.
    const other = this.writerOf(path);
    const base = other?.dirty ? other.size : info.length;
    if (other?.dirty) await other.commit();
    const truncate = (flags & fsc.O_TRUNC) !== 0;
    const writer = new FileWriter(this.writerContext(), path, base, truncate, this.wantedOf(info));
    const fh = this.addHandle({ kind: 'write', path, writer });
    if (truncate) {
      // POSIX: O_TRUNC of an existing file changes its mtime and ctime even when nothing is
      // written (and empties it for every other reader): the empty file is committed now.
      writer.dirty = true;
      try {
        await writer.commit();
      } catch (err) {
        this.handles.delete(fh);
        this.unregisterWriter(path, writer);
        await writer.discard().catch(() => undefined);
        throw err;
      }
    }
    return fh;
  }

  /**
   * Create a new file and open it for writing. The file enters Strata at its first commit
   * (close, fsync), created exclusively: one Strata write per small file. Until then this
   * mount shows it (lookups, listings) and the kernel serialises creates in a directory, so
   * O_EXCL is atomic within the mount; across clients the loser's close fails with EEXIST.
   */
  async create(p: string, mode: number, caller?: FuseCaller): Promise<number> {
    this.writable();
    const path = this.strataPath(p);
    // The kernel calls create only after a lookup of the name failed a moment ago (no negative
    // caching): no second lookup here; the exclusive first commit catches a racing creator.
    if (this.pendingNew(path)) throw new FuseErrno(E.EEXIST, `${path} is being created`);
    const parent = await this.status(this.parentOf(path));
    if (parent.type !== 'directory') throw new FuseErrno(E.ENOTDIR, `${this.parentOf(path)} is not a directory`);
    const wanted: WantedAttributes = { mode: mode & 0o7777, uid: caller?.uid ?? this.o.defaultUid, gid: caller?.gid ?? this.o.defaultGid };
    const writer = new FileWriter(this.writerContext(), path, 0, false, wanted, true);
    this.known.added(path);
    const fh = this.addHandle({ kind: 'write', path, writer });
    this.seedCreated(p, path, writer);
    return fh;
  }

  /**
   * libfuse asks getattr of a new file right after create: its stat (empty, the creator's mode
   * and owner) is put in the binding's cache so that answer needs no hop to JavaScript. It
   * lives a second at most and is dropped by the first write, truncate or attribute change
   * (`unseed`), by the commit and by any rename or unlink (`forget`), so the binding never
   * answers a size or mtime that only the writer knows.
   */
  private seedCreated(fusePath: string, path: string, w: FileWriter): void {
    if (!this.attrCache) return;
    const t = w.mtimeMs;
    const stat: FuseStat = {
      mode: S_IFREG | (w.wanted.mode ?? FILE_MODE), uid: w.wanted.uid ?? this.o.defaultUid, gid: w.wanted.gid ?? this.o.defaultGid,
      size: 0, nlink: 1, mtimeMs: t, atimeMs: t, ctimeMs: w.ctimeMs, blksize: 1 << 20, blocks: 0,
    };
    this.attrCache.put([{ path: fusePath, stat, untilMs: Date.now() + SEED_MS }]);
    this.seeded.add(path);
  }

  /** Drop the stat seeded at create (the file is about to change). */
  private unseed(path: string): void {
    if (this.seeded.delete(path)) this.forgetAttr(path);
  }

  /**
   * The opened block files of a file cached whole on this machine, with the end offset of each
   * (an embedded mount); undefined when not every block is a local file. An fd stays valid when
   * the block is evicted meanwhile, and a block file's content never changes under its name, so
   * the reader sees this version until it closes (as with the streaming reader).
   */
  private async openBlockFiles(info: FileInfo): Promise<{ files: FileHandle[]; ends: number[] } | undefined> {
    const lb = this.o.localBlocks;
    if (!lb || info.type !== 'file' || info.length === 0 || info.cachedBytes !== info.length) return undefined;
    const files: FileHandle[] = [];
    const ends: number[] = [];
    let end = 0;
    try {
      for (let i = 0; end < info.length; i++) {
        const lf = lb.localFile(info.fileId, i);
        if (!lf || lf.size === 0) throw new Error('not a local block file');
        files.push(await openFile(lf.path, 'r'));
        end += lf.size;
        ends.push(end);
      }
      if (end !== info.length) throw new Error('blocks do not add up to the file');
      return { files, ends };
    } catch {
      for (const f of files) await f.close().catch(() => undefined);
      return undefined;
    }
  }

  private async closeDirect(h: Handle | undefined): Promise<void> {
    if (h?.kind !== 'read' || !h.direct) return;
    const files = h.direct;
    h.direct = undefined;
    for (const f of files) await f.close().catch(() => undefined);
  }

  /** Commit a file created through this mount that is not in Strata yet (another call needs it there). */
  private async materialize(path: string): Promise<void> {
    const w = this.pendingNew(path);
    if (w) await w.commit();
  }

  async read(p: string, fh: number, buf: Buffer, position: number): Promise<number> {
    const h = this.handle(fh);
    this.track(h, this.strataPath(p));
    if (h.kind === 'write') {
      const n = await h.writer.read(buf, position);
      if (n !== undefined) return n;
      if (position >= h.writer.size) return 0;
      h.reader ??= new StreamingReader(this.o.fs, h.path, this.o.readOptions);
      return h.reader.read(buf.length > h.writer.size - position ? buf.subarray(0, h.writer.size - position) : buf, position);
    }
    if (position >= h.size) {
      // The file may have grown since open (another writer): look again before saying EOF.
      const info = await this.o.fs.getStatus(h.path).catch(() => undefined);
      if (!info || position >= info.length) return 0;
      h.size = info.length;
    }
    return h.reader.read(buf, position);
  }

  async write(p: string, fh: number, data: Buffer, position: number): Promise<number> {
    const h = this.handle(fh);
    this.track(h, this.strataPath(p));
    if (h.kind !== 'write') throw new FuseErrno(E.EBADF, 'the file is not open for writing');
    this.unseed(h.path);
    if (h.reader) {
      await h.reader.close();
      h.reader = undefined;
    }
    return h.writer.write(data, position);
  }

  async flush(p: string, fh: number): Promise<void> {
    const h = this.handle(fh);
    if (h.kind === 'write') {
      this.track(h, this.strataPath(p));
      await h.writer.commit();
    }
  }

  async fsync(p: string, fh: number): Promise<void> {
    return this.flush(p, fh);
  }

  async release(p: string, fh: number): Promise<void> {
    const h = this.handles.get(fh);
    if (!h) return;
    this.handles.delete(fh);
    try {
      if (p) this.track(h, this.strataPath(p));
    } catch {
      // keep the last known path
    }
    if (h.kind === 'read') {
      if (h.direct) {
        clearDirectReads(fh);
        await this.closeDirect(h);
      }
      await h.reader.close();
      return;
    }
    await h.reader?.close();
    try {
      await h.writer.release();
    } finally {
      this.unregisterWriter(h.path, h.writer);
      this.unseed(h.path);
    }
  }

  async truncate(p: string, size: number): Promise<void> {
    this.writable();
    const path = this.strataPath(p);
    this.unseed(path);
    const w = this.writerOf(path);
    if (w) {
      await w.truncate(size);
      await w.commit();
      return;
    }
    const info = await this.status(path);
    if (info.type === 'directory') throw new FuseErrno(E.EISDIR, `${path} is a directory`);
    if (size === info.length) return;
    const writer = new FileWriter(this.writerContext(), path, info.length, false, this.wantedOf(info));
    try {
      await writer.truncate(size);
      await writer.commit();
    } finally {
      await writer.release();
    }
  }

  async ftruncate(p: string, fh: number, size: number): Promise<void> {
    this.writable();
    const h = this.handle(fh);
    this.track(h, this.strataPath(p));
    if (h.kind !== 'write') throw new FuseErrno(E.EBADF, 'the file is not open for writing');
    this.unseed(h.path);
    await h.writer.truncate(size);
  }

  // ------------------------------------------------------------------ namespace

  async unlink(p: string): Promise<void> {
    this.writable();
    const path = this.strataPath(p);
    const pending = this.pendingNew(path);
    if (pending) {
      await pending.discard();
      this.known.removed(path);
      return;
    }
    const info = await this.status(path);
    if (info.type === 'directory') throw new FuseErrno(E.EISDIR, `${path} is a directory`);
    await this.settle(path);
    await this.o.fs.delete(path);
    this.forget(path);
    this.dirChanged(this.parentOf(path));
    this.known.removed(path);
    const set = this.writers.get(path);
    if (set) for (const w of set) await w.discard();
  }

  async mkdir(p: string, mode: number, caller?: FuseCaller): Promise<void> {
    this.writable();
    const path = this.strataPath(p);
    let info = await this.o.fs.createDirectory(path, { writeType: this.o.writeOptions.writeType });
    const change: SetAttributesOptions = {};
    if ((info.mode ?? DIR_MODE) !== (mode & 0o7777)) change.mode = mode & 0o7777;
    if (caller && caller.uid !== (info.uid ?? this.o.defaultUid)) change.uid = caller.uid;
    if (caller && caller.gid !== (info.gid ?? this.o.defaultGid)) change.gid = caller.gid;
    const created = info;
    if (Object.keys(change).length) info = await this.o.fs.setAttributes(path, change);
    this.forget(path);
    this.remember(info);
    this.dirChanged(this.parentOf(path), created.ctimeMs, 1);
    this.known.added(path);
    this.known.set(path, []); // created empty, through this mount
  }

  async rmdir(p: string): Promise<void> {
    this.writable();
    const path = this.strataPath(p);
    if (path === this.o.root) throw new FuseErrno(E.EBUSY, 'the root of the mount cannot be removed');
    const info = await this.status(path);
    if (info.type !== 'directory') throw new FuseErrno(E.ENOTDIR, `${path} is not a directory`);
    if (info.isMountPoint) throw new FuseErrno(E.EBUSY, `${path} is a Strata mount point`);
    await this.o.fs.delete(path, { recursive: false });
    this.forget(path, true);
    this.dirChanged(this.parentOf(path));
    this.known.removed(path);
  }

  /**
   * POSIX rename over Strata's: an existing destination is replaced (a file by a file, an
   * empty directory by a directory), a move between Strata mounts is EXDEV so that `mv`
   * copies. The replacement is two calls (delete, then rename), not one atomic step.
   */
  async rename(ps: string, pd: string): Promise<void> {
    this.writable();
    const src = this.strataPath(ps);
    const dst = this.strataPath(pd);
    if (src === dst) return;
    if (dst.startsWith(src + '/')) throw new FuseErrno(E.EINVAL, `cannot move ${src} into itself`);
    await this.materialize(src);
    await this.materialize(dst);
    const s = await this.status(src);
    if (s.isMountPoint) throw new FuseErrno(E.EBUSY, `${src} is a Strata mount point`);
    const parent = await this.status(this.parentOf(dst));
    if (parent.type !== 'directory') throw new FuseErrno(E.ENOTDIR, `${this.parentOf(dst)} is not a directory`);
    const dstMount = parent.isMountPoint ? parent.path : parent.mountPoint;
    if (dstMount !== s.mountPoint) throw new FuseErrno(E.EXDEV, `${src} (on ${s.mountPoint}) and ${dst} (on ${dstMount}) are on different Strata mounts`);
    await this.settle(src);
    await this.settle(dst);
    const d = await this.tryStatus(dst);
    if (d) {
      if (d.isMountPoint) throw new FuseErrno(E.EBUSY, `${dst} is a Strata mount point`);
      if (d.type === 'directory' && s.type !== 'directory') throw new FuseErrno(E.EISDIR, `${dst} is a directory`);
      if (d.type !== 'directory' && s.type === 'directory') throw new FuseErrno(E.ENOTDIR, `${dst} is not a directory`);
      await this.o.fs.delete(dst, { recursive: false });
      this.forget(dst);
    }
    await this.o.fs.rename(src, dst);
    this.forget(src, s.type === 'directory');
    this.forget(dst);
    this.dirChanged(this.parentOf(src));
    this.dirChanged(this.parentOf(dst));
    this.known.removed(src);
    this.known.added(dst);
    // Open files below the old name follow it.
    for (const h of this.handles.values()) {
      if (h.path === src) this.track(h, dst);
      else if (h.path.startsWith(src + '/')) this.track(h, dst + h.path.slice(src.length));
    }
  }

  private async setAttributes(p: string, change: SetAttributesOptions): Promise<void> {
    this.writable();
    const path = this.strataPath(p);
    this.unseed(path);
    const set = this.writers.get(path);
    if (set) {
      const now = Date.now();
      for (const w of set) {
        Object.assign(w.wanted, change);
        w.ctimeMs = now;
      }
      if (this.pendingNew(path)) return; // applied at its first commit
      await this.settle(path);
    }
    const info = await this.o.fs.setAttributes(path, change);
    this.forget(path);
    this.remember(info);
  }

  /**
   * Set the access and modification times; either may be the current time ('now') or left as
   * it is ('omit': UTIME_OMIT). The ctime becomes the time of the call, unless both are omitted
   * (then nothing changes, as in utimensat(2)).
   */
  async utimens(p: string, atime: FuseTime, mtime: FuseTime): Promise<void> {
    if (atime === 'omit' && mtime === 'omit') {
      this.writable();
      await this.status(this.strataPath(p)).catch((err) => {
        if (!this.pendingNew(this.strataPath(p))) throw err;
      });
      return;
    }
    const now = Date.now();
    const change: SetAttributesOptions = {};
    if (atime !== 'omit') change.atimeMs = atime === 'now' ? now : atime;
    if (mtime !== 'omit') change.mtimeMs = mtime === 'now' ? now : mtime;
    await this.setAttributes(p, change);
  }

  async chmod(p: string, mode: number): Promise<void> {
    await this.setAttributes(p, { mode: mode & 0o7777 });
  }

  async chown(p: string, uid: number, gid: number): Promise<void> {
    const change: SetAttributesOptions = {};
    if (uid !== 0xffffffff && uid !== -1) change.uid = uid;
    if (gid !== 0xffffffff && gid !== -1) change.gid = gid;
    if (Object.keys(change).length) await this.setAttributes(p, change);
  }

  async statfs(): Promise<FuseStatfs> {
    const now = Date.now();
    if (this.statfsCache && this.statfsCache.until > now) return this.statfsCache.value;
    const bsize = 4096;
    let capacity = 1 << 30;
    let used = 0;
    try {
      const r = await this.o.fs.getReport();
      capacity = r.cache.capacityBytes;
      used = r.cache.usedBytes;
    } catch (err) {
      // Reports are an admin call: a user's mount shows the default figures.
      if (!(err instanceof StrataError && err.code === ErrorCode.PERMISSION_DENIED)) throw err;
    }
    const blocks = Math.min(0xffffffff, Math.floor(capacity / bsize));
    const free = Math.min(blocks, Math.max(0, Math.floor((capacity - used) / bsize)));
    const value: FuseStatfs = {
      bsize, frsize: bsize, blocks, bfree: free, bavail: free,
      files: 0xffffffff, ffree: 0xfffffff0, favail: 0xfffffff0, namemax: 255,
    };
    this.statfsCache = { value, until: now + STATFS_TTL_MS };
    return value;
  }

  // ------------------------------------------------------------------ extended attributes

  async getxattr(p: string, name: string): Promise<Buffer | null> {
    if (!name.startsWith(XATTR_PREFIX)) return null; // security.capability on every write: answered here
    const key = name.slice(XATTR_PREFIX.length);
    if (!(XATTRS as readonly string[]).includes(key)) return null;
    const path = this.strataPath(p);
    await this.materialize(path);
    const info = await this.o.fs.getStatus(path);
    const v = (info as unknown as Record<string, unknown>)[key];
    if (v === undefined) return null;
    return Buffer.from(String(v));
  }

  async setxattr(p: string, name: string, value: Buffer): Promise<void> {
    if (name !== `${XATTR_PREFIX}pin` && name !== `${XATTR_PREFIX}pinned`) {
      throw new FuseErrno(E.ENOTSUP, `extended attribute ${name} cannot be set (only ${XATTR_PREFIX}pin)`);
    }
    const v = value.toString('utf8').trim().toLowerCase();
    if (!['1', '0', 'true', 'false'].includes(v)) throw new FuseErrno(E.EINVAL, `${name} takes 1 or 0, got ${JSON.stringify(v)}`);
    const path = this.strataPath(p);
    await this.materialize(path);
    await this.o.fs.setPinned(path, v === '1' || v === 'true', { recursive: true });
    this.forget(path);
  }

  async listxattr(p: string): Promise<string[]> {
    const path = this.strataPath(p);
    if (this.pendingNew(path)) return [];
    await this.status(path);
    return XATTRS.map((k) => XATTR_PREFIX + k);
  }

  async removexattr(p: string, name: string): Promise<void> {
    if (name === `${XATTR_PREFIX}pin` || name === `${XATTR_PREFIX}pinned`) {
      await this.o.fs.setPinned(this.strataPath(p), false, { recursive: true });
      return;
    }
    throw new FuseErrno(E.ENOTSUP, `extended attribute ${name} cannot be removed`);
  }

  // ------------------------------------------------------------------ special files

  /**
   * A special file (symbolic link, FIFO, socket, device node) as a namespace inode of its own:
   * the kernel opens FIFOs, sockets and devices itself and follows links with readlink, so the
   * daemon only creates them and answers their attributes.
   */
  private async createNode(p: string, options: CreateNodeOptions, caller?: FuseCaller): Promise<void> {
    this.writable();
    const path = this.strataPath(p);
    if (this.pendingNew(path)) throw new FuseErrno(E.EEXIST, `${path} exists`);
    const o: CreateNodeOptions = { ...options };
    if (caller && caller.uid !== this.o.defaultUid) o.uid = caller.uid;
    if (caller && caller.gid !== this.o.defaultGid) o.gid = caller.gid;
    const info = await this.o.fs.createNode(path, o);
    this.forget(path);
    this.remember(info);
    this.dirChanged(this.parentOf(path), info.ctimeMs);
    this.known.added(path);
  }

  async symlink(target: string, p: string, caller?: FuseCaller): Promise<void> {
    await this.createNode(p, { kind: 'symlink', target }, caller);
  }

  async readlink(p: string): Promise<string> {
    const info = await this.status(this.strataPath(p));
    if (info.node !== 'symlink' || info.target === undefined) throw new FuseErrno(E.EINVAL, `${info.path} is not a symbolic link`);
    return info.target;
  }

  async mknod(p: string, mode: number, dev: number, caller?: FuseCaller): Promise<void> {
    const type = mode & S_IFMT;
    if (type === S_IFREG || type === 0) {
      const fh = await this.create(p, mode, caller);
      await this.release(p, fh);
      return;
    }
    const kind = KIND_OF_TYPE.get(type);
    if (kind === undefined || kind === 'symlink') throw new FuseErrno(E.EINVAL, `mknod of file type 0${type.toString(8)}`);
    await this.createNode(p, { kind, mode: mode & 0o7777, ...(kind === 'char' || kind === 'block' ? { rdev: dev >>> 0 } : {}) }, caller);
  }

  // ------------------------------------------------------------------ what Strata has not

  async link(): Promise<void> {
    throw new FuseErrno(E.EPERM, 'hard links are not supported');
  }
}
