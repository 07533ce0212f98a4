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

/** The status of one path, as `stat --json` prints it. */
export interface FileInfo {
  path: string;
  name: string;
  type: FileType;
  length: number;
  mtimeMs: number;
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
  /** Time-to-live in ms from creation (-1: none) and what happens when it expires. */
  ttlMs?: number;
  ttlAction?: TtlAction;
  /** Persist attempts and the last error, for files that are TO_BE_PERSISTED. */
  persistAttempts?: number;
  lastPersistError?: string;
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
}

export interface ReadOptions extends CommonOptions {
  readType?: ReadType;
  offset?: number;
  /** Bytes to read; absent means to the end. */
  length?: number;
  /** Read the last `tail` bytes (offset ignored). */
  tail?: number;
  chunkSize?: number;
}

export interface DeleteOptions extends CommonOptions {
  recursive?: boolean;
  /** Delete from Strata only, leave the UFS alone. */
  strataOnly?: boolean;
}

export interface RenameOptions extends CommonOptions {}

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
  inconsistent: string[];
  repaired: number;
}

export interface CacheOpOptions extends CommonOptions {
  recursive?: boolean;
}

export interface CacheOpResult {
  files: number;
  bytes: number;
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
  state: 'initial-sync' | 'active' | 'degraded' | 'stopped';
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
  };
  sync: Record<string, number>;
  persist: Record<string, number>;
  activeSync: Record<string, number>;
}
