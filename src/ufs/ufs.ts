// The under-file-system interface. A UFS is one mounted storage location (a local
// directory, an S3 bucket prefix). Paths given to a Ufs are relative to its root: '' is
// the root itself, 'a/b.txt' a file below it; a Ufs never touches anything outside its
// root. Adding HDFS or GCS is a new folder implementing this and one line in registry.ts.
// Optional capabilities (a change watcher, clean-up of interrupted writes) are optional
// members that callers check at run time (`ufsCapabilities`), never a switch on the scheme.

import { ErrorCode, StrataError, invalidPath } from '../errors.js';
import type { ChangeWatcher, UfsWatchOptions } from './change-watcher.js';

export type UfsEntryType = 'file' | 'directory';

/** What a UFS says about one entry. */
export interface UfsStatus {
  /** Name of the entry (for recursive listings: path relative to the listed directory). */
  name: string;
  type: UfsEntryType;
  length: number;
  mtimeMs: number;
  /** Last status change (POSIX ctime) where the UFS has one (a local file system; not S3). */
  ctimeMs?: number;
  /** Unix mode bits where the UFS has them. */
  mode?: number;
  /** ETag or content hash where the UFS has one. */
  etag?: string;
  /**
   * Content fingerprint: changes when the bytes may have changed (type, size, mtime, etag).
   * Compared by the sync engine to decide whether cached data is stale.
   */
  contentHash: string;
  /** Metadata fingerprint: changes when only metadata (mode) changed. */
  metaHash: string;
}

/**
 * Content fingerprint of every directory, in every UFS (a directory's mtime tracks its
 * children, not it): what Strata records for a directory it creates itself.
 */
export const DIR_CONTENT_HASH = 'dir';

export interface UfsListOptions {
  /** List the whole subtree, names relative to the listed directory, parents first. */
  recursive?: boolean;
  /** Entries per yielded page. */
  pageSize?: number;
  /** Abort the listing. */
  signal?: AbortSignal;
  /**
   * The group of related listings this one belongs to (one sync task): a UFS may keep what
   * it learnt listing one directory for the next listing of the group (LocalUfs: the open
   * descriptor of a directory just listed, so a child is opened by one name lookup instead
   * of a walk of its whole path). Whoever creates the scope closes it.
   */
  scope?: UfsListScope;
}

/**
 * State a UFS keeps between the listings of one group (see UfsListOptions.scope), by owner,
 * released by `close()`. Short-lived by design: what it holds vouches for a path only for
 * the moments of one task, as a single listing's own resolution does.
 */
export class UfsListScope {
  private readonly state = new Map<object, { value: unknown; close: () => void }>();

  /** The state `owner` keeps in this scope, created by `make` (and released by `close`) on first use. */
  of<T>(owner: object, make: () => T, close: (value: T) => void): T {
    const hit = this.state.get(owner);
    if (hit) return hit.value as T;
    const value = make();
    this.state.set(owner, { value, close: () => close(value) });
    return value;
  }

  /** Release everything kept (descriptors, ...). The scope may be used again afterwards. */
  close(): void {
    const all = [...this.state.values()];
    this.state.clear();
    for (const s of all) {
      try {
        s.close();
      } catch {
        // releasing is best effort
      }
    }
  }
}

export interface UfsReadOptions {
  offset?: number;
  /** Bytes to read; undefined means to the end. */
  length?: number;
  signal?: AbortSignal;
  /**
   * The `contentHash` the caller's metadata holds for this file. When set, the UFS checks
   * the object it opened against it (local: fstat of the open file; S3: If-Match on the
   * ETag of every ranged GET) and throws UfsChangedError instead of serving another version.
   */
  fingerprint?: string;
}

/**
 * The UFS object is not the version the caller's metadata describes (it was replaced,
 * grew or shrank outside Strata). Code FAILED_PRECONDITION; no byte of it was served.
 */
export class UfsChangedError extends StrataError {
  constructor(what: string, options?: { cause?: unknown }) {
    super(ErrorCode.FAILED_PRECONDITION, `${what} changed in the UFS since its metadata was loaded (another version); sync the path (ls -f / loadMetadata)`, options);
  }
}

export interface UfsWriteOptions {
  /** Replace an existing object/file (default true). */
  overwrite?: boolean;
  /** Expected total size when known (lets S3 choose single PUT vs multipart). */
  size?: number;
  /** Create missing parent directories (default true). */
  recursive?: boolean;
  signal?: AbortSignal;
  /**
   * Called once, and awaited, before the new file can become visible at `path` (local: after
   * the temp file is written and synced, before its rename; S3: before the PUT or the
   * multipart upload starts). A rejection fails the write with nothing placed. It lets a
   * caller overlap work that must be durable before the UFS changes (the write's intent
   * record) with the UFS's own work, instead of doing them one after the other. Every Ufs
   * must honour it: calling it before storing anything is always correct.
   */
  beforePlace?: () => Promise<void>;
  /**
   * Called once with the new file's status as soon as it is at `path` (visible), and awaited
   * together with the UFS's own step that makes the placement durable (local: the fsync of
   * the directory; S3: none, the PUT answered once stored): `write` resolves once both are
   * done and rejects when this does (the file stays placed). Lets a caller overlap its
   * commit of the write with that last sync.
   */
  afterPlace?: (status: UfsStatus) => Promise<void>;
}

/** The small interface every under file system implements. */
export interface Ufs {
  /** Scheme, e.g. 'file' or 's3'. */
  readonly scheme: string;
  /** The mounted root URI, e.g. file:///data or s3://bucket/prefix. */
  readonly uri: string;
  /**
   * Set when a recursive `list` is one stream of entries in sorted path order and far
   * cheaper than one listing per directory (object stores): recursive syncs then use it.
   */
  readonly flatListing?: boolean;
  /** Status of a path; null when it does not exist. */
  getStatus(path: string, options?: { signal?: AbortSignal }): Promise<UfsStatus | null>;
  /** Entries of a directory, in pages. Throws NOT_FOUND / NOT_A_DIRECTORY. */
  list(path: string, options?: UfsListOptions): AsyncIterable<UfsStatus[]>;
  /** Bytes of a file, ranged. */
  read(path: string, options?: UfsReadOptions): AsyncIterable<Uint8Array>;
  /**
   * Write a whole file from a stream. Readers of the UFS never see a partial file
   * (temp name + rename locally, single PUT or multipart on S3). Returns the new status.
   */
  write(path: string, data: AsyncIterable<Uint8Array>, options?: UfsWriteOptions): Promise<UfsStatus>;
  mkdir(path: string, options?: { recursive?: boolean }): Promise<void>;
  /** Delete a file or directory (recursive for non-empty directories). Missing is not an error. */
  delete(path: string, options?: { recursive?: boolean }): Promise<void>;
  rename(src: string, dst: string): Promise<void>;
  /**
   * Optional: refuse at once (INVALID_PATH naming the limit) a path this UFS could never
   * store, such as a name longer than the file system allows, without any I/O. Called before
   * a cache-first write is acknowledged, so that its persist can never fail on the name.
   */
  validatePath?(path: string): void;
  /** Check that the UFS root is reachable and usable (called at mount time). */
  check(): Promise<void>;
  close(): Promise<void>;

  // ------------------------------------------------------------ optional capabilities

  /**
   * Optional: a watcher of changes made outside Strata under `options.dir` (active sync).
   * Building it does no I/O; `start()` sets it up. It may throw when this UFS cannot be
   * watched with its configuration: the caller then reconciles by periodic listing, as it
   * does for a UFS without this member.
   */
  watcher?(options: UfsWatchOptions): ChangeWatcher;
  /**
   * Optional: remove what writes cut short by a crash left behind (temp files) last changed
   * before `before` (ms since the epoch; default: one hour ago, so that writes in flight
   * survive). Streams the tree (never lists it whole), stops early when `signal` aborts and
   * returns how many were removed. The coordinator calls it once in the background after
   * start with `before` set to its start time: temp files of its own writes are younger.
   */
  cleanupInterruptedWrites?(options?: { before?: number; signal?: AbortSignal }): Promise<number>;
}

/** The optional members of `Ufs`, by name. */
export const UFS_CAPABILITIES = ['watcher', 'cleanupInterruptedWrites', 'validatePath'] as const;
export type UfsCapability = (typeof UFS_CAPABILITIES)[number];

/** Whether a UFS has an optional capability (a function member of that name). */
export function hasUfsCapability<K extends UfsCapability>(ufs: Ufs, name: K): ufs is Ufs & Required<Pick<Ufs, K>> {
  return typeof (ufs as unknown as Record<string, unknown>)[name] === 'function';
}

/** The optional capabilities a UFS has (for reports, tests and diagnostics). */
export function ufsCapabilities(ufs: Ufs): UfsCapability[] {
  return UFS_CAPABILITIES.filter((name) => hasUfsCapability(ufs, name));
}

/** Builds a Ufs from its URI and the mount's options. */
export type UfsFactory = (uri: string, options: Record<string, string>) => Ufs;

/**
 * Validate a UFS-relative path: '' or 'a/b'; no '.', '..', empty segments, NUL or leading
 * '/'. Every Ufs checks its paths with this (plus its own limits) before touching storage.
 */
export function checkUfsPath(path: string): void {
  if (typeof path !== 'string') throw invalidPath(String(path), 'a UFS path must be a string');
  if (path === '') return;
  if (path.includes('\0')) throw invalidPath(path, 'contains a NUL character');
  if (path.startsWith('/')) throw invalidPath(path, 'a UFS path is relative to the UFS root and must not start with /');
  // One scan, no array of segments (a path may be thousands of components deep).
  let from = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i < path.length && path.charCodeAt(i) !== 47 /* / */) continue;
    const n = i - from;
    if (n === 0) throw invalidPath(path, 'contains an empty segment');
    if (path.charCodeAt(from) === 46 /* . */ && (n === 1 || (n === 2 && path.charCodeAt(from + 1) === 46))) {
      throw invalidPath(path, `contains a '${path.slice(from, i)}' segment`);
    }
    from = i + 1;
  }
}

/** Join UFS-relative path segments ('' is the root). */
export function ufsJoin(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** Parent of a UFS-relative path ('' for a top-level name and for the root). */
export function ufsParent(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/**
 * Throw when `signal` has aborted: its reason when that is a StrataError, else CANCELLED
 * naming the path (the reason kept as cause). Every Ufs checks this between steps.
 */
export function throwIfAborted(signal: AbortSignal | undefined, path: string): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  if (reason instanceof StrataError) throw reason;
  throw new StrataError(ErrorCode.CANCELLED, `operation on ${JSON.stringify(path)} was aborted`, { cause: reason });
}
