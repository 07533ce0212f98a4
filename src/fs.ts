// The FileSystem interface: what a Strata user calls. The in-process Coordinator (library
// mode) and the TCP client implement exactly this, so a program moves between the two by
// changing one constructor. Every method takes one options object; data moves as streams.

import type {
  CacheOpOptions, CacheOpResult, ConfEntry, ConsistencyOptions, ConsistencyReport, CreateDirectoryOptions,
  CreateFileOptions, CreateNodeOptions, DeleteOptions, FileInfo, GetStatusOptions, ListStatusOptions,
  LoadMetadataOptions, MountInfo, MountOptions, PathConfEntry, ReadOptions, RenameOptions, SetAttributesOptions,
  Report, SyncPointInfo, SyncSummary, TtlAction, WithProgress,
} from './types.js';

/** Bytes to write: a whole buffer or a stream of chunks (back-pressured by the consumer). */
export type DataSource = Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface FileSystem {
  /** Status of one path; syncs the path itself with the UFS when its sync interval asks. */
  getStatus(path: string, options?: GetStatusOptions): Promise<FileInfo>;
  /** True when the path exists (same sync rules as getStatus). */
  exists(path: string, options?: GetStatusOptions): Promise<boolean>;
  /**
   * Children of a directory (or the file itself), streamed in pages so that a 1M-entry
   * listing never sits in one array. Recursive listings are depth-first, parents first.
   */
  listStatus(path: string, options?: ListStatusOptions): AsyncIterable<FileInfo[]>;

  createDirectory(path: string, options?: CreateDirectoryOptions): Promise<FileInfo>;
  /**
   * Create a special file: a symbolic link (its target is kept, never resolved), a FIFO, a
   * socket or a device node. Metadata only: it lives in Strata's namespace, is never
   * persisted to the UFS and has no content (readFile refuses it); getStatus shows its kind,
   * target and device number.
   */
  createNode(path: string, options: CreateNodeOptions): Promise<FileInfo>;
  /** Create (or overwrite) a file from a stream of bytes; resolves when the write type's promise holds. */
  writeFile(path: string, data: DataSource, options?: CreateFileOptions & WithProgress): Promise<FileInfo>;
  /** Stream a file's bytes (ranged with offset/length or tail). */
  readFile(path: string, options?: ReadOptions): AsyncIterable<Uint8Array>;
  delete(path: string, options?: DeleteOptions): Promise<void>;
  rename(src: string, dst: string, options?: RenameOptions): Promise<void>;
  /** Change mode, owner, group or mtime kept in the inode (the UFS is left alone); returns the new status. */
  setAttributes(path: string, attributes: SetAttributesOptions): Promise<FileInfo>;

  mount(path: string, ufsUri: string, options?: MountOptions): Promise<void>;
  unmount(path: string): Promise<void>;
  getMountTable(): Promise<MountInfo[]>;

  /** Load metadata from the UFS now (one level, or the subtree with recursive). */
  loadMetadata(path: string, options?: LoadMetadataOptions & WithProgress): Promise<SyncSummary>;
  checkConsistency(path: string, options?: ConsistencyOptions): Promise<ConsistencyReport>;
  /** Forget when the path was last synced: its next access syncs it. */
  needsSync(path: string): Promise<void>;

  /** Cache the data of a file or subtree. */
  load(path: string, options?: CacheOpOptions & WithProgress): Promise<CacheOpResult>;
  /** Drop cached data of persisted files. */
  free(path: string, options?: CacheOpOptions): Promise<CacheOpResult>;
  /** Persist a file (or subtree) to the UFS now. */
  persist(path: string, options?: CacheOpOptions): Promise<CacheOpResult>;
  setPinned(path: string, pinned: boolean, options?: CacheOpOptions): Promise<CacheOpResult>;
  /** Set a TTL (ms, -1 clears) and what to do when it expires. */
  setTtl(path: string, ttlMs: number, action?: TtlAction): Promise<void>;
  /** Replace the extended attributes of a file (an empty map removes them). */
  setXattr(path: string, xattr: Record<string, string>): Promise<void>;

  startSync(path: string): Promise<void>;
  stopSync(path: string): Promise<void>;
  getSyncPathList(): Promise<SyncPointInfo[]>;

  setPathConf(path: string, properties: Record<string, string>): Promise<void>;
  listPathConf(): Promise<PathConfEntry[]>;
  removePathConf(path: string): Promise<void>;

  getReport(): Promise<Report>;
  /** The server's effective configuration (one key, or all), with where each value came from. */
  getConf(key?: string): Promise<ConfEntry[]>;
  close(): Promise<void>;
}
