// The local-disk UFS (`file:///abs/path`): one directory served through the Ufs interface.
// Guarantees: writes are atomic (temp file in the same directory + fsync + rename), temp files
// are never listed, and no path, symlink or parent symlink ever reaches outside the root.
//
// Symlink policy (the security contract of this module):
// - Every access resolves the real path (realpath) and refuses with PERMISSION_DENIED when it
//   leaves the real root, or when it re-enters a directory already on its own path (a loop).
// - Listings skip symlinks whose target escapes the root, dangles, or would loop; symlinks
//   inside the root appear as their target's type (a file or a directory) and are followed.
// - write/mkdir/rename resolve the parent directory the same way, so a symlinked parent that
//   escapes is refused; writing to a symlink inside the root writes its target file.
// - delete and rename act on a symlink itself (unlink / move the link), never its target.
// - Swaps racing a read or write (TOCTOU): the file is opened with O_NOFOLLOW (a last
//   component swapped for a symlink fails with ELOOP) and, where /proc/self/fd exists
//   (Linux), the opened descriptor's real path is checked to be inside the root before a
//   byte is read or written — so a parent directory swapped for a symlink between the check
//   and the open is refused too (PERMISSION_DENIED). Without /proc the window remains.
// - Hard links: a file with several names is one file; a name inside the root may be a hard
//   link to a file whose other name is outside it. Strata serves it (it cannot tell which
//   name is "the" file); creating such a link needs write access to the mounted directory
//   and, with Linux's default fs.protected_hardlinks=1, ownership of or read-write access to
//   the target. Do not mount directories that untrusted local users can write.

import { randomBytes } from 'node:crypto';
import {
  close as closeCb, closeSync, constants as fsc, fchmod as fchmodCb, fchmodSync, fstat as fstatCb, fstatSync, fsync as fsyncCb, link as linkCb, lstatSync,
  open as openCb, openSync, readdirSync, readlinkSync, realpathSync, statSync, unlinkSync, write as writeCb,
} from 'node:fs';
import type { BigIntStats, Dir } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { ErrorCode, StrataError, invalidArgument, invalidPath } from '../../errors.js';
import type { ChangeWatcher, UfsWatchOptions } from '../change-watcher.js';
import type { Ufs, UfsListOptions, UfsListScope, UfsReadOptions, UfsStatus, UfsWriteOptions } from '../ufs.js';
import { DIR_CONTENT_HASH, UfsChangedError, checkUfsPath, throwIfAborted, ufsJoin, ufsParent as parentOf } from '../ufs.js';
import { InotifyWatcher } from './inotify-watcher.js';
import { realPath, realPathByOpenSync, realPathSync } from './real-path.js';

const link = promisify(linkCb);
/** Linux: the real path of an open descriptor is readable at /proc/self/fd/N. */
const HAVE_PROC_FD = (() => {
  try {
    return statSync('/proc/self/fd').isDirectory();
  } catch {
    return false;
  }
})();

/** Names starting with this are in-flight writes: never listed, never accepted as paths. */
export const TEMP_PREFIX = '.strata-tmp-';
/** Longest name (bytes) and path (bytes, with the NUL) of Linux file systems. */
const NAME_MAX = 255;
const PATH_MAX = 4096;
/** Entries per page of `list` unless asked otherwise. */
export const DEFAULT_PAGE_SIZE = 1000;
/** Bytes per chunk yielded by `read`. */
export const READ_CHUNK_SIZE = 1024 * 1024;
export { DIR_CONTENT_HASH };

/**
 * UfsFactory for `file:///abs/path` URIs. The root need not exist yet (`check()` verifies it).
 * Options: none are required; unknown options are ignored.
 */
export function createLocalUfs(uri: string, options: Record<string, string> = {}): Ufs {
  return new LocalUfs(uri, options);
}

/** Fingerprint of file content: type, size, mtime in ns and inode (an atomic replace changes it). */
export function fileContentHash(st: BigIntStats): string {
  return `f:${st.size}:${st.mtimeNs}:${st.ino}`;
}

/** metaHash by permission bits, made once each (a listing has few distinct modes). */
const META_HASHES: string[] = [];
const metaHashOf = (perm: number): string => META_HASHES[perm] ??= `m:${perm.toString(8)}`;

/** Fingerprint of metadata: the permission bits. */
export function metaHash(st: BigIntStats): string {
  return metaHashOf(Number(st.mode) & 0o7777);
}

/** lstat of a listing: BigInt (ns mtime and 64-bit inode are the fingerprint), no error for a vanished entry. */
const LSTAT_OPTIONS = { bigint: true, throwIfNoEntry: false } as const;

/**
 * The file type bits of a stat (fs.constants.S_IF*), from one conversion of the mode: the
 * BigIntStats is*() methods make two BigInts per call.
 */
function fileType(st: BigIntStats): number {
  return Number(st.mode) & fsc.S_IFMT;
}

/** Build a UfsStatus from a (followed) stat of a file or directory; null for other types. */
export function statusFromStats(name: string, st: BigIntStats): UfsStatus | null {
  const bits = Number(st.mode);
  const isDir = (bits & fsc.S_IFMT) === fsc.S_IFDIR;
  if (!isDir && (bits & fsc.S_IFMT) !== fsc.S_IFREG) return null;
  const mode = bits & 0o7777;
  return {
    name,
    type: isDir ? 'directory' : 'file',
    length: isDir ? 0 : Number(st.size),
    mtimeMs: Number(st.mtimeMs),
    ctimeMs: Number(st.ctimeMs),
    mode,
    contentHash: isDir ? DIR_CONTENT_HASH : fileContentHash(st),
    metaHash: metaHashOf(mode),
  };
}

/** A directory on a listing's or access's own path; `up` links to its parent on that path. */
interface Chain {
  real: string;
  up: Chain | null;
}

/** One directory waiting to be listed. */
interface DirTask {
  rel: string; // relative to the listed directory ('' for itself)
  chain: Chain; // chain.real is the directory's real path
  fd?: number; // an open descriptor of it (the start directory, Linux): read through /proc/self/fd
}

/** A directory opened for listing: descriptor (-1 when not opened), real path, chain, components of the real path. */
interface OpenDir {
  fd: number;
  real: string;
  chain: Chain;
  depth: number;
}

/**
 * From this many components of its real path, a directory's entries are read and lstat'ed
 * through its descriptor (/proc/self/fd/N/name: a walk of a few procfs components); a
 * shallower one by its path, which the kernel walks as fast.
 */
const FD_PATHS_FROM_COMPONENTS = 16;

/** Directories one list scope keeps open per UFS (a sync task descends one chain or a few). */
const SCOPE_OPEN_DIRS = 16;

/** Result of resolving a relative path to a real path inside the root. */
interface Resolved {
  real: string;
  chain: Chain; // directories along the path, ending with the path itself when it is one
}

/** The local file-system UFS. See the module header for the symlink policy. */
export class LocalUfs implements Ufs {
  readonly scheme = 'file';
  readonly uri: string;
  /** Absolute root directory as given in the URI (may itself be a symlink). */
  readonly root: string;
  private realRootCache: string | null = null;
  /**
   * The root is on a local disk file system (LOCAL_FS_TYPES): a lookup, stat or open there
   * answers from the kernel's caches or the disk, so the write path makes them on this thread
   * (no thread-pool round trip). Anywhere else (NFS, SMB, FUSE, an unknown type) such a call
   * can wait on a server or another process for as long as it is gone, and on this thread
   * nothing — not the UFS timeout, not any other mount's request — would run meanwhile: there
   * every call goes through the thread pool. False until the root is resolved.
   */
  private localDisk = false;

  constructor(uri: string, _options: Record<string, string> = {}) {
    this.root = parseFileUri(uri);
    this.uri = pathToFileURL(this.root).href;
  }

  // ---------------------------------------------------------------- read side

  /** Status of `path`; null when absent. PERMISSION_DENIED when it resolves outside the root. */
  async getStatus(path: string, _options?: { signal?: AbortSignal }): Promise<UfsStatus | null> {
    checkRelPath(path);
    // A path the kernel cannot find is absent whatever the symlinks on its way (the careful
    // resolution below would fail the same way): one lstat on this thread, no error object,
    // no thread-pool round trip — the lookup before every create of a new file (bench/RESULTS.md).
    if (path !== '' && this.absentSync(path)) return null;
    let res: Resolved;
    try {
      res = await this.resolveExisting(path, 'getStatus');
    } catch (err) {
      if (err instanceof StrataError && (err.code === ErrorCode.NOT_FOUND || err.code === ErrorCode.NOT_A_DIRECTORY)) return null;
      throw err;
    }
    try {
      const st = await fsp.stat(res.real, { bigint: true });
      return statusFromStats(path === '' ? '' : basename(path), st);
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return null;
      throw this.mapError(err, 'getStatus', path);
    }
  }

  /**
   * Entries of a directory in pages of `pageSize` (default 1000), sorted by name within a
   * directory. Recursive listings are breadth-first (parents before children) with names
   * relative to `path`, holding only a queue of directories, never the whole tree.
   * The walk itself uses synchronous fs calls (4-5x the entries/s of fs.promises): drive it
   * from a worker thread. Single calls (getStatus, read, write...) use fs.promises.
   */
  async *list(path: string, options: UfsListOptions = {}): AsyncGenerator<UfsStatus[]> {
    checkRelPath(path);
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1) throw invalidArgument(`pageSize must be a positive integer, got ${pageSize}`);
    const signal = options.signal;
    throwIfAborted(signal, path);

    const realRoot = await this.realRoot();
    // The start directory, open (Linux): a child of a directory its scope listed just before
    // is opened by one name lookup under that directory's descriptor; any other by one
    // resolution of its path. Its entries are then read and lstat'ed through the descriptor
    // (/proc/self/fd/N/name), so no call walks the directory's whole path again: a listing
    // costs the same at any depth. Subdirectories of a recursive listing use their paths.
    const kept = options.scope && HAVE_PROC_FD ? this.keptDirs(options.scope) : undefined;
    let start: OpenDir | undefined;
    if (HAVE_PROC_FD) {
      start = (kept && this.openChildOfKept(path, kept)) || await this.openStart(path, realRoot);
      if (kept) this.keep(kept, path, start);
    } else {
      // The start directory: resolved without a thread-pool round trip when no symlink is on
      // its way (the common case, once per directory of a sync); its type is readdir's to tell.
      const res = this.resolveNoLinksSync(path, realRoot) ?? await this.resolveExisting(path, 'list');
      start = { fd: -1, real: res.real, chain: res.chain, depth: 0 };
    }
    const viaFd = start.fd >= 0 && start.depth >= FD_PATHS_FROM_COMPONENTS;
    const queue: DirTask[] = [{ rel: '', chain: start.chain, ...(viaFd ? { fd: start.fd } : {}) }];
    let page: UfsStatus[] = [];
    try {
      for (let task = queue.shift(); task; task = queue.shift()) {
        // The directory as read: through its descriptor, or by its real path.
        const base = task.fd !== undefined ? `/proc/self/fd/${task.fd}` : task.chain.real;
        // Names only (no Dirent per entry): every entry is lstat'ed anyway, which tells its type.
        let names: string[];
        try {
          names = readdirSync(base);
        } catch (err) {
          // A subdirectory removed (or replaced by a file) while we walked: it is simply gone.
          if (task.rel !== '' && (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR'))) continue;
          if (task.rel === '' && isCode(err, 'ENOTDIR')) throw new StrataError(ErrorCode.NOT_A_DIRECTORY, `not a directory: ${this.display(path)}`);
          throw this.mapError(err, 'list', ufsJoin(path, task.rel));
        }
        names.sort(); // by UTF-16 code units
        for (const name of names) {
          if (name.startsWith(TEMP_PREFIX)) continue;
          const abs = base + sep + name;
          let entry: BigIntStats | undefined;
          let childReal: string | undefined;
          let viaLink = false;
          try {
            // Fifos, sockets and devices are dropped by statusFromStats.
            entry = lstatSync(abs, LSTAT_OPTIONS);
            if (entry !== undefined && fileType(entry) === fsc.S_IFLNK) {
              // Through a descriptor, realpath(3) would re-check the directory's whole path.
              childReal = task.fd !== undefined ? realPathByOpenSync(abs) : realpathSync(abs);
              if (!isInside(childReal, realRoot)) continue; // escapes the root: not served
              entry = statSync(childReal, { bigint: true, throwIfNoEntry: false });
              viaLink = true;
            }
          } catch (err) {
            if (isCode(err, 'ENOENT') || isCode(err, 'ELOOP') || isCode(err, 'ENOTDIR')) continue; // vanished or dangling
            throw this.mapError(err, 'list', ufsJoin(path, ufsJoin(task.rel, name)));
          }
          if (!entry) continue;
          const relName = ufsJoin(task.rel, name);
          if (viaLink && fileType(entry) === fsc.S_IFDIR && loops(childReal!, task.chain)) continue;
          const status = statusFromStats(relName, entry);
          if (!status) continue;
          page.push(status);
          if (options.recursive && status.type === 'directory') {
            queue.push({ rel: relName, chain: { real: childReal ?? task.chain.real + sep + name, up: task.chain } });
          }
          if (page.length >= pageSize) {
            yield page;
            page = [];
            throwIfAborted(signal, path);
          }
        }
        throwIfAborted(signal, path);
      }
      if (page.length > 0) yield page;
    } finally {
      if (!kept && start.fd >= 0) closeQuiet(start.fd);
    }
  }

  /** Bytes of a file from `offset` for `length` bytes (to the end when absent), ~1 MiB chunks. */
  async *read(path: string, options: UfsReadOptions = {}): AsyncGenerator<Uint8Array> {
    checkRelPath(path);
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument(`read offset must be a non-negative integer, got ${offset}`);
    if (options.length !== undefined && (!Number.isSafeInteger(options.length) || options.length < 0)) {
      throw invalidArgument(`read length must be a non-negative integer, got ${options.length}`);
    }
    const signal = options.signal;
    throwIfAborted(signal, path);
    const { real } = await this.resolveExisting(path, 'read');
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(real, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw this.escape(path, 'read');
      throw this.mapError(err, 'read', path);
    }
    try {
      await this.checkOpened(fh, path, 'read');
      const st = await fh.stat({ bigint: true });
      if (st.isDirectory()) throw new StrataError(ErrorCode.IS_A_DIRECTORY, `is a directory: ${this.display(path)}`);
      // The file opened is the version the caller knows (size, mtime, inode), or nothing is read.
      if (options.fingerprint !== undefined && fileContentHash(st) !== options.fingerprint) {
        throw new UfsChangedError(`read ${this.display(path)}: the file`);
      }
      let remaining = options.length ?? Number.MAX_SAFE_INTEGER;
      let position = offset;
      while (remaining > 0) {
        throwIfAborted(signal, path);
        const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK_SIZE, remaining));
        let n: number;
        try {
          ({ bytesRead: n } = await fh.read(buf, 0, buf.length, position));
        } catch (err) {
          throw this.mapError(err, 'read', path);
        }
        if (n === 0) break;
        position += n;
        remaining -= n;
        yield n === buf.length ? buf : buf.subarray(0, n);
      }
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------- write side

  /**
   * Write a whole file atomically: bytes go to `.strata-tmp-<name>-<random>` in the target's
   * directory, are fsynced, then renamed over the target (and the directory fsynced), so a
   * reader sees the old file or the new one, never a partial one. The temp file is removed on
   * any failure. Overwriting keeps the old file's permission bits.
   */
  async write(path: string, data: AsyncIterable<Uint8Array>, options: UfsWriteOptions = {}): Promise<UfsStatus> {
    checkRelPath(path);
    if (path === '') throw new StrataError(ErrorCode.IS_A_DIRECTORY, `cannot write the UFS root ${this.uri}`);
    const overwrite = options.overwrite ?? true;
    const signal = options.signal;
    throwIfAborted(signal, path);

    // The parent without a thread-pool round trip when no symlink is on its way (the common
    // case); else, or when it is missing, the careful resolution (and mkdir -p).
    const parentReal = this.parentNoLinksSync(path) ?? await this.ensureParent(path, options.recursive ?? true, 'write');
    let target = parentReal + sep + basename(path);
    let keepMode: number | undefined;
    const existing = this.localDisk ? lstatQuiet(target) : await lstatOrNull(target);
    if (existing) {
      if (existing.isSymbolicLink()) target = await this.followLinkInside(target, path, 'write');
      const st = existing.isSymbolicLink() ? await fsp.stat(target, { bigint: true }).catch(() => null) : existing;
      if (st?.isDirectory()) throw new StrataError(ErrorCode.IS_A_DIRECTORY, `is a directory: ${this.display(path)}`);
      if (!overwrite) throw new StrataError(ErrorCode.ALREADY_EXISTS, `path already exists: ${this.display(path)}`);
      if (st) keepMode = Number(st.mode) & 0o7777;
    }

    // Thread-pool round trips: open, one write per chunk, fsync, rename (and the directory's
    // fsync, shared with concurrent writes); the checks of the open descriptor, its stat and
    // close need no disk I/O and run on this thread.
    const dir = dirname(target);
    const tmp = dir + sep + tempName(basename(target));
    let fd = -1;
    let placed = false;
    try {
      try {
        fd = await openFd(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o666);
      } catch (err) {
        if (isCode(err, 'ENOTDIR')) throw new StrataError(ErrorCode.NOT_A_DIRECTORY, `parent is not a directory: ${this.display(parentOf(path))}`, { cause: err });
        throw err;
      }
      this.checkOpenedSync(fd, path, 'write');
      let total = 0;
      for await (const chunk of data) {
        throwIfAborted(signal, path);
        let off = 0;
        while (off < chunk.byteLength) {
          const bytesWritten = await writeFd(fd, chunk, off, chunk.byteLength - off);
          if (bytesWritten <= 0) throw new StrataError(ErrorCode.UFS_UNAVAILABLE, `write ${this.display(path)}: no progress after ${total + off} bytes`);
          off += bytesWritten;
        }
        total += chunk.byteLength;
      }
      throwIfAborted(signal, path);
      if (keepMode !== undefined) {
        if (this.localDisk) fchmodSync(fd, keepMode);
        else await fchmodFd(fd, keepMode);
      }
      await fsyncFd(fd);
      // Never place a file shorter than what was written (a lost write must fail the call).
      const st = this.localDisk ? fstatSync(fd, { bigint: true }) : await fstatFd(fd, { bigint: true });
      const written = Number(st.size);
      if (written !== total) throw new StrataError(ErrorCode.UFS_UNAVAILABLE, `write ${this.display(path)}: the file holds ${written} bytes after writing ${total}`);
      const closing = fd;
      fd = -1;
      if (this.localDisk) closeSync(closing);
      else await closeFd(closing);
      // What must be durable before the file can appear (the caller's intent record) has
      // been committing meanwhile.
      await options.beforePlace?.();
      throwIfAborted(signal, path);
      if (overwrite) await fsp.rename(tmp, target);
      else if (!(await renameNoReplace(tmp, target))) throw new StrataError(ErrorCode.ALREADY_EXISTS, `path already exists: ${this.display(path)}`);
      placed = true;
      // The renamed file is the one just written and stat'ed (rename keeps its size, mtime, inode).
      const status = statusFromStats(basename(path), st)!;
      // The caller's commit runs while the rename is made durable.
      if (options.afterPlace) await Promise.all([syncDirShared(dir, this.localDisk), options.afterPlace(status)]);
      else await syncDirShared(dir, this.localDisk);
      return status;
    } catch (err) {
      throw this.mapError(err, 'write', path);
    } finally {
      if (fd >= 0) closeQuiet(fd);
      if (!placed) await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  /**
   * The real parent directory of `rel` when it is its lexical path (no symlink on the way)
   * and exists, found on this thread (realpath of a cached path: a few syscalls, no
   * round trip to the thread pool); undefined otherwise (the caller resolves the careful way).
   * Whether it is a directory is left to the open under it (ENOTDIR).
   */
  private parentNoLinksSync(rel: string): string | undefined {
    const realRoot = this.realRootCache;
    if (realRoot === null || !this.localDisk) return undefined;
    const parent = parentOf(rel);
    if (parent === '') return realRoot;
    const lexical = realRoot + sep + (sep === '/' ? parent : parent.split('/').join(sep));
    try {
      return realPathSync(lexical) === lexical ? lexical : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Create a directory. Without `recursive` (default false) the parent must exist and the
   * directory must not (ALREADY_EXISTS); with it, missing parents are made and an existing
   * directory is fine.
   */
  async mkdir(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    checkRelPath(path);
    const recursive = options.recursive ?? false;
    if (path === '') {
      if (recursive) return;
      throw new StrataError(ErrorCode.ALREADY_EXISTS, `path already exists: ${this.uri}`);
    }
    const parentReal = await this.ensureParent(path, recursive, 'mkdir');
    const target = parentReal + sep + basename(path);
    try {
      await fsp.mkdir(target);
    } catch (err) {
      if (isCode(err, 'EEXIST')) {
        const st = await fsp.stat(await this.followLinkInside(target, path, 'mkdir'), { bigint: true }).catch(() => null);
        if (recursive && st?.isDirectory()) return;
        if (recursive) throw new StrataError(ErrorCode.NOT_A_DIRECTORY, `exists and is not a directory: ${this.display(path)}`, { cause: err });
      }
      throw this.mapError(err, 'mkdir', path);
    }
  }

  /**
   * Delete a file, a symlink (the link, not its target) or a directory (`recursive` needed
   * when it is not empty, else DIRECTORY_NOT_EMPTY). A missing path is not an error. The
   * root itself cannot be deleted.
   */
  async delete(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    checkRelPath(path);
    if (path === '') throw invalidPath(path, `the root of ${this.uri} cannot be deleted`);
    let parentReal: string;
    try {
      parentReal = (await this.resolveExisting(parentOf(path), 'delete')).real;
    } catch (err) {
      if (err instanceof StrataError && (err.code === ErrorCode.NOT_FOUND || err.code === ErrorCode.NOT_A_DIRECTORY)) return;
      throw err;
    }
    const target = parentReal + sep + basename(path);
    try {
      const st = await fsp.lstat(target);
      if (!st.isDirectory()) await fsp.unlink(target);
      else if (options.recursive) await fsp.rm(target, { recursive: true, force: true });
      else await fsp.rmdir(target);
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return;
      if (isCode(err, 'EEXIST') || isCode(err, 'ENOTEMPTY')) {
        throw new StrataError(ErrorCode.DIRECTORY_NOT_EMPTY, `directory not empty (use recursive): ${this.display(path)}`, { cause: err });
      }
      throw this.mapError(err, 'delete', path);
    }
  }

  /**
   * Rename `src` to `dst`, creating `dst`'s parent directories. Refuses with ALREADY_EXISTS
   * when `dst` exists (atomically for files, via link + unlink, where the disk allows).
   */
  async rename(src: string, dst: string): Promise<void> {
    checkRelPath(src);
    checkRelPath(dst);
    if (src === '' || dst === '') throw invalidPath(src === '' ? src : dst, `the root of ${this.uri} cannot be renamed`);
    if (dst === src || dst.startsWith(src + '/')) {
      if (dst === src) throw new StrataError(ErrorCode.ALREADY_EXISTS, `path already exists: ${this.display(dst)}`);
      throw invalidPath(dst, `cannot move ${src} into itself`);
    }
    const srcParent = (await this.resolveExisting(parentOf(src), 'rename')).real;
    const from = srcParent + sep + basename(src);
    const st = await lstatOrNull(from);
    if (!st) throw new StrataError(ErrorCode.NOT_FOUND, `path does not exist: ${this.display(src)}`);
    const to = (await this.ensureParent(dst, true, 'rename')) + sep + basename(dst);
    try {
      if (st.isDirectory()) {
        if (await lstatOrNull(to)) throw new StrataError(ErrorCode.ALREADY_EXISTS, `path already exists: ${this.display(dst)}`);
        await fsp.rename(from, to);
      } else if (!(await renameNoReplace(from, to))) {
        throw new StrataError(ErrorCode.ALREADY_EXISTS, `path already exists: ${this.display(dst)}`);
      }
      await syncDirShared(dirname(to), this.localDisk);
      if (dirname(to) !== srcParent) await syncDirShared(srcParent, this.localDisk);
    } catch (err) {
      throw this.mapError(err, 'rename', `${src} -> ${dst}`);
    }
  }

  /** Each name fits NAME_MAX (255 bytes) and the whole path PATH_MAX (4096 bytes with the root). */
  validatePath(path: string): void {
    checkRelPath(path);
    if (path === '') return;
    for (const seg of path.split('/')) {
      const n = Buffer.byteLength(seg);
      if (n > NAME_MAX) throw invalidPath(path, `the name ${JSON.stringify(seg.slice(0, 40))}... is ${n} bytes, longer than the ${NAME_MAX} the local file system allows`);
    }
    const total = Buffer.byteLength(this.root) + 1 + Buffer.byteLength(path);
    if (total >= PATH_MAX) throw invalidPath(path, `the local path would be ${total} bytes, longer than the ${PATH_MAX - 1} the local file system allows`);
  }

  /** The root exists and is a readable directory; else NOT_FOUND / NOT_A_DIRECTORY / PERMISSION_DENIED. */
  async check(): Promise<void> {
    let st;
    try {
      st = await fsp.stat(this.root);
    } catch (err) {
      throw this.mapError(err, 'check', '');
    }
    if (!st.isDirectory()) throw new StrataError(ErrorCode.NOT_A_DIRECTORY, `UFS root is not a directory: ${this.uri}`);
    try {
      await fsp.access(this.root, fsc.R_OK | fsc.X_OK);
    } catch (err) {
      throw this.mapError(err, 'check', '');
    }
    this.realRootCache = null;
    await this.realRoot();
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }

  /**
   * Capability: changes under `dir` made outside Strata, through inotify (`inotifywait`).
   * Temp files of in-flight writes are not reported.
   */
  watcher(options: UfsWatchOptions): ChangeWatcher {
    return new InotifyWatcher(this.root, options.dir, options.cb, TEMP_PREFIX);
  }

  /**
   * Capability, crash recovery: remove `.strata-tmp-*` files left by interrupted writes
   * anywhere under the root, last modified before `before` (default one hour ago, so writes
   * in flight survive). Depth first, each directory streamed through one open handle at a
   * time, asynchronously (a tree of a million files never blocks the event loop or sits in
   * one array); does not follow symlinks; stops when `signal` aborts. Returns how many files
   * were removed.
   */
  async cleanupInterruptedWrites(options: { before?: number; signal?: AbortSignal } = {}): Promise<number> {
    const before = options.before ?? Date.now() - 3_600_000;
    const { signal } = options;
    let removed = 0;
    const pending = [await this.realRoot()];
    for (let dir = pending.pop(); dir !== undefined && !signal?.aborted; dir = pending.pop()) {
      let handle: Dir;
      try {
        handle = await fsp.opendir(dir, { bufferSize: 256 });
      } catch {
        continue; // gone, or not readable: nothing of ours can be in it
      }
      for await (const d of handle) {
        if (signal?.aborted) break;
        const abs = dir + sep + d.name;
        if (d.isDirectory()) {
          pending.push(abs);
        } else if (d.name.startsWith(TEMP_PREFIX) && d.isFile()) {
          const st = await fsp.lstat(abs).catch(() => undefined);
          if (st && st.mtimeMs < before && await fsp.unlink(abs).then(() => true, () => false)) removed++;
        }
      }
    }
    return removed;
  }

  // ---------------------------------------------------------------- resolution

  /**
   * The real path of an opened descriptor (/proc/self/fd, Linux) must be inside the root:
   * closes the window between resolving a path and opening it. A no-op without /proc.
   */
  private checkOpenedSync(fd: number, rel: string, op: string): void {
    if (!HAVE_PROC_FD || this.realRootCache === null) return;
    let real: string;
    try {
      real = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return;
    }
    if (!isInside(real, this.realRootCache)) throw this.escape(rel, op);
  }

  /** As checkOpenedSync, for a FileHandle (the root resolved first when it is not yet). */
  private async checkOpened(fh: fsp.FileHandle, rel: string, op: string): Promise<void> {
    if (!HAVE_PROC_FD) return;
    let real: string;
    try {
      real = await fsp.readlink(`/proc/self/fd/${fh.fd}`);
    } catch {
      return;
    }
    if (!isInside(real, await this.realRoot())) throw this.escape(rel, op);
  }

  /**
   * True when `rel` does not exist (ENOENT, or a component is not a directory), by one lstat
   * of its lexical path under the real root. False when it exists or the lstat cannot tell
   * (the root not resolved yet, ELOOP, EACCES...): the caller then takes the careful way.
   */
  private absentSync(rel: string): boolean {
    const realRoot = this.realRootCache;
    if (realRoot === null || !this.localDisk) return false;
    try {
      return lstatSync(realRoot + sep + (sep === '/' ? rel : rel.split('/').join(sep)), { throwIfNoEntry: false }) === undefined;
    } catch (err) {
      return isCode(err, 'ENOTDIR');
    }
  }

  /** Real path of the root, resolved once (and again after check()). */
  private async realRoot(): Promise<string> {
    if (this.realRootCache === null) {
      try {
        const real = await fsp.realpath(this.root);
        this.localDisk = await onLocalDisk(real);
        this.realRootCache = real;
      } catch (err) {
        throw new StrataError(ErrorCode.UFS_UNAVAILABLE, `UFS root is not accessible: ${this.uri}: ${(err as Error).message}`, { cause: err });
      }
    }
    return this.realRootCache;
  }

  /** The directories a scope keeps open for this UFS, by relative path (oldest first). */
  private keptDirs(scope: UfsListScope): Map<string, OpenDir> {
    return scope.of(this, () => new Map<string, OpenDir>(), (m) => {
      for (const d of m.values()) closeQuiet(d.fd);
      m.clear();
    });
  }

  /** Keep `dir` open in the scope for listings of its children (at most SCOPE_OPEN_DIRS kept). */
  private keep(kept: Map<string, OpenDir>, rel: string, dir: OpenDir): void {
    const old = kept.get(rel);
    if (old) {
      kept.delete(rel);
      if (old.fd !== dir.fd) closeQuiet(old.fd);
    }
    kept.set(rel, dir);
    if (kept.size > SCOPE_OPEN_DIRS) {
      const [oldestRel, oldest] = kept.entries().next().value as [string, OpenDir];
      kept.delete(oldestRel);
      closeQuiet(oldest.fd);
    }
  }

  /**
   * `rel` opened under the descriptor of its parent when the scope keeps the parent open: one
   * name lookup, O_NOFOLLOW, so the parent's checks (inside the root, no loop) carry over to
   * it. Undefined when the parent is not kept or `rel` is a symlink (the caller resolves it
   * the careful way). NOT_FOUND / NOT_A_DIRECTORY as a listing's.
   */
  private openChildOfKept(rel: string, kept: Map<string, OpenDir>): OpenDir | undefined {
    if (rel === '') return undefined;
    const parentRel = parentOf(rel);
    const parent = kept.get(parentRel);
    if (!parent) return undefined;
    const name = parentRel === '' ? rel : rel.slice(parentRel.length + 1);
    let fd: number;
    try {
      fd = openSync(`/proc/self/fd/${parent.fd}/${name}`, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
    } catch (err) {
      // A symlink (ELOOP, or ENOTDIR with O_DIRECTORY) or a file: the careful way tells which.
      if (isCode(err, 'ELOOP') || isCode(err, 'ENOTDIR')) return undefined;
      throw this.mapError(err, 'list', rel);
    }
    const real = parent.real + sep + name;
    return { fd, real, chain: { real, up: parent.chain }, depth: parent.depth + 1 };
  }

  /**
   * Open the directory `rel` by its path (Linux): one open and a readlink of the descriptor
   * when no symlink is on the way (the kernel's name is the lexical one); else the careful
   * resolution (escape and loop rules) and an open of its real path.
   */
  private async openStart(rel: string, realRoot: string): Promise<OpenDir> {
    const lexical = rel === '' ? realRoot : realRoot + sep + (sep === '/' ? rel : rel.split('/').join(sep));
    const open = (p: string): number => {
      try {
        return openSync(p, fsc.O_RDONLY | fsc.O_DIRECTORY);
      } catch (err) {
        if (isCode(err, 'ENOTDIR')) throw new StrataError(ErrorCode.NOT_A_DIRECTORY, `not a directory: ${this.display(rel)}`);
        throw this.mapError(err, 'list', rel);
      }
    };
    const fd = open(lexical);
    let real: string | undefined;
    try {
      real = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      real = undefined;
    }
    if (real === lexical) return { fd, real, chain: lexicalChain(realRoot, rel), depth: components(real) };
    closeQuiet(fd);
    const res = await this.resolveExisting(rel, 'list');
    return { fd: open(res.real), real: res.real, chain: res.chain, depth: components(res.real) };
  }

  /**
   * resolveExisting's fast path, synchronously (for the listing walk, which runs on a worker
   * thread): the real path when it is the lexical one (no symlink on the way), undefined
   * when there is a symlink (the caller takes the careful path). NOT_FOUND when absent.
   */
  private resolveNoLinksSync(rel: string, realRoot: string): Resolved | undefined {
    const rootChain: Chain = { real: realRoot, up: null };
    if (rel === '') return { real: realRoot, chain: rootChain };
    const lexical = realRoot + sep + rel.split('/').join(sep);
    let real: string;
    try {
      real = realPathSync(lexical);
    } catch (err) {
      throw this.mapError(err, 'list', rel);
    }
    if (real !== lexical) return undefined;
    let chain = rootChain;
    let at = realRoot;
    for (const part of rel.split('/')) {
      at = at + sep + part;
      chain = { real: at, up: chain };
    }
    return { real, chain };
  }

  /**
   * Resolve an existing relative path to its real path inside the root, with the chain of
   * directories on its way. NOT_FOUND when absent; PERMISSION_DENIED when it escapes or loops.
   */
  private async resolveExisting(rel: string, op: string): Promise<Resolved> {
    const realRoot = await this.realRoot();
    const rootChain: Chain = { real: realRoot, up: null };
    if (rel === '') return { real: realRoot, chain: rootChain };
    const lexical = realRoot + sep + rel.split('/').join(sep);
    let real: string;
    try {
      // Linear in the depth (issue 11 item 13; realpath(3) is quadratic).
      real = await realPath(lexical);
    } catch (err) {
      throw this.mapError(err, op, rel);
    }
    if (real === lexical) {
      // Fast path: no symlink on the way; the chain is the lexical ancestors.
      let chain = rootChain;
      let at = realRoot;
      for (const part of rel.split('/')) {
        at = at + sep + part;
        chain = { real: at, up: chain };
      }
      return { real, chain };
    }
    if (!isInside(real, realRoot)) throw this.escape(rel, op);
    // Slow path: a symlink on the way; walk it component by component to detect loops.
    let chain = rootChain;
    let at = realRoot;
    for (const part of rel.split('/')) {
      const next = at + sep + part;
      let st;
      try {
        st = await fsp.lstat(next);
        if (st.isSymbolicLink()) {
          const target = await fsp.realpath(next);
          if (!isInside(target, realRoot)) throw this.escape(rel, op);
          if ((await fsp.stat(target)).isDirectory() && loops(target, chain)) {
            throw new StrataError(ErrorCode.PERMISSION_DENIED, `${op} ${this.display(rel)}: a symlink on the path loops back to an ancestor`);
          }
          at = target;
        } else {
          at = next;
        }
      } catch (err) {
        throw err instanceof StrataError ? err : this.mapError(err, op, rel);
      }
      chain = { real: at, up: chain };
    }
    return { real: at, chain };
  }

  /**
   * Real path of the parent directory of `rel`, checked to lie inside the root. With
   * `create`, missing parents are made (mkdir -p) below the deepest existing real ancestor.
   */
  private async ensureParent(rel: string, create: boolean, op: string): Promise<string> {
    const parent = parentOf(rel);
    try {
      const res = await this.resolveExisting(parent, op);
      if (!(await fsp.stat(res.real)).isDirectory()) throw new StrataError(ErrorCode.NOT_A_DIRECTORY, `parent is not a directory: ${this.display(parent)}`);
      return res.real;
    } catch (err) {
      if (!(err instanceof StrataError) || err.code !== ErrorCode.NOT_FOUND) throw err;
      if (!create) throw new StrataError(ErrorCode.NOT_FOUND, `parent directory does not exist: ${this.display(parent)}`, { cause: err });
    }
    // Find the deepest existing ancestor, check it, then create the rest below its real path.
    const parts = parent.split('/');
    let k = parts.length - 1;
    let base: string | undefined;
    for (; k >= 0; k--) {
      try {
        base = (await this.resolveExisting(parts.slice(0, k).join('/'), op)).real;
        break;
      } catch (err) {
        if (!(err instanceof StrataError) || err.code !== ErrorCode.NOT_FOUND) throw err;
      }
    }
    if (base === undefined) throw new StrataError(ErrorCode.NOT_FOUND, `UFS root does not exist: ${this.uri}`);
    try {
      if (!(await fsp.stat(base)).isDirectory()) {
        throw new StrataError(ErrorCode.NOT_A_DIRECTORY, `not a directory: ${this.display(parts.slice(0, k).join('/'))}`);
      }
      await fsp.mkdir(base + sep + parts.slice(k).join(sep), { recursive: true });
    } catch (err) {
      throw this.mapError(err, op, parent);
    }
    // Re-check after creation (something may have raced a symlink in).
    return (await this.resolveExisting(parent, op)).real;
  }

  /** Follow a symlink at `abs`; its target must be inside the root. Returns the real path. */
  private async followLinkInside(abs: string, rel: string, op: string): Promise<string> {
    let real: string;
    try {
      real = await fsp.realpath(abs);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return abs; // dangling link: act on the link itself
      throw this.mapError(err, op, rel);
    }
    if (!isInside(real, await this.realRoot())) throw this.escape(rel, op);
    return real;
  }

  private escape(rel: string, op: string): StrataError {
    return new StrataError(ErrorCode.PERMISSION_DENIED, `${op} ${this.display(rel)}: resolves (through a symlink) outside the UFS root`);
  }

  private display(rel: string): string {
    return rel === '' ? this.uri : `${this.uri}/${rel}`;
  }

  /** Map a Node fs error to a StrataError naming the path, keeping the original as cause. */
  private mapError(err: unknown, op: string, rel: string): StrataError {
    if (err instanceof StrataError) return err;
    const code = (err as { code?: unknown } | null)?.code;
    const what = `${op} ${this.display(rel)}`;
    const reason = err instanceof Error ? err.message : String(err);
    const mapped = FS_ERROR_CODES[typeof code === 'string' ? code : ''] ?? ErrorCode.UFS_UNAVAILABLE;
    return new StrataError(mapped, `${what}: ${reason}`, { cause: err });
  }
}

const FS_ERROR_CODES: Record<string, ErrorCode> = {
  ENOENT: ErrorCode.NOT_FOUND,
  EEXIST: ErrorCode.ALREADY_EXISTS,
  EACCES: ErrorCode.PERMISSION_DENIED,
  EPERM: ErrorCode.PERMISSION_DENIED,
  ENOTDIR: ErrorCode.NOT_A_DIRECTORY,
  EISDIR: ErrorCode.IS_A_DIRECTORY,
  ENOTEMPTY: ErrorCode.DIRECTORY_NOT_EMPTY,
  ENOSPC: ErrorCode.RESOURCE_EXHAUSTED,
  EDQUOT: ErrorCode.RESOURCE_EXHAUSTED,
  // A name or path longer than the file system allows is a bad path, never an outage.
  ENAMETOOLONG: ErrorCode.INVALID_PATH,
  EROFS: ErrorCode.READ_ONLY,
};

// ------------------------------------------------------------------ helpers

/** Parse `file:///abs/path` into an absolute, normalised directory path. */
function parseFileUri(uri: string): string {
  if (typeof uri !== 'string' || !/^file:\/\//i.test(uri)) {
    throw invalidArgument(`local UFS URI must look like file:///abs/path, got ${JSON.stringify(uri)}`);
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch (err) {
    throw new StrataError(ErrorCode.INVALID_ARGUMENT, `malformed local UFS URI ${JSON.stringify(uri)}`, { cause: err });
  }
  if (url.host !== '' && url.host !== 'localhost') {
    throw invalidArgument(`local UFS URI ${JSON.stringify(uri)} names host ${JSON.stringify(url.host)}; use file:///abs/path (three slashes) for an absolute path`);
  }
  if (url.search || url.hash) throw invalidArgument(`local UFS URI ${JSON.stringify(uri)} must not have a query or fragment`);
  let p: string;
  try {
    p = fileURLToPath(url);
  } catch (err) {
    throw new StrataError(ErrorCode.INVALID_ARGUMENT, `malformed local UFS URI ${JSON.stringify(uri)}`, { cause: err });
  }
  if (!isAbsolute(p) || p.includes('\0')) throw invalidArgument(`local UFS URI ${JSON.stringify(uri)} must name an absolute path`);
  // URL parsing folds '..' away silently; a mount URI must say what it means.
  let raw: string;
  try {
    raw = decodeURIComponent(uri.slice('file://'.length));
  } catch (err) {
    throw new StrataError(ErrorCode.INVALID_ARGUMENT, `malformed local UFS URI ${JSON.stringify(uri)}`, { cause: err });
  }
  if (raw.split('/').some((s) => s === '..' || s === '.')) throw invalidArgument(`local UFS URI ${JSON.stringify(uri)} must not contain '.' or '..'`);
  return resolvePath(p);
}

/** Validate a UFS-relative path: '' or 'a/b', no '.', '..', empty segments, NUL or temp names. */
export function checkRelPath(path: string): void {
  checkUfsPath(path);
  // No array of segments: a name starts the path or follows a '/'.
  for (let i = path.indexOf(TEMP_PREFIX); i >= 0; i = path.indexOf(TEMP_PREFIX, i + 1)) {
    if (i === 0 || path.charCodeAt(i - 1) === 47 /* / */) throw invalidPath(path, `names starting with ${TEMP_PREFIX} are reserved for in-flight writes`);
  }
}

/** The chain of directories of `rel` when no symlink is on its way: its lexical ancestors. */
function lexicalChain(realRoot: string, rel: string): Chain {
  let chain: Chain = { real: realRoot, up: null };
  if (rel === '') return chain;
  let at = realRoot;
  let from = 0;
  for (let i = 0; i <= rel.length; i++) {
    if (i < rel.length && rel.charCodeAt(i) !== 47 /* / */) continue;
    at = at + sep + rel.slice(from, i);
    chain = { real: at, up: chain };
    from = i + 1;
  }
  return chain;
}

/** Components of an absolute path (its '/' separators). */
function components(p: string): number {
  let n = 0;
  for (let i = 0; i < p.length; i++) if (p.charCodeAt(i) === 47 /* / */) n++;
  return n;
}

function closeQuiet(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/**
 * lstat on this thread (for a path whose directory was just resolved: its entry is cached);
 * null for a missing path or one under a non-directory.
 */
function lstatQuiet(abs: string): BigIntStats | null {
  try {
    return lstatSync(abs, { bigint: true, throwIfNoEntry: false }) ?? null;
  } catch (err) {
    if (isCode(err, 'ENOTDIR')) return null;
    throw err;
  }
}

/** lstat that answers null for a missing path (or one under a non-directory). */
async function lstatOrNull(abs: string): Promise<BigIntStats | null> {
  try {
    return await fsp.lstat(abs, { bigint: true });
  } catch (err) {
    if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return null;
    throw err;
  }
}

function isInside(real: string, realRoot: string): boolean {
  if (real === realRoot) return true;
  const prefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  return real.startsWith(prefix);
}

/** True when entering directory `target` would revisit (an ancestor of) a directory on `chain`. */
function loops(target: string, chain: Chain | null): boolean {
  for (let c = chain; c; c = c.up) {
    if (isInside(c.real, target)) return true;
  }
  return false;
}

function isCode(err: unknown, code: string): boolean {
  return (err as { code?: unknown } | null)?.code === code;
}

/** Random per process; with the counter, temp names of this process never repeat (O_EXCL guards the rest). */
const TEMP_TAG = randomBytes(4).toString('hex');
let tempSeq = 0;

/** Temp name in the same directory; the target name is shortened to stay under NAME_MAX. */
function tempName(name: string): string {
  const short = Buffer.byteLength(name) > 200 ? Buffer.from(name).subarray(0, 200).toString('utf8').replace(/\uFFFD+$/, '') : name;
  return `${TEMP_PREFIX}${short}-${TEMP_TAG}${(++tempSeq).toString(36)}`;
}

/** Descriptor-level calls, one thread-pool round trip each (no FileHandle: its close is one more). */
const openFd = promisify(openCb);
const fsyncFd = promisify(fsyncCb);
const fchmodFd = promisify(fchmodCb);
const fstatFd = promisify(fstatCb) as (fd: number, options: { bigint: true }) => Promise<BigIntStats>;
const closeFd = promisify(closeCb);

/**
 * statfs(2) f_type of the file systems on local storage (ext2/3/4, XFS, Btrfs, tmpfs, ramfs,
 * overlayfs, ZFS, F2FS): where a lookup never waits on a network server or a user-space
 * daemon. NFS, SMB/CIFS, FUSE, Ceph, 9p and any type not listed are not.
 */
const LOCAL_FS_TYPES: ReadonlySet<number> = new Set([
  0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x858458f6, 0x794c7630, 0x2fc12fc1, 0xf2f52010,
]);

/** Whether `dir` is on a local disk file system (false when statfs is unavailable or fails). */
export async function onLocalDisk(dir: string): Promise<boolean> {
  try {
    const st = await fsp.statfs(dir);
    return LOCAL_FS_TYPES.has(Number(st.type));
  } catch {
    return false;
  }
}
function writeFd(fd: number, buf: Uint8Array, off: number, len: number): Promise<number> {
  return new Promise((resolve, reject) => {
    writeCb(fd, buf, off, len, null, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/**
 * Move a non-directory to `to` only if `to` does not exist; false when it does. Atomic via
 * link + unlink; where hard links are unsupported (EPERM, ENOTSUP, EXDEV...), check + rename.
 */
async function renameNoReplace(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    await fsp.unlink(from);
    return true;
  } catch (err) {
    if (isCode(err, 'EEXIST')) return false;
    if (isCode(err, 'ENOENT') || isCode(err, 'ENOSPC') || isCode(err, 'EACCES')) throw err;
  }
  if (await lstatOrNull(to)) return false;
  await fsp.rename(from, to);
  return true;
}

/** The directory fsync running for a directory, and the one that callers after it share. */
interface DirSync {
  running: Promise<void>;
  next: Promise<void> | undefined;
}
const dirSyncs = new Map<string, DirSync>();

/**
 * fsync `dir` after the caller's change in it. Concurrent callers share syncs: one that
 * arrives while a sync runs (which may have started before its change) waits for the next
 * one, which all such callers share — 16 writers into one directory cost ~2 fsyncs, not 16.
 */
function syncDirShared(dir: string, openHere: boolean): Promise<void> {
  const e = dirSyncs.get(dir);
  if (!e) return startDirSync(dir, openHere, { running: Promise.resolve(), next: undefined });
  return (e.next ??= e.running.then(() => startDirSync(dir, openHere, e)));
}

function startDirSync(dir: string, openHere: boolean, e: DirSync): Promise<void> {
  const running = fsyncDir(dir, openHere).finally(() => {
    if (e.running === running && e.next === undefined) dirSyncs.delete(dir);
  });
  e.running = running;
  e.next = undefined;
  dirSyncs.set(dir, e);
  return running;
}

/**
 * fsync a directory so a rename in it survives a crash; ignored where unsupported. Opening
 * and closing a directory on a local disk does no disk I/O (`openHere`: on this thread);
 * only the fsync goes to the thread pool.
 */
async function fsyncDir(dir: string, openHere: boolean): Promise<void> {
  let fd = -1;
  try {
    fd = openHere ? openSync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY) : await openFd(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
    await fsyncFd(fd);
  } catch {
    // Some platforms refuse fsync on directories; the data itself is already synced.
  } finally {
    if (fd >= 0) closeQuiet(fd);
  }
}
