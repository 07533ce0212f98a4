// Cache management of a file or subtree: load (cache its data), free (drop cached data of
// persisted files, refusing unpersisted or pinned ones before changing anything), persist
// now, pin/unpin (unpersisted files stay pinned: their blocks are the only copy), and TTL.
// Walks are streamed from the inode tree; nothing holds the subtree in memory.

import type { BlockStore } from './block-store.js';
import { TtlChecker } from './ttl-checker.js';
import type { PersistQueue } from '../coordinator/persist-queue.js';
import { ErrorCode, StrataError, invalidArgument, notFound } from '../errors.js';
import type { InodeRecord } from '../meta/inode.js';
import type { InodeTree } from '../meta/inode-tree.js';
import type { MetaStore } from '../meta/meta-store.js';
import type { CacheOpOptions, CacheOpResult, CommonOptions, ReadOptions, TtlAction, WithProgress } from '../types.js';

export interface CacheManagementDeps {
  tree: InodeTree;
  store: MetaStore;
  blocks: BlockStore;
  persistQueue: PersistQueue;
  /** The inode of a path, synced per the options (listing: a directory's children too). */
  access(path: string, options: CommonOptions, listing: boolean): Promise<InodeRecord>;
  /** Load a subtree's metadata from the UFS. */
  loadTree(path: string): Promise<void>;
  /** Stream a file through the data path. */
  read(path: string, options: ReadOptions): AsyncIterable<Uint8Array>;
}

export class CacheManagement {
  constructor(private readonly d: CacheManagementDeps) {}

  async load(p: string, options: CacheOpOptions & WithProgress = {}): Promise<CacheOpResult> {
    const root = await this.d.access(p, options, true);
    if (root.type === 'directory' && options.recursive !== false) await this.d.loadTree(p);
    let files = 0;
    let bytes = 0;
    for (const { path: fp, inode } of this.d.tree.walkFiles(p, this.d.tree.getInode(root.id) ?? root)) {
      if (this.d.blocks.cachedBytes(inode.fileId) >= inode.length) { files++; continue; }
      for await (const c of this.d.read(fp, { readType: 'CACHE', syncIntervalMs: -1 })) bytes += c.length;
      files++;
      options.onProgress?.({ done: files, bytes, phase: 'load' });
    }
    return { files, bytes };
  }

  async free(p: string, options: CacheOpOptions = {}): Promise<CacheOpResult> {
    const root = await this.d.access(p, options, false);
    const targets: InodeRecord[] = [];
    for (const { path: fp, inode } of this.d.tree.walkFiles(p, root)) {
      if (this.d.blocks.cachedBytes(inode.fileId) === 0) continue;
      if (inode.ps !== 'PERSISTED') {
        throw new StrataError(ErrorCode.FAILED_PRECONDITION, `cannot free ${fp}: it is ${inode.ps} and its cached data is the only copy`);
      }
      if (inode.pinned) throw new StrataError(ErrorCode.FAILED_PRECONDITION, `cannot free ${fp}: it is pinned (unpin it first)`);
      targets.push(inode);
    }
    let bytes = 0;
    for (const t of targets) bytes += await this.d.blocks.removeFile(t.fileId);
    return { files: targets.length, bytes };
  }

  async persist(p: string, options: CacheOpOptions = {}): Promise<CacheOpResult> {
    const root = await this.d.access(p, options, false);
    let files = 0;
    let bytes = 0;
    for (const { path: fp, inode } of this.d.tree.walkFiles(p, root)) {
      if (inode.ps === 'PERSISTED') continue;
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
      // Unpersisted files stay pinned whatever is asked: their blocks are the only copy.
      const effective = pinned || inode.ps !== 'PERSISTED';
      await this.d.store.transact((tx) => {
        const cur = tx.get<InodeRecord>('inode', inode.id);
        if (cur) tx.put('inode', cur.id, { ...cur, pinned: effective });
      });
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
      const cur = tx.get<InodeRecord>('inode', inode.id);
      if (!cur) throw notFound(p);
      const next: InodeRecord = { ...cur, ttlMs, ttlAction: action };
      tx.put('inode', cur.id, next);
      TtlChecker.index(tx, cur, next);
    });
  }
}
