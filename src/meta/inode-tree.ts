// The inode tree on top of a StrataStore: path resolution (one edge lookup per component),
// paged child listing (a key-range scan, never a load of the whole tree), and the
// transactional building blocks every mutation uses (create, remove subtree, move). These are
// the only writers of edges, and each edge write also sets the directory's children version
// ('childver': the inode epoch of the transaction), which a recursive sync's digest records so
// that an unchanged directory is re-synced without a scan of its edges (dir-digest.ts). They
// also keep each directory's count of subdirectories ('subdirs', absent: 0): a directory's
// POSIX link count (2 + subdirectories) is then one read, never a scan of its children.

import { ErrorCode, StrataError, notADirectory, notFound } from '../errors.js';
import type { Key } from './meta-store.js';
import type { StrataReader, StrataStore, StrataTxn } from './tables.js';
import { ROOT_ID, childRange, edgeKey } from './inode.js';
import type { InodeRecord } from './inode.js';
import { joinPath, pathComponents } from './path.js';
import { ensureFormat } from './store-format.js';
import { InodeCache, noteInodeWrite } from './inode-cache.js';

/** Where a path resolution ended. */
export interface Resolution {
  /** Inodes from the root to the deepest existing component (root first). */
  chain: InodeRecord[];
  /** Number of path components that exist (chain.length - 1). */
  found: number;
  /** All components of the path. */
  components: string[];
  /** The inode of the full path, when it exists. */
  inode?: InodeRecord;
}

export const DIR_MODE = 0o755;
export const FILE_MODE = 0o644;

/** Fields a caller gives to create an inode; the rest get defaults. */
export type NewInode = Partial<InodeRecord> & Pick<InodeRecord, 'type'>;

/**
 * Ids for the coordinator's hot paths, reserved from the shared counter in ranges so that a
 * create needs no transaction of its own to get one. Ids of an unused range are skipped
 * (never reused), which is harmless.
 */
export class IdAllocator {
  private next = 0;
  private end = 0;
  private refill: Promise<void> | undefined;

  constructor(private readonly store: StrataStore, private readonly batch = 1024) {}

  async take(): Promise<number> {
    while (this.next >= this.end) {
      this.refill ??= this.store.transact((tx) => {
        const start = tx.get<number>('sys', 'nextId') ?? ROOT_ID + 1;
        tx.put('sys', 'nextId', start + this.batch);
        return start;
      }).then((start) => { this.next = start; this.end = start + this.batch; }).finally(() => { this.refill = undefined; });
      await this.refill;
    }
    return this.next++;
  }
}

/** A complete inode record with defaults for the fields not given. */
export function newRecord(fields: NewInode, id: number, parentId: number, name: string, fileId: number, now: number): InodeRecord {
  const dir = fields.type === 'directory';
  return {
    length: 0,
    mtimeMs: now,
    mode: dir ? DIR_MODE : FILE_MODE,
    ps: 'PERSISTED',
    blockSize: 0,
    pinned: false,
    ttlMs: -1,
    ttlAction: 'free',
    createdMs: now,
    touchMs: now,
    cachedBytes: 0,
    ...fields,
    id,
    parentId,
    name,
    fileId,
  };
}

/**
 * The (transaction, directory) whose children version was set last: a transaction that
 * creates many children of one directory puts its version once.
 */
const lastVersioned = new WeakMap<object, number>();

/** Record in a transaction that the set of children of `dirId` changes (`epoch`: the transaction's inode epoch). */
function noteChildrenChange(tx: StrataTxn, dirId: number, epoch: number): void {
  if (lastVersioned.get(tx) === dirId) return;
  lastVersioned.set(tx, dirId);
  tx.put('childver', dirId, epoch);
}

/** Add `delta` to the count of subdirectories of `dirId` in a transaction (the key goes at 0). */
function addSubdirs(tx: StrataTxn, dirId: number, delta: number): void {
  const n = (tx.get<number>('subdirs', dirId) ?? 0) + delta;
  if (n > 0) tx.put('subdirs', dirId, n);
  else tx.del('subdirs', dirId);
}

export class InodeTree {
  /** Decoded records of the lookups below, dropped whenever any thread commits an inode (inode-cache.ts). */
  readonly cache: InodeCache;

  constructor(readonly store: StrataStore) {
    this.cache = new InodeCache(store);
  }

  /** Check the store's format record (writing it when new) and create the root inode on first start. */
  async init(now = Date.now()): Promise<void> {
    await ensureFormat(this.store, 'of this data directory');
    if (this.store.get('inode', ROOT_ID)) return;
    await this.store.transact((tx) => {
      if (tx.get('inode', ROOT_ID)) return;
      const root: InodeRecord = newRecord({ type: 'directory' }, ROOT_ID, 0, '', 0, now);
      tx.put('inode', ROOT_ID, root);
      noteInodeWrite(tx);
      tx.put('sys', 'nextId', ROOT_ID + 1);
    });
  }

  getInode(id: number): InodeRecord | undefined {
    this.cache.validate();
    return this.cache.get(id);
  }

  getChild(parentId: number, name: string): InodeRecord | undefined {
    const id = this.store.get<number>('edge', edgeKey(parentId, name));
    return id === undefined ? undefined : this.getInode(id);
  }

  /** getChild for a caller that validated the cache in this synchronous stretch. */
  private childOf(parentId: number, name: string): InodeRecord | undefined {
    const id = this.store.get<number>('edge', edgeKey(parentId, name));
    return id === undefined ? undefined : this.cache.get(id);
  }

  /** Number of inodes (engine statistics). */
  count(): number {
    return this.store.count('inode');
  }

  /** The current path of an inode by its parent links; undefined when it is not linked. */
  pathOf(id: number): string | undefined {
    const names: string[] = [];
    let cur = this.getInode(id);
    while (cur && cur.id !== ROOT_ID) {
      names.push(cur.name);
      cur = this.getInode(cur.parentId);
    }
    return cur ? '/' + names.reverse().join('/') : undefined;
  }

  /** Walk the path from the root as far as it exists. */
  resolve(path: string): Resolution {
    this.cache.validate();
    // A hot path is one map lookup while no inode or edge changed (the epoch of inode-cache.ts).
    const kept = this.cache.resolution<Resolution>(path);
    if (kept) return kept;
    const components = pathComponents(path);
    const root = this.cache.get(ROOT_ID);
    if (!root) throw new StrataError(ErrorCode.INTERNAL, 'metadata store has no root inode');
    const chain = [root];
    let cur = root;
    for (const name of components) {
      if (cur.type !== 'directory') break;
      const child = this.childOf(cur.id, name);
      if (!child) break;
      chain.push(child);
      cur = child;
    }
    const found = chain.length - 1;
    const res: Resolution = { chain, found, components, inode: found === components.length ? cur : undefined };
    Object.freeze(chain);
    Object.freeze(components);
    this.cache.keepResolution(path, Object.freeze(res));
    return res;
  }

  /** The inode of a path or NOT_FOUND. */
  require(path: string): InodeRecord {
    const r = this.resolve(path);
    if (!r.inode) throw notFound(path);
    return r.inode;
  }

  /** Children of a directory in name order, `limit` at a time after `after`. */
  listChildren(dirId: number, after?: string, limit = 1000): InodeRecord[] {
    const out: InodeRecord[] = [];
    this.cache.validate();
    for (const { id } of InodeTree.childEntries(this.store, dirId, after, limit)) {
      const inode = this.cache.get(id);
      if (inode) out.push(inode);
    }
    return out;
  }

  /** All children of a directory, streamed page by page. */
  *iterateChildren(dirId: number, pageSize = 1000): Iterable<InodeRecord> {
    let after: string | undefined;
    for (;;) {
      const page = this.listChildren(dirId, after, pageSize);
      yield* page;
      if (page.length < pageSize) return;
      after = page[page.length - 1]!.name;
    }
  }

  /**
   * Every inode of a subtree with its path, pre-order (a directory before its children),
   * one child iterator per level: memory grows with the depth, not the size.
   */
  *walk(path: string, root: InodeRecord): Iterable<{ path: string; inode: InodeRecord }> {
    yield { path, inode: root };
    if (root.type !== 'directory') return;
    const stack: Array<{ path: string; it: Iterator<InodeRecord> }> = [{ path, it: this.iterateChildren(root.id)[Symbol.iterator]() }];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const n = top.it.next();
      if (n.done) { stack.pop(); continue; }
      const cp = joinPath(top.path, n.value.name);
      yield { path: cp, inode: n.value };
      if (n.value.type === 'directory') stack.push({ path: cp, it: this.iterateChildren(n.value.id)[Symbol.iterator]() });
    }
  }

  /** Every file of a subtree with its path. */
  *walkFiles(path: string, root: InodeRecord): Iterable<{ path: string; inode: InodeRecord }> {
    for (const e of this.walk(path, root)) if (e.inode.type === 'file') yield e;
  }

  /** How many children of the directory `dirId` are directories (one read). */
  subdirs(dirId: number): number {
    return InodeTree.subdirs(this.store, dirId);
  }

  static subdirs(r: StrataReader, dirId: number): number {
    return r.get<number>('subdirs', dirId) ?? 0;
  }

  hasChildren(dirId: number): boolean {
    for (const _ of InodeTree.childEntries(this.store, dirId, undefined, 1)) return true;
    return false;
  }

  /** An inode by id, in a transaction or from the store. */
  static get(r: StrataReader, id: number): InodeRecord | undefined {
    return r.get<InodeRecord>('inode', id);
  }

  /** The root directory (created by init). */
  static root(r: StrataReader): InodeRecord {
    const root = r.get<InodeRecord>('inode', ROOT_ID);
    if (!root) throw new StrataError(ErrorCode.INTERNAL, 'metadata store has no root inode');
    return root;
  }

  /** Write an inode's new fields in a transaction (its id, parent and name unchanged: see move). */
  static update(tx: StrataTxn, inode: InodeRecord): InodeRecord {
    tx.put('inode', inode.id, inode);
    noteInodeWrite(tx);
    return inode;
  }

  /**
   * Read an inode in a transaction and write `change(current)` back; undefined (nothing
   * written) when the inode is gone or `change` returns undefined.
   */
  static modify(tx: StrataTxn, id: number, change: (cur: InodeRecord) => InodeRecord | undefined): InodeRecord | undefined {
    const cur = tx.get<InodeRecord>('inode', id);
    if (!cur) return undefined;
    const next = change(cur);
    if (next) {
      tx.put('inode', id, next);
      noteInodeWrite(tx);
    }
    return next;
  }

  /**
   * The edges of a directory in name order — `{ name, id }` with no inode decoded — starting
   * strictly after `after`, at most `limit`: the one place that knows the child key range.
   */
  static *childEntries(r: StrataReader, dirId: number, after?: string, limit?: number): Iterable<{ name: string; id: number }> {
    for (const { key, value } of r.range<number>('edge', { ...childRange(dirId, after), limit })) {
      yield { name: (key as [number, string])[1], id: value };
    }
  }

  /** The child inodes of a directory in a transaction (or the store), collected first. */
  static children(r: StrataReader, dirId: number): InodeRecord[] {
    const out: InodeRecord[] = [];
    for (const { id } of InodeTree.childEntries(r, dirId)) {
      const c = r.get<InodeRecord>('inode', id);
      if (c) out.push(c);
    }
    return out;
  }

  /** Allocate a new id (inode ids and file ids share one counter, never reused). */
  static allocId(tx: StrataTxn): number {
    return InodeTree.allocIds(tx, 1);
  }

  /** Allocate `n` consecutive ids; returns the first. */
  static allocIds(tx: StrataTxn, n: number): number {
    const id = tx.get<number>('sys', 'nextId') ?? ROOT_ID + 1;
    tx.put('sys', 'nextId', id + n);
    return id;
  }

  /** Create a child inode in a transaction; the caller checked that the name is free. */
  static create(tx: StrataTxn, parent: InodeRecord, name: string, fields: NewInode, now = Date.now(), ids?: () => number): InodeRecord {
    if (parent.type !== 'directory') throw notADirectory(name);
    const next = ids ?? (() => InodeTree.allocId(tx));
    const id = next();
    const fileId = fields.fileId ?? (fields.type === 'file' ? next() : id);
    const inode = newRecord(fields, id, parent.id, name, fileId, now);
    tx.put('inode', id, inode);
    noteChildrenChange(tx, parent.id, noteInodeWrite(tx));
    tx.put('edge', edgeKey(parent.id, name), id);
    if (inode.type === 'directory') addSubdirs(tx, parent.id, 1);
    return inode;
  }

  /** The id of the child `name` (one edge read, no inode decoded). */
  static childId(r: StrataReader, parentId: number, name: string): number | undefined {
    return r.get<number>('edge', edgeKey(parentId, name));
  }

  /**
   * The version of a directory's set of children: changed by every transaction that adds,
   * removes or renames one of its edges (to a value no other transaction gives it), 0 when
   * none did since versions exist. Equal versions mean the same children (names and ids).
   */
  static childrenVersion(r: StrataReader, dirId: number): number {
    // Read in a transaction before its holder relies on it (a digest): a later edge write of
    // the same transaction then sets the version again, to a newer epoch.
    lastVersioned.delete(r);
    return r.get<number>('childver', dirId) ?? 0;
  }

  /** Child lookup inside a transaction (or from the store). */
  static child(tx: StrataReader, parentId: number, name: string): InodeRecord | undefined {
    const id = tx.get<number>('edge', edgeKey(parentId, name));
    return id === undefined ? undefined : tx.get<InodeRecord>('inode', id);
  }

  /**
   * Remove an inode and everything below it in a transaction. Calls `onRemove` for each
   * removed inode (to free cached blocks, cancel persists). With `keep`, an inode for which
   * it returns true stays with its whole subtree, and so do its ancestors up to `inode`
   * (what a sync uses to remove what the UFS lost but never an unpersisted file or a mount
   * point). Returns the number removed. Memory grows with the depth and one directory's size.
   */
  static removeSubtree(tx: StrataTxn, inode: InodeRecord, onRemove?: (i: InodeRecord) => void, keep?: (i: InodeRecord) => boolean): number {
    if (keep?.(inode)) return 0;
    let removed = 0;
    let epoch: number | undefined;
    // Post-order: a directory goes once its children went (it stays if one of them stays).
    interface Frame { inode: InodeRecord; children?: InodeRecord[]; next: number; kept: boolean }
    const stack: Frame[] = [{ inode, next: 0, kept: false }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.inode.type === 'directory') {
        top.children ??= InodeTree.children(tx, top.inode.id);
        if (top.next < top.children.length) {
          const c = top.children[top.next++]!;
          if (keep?.(c)) top.kept = true;
          else stack.push({ inode: c, next: 0, kept: false });
          continue;
        }
      }
      stack.pop();
      if (top.kept) {
        if (stack.length > 0) stack[stack.length - 1]!.kept = true;
        continue;
      }
      tx.del('edge', edgeKey(top.inode.parentId, top.inode.name) as Key);
      tx.del('inode', top.inode.id);
      epoch ??= noteInodeWrite(tx);
      if (top.inode.type === 'directory') {
        tx.del('childver', top.inode.id);
        tx.del('subdirs', top.inode.id);
        if (lastVersioned.get(tx) === top.inode.id) lastVersioned.delete(tx);
        addSubdirs(tx, top.inode.parentId, -1);
      }
      noteChildrenChange(tx, top.inode.parentId, epoch);
      onRemove?.(top.inode);
      removed++;
    }
    return removed;
  }

  /** Re-link an inode under a new parent and name in a transaction. */
  static move(tx: StrataTxn, inode: InodeRecord, newParent: InodeRecord, newName: string, now = Date.now()): InodeRecord {
    tx.del('edge', edgeKey(inode.parentId, inode.name));
    const moved: InodeRecord = { ...inode, parentId: newParent.id, name: newName, touchMs: now };
    tx.put('inode', inode.id, moved);
    const epoch = noteInodeWrite(tx);
    noteChildrenChange(tx, inode.parentId, epoch);
    noteChildrenChange(tx, newParent.id, epoch);
    tx.put('edge', edgeKey(newParent.id, newName), inode.id);
    if (inode.type === 'directory' && inode.parentId !== newParent.id) {
      addSubdirs(tx, inode.parentId, -1);
      addSubdirs(tx, newParent.id, 1);
    }
    return moved;
  }
}
