// The coordinator: Strata's FileSystem in library mode and the back end of the TCP server.
// Each call is validated, its options resolved (call > path > mount > server), routed to
// the shard actor of its path and delegated: namespace.ts (mkdirs, write and commit, read,
// remove, move), listing.ts, mount-service.ts, the sync engine, cache management, report.ts.
// The services are wired, recovered and started by bootstrap.ts.

import type { CacheManagement } from '../cache/cache-management.js';
import type { TtlChecker } from '../cache/ttl-checker.js';
import { describeConfig } from '../config/describe.js';
import type { ServerConfig } from '../config/keys.js';
import { ErrorCode, StrataError, alreadyExists, invalidArgument, invalidPath, isADirectory, mountConflict, notADirectory, notFound } from '../errors.js';
import type { DataSource, FileSystem } from '../fs.js';
import type { BlockStore } from '../cache/block-store.js';
import type { InodeTree } from '../meta/inode-tree.js';
import type { MetaStore } from '../meta/meta-store.js';
import type { MountTable } from '../meta/mount-table.js';
import { normalizePath, ROOT } from '../meta/path.js';
import type { Metrics } from '../metrics/metrics.js';
import type {
  CacheOpOptions, CacheOpResult, ConfEntry, ConsistencyOptions, ConsistencyReport, CreateDirectoryOptions, CreateFileOptions, CreateNodeOptions,
  DeleteOptions, FileInfo, GetStatusOptions, ListStatusOptions, LoadMetadataOptions, MountInfo, MountOptions,
  PathConfEntry, ReadOptions, RenameOptions, Report, SetAttributesOptions, SyncPointInfo, SyncSummary, TtlAction, WithProgress,
} from '../types.js';
import { bootstrap, cacheServices, closeServices, startHousekeeping } from './bootstrap.js';
import { FileInfoMapper } from './file-info.js';
import { listPaged } from './listing.js';
import { ListingPageCache } from './listing-columns.js';
import { LIST_COLUMNS } from '../protocol/page-codec.js';
import type { ColumnarPage } from '../protocol/page-codec.js';
import { MountService } from './mount-service.js';
import { Namespace } from './namespace.js';
import { buildReport, prometheusText } from './report.js';
import { mutate, statInode, tryStat, writable } from './services.js';
import type { CoordinatorOptions, Services } from './services.js';
import { validateAttributes, validateNode, validateOptions } from './validate-options.js';
import { idleWhileWaiting } from '../actors/idle-source.js';

export type { CoordinatorOptions } from './services.js';

export class Coordinator implements FileSystem {
  private readonly startedAt = Date.now();
  private closed = false;
  readonly metrics: Metrics;
  readonly dataDir: string;
  readonly config: ServerConfig;
  readonly store: MetaStore;
  readonly tree: InodeTree;
  readonly mounts: MountTable;
  readonly blocks: BlockStore;
  private readonly ns: Namespace;
  private readonly infos: FileInfoMapper;
  /** Listings as columnar pages for the TCP server, with the pages of unchanged directories kept (listing-columns.ts). */
  readonly listingPages: ListingPageCache;
  private readonly mountService: MountService;
  private readonly cacheOps: CacheManagement;
  private readonly ttl: TtlChecker;
  private readonly activeSync: Services['activeSync'];

  private readonly maxDepth: number;

  private constructor(private readonly s: Services) {
    this.maxDepth = s.config.get('path.max.depth');
    ({ metrics: this.metrics, dataDir: this.dataDir, config: this.config, store: this.store, tree: this.tree, mounts: this.mounts, blocks: this.blocks } = s);
    this.activeSync = s.activeSync;
    this.ns = new Namespace(s);
    this.infos = new FileInfoMapper(s.mounts, s.blocks, (id) => s.tree.subdirs(id));
    this.listingPages = new ListingPageCache(s, this.infos);
    this.mountService = new MountService(s); // a malformed mount.allowed.roots fails the start, not the first mount
    ({ cacheOps: this.cacheOps, ttl: this.ttl } = cacheServices(s, this));
  }

  /**
   * Open (or create) a Strata instance on a data directory. Takes the directory's exclusive
   * lock first: a directory in use by another live process fails with FAILED_PRECONDITION.
   */
  static async open(opts: CoordinatorOptions): Promise<Coordinator> {
    return bootstrap(opts, (s) => new Coordinator(s));
  }

  /** Background work owned here, started by the bootstrap after recovery. */
  async start(): Promise<void> {
    this.ttl.start();
    startHousekeeping(this.s);
    await this.s.activeSync.startAll();
    await this.mountService.startActiveSync();
  }

  /** A client path, normalised and held to this instance's `path.max.depth`. */
  private path(path: unknown): string {
    return normalizePath(path, this.maxDepth);
  }

  private op(name: string): void {
    if (this.closed) throw new StrataError(ErrorCode.CONNECTION_CLOSED, 'the coordinator is closed');
    this.metrics.inc('ops', name);
  }

  async getStatus(path: string, options: GetStatusOptions = {}): Promise<FileInfo> {
    this.op('getStatus');
    validateOptions('getStatus', options);
    const p = this.path(path);
    return this.infos.info(p, await statInode(this.s, p, options));
  }

  async exists(path: string, options: GetStatusOptions = {}): Promise<boolean> {
    this.op('exists');
    validateOptions('getStatus', options, 'exists');
    return (await tryStat(this.s, this.path(path), options)) !== undefined;
  }

  async *listStatus(path: string, options: ListStatusOptions = {}): AsyncIterable<FileInfo[]> {
    this.op('listStatus');
    validateOptions('listStatus', options);
    yield* listPaged(this.s, this.infos, this.path(path), options);
  }

  /** listStatus as columnar pages (protocol/page-codec.ts LIST_COLUMNS): what the TCP server sends. */
  async *[LIST_COLUMNS](path: string, options: ListStatusOptions = {}): AsyncIterable<ColumnarPage> {
    this.op('listStatus');
    validateOptions('listStatus', options);
    yield* this.listingPages.list(this.path(path), options);
  }

  async createDirectory(path: string, options: CreateDirectoryOptions = {}): Promise<FileInfo> {
    this.op('createDirectory');
    validateOptions('createDirectory', options);
    const p = this.path(path);
    if (p === ROOT) {
      if (options.allowExists) return this.getStatus(ROOT);
      throw alreadyExists(ROOT);
    }
    writable(this.s, p);
    const writeType = this.s.options.writeType(p, options.writeType);
    return mutate(this.s, p, async () => this.infos.info(p, await this.ns.createDirectory(p, writeType, options)));
  }

  /** Create a special file (symbolic link, FIFO, socket, device node): metadata only, never persisted. */
  async createNode(path: string, options: CreateNodeOptions): Promise<FileInfo> {
    this.op('createNode');
    validateNode(options);
    const p = this.path(path);
    if (p === ROOT) throw alreadyExists(ROOT);
    writable(this.s, p);
    return mutate(this.s, p, async () => this.infos.info(p, await this.ns.createNode(p, options)));
  }

  async writeFile(path: string, data: DataSource, options: CreateFileOptions & WithProgress = {}): Promise<FileInfo> {
    this.op('writeFile');
    validateOptions('writeFile', options);
    const p = this.path(path);
    if (p === ROOT) throw isADirectory(ROOT);
    const at = writable(this.s, p);
    const writeType = this.s.options.writeType(p, options.writeType);
    const blockSize = options.blockSize ?? this.blocks.blockSize;
    return mutate(this.s, p, async (slot) => {
      // Waiting for the client's next chunk gives the shard slot back (a stalled upload
      // holds only its path lock, until upload.idle.timeout).
      const paced = idleWhileWaiting(data, slot);
      return this.infos.info(p, await this.ns.writeFile(p, at, paced, writeType, blockSize, options));
    });
  }

  async *readFile(path: string, options: ReadOptions = {}): AsyncIterable<Uint8Array> {
    this.op('readFile');
    validateOptions('readFile', options);
    yield* this.ns.read(this.path(path), options);
  }

  async delete(path: string, options: DeleteOptions = {}): Promise<void> {
    this.op('delete');
    validateOptions('delete', options);
    const p = this.path(path);
    if (p === ROOT) throw invalidPath(p, 'the root cannot be deleted');
    const at = writable(this.s, p);
    if (this.mounts.byPath(p)) throw mountConflict(`${p} is a mount point: unmount it instead`);
    const nested = this.mounts.nestedUnder(p);
    if (nested.length) throw mountConflict(`${p} contains the mount point ${nested[0]!.path}: unmount it first`);
    return mutate(this.s, p, () => this.ns.remove(p, at, options), [], true);
  }

  async rename(src: string, dst: string, options: RenameOptions = {}): Promise<void> {
    this.op('rename');
    validateOptions('rename', options);
    const m = await this.ns.planMove(this.path(src), this.path(dst), options);
    if (!m) return; // onto itself
    return mutate(this.s, m.src, () => this.ns.move(m.src, m.sm, m.dst, m.dm, options), [{ path: m.dst, exclusive: true, subtree: true }], true);
  }

  /** Change mode, owner, group or mtime kept in the inode (the UFS keeps its own). */
  async setAttributes(path: string, attributes: SetAttributesOptions): Promise<FileInfo> {
    this.op('setAttributes');
    const p = this.path(path);
    const a = attributes ?? {};
    validateAttributes(a);
    writable(this.s, p);
    return mutate(this.s, p, async () => this.infos.info(p, await this.ns.setAttributes(p, a)));
  }

  /** Replace the extended attributes of a file (S3 ETag, content type, user metadata). */
  async setXattr(path: string, xattr: Record<string, string>): Promise<void> {
    this.op('setXattr');
    const p = this.path(path);
    if (!xattr || typeof xattr !== 'object' || Object.values(xattr).some((v) => typeof v !== 'string')) {
      throw invalidArgument('xattr must be an object of string values');
    }
    return mutate(this.s, p, () => this.ns.setXattr(p, xattr));
  }

  async mount(path: string, ufsUri: string, options: MountOptions = {}): Promise<void> {
    this.op('mount');
    validateOptions('mount', options);
    return this.mountService.mount(this.path(path), ufsUri, options);
  }

  async unmount(path: string): Promise<void> {
    this.op('unmount');
    return this.mountService.unmount(this.path(path));
  }

  async getMountTable(): Promise<MountInfo[]> {
    this.op('getMountTable');
    return this.mountService.list();
  }

  async loadMetadata(path: string, options: LoadMetadataOptions & WithProgress = {}): Promise<SyncSummary> {
    this.op('loadMetadata');
    validateOptions('loadMetadata', options);
    const p = this.path(path);
    return this.s.runs.track('loadMetadata', p, !!options.recursive,
      () => this.s.sync.loadMetadata(p, !!options.recursive, options.onProgress, options.signal), (r) => ({ ...r }));
  }

  async checkConsistency(path: string, options: ConsistencyOptions = {}): Promise<ConsistencyReport> {
    this.op('checkConsistency');
    validateOptions('checkConsistency', options);
    const p = this.path(path);
    const root = await statInode(this.s, p, { syncIntervalMs: -1 });
    return this.s.runs.track('checkConsistency', p, !!options.recursive,
      () => this.s.sync.checkConsistency(p, root, !!options.recursive, !!options.repair, options.signal),
      (r) => ({ inconsistent: r.inconsistent.length, changed: r.changed?.length ?? 0, deleted: r.deleted?.length ?? 0, ufsOnly: r.ufsOnly?.length ?? 0, repaired: r.repaired }));
  }

  async needsSync(path: string): Promise<void> {
    this.op('needsSync');
    await this.s.sync.needsSync(this.path(path));
  }

  async load(path: string, options: CacheOpOptions & WithProgress = {}): Promise<CacheOpResult> {
    this.op('load');
    validateOptions('cacheOp', options, 'load');
    return this.cacheOps.load(this.path(path), options);
  }

  async free(path: string, options: CacheOpOptions = {}): Promise<CacheOpResult> {
    this.op('free');
    validateOptions('cacheOp', options, 'free');
    return this.cacheOps.free(this.path(path), options);
  }

  async persist(path: string, options: CacheOpOptions = {}): Promise<CacheOpResult> {
    this.op('persist');
    validateOptions('cacheOp', options, 'persist');
    const p = this.path(path);
    writable(this.s, p);
    return this.cacheOps.persist(p, options);
  }

  async setPinned(path: string, pinned: boolean, options: CacheOpOptions = {}): Promise<CacheOpResult> {
    this.op(pinned ? 'pin' : 'unpin');
    validateOptions('cacheOp', options, 'setPinned');
    return this.cacheOps.setPinned(this.path(path), pinned, options);
  }

  async setTtl(path: string, ttlMs: number, action: TtlAction = 'free'): Promise<void> {
    this.op('setTtl');
    return this.cacheOps.setTtl(this.path(path), ttlMs, action);
  }

  async startSync(path: string): Promise<void> {
    this.op('startSync');
    const p = this.path(path);
    const inode = await statInode(this.s, p);
    if (inode.type !== 'directory') throw notADirectory(p);
    await this.activeSync.start(p, this.mounts.resolve(p).mount);
  }

  async stopSync(path: string): Promise<void> {
    this.op('stopSync');
    await this.activeSync.stop(this.path(path));
  }

  async getSyncPathList(): Promise<SyncPointInfo[]> {
    this.op('getSyncPathList');
    return this.activeSync.list();
  }

  async setPathConf(path: string, properties: Record<string, string>): Promise<void> {
    this.op('setPathConf');
    const p = this.path(path);
    if (!properties || typeof properties !== 'object' || Object.keys(properties).length === 0) {
      throw invalidArgument('pathConf add needs at least one --property KEY=VALUE');
    }
    await this.s.pathConf.add(p, properties);
  }

  async listPathConf(): Promise<PathConfEntry[]> {
    this.op('listPathConf');
    return this.s.pathConf.list();
  }

  async removePathConf(path: string): Promise<void> {
    this.op('removePathConf');
    const p = this.path(path);
    if (!(await this.s.pathConf.remove(p))) throw notFound(p, 'path configuration for');
  }

  /** The server's effective configuration with the source of each value (secrets redacted). */
  async getConf(key?: string): Promise<ConfEntry[]> {
    this.op('getConf');
    return describeConfig(this.config, key);
  }

  async getReport(): Promise<Report> {
    return buildReport(this.s, this.startedAt);
  }

  /** Prometheus text exposition of the counters and gauges. */
  async prometheus(): Promise<string> {
    return prometheusText(this.s, this.startedAt);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ttl.stop();
    await closeServices(this.s);
  }
}
