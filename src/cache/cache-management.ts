// Cache management of a file or subtree: load (cache its data), free (drop cached data of
// persisted files; unpersisted or pinned ones keep theirs and are reported), persist
// now, pin/unpin (unpersisted files stay pinned: their blocks are the only copy), and TTL.
// Walks are streamed from the inode tree; nothing holds the subtree in memory.

import type { BlockStore } from './block-store.js';
import { TtlChecker } from './ttl-checker.js';
import { ErrorCode, StrataError, invalidArgument, notFound } from '../errors.js';
import type { InodeRecord } from '../meta/inode.js';
import { InodeTree } from '../meta/inode-tree.js';
import type { MetaStore } from '../meta/meta-store.js';
import { throwIfCancelled } from '../cancel.js';
import type { CacheOpOptions, CacheOpResult, CommonOptions, ReadOptions, TtlAction, WithProgress } from '../types.js';

export interface CacheManagementDeps {
  tree: InodeTree;
  store: MetaStore;
  blocks: BlockStore;
  /** Persist a file now (the persist queue; cache/ sits beside persist/, so only this shape). */
  persistQueue: { persistNow(path: string, inodeId: number): Promise<void> };
  /** The inode of a path, synced per the options (listing: a directory's children too). */
  access(path: string, options: CommonOptions, listing: boolean): Promise<InodeRecord>;
  /** Load a subtree's metadata from the UFS. */
  loadTree(path: string, signal?: AbortSignal): Promise<void>;
  /** Stream a file through the data path. */
  read(path: string, options: ReadOptions): AsyncIterable<Uint8Array>;
}

/** Kept files listed by name in a free result (the counts cover all of them). */
export const KEPT_LIST_MAX = 100;

/** Why the cached data of a file may not be freed, or undefined when it may. */
function keepReason(inode: InodeRecord): string | undefined {
  if (inode.ps !== 'PERSISTED') return `it is ${inode.ps} and its cached data is the only copy (persist it first)`;
  if (inode.pinned) return 'it is pinned (unpin it first)';
  return undefined;
}

export class CacheManagement {
  constructor(private readonly d: CacheManagementDeps) {}

  async load(p: string, options: CacheOpOptions & WithProgress = {}): Promise<CacheOpResult> {
    const root = await this.d.access(p, options, true);
    const signal = options.signal;
    if (root.type === 'directory' && options.recursive !== false) await this.d.loadTree(p, signal);
    let files = 0;
    let bytes = 0;
    for (const { path: fp, inode } of this.d.tree.walkFiles(p, this.d.tree.getInode(root.id) ?? root)) {
      throwIfCancelled(signal, `load of ${p}`);
      if (this.d.blocks.cachedBytes(inode.fileId) >= inode.length) { files++; continue; }
      for await (const c of this.d.read(fp, { readType: 'CACHE', syncIntervalMs: -1, ...(signal ? { signal } : {}) })) {
        bytes += c.length;
        throwIfCancelled(signal, `load of ${p}`);
      }
      files++;
      options.onProgress?.({ done: files, bytes, phase: 'load' });
    }
    return { files, bytes };
  }

  /**
   * Drop the cached data of persisted, unpinned files. A file that must keep its data (not
   * persisted: the only copy; pinned) is refused with FAILED_PRECONDITION when it is the
   * target itself; under a directory it is kept and reported (`kept`, the first
   * KEPT_LIST_MAX with their reason, and `keptFiles` / `keptBytes` in all) while
   * everything else is freed.
   */
  async free(p: string, options: CacheOpOptions = {}): Promise<CacheOpResult> {
    const root = await this.d.access(p, options, false);
    if (root.type === 'file') {
      const why = keepReason(root);
      if (why && this.d.blocks.cachedBytes(root.fileId) > 0) throw new StrataError(ErrorCode.FAILED_PRECONDITION, `cannot free ${p}: ${why}`);
    }
    let files = 0;
    let bytes = 0;
    const kept: Array<{ path: string; reason: string }> = [];
    let keptFiles = 0;
    let keptBytes = 0;
    for (const { path: fp, inode } of this.d.tree.walkFiles(p, root)) {
      throwIfCancelled(options.signal, `free of ${p}`);
      const cached = this.d.blocks.cachedBytes(inode.fileId);
      if (cached === 0) continue;
      const why = keepReason(inode);
      if (why) {
        keptFiles++;
        keptBytes += cached;
        if (kept.length < KEPT_LIST_MAX) kept.push({ path: fp, reason: why });
        continue;
      }
      bytes += await this.d.blocks.removeFile(inode.fileId);
      files++;
    }
    return keptFiles ? { files, bytes, kept, keptFiles, keptBytes } : { files, bytes };
  }

  async persist(p: string, options: CacheOpOptions = {}): Promise<CacheOpResult> {
    const root = await this.d.access(p, options, false);
    let files = 0;
    let bytes = 0;
    for (const { path: fp, inode } of this.d.tree.walkFiles(p, root)) {
      throwIfCancelled(options.signal, `persist of ${p}`);
      // Special files (symbolic links, FIFOs, devices) stay in the namespace only.
      if (inode.ps === 'PERSISTED' || inode.node !== undefined) continue;
      await this.d.persistQueue.persistNow(fp, inode.id);
      files++;
      bytes += inode.length;
    }
    return { files, bytes };
  }

  async setPinned(p: string, pinned: boolean, options: CacheOpOptions = {}): Promise<CacheOpResult> {
    const root = await this.d.access(p, options, false);
    let files = 0;
    let bytes = 0; // the length of the files (un)pinned
    for (const { inode } of this.d.tree.walkFiles(p, root)) {
      throwIfCancelled(options.signal, `pin of ${p}`);
      // Unpersisted files stay pinned whatever is asked: their blocks are the only copy.
      const effective = pinned || inode.ps !== 'PERSISTED';
      await this.d.store.transact((tx) => { InodeTree.modify(tx, inode.id, (cur) => ({ ...cur, pinned: effective })); });
      await this.d.blocks.setEvictable(inode.fileId, !effective && inode.ps === 'PERSISTED');
      files++;
      bytes += inode.length;
    }
    return { files, bytes };
  }

  async setTtl(p: string, ttlMs: number, action: TtlAction): Promise<void> {
    if (!Number.isSafeInteger(ttlMs) || (ttlMs < 0 && ttlMs !== -1)) throw invalidArgument(`TTL must be a duration or -1, got ${ttlMs}`);
    if (action !== 'free' && action !== 'delete') throw invalidArgument(`TTL action must be free or delete, got ${String(action)}`);
    const inode = await this.d.access(p, {}, false);
    await this.d.store.transact((tx) => {
      const cur = InodeTree.get(tx, inode.id);
      if (!cur) throw notFound(p);
      const next = InodeTree.update(tx, { ...cur, ttlMs, ttlAction: action });
      TtlChecker.index(tx, cur, next);
    });
  }
}
