// The data types of Strata's public surface: file status, per-call option objects, mount
// descriptions and reports. These objects travel unchanged over the wire (msgpack) and
// into the coordinator and sync engine (one options object per call).

export const WRITE_TYPES = ['MUST_CACHE', 'THROUGH', 'CACHE_THROUGH', 'ASYNC_THROUGH'] as const;
export type WriteType = (typeof WRITE_TYPES)[number];

export const READ_TYPES = ['NO_CACHE', 'CACHE'] as const;
export type ReadType = (typeof READ_TYPES)[number];

export const LOAD_TYPES = ['NEVER', 'ONCE', 'ALWAYS'] as const;
export type LoadType = (typeof LOAD_TYPES)[number];

export const PERSISTENCE_STATES = ['NOT_PERSISTED', 'TO_BE_PERSISTED', 'PERSISTED', 'LOST'] as const;
export type PersistenceState = (typeof PERSISTENCE_STATES)[number];

export type FileType = 'file' | 'directory';

/**
 * The special files a namespace keeps besides regular files and directories (created with
 * createNode; type 'file', metadata only: never persisted to a UFS, docs/fuse.md).
 */
export const NODE_KINDS = ['symlink', 'fifo', 'socket', 'char', 'block'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

/** The status of one path, as `stat --json` prints it. */
export interface FileInfo {
  path: string;
  name: string;
  type: FileType;
  length: number;
  mtimeMs: number;
  /** Last status change (POSIX ctime) and last access (atime), ms; the mtime where the server has none (older servers send neither). */
  ctimeMs?: number;
  atimeMs?: number;
  /** Stable while the content is unchanged; new when the content is reloaded from the UFS. */
  fileId: number;
  persistenceState: PersistenceState;
  cachedBytes: number;
  pinned: boolean;
  /** The mount point this path lives under. */
  mountPoint: string;
  /** The full UFS URI of this path. */
  ufsPath: string;
  /** Set on a mount point itself. */
  isMountPoint?: boolean;
  /** Unix mode bits from the UFS (or 0o644/0o755 for Strata-created entries). */
  mode?: number;
  /** Owner and group kept in the inode (set through setAttributes; absent: the front end's default owner). */
  uid?: number;
  gid?: number;
  /** Time-to-live in ms from creation (-1: none) and what happens when it expires. */
  ttlMs?: number;
  ttlAction?: TtlAction;
  /** Persist attempts and the last error, for files that are TO_BE_PERSISTED. */
  persistAttempts?: number;
  lastPersistError?: string;
  /** Extended attributes stored with the file (S3 ETag, content type, user metadata); absent when empty. */
  xattr?: Record<string, string>;
  /** The UFS's own ETag of this content (an S3 object's, unquoted) when the UFS has one. */
  ufsEtag?: string;
  /** Directories: how many of the children are directories (absent: none); POSIX st_nlink is 2 + this. */
  subdirs?: number;
  /** Set on a special file (createNode): what it is; its target (symbolic link) or device number (char, block). */
  node?: NodeKind;
  target?: string;
  rdev?: number;
}

export type TtlAction = 'free' | 'delete';

/** Options common to every call that may touch the UFS metadata. */
export interface CommonOptions {
  /** Sync interval in ms: -1 never re-check the UFS, 0 check on every access. */
  syncIntervalMs?: number;
  loadType?: LoadType;
  /**
   * Stops long work early (a recursive loadMetadata stops starting directories and fails
   * with CANCELLED). The TCP server sets it for every call; it aborts when the client
   * cancels or disconnects. Never sent over the wire.
   */
  signal?: AbortSignal;
}

export interface GetStatusOptions extends CommonOptions {}

export interface ListStatusOptions extends CommonOptions {
  recursive?: boolean;
  /** Entries per page of the stream (server side cap applies). */
  pageSize?: number;
  /** Non-recursive listings only: start with the first child whose name sorts after this one (UTF-8 byte order). */
  startAfter?: string;
}

export interface CreateDirectoryOptions extends CommonOptions {
  recursive?: boolean;
  writeType?: WriteType;
  /** Succeed when the directory already exists (mkdir -p). */
  allowExists?: boolean;
}

export interface CreateFileOptions extends CommonOptions {
  writeType?: WriteType;
  /** Replace an existing file. */
  overwrite?: boolean;
  /** Create missing parent directories. */
  recursive?: boolean;
  blockSize?: number;
  ttlMs?: number;
  ttlAction?: TtlAction;
  /** Extended attributes stored in the inode with the file (replaced on overwrite). */
  xattr?: Record<string, string>;
  /**
   * Replace only the file whose `fileId` this is (a compare-and-swap, checked under the path's
   * lock with the write): FAILED_PRECONDITION when the path holds another file or nothing.
   * Implies `overwrite`. The S3 gateway's conditional PUT (If-Match).
   */
  ifFileId?: number;
}

export interface ReadOptions extends CommonOptions {
  readType?: ReadType;
  offset?: number;
  /** Bytes to read; absent means to the end. */
  length?: number;
  /** Read the last `tail` bytes (offset ignored). */
  tail?: number;
  chunkSize?: number;
  /** Read only the file whose `fileId` this is: FAILED_PRECONDITION when the path holds another one (S3 CopyObject's source conditions). */
  ifFileId?: number;
}

export interface DeleteOptions extends CommonOptions {
  recursive?: boolean;
  /** Delete from Strata only, leave the UFS alone. */
  strataOnly?: boolean;
}

export interface RenameOptions extends CommonOptions {}

/** Attributes kept in the inode that `setAttributes` changes (each optional; absent ones stay). */
export interface SetAttributesOptions {
  /** Permission bits (0..0o7777). */
  mode?: number;
  uid?: number;
  gid?: number;
  mtimeMs?: number;
  /** Access time (utimens); every change also sets the ctime to the time of the change. */
  atimeMs?: number;
}

/** A special file to create with createNode: a symbolic link (with its target), FIFO, socket or device node. */
export interface CreateNodeOptions extends CommonOptions {
  kind: NodeKind;
  /** Symbolic links: the target, kept as given (1 to 4,095 bytes, never resolved by Strata). */
  target?: string;
  /** Character and block devices: the device number (Linux's encoding of major and minor, 0..2^32-1). */
  rdev?: number;
  /** Permission bits (0..0o7777; default 0o777 for a link, 0o644 otherwise), owner and group. */
  mode?: number;
  uid?: number;
  gid?: number;
}

export interface MountOptions {
  readOnly?: boolean;
  /** Per-mount options: credentials, endpoint, region, sync interval and other config keys. */
  options?: Record<string, string>;
}

/** One row of the mount table, secrets redacted. */
export interface MountInfo {
  path: string;
  ufsUri: string;
  readOnly: boolean;
  options: Record<string, string>;
  mountId: number;
}

export interface LoadMetadataOptions extends CommonOptions {
  recursive?: boolean;
}

/** What a metadata sync did. */
export interface SyncSummary {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  failed: number;
}

export interface ConsistencyOptions extends CommonOptions {
  recursive?: boolean;
  repair?: boolean;
}

export interface ConsistencyReport {
  /** Every path where Strata and the UFS disagree (the three lists below together). */
  inconsistent: string[];
  repaired: number;
  /** Another type or fingerprint in the UFS. */
  changed?: string[];
  /** In Strata (persisted), missing in the UFS. */
  deleted?: string[];
  /** In the UFS, missing from a directory whose listing Strata has loaded. */
  ufsOnly?: string[];
}

export interface CacheOpOptions extends CommonOptions {
  recursive?: boolean;
}

export interface CacheOpResult {
  files: number;
  bytes: number;
  /** free of a directory: files whose data was kept, and why (at most KEPT_LIST_MAX listed). */
  kept?: Array<{ path: string; reason: string }>;
  /** free of a directory: how many files (and cached bytes) were kept in all. */
  keptFiles?: number;
  keptBytes?: number;
}

/** Progress of long work (sync, load, copy), reported while it runs. */
export interface Progress {
  done: number;
  total?: number;
  bytes?: number;
  phase?: string;
}

export type ProgressListener = (p: Progress) => void;

export interface WithProgress {
  onProgress?: ProgressListener;
}

export interface PathConfEntry {
  path: string;
  properties: Record<string, string>;
}

export interface SyncPointInfo {
  path: string;
  /**
   * `warming-up`: watching is set up but not yet known to deliver (an S3 notification topic
   * before its first event); changes are found by reconciliation meanwhile (see message).
   */
  state: 'initial-sync' | 'warming-up' | 'active' | 'degraded' | 'stopped';
  /** When the sync point degraded to interval reconciliation (state `degraded`). */
  degradedAtMs?: number;
  lastEventMs?: number;
  eventsApplied: number;
  message?: string;
}

/** Counters readable through `fsadmin report` (and Prometheus). */
export interface Report {
  server: { version: string; uptimeMs: number; startedAt: string };
  namespace: { inodes: number; mounts: number };
  ops: Record<string, number>;
  ufsCalls: Record<string, number>;
  cache: {
    hits: number;
    misses: number;
    usedBytes: number;
    capacityBytes: number;
    hitRatio: number;
    evictedBytes: number;
    bytesByState: Record<string, number>;
    /** Cold reads served from the UFS without caching because the cache (or its disk) was full. */
    bypassOnFull?: number;
    /** Blocks a cold sequential read fetched from the UFS ahead of the one it served. */
    readAheadBlocks?: number;
    /** Reads that found the UFS object changed and re-synced the file before serving it. */
    ufsChangedResyncs?: number;
  };
  sync: Record<string, number>;
  persist: Record<string, number>;
  activeSync: Record<string, number>;
  /** Operations cut short by a crash and resolved at start (`recovered`), still open (`open`). */
  intents?: Record<string, number>;
  /** S3 gateway counters (requests.<op>.<status>, latencyMs.<op>, bytesIn, bytesOut) when it runs in the server. */
  gateway?: Record<string, number>;
  /** loadMetadata / checkConsistency runs of any client: running ones, then the latest finished. */
  recentRuns?: RecentRun[];
}

/** What a finished run found: a sync's counts, or a consistency check's counts. */
export type RecentRunResult = SyncSummary | { inconsistent: number; changed: number; deleted: number; ufsOnly: number; repaired: number };

/** One loadMetadata or checkConsistency run, as `fsadmin report` lists it. */
export interface RecentRun {
  op: 'loadMetadata' | 'checkConsistency';
  path: string;
  recursive: boolean;
  startedMs: number;
  /** Unset while it runs. */
  finishedMs?: number;
  result?: RecentRunResult;
  error?: { code: string; message: string };
}

/** One server configuration value as `getConf` reports it (secrets redacted). */
export interface ConfEntry {
  key: string;
  value: string;
  /** Where the value came from: `default`, `preset:NAME`, `file:PATH`, `-D`. */
  source: string;
  /** What the key means (Strata keys; UFS defaults such as `s3.endpoint` have none). */
  description?: string;
}
