// Namespace operations: mkdirs, the write of a file and its commit, read, remove, move and
// attribute changes. Each runs inside its shard actor's turn (the coordinator routes it
// there holding the path locks); one that changes a UFS journals its intent first and
// commits the namespace change, with the intent's end, in one transaction. A create or
// mkdir of a new path costs one metadata commit (shared with concurrent ones: the store's
// commit groups) and is acknowledged only once that commit is durable.

import { TtlChecker } from '../cache/ttl-checker.js';
import {
  ErrorCode, StrataError, alreadyExists, directoryNotEmpty, invalidArgument, invalidPath, isADirectory, mountConflict, notADirectory, notFound,
} from '../errors.js';
import type { DataSource } from '../fs.js';
import { AbsentPathCache } from '../meta/absent-cache.js';
import type { InodeRecord } from '../meta/inode.js';
import { atimeOf, entriesChanged, ROOT_ID } from '../meta/inode.js';
import { InodeTree } from '../meta/inode-tree.js';
import { IntentJournal } from '../meta/intents.js';
import type { Intent } from '../meta/intents.js';
import type { MetaTxn } from '../meta/meta-store.js';
import type { MountRecord } from '../meta/mount-table.js';
import { baseName, isUnder, joinPath, parentPath, pathComponents, ROOT } from '../meta/path.js';
import { PersistQueue } from '../persist/persist-queue.js';
import type {
  CreateFileOptions, CreateNodeOptions, DeleteOptions, GetStatusOptions, PersistenceState, ReadOptions, RenameOptions, SetAttributesOptions, WithProgress, WriteType,
} from '../types.js';
import { UfsChangedError } from '../ufs/ufs.js';
import type { UfsStatus } from '../ufs/ufs.js';
import type { WriteOutcome } from '../data/data-path.js';
import { logError, settle, statInode, tryStat, ufsOf, writable } from './services.js';
import type { Services } from './services.js';
import { DIR_CONTENT_HASH } from '../ufs/ufs.js';
import { PendingWrites } from '../meta/pending-writes.js';
import { PersistJobs } from '../meta/persist-jobs.js';
import { SyncPathCache } from '../meta/sync-path-cache.js';

/** UFS errors of a call refused before it changed anything. */
const REFUSALS = new Set<string>([ErrorCode.ALREADY_EXISTS, ErrorCode.NOT_FOUND, ErrorCode.INVALID_PATH, ErrorCode.PERMISSION_DENIED, ErrorCode.READ_ONLY, ErrorCode.NOT_A_DIRECTORY]);

/** A writable path's mount and UFS path (from `writable`). */
export interface Located {
  mount: MountRecord;
  ufsPath: string;
}

/** A written file, as the data path left it, to be made visible by `commitFile`. */
export interface WrittenFile {
  path: string;
  fileId: number;
  length: number;
  ps: PersistenceState;
  blockSize: number;
  /** The UFS status of the copy written (THROUGH, CACHE_THROUGH). */
  ufs?: UfsStatus;
  /** The bytes of a small file kept inline in the block table. */
  inline?: Uint8Array;
  /** A `pending` entry was recorded for the file's block files. */
  recorded: boolean;
  /** The intent of the UFS write, ended by the commit. */
  intentId?: number;
  /** The id for the intent to remove the replaced file's UFS copy (taken when the write began). */
  unlinkId: number;
  options: CreateFileOptions;
  /**
   * Keep the write's intent open, rewritten as committed, instead of ending it (the commit
   * runs while the UFS makes the file's placement durable; the caller ends it after that).
   */
  keepIntent?: Intent & { op: 'write' };
}

/** What the commit replaced. */
export interface CommitOutcome {
  inode: InodeRecord;
  /** File ids of the replaced file (blocks to remove, persist jobs to forget). */
  old: number[];
  /** The intent id of the removal of the replaced file's UFS copy, when that is due. */
  unlink?: number;
  /** The write's intent was kept open (marked committed): the caller ends it. */
  keptIntent?: boolean;
}

export class Namespace {
  constructor(private readonly s: Services) {}

  /** Ensure the parent of `path` exists as a directory, creating missing ones when recursive. */
  async ensureParent(path: string, recursive: boolean, writeType: WriteType, opts: GetStatusOptions): Promise<InodeRecord> {
    const parent = parentPath(path);
    const existing = await this.existingForCreate(parent, opts);
    if (existing) {
      if (existing.type !== 'directory') throw notADirectory(parent);
      return existing;
    }
    if (!recursive) throw notFound(parent, 'parent directory');
    return this.mkdirs(parent, writeType, opts);
  }

  /**
   * The inode at `p` before a create there: as `tryStat`, except that a path neither the
   * namespace nor the UFS has costs no commit. (The sync would record it absent in a
   * transaction of its own — a second durable commit per create, waited for before the
   * create's — and the create's commit clears that entry anyway.) The load type, the absent
   * cache and `absent.from.listing` answer as they do for any lookup; a path the UFS has is
   * loaded by the sync as `tryStat` loads it.
   */
  private async existingForCreate(p: string, opts: GetStatusOptions): Promise<InodeRecord | undefined> {
    const s = this.s;
    const res = s.tree.resolve(p);
    // Present, or a missing ancestor (the parent is created first): the sync decides.
    if (res.inode || p === ROOT || res.found !== res.components.length - 1) return tryStat(s, p, opts);
    const parent = res.chain[res.chain.length - 1]!;
    if (parent.type !== 'directory') return tryStat(s, p, opts);
    const loadType = s.options.loadType(p, opts.loadType);
    if (loadType === 'NEVER') return undefined;
    const now = Date.now();
    if (loadType === 'ONCE') {
      const interval = s.options.syncInterval(p, opts.syncIntervalMs);
      if (s.options.get(p, 'absent.from.listing') && parent.loaded && !SyncPathCache.due(interval, SyncPathCache.lastSynced(res.chain, true), now)) return undefined;
      if (s.options.get(p, 'absent.cache.enabled') && s.absent.check(p, s.options.get(p, 'absent.cache.ttl'), now) !== undefined) return undefined;
    }
    const { mount, ufsPath } = s.mounts.resolve(p);
    if (mount.path === p) return tryStat(s, p, opts);
    const st = await ufsOf(s, mount).getStatus(ufsPath);
    return st ? tryStat(s, p, opts) : undefined;
  }

  /**
   * Create a directory and any missing ancestors, in the UFS (unless MUST_CACHE) and in
   * Strata. `knownAbsent`: a path the caller has just found absent (not probed again).
   */
  async mkdirs(path: string, writeType: WriteType, opts: GetStatusOptions, knownAbsent?: string): Promise<InodeRecord> {
    const s = this.s;
    const { mount, ufsPath } = writable(s, path);
    // Ancestors first, each loaded from the UFS if it exists there.
    const comps = pathComponents(path);
    let cur = s.tree.getInode(ROOT_ID)!;
    let curPath = ROOT;
    for (const name of comps) {
      const next = joinPath(curPath, name);
      if (next === knownAbsent) break; // the caller just asked (one UFS probe per mkdir)
      const found = await this.existingForCreate(next, opts);
      if (found) {
        if (found.type !== 'directory') throw notADirectory(next);
        cur = found;
        curPath = next;
        continue;
      }
      break;
    }
    if (curPath === path) return cur;
    const persisted = writeType !== 'MUST_CACHE';
    const intent: Intent = { op: 'mkdir', path };
    const intentId = persisted ? await s.journal.begin(intent) : undefined;
    if (persisted) await ufsOf(s, mount).mkdir(ufsPath, { recursive: true }).catch(async (err: unknown) => { await settle(s, intentId, intent); throw err; });
    const rest = pathComponents(path).slice(pathComponents(curPath).length);
    const startId = cur.id;
    return s.store.transact((tx) => {
      IntentJournal.finish(tx, intentId);
      const now = Date.now();
      let parent = InodeTree.get(tx, startId)!;
      let p = curPath;
      let fresh = false;
      for (const name of rest) {
        p = joinPath(p, name);
        const existing = InodeTree.child(tx, parent.id, name);
        if (existing) {
          if (existing.type !== 'directory') throw notADirectory(p);
          parent = existing;
          fresh = false;
          continue;
        }
        // A new name in `parent`: its mtime and ctime (POSIX); one created here has them as `now` already.
        if (!fresh) parent = entriesChangedIn(tx, parent, now);
        fresh = true;
        parent = InodeTree.create(tx, parent, name, {
          type: 'directory', ps: persisted ? 'PERSISTED' : 'NOT_PERSISTED', loaded: true, syncMs: now, ufsContent: DIR_CONTENT_HASH,
        }, now);
        AbsentPathCache.clearPath(tx, p);
      }
      return parent;
    });
  }

  /** Create the directory `p` (normalized, not the root); an existing one is returned when allowed. */
  async createDirectory(p: string, writeType: WriteType, options: { recursive?: boolean; allowExists?: boolean } & GetStatusOptions): Promise<InodeRecord> {
    const existing = await this.existingForCreate(p, options);
    if (existing) {
      if (existing.type === 'directory' && (options.allowExists || options.recursive)) return existing;
      throw alreadyExists(p);
    }
    await this.ensureParent(p, !!options.recursive, writeType, options);
    return this.mkdirs(p, writeType, options, p);
  }

  /**
   * Create the special file `p` (normalized, not the root; options validated): an inode of
   * type 'file' with its kind, NOT_PERSISTED and without content, so that no UFS call is made
   * and syncs keep it as they keep every unpersisted file. The parent must exist.
   */
  async createNode(p: string, o: CreateNodeOptions): Promise<InodeRecord> {
    const s = this.s;
    if (await this.existingForCreate(p, o)) throw alreadyExists(p);
    const parent = await this.ensureParent(p, false, 'MUST_CACHE', o);
    const name = baseName(p);
    return s.store.transact((tx) => {
      const dir = InodeTree.get(tx, parent.id);
      if (!dir) throw notFound(parentPath(p), 'parent directory');
      if (InodeTree.childId(tx, dir.id, name) !== undefined) throw alreadyExists(p);
      const now = Date.now();
      const inode = InodeTree.create(tx, entriesChangedIn(tx, dir, now), name, {
        type: 'file', ps: 'NOT_PERSISTED', node: o.kind, syncMs: now,
        mode: o.mode ?? (o.kind === 'symlink' ? 0o777 : 0o644),
        ...(o.kind === 'symlink' ? { target: o.target!, length: Buffer.byteLength(o.target!) } : {}),
        ...((o.kind === 'char' || o.kind === 'block') ? { rdev: o.rdev ?? 0 } : {}),
        ...(o.uid !== undefined ? { uid: o.uid } : {}),
        ...(o.gid !== undefined ? { gid: o.gid } : {}),
      }, now);
      AbsentPathCache.clearPath(tx, p);
      return inode;
    });
  }

  /** Write the file `p` (normalized, not the root) through the data path and commit it. */
  async writeFile(p: string, at: Located, data: DataSource, writeType: WriteType, blockSize: number, options: CreateFileOptions & WithProgress): Promise<InodeRecord> {
    const s = this.s;
    const { mount, ufsPath } = at;
    const cacheFirst = writeType === 'MUST_CACHE' || writeType === 'ASYNC_THROUGH';
    // A cache-first write must not depend on the UFS answering: when it cannot tell whether
    // the path exists there, the file is new as far as Strata knows (its persist overwrites).
    const existing = await this.existingForCreate(p, options).catch((err: unknown) => {
      if (!cacheFirst || (err as StrataError).code !== ErrorCode.UFS_UNAVAILABLE) throw err;
      s.metrics.inc('ops', 'writesDuringUfsOutage');
      return undefined;
    });
    if (options.ifFileId !== undefined && (existing?.type !== 'file' || existing.fileId !== options.ifFileId)) {
      // Checked under the path's lock, which the write holds until its commit: a compare-and-swap.
      throw new StrataError(ErrorCode.FAILED_PRECONDITION, `${p} ${existing ? `is not file ${options.ifFileId} any more` : 'does not exist'}`);
    }
    if (existing) {
      if (existing.type === 'directory') throw isADirectory(p);
      if (!options.overwrite && options.ifFileId === undefined) throw alreadyExists(p);
      if (existing.mountId !== undefined) throw mountConflict(`${p} is a mount point`);
    }
    await this.ensureParent(p, options.recursive ?? false, writeType, options);
    const fileId = await s.ids.take();
    let recorded = false;
    const ps = writeType === 'MUST_CACHE' ? 'NOT_PERSISTED' : writeType === 'ASYNC_THROUGH' ? 'TO_BE_PERSISTED' : 'PERSISTED';
    // A write that goes to the UFS records its intent first (a crash after the UFS write
    // and before the commit is rolled forward from the UFS at the next start).
    // Over an unpersisted file the UFS may still hold an older copy (ASYNC_THROUGH keeps it
    // until its persist): its hash tells recovery that such a file is not this write's.
    const before = !cacheFirst && existing && existing.ps !== 'PERSISTED'
      ? (await ufsOf(s, mount).getStatus(ufsPath))?.contentHash : undefined;
    const writeIntent: Intent = { op: 'write', path: p, fileId, ...(before !== undefined ? { before } : {}) };
    // The intent commits while the UFS file is written and synced; the UFS places the file
    // (local: the rename) only once the intent is durable (beforePlace), so the rule holds: no
    // UFS change without a durable intent, and one sync wait fewer per write.
    const intent = cacheFirst ? undefined : s.journal.start(writeIntent);
    const intentId = intent?.id;
    const intentDurable = intent?.durable;
    // An unpersisted file replacing a file with a UFS copy: that copy goes too (see commitFile).
    const unlinkId = s.journal.id();
    // The commit of the file. A UFS write commits as soon as the UFS has placed the file,
    // while the UFS makes the placement durable (the directory's fsync): the intent then stays
    // open, marked committed, and ends once the write returns (see Intent 'write').
    let committed: CommitOutcome | undefined;
    let committing: Promise<CommitOutcome> | undefined;
    let inline: Uint8Array | undefined;
    const commit = async (o: WriteOutcome, keepIntent: boolean): Promise<CommitOutcome> => {
      inline = o.inline;
      const release = inline ? await s.blocks.reserve(inline.length) : undefined;
      try {
        return await this.commitFile({
          path: p, fileId, length: o.length, ps, blockSize, ufs: o.ufs, inline, recorded, intentId, unlinkId, options,
          ...(keepIntent ? { keepIntent: writeIntent } : {}),
        });
      } finally {
        release?.();
      }
    };
    let outcome: WriteOutcome;
    try {
      outcome = await s.data.write(data, {
        fileId, writeType, blockSize, ufs: ufsOf(s, mount), ufsPath, evictable: ps === 'PERSISTED',
        ...(intentDurable ? { beforePlace: () => intentDurable, afterPlace: async (o: WriteOutcome) => { committed = await (committing = commit(o, true)); } } : {}),
        // Block files written before the commit are found and discarded after a crash.
        beforeBlocks: async () => {
          recorded = true;
          await s.store.transact((tx) => PendingWrites.record(tx, fileId, p));
        },
        onBytes: options.onProgress ? (n) => options.onProgress!({ done: n, bytes: n, phase: 'write' }) : undefined,
      });
      committed ??= await commit(outcome, false);
    } catch (err) {
      // A UFS call cut short (a timeout) while the commit ran: that commit's outcome decides.
      if (!committed && committing) committed = await committing.catch(() => undefined);
      if (committed) {
        // Committed, then the UFS call failed to finish (a timeout): settled from what the UFS holds.
        await settle(s, intentId, { ...writeIntent, committed: true });
        throw err;
      }
      if (!inline) await s.blocks.removeFile(fileId).catch(() => undefined);
      if (recorded) await s.store.transact((tx) => PendingWrites.clear(tx, fileId)).catch(() => undefined);
      // Settled once its own commit is over (whatever that commit answered: settling finds out).
      await intentDurable?.catch(() => undefined);
      await settle(s, intentId, writeIntent);
      throw err;
    }
    // The placement is durable: the intent ends (not waited for: nothing acknowledged depends
    // on it, and it is issued while the path is still locked, so it commits before any later
    // change of the path; left open by a crash, it is resolved as a no-op).
    if (intentId !== undefined && committed.keptIntent) {
      s.journal.end(intentId).catch((err: unknown) => logError(s, `could not end the write intent of ${p}`, err));
    }
    s.metrics.inc('ops', `write.${writeType}`);
    s.metrics.inc('ops', 'bytesWritten', outcome.length);
    if (committed.unlink !== undefined) {
      // The client now has an unpersisted file: the old UFS copy must not come back by a
      // sync after a delete or rename. A UFS that fails here leaves the intent for the next start.
      try {
        await ufsOf(s, mount).delete(ufsPath);
        await s.journal.end(committed.unlink);
      } catch (err) {
        logError(s, `could not remove the old UFS copy of ${p}`, err);
      }
    }
    for (const id of committed.old) if (id !== fileId) await s.blocks.removeFile(id);
    s.persistQueue.forget(committed.old);
    if (ps === 'TO_BE_PERSISTED') s.persistQueue.added(fileId);
    return committed.inode;
  }

  /**
   * Make a written file visible, in one transaction: the file it replaces goes (with its
   * persist job; an intent to remove its UFS copy when the new file is unpersisted), the
   * write's intent ends, the inode is created with its inline block, TTL index entry and
   * persist job, and the pending entry and any absent-path entry go.
   */
  async commitFile(f: WrittenFile): Promise<CommitOutcome> {
    const s = this.s;
    const p = f.path;
    const unlinkId = f.unlinkId;
    const result = await s.store.transact((tx) => {
      const old: number[] = [];
      let unlink: number | undefined;
      const now = Date.now();
      const parent = s.tree.resolve(parentPath(p)).inode;
      if (!parent || parent.type !== 'directory') throw notFound(parentPath(p), 'parent directory');
      const prev = InodeTree.child(tx, parent.id, baseName(p));
      if (prev) {
        if (prev.type === 'directory') throw isADirectory(p);
        InodeTree.removeSubtree(tx, prev, (i) => { old.push(i.fileId); PersistJobs.del(tx, i.fileId); });
        if (f.ps === 'NOT_PERSISTED' && prev.ps !== 'NOT_PERSISTED') {
          unlink = unlinkId;
          IntentJournal.put(tx, unlinkId, { op: 'unlink', path: p, fileId: f.fileId });
        }
      }
      if (f.keepIntent && f.intentId !== undefined) IntentJournal.put(tx, f.intentId, { ...f.keepIntent, committed: true });
      else IntentJournal.finish(tx, f.intentId);
      let dir = InodeTree.get(tx, parent.id)!;
      // A new name changes the directory (POSIX mtime and ctime); replacing a file's content does not.
      if (!prev) dir = entriesChangedIn(tx, dir, now);
      const inode = createFileInode(tx, dir, f, now);
      if (f.inline) s.blocks.stageInline(tx, f.fileId, 0, f.inline, f.ps === 'PERSISTED');
      if (f.recorded) PendingWrites.clear(tx, f.fileId);
      TtlChecker.index(tx, undefined, inode);
      AbsentPathCache.clearPath(tx, p);
      if (f.ps === 'TO_BE_PERSISTED') PersistQueue.enqueue(tx, inode, now);
      return { inode, old, ...(unlink !== undefined ? { unlink } : {}), ...(f.keepIntent ? { keptIntent: true } : {}) };
    });
    if (f.inline) s.blocks.committed(f.fileId, 0, f.inline.length, f.ps === 'PERSISTED');
    return result;
  }

  /**
   * Stream a file. A UFS object that is not the version the metadata describes is never
   * served: before the first byte, the file is re-synced and its new version served; later,
   * the read fails (FAILED_PRECONDITION) and the next one sees the new version (docs/semantics.md).
   */
  async *read(p: string, options: ReadOptions): AsyncIterable<Uint8Array> {
    let served = false;
    try {
      for await (const c of this.readVersion(p, options)) {
        served = true;
        yield c;
      }
    } catch (err) {
      if (!(err instanceof UfsChangedError)) throw err;
      this.s.metrics.inc('cache', 'ufsChangedResyncs');
      await this.s.sync.syncSelf(p);
      if (served) throw err;
      yield* this.readVersion(p, options);
    }
  }

  /** Stream a file as its current metadata describes it (UfsChangedError if the UFS differs). */
  private async *readVersion(p: string, options: ReadOptions): AsyncIterable<Uint8Array> {
    const s = this.s;
    const inode = await statInode(s, p, options);
    if (inode.type === 'directory') throw isADirectory(p);
    if (inode.node !== undefined) throw invalidArgument(`${p} is a ${inode.node === 'symlink' ? 'symbolic link' : `special file (${inode.node})`}: it has no content to read`);
    if (options.ifFileId !== undefined && inode.fileId !== options.ifFileId) {
      throw new StrataError(ErrorCode.FAILED_PRECONDITION, `${p} is not file ${options.ifFileId} any more`);
    }
    let offset = options.offset ?? 0;
    let length = options.length ?? inode.length;
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument(`offset must be a non-negative integer, got ${offset}`);
    if (!Number.isSafeInteger(length) || length < 0) throw invalidArgument(`length must be a non-negative integer, got ${length}`);
    if (options.tail !== undefined) {
      if (!Number.isSafeInteger(options.tail) || options.tail < 0) throw invalidArgument(`tail must be a non-negative integer, got ${options.tail}`);
      offset = Math.max(0, inode.length - options.tail);
      length = inode.length - offset;
    }
    const { mount, ufsPath } = s.mounts.resolve(p);
    const readType = s.options.readType(p, options.readType);
    const chunk = Math.max(4096, Math.min(options.chunkSize ?? 1 << 20, 4 << 20));
    const evictable = inode.ps === 'PERSISTED' && !inode.pinned;
    const current = (): boolean => s.tree.getInode(inode.id)?.fileId === inode.fileId;
    yield* s.data.read(inode, inode.ps === 'PERSISTED' ? ufsOf(s, mount) : undefined, ufsPath, offset, length, readType, chunk, evictable, current);
  }

  /** Remove `p` (normalized; not the root, a mount point or a subtree holding one) from the UFS and Strata. */
  async remove(p: string, at: Located, options: DeleteOptions): Promise<void> {
    const s = this.s;
    const { mount, ufsPath } = at;
    let inode = await statInode(s, p, options);
    if (inode.type === 'directory') {
      inode = await s.sync.access(p, options, true); // see the UFS children before deciding
      if (!options.recursive && s.tree.hasChildren(inode.id)) throw directoryNotEmpty(p);
    }
    // The UFS entry goes whatever the persistence state: a pending ASYNC_THROUGH file or an
    // unpersisted one may have replaced an older persisted copy still in the UFS, which a
    // sync would otherwise resurrect (a missing UFS path is no error). Intent first: a
    // crash between the UFS delete and the commit is finished at the next start.
    const deleteIntent: Intent = { op: 'delete', path: p, inodeId: inode.id };
    const intentId = options.strataOnly ? undefined : await s.journal.begin(deleteIntent);
    if (!options.strataOnly) {
      try {
        await ufsOf(s, mount).delete(ufsPath, { recursive: true });
      } catch (err) {
        await s.journal.end(intentId); // the delete failed: the client is told, nothing is rolled forward
        throw err;
      }
    }
    const freed: number[] = [];
    await s.store.transact((tx) => {
      IntentJournal.finish(tx, intentId);
      const cur = InodeTree.get(tx, inode.id);
      if (!cur) return;
      const now = Date.now();
      InodeTree.modify(tx, cur.parentId, (dir) => entriesChanged(dir, now));
      InodeTree.removeSubtree(tx, cur, (i) => {
        if (i.type === 'file') freed.push(i.fileId);
        PersistJobs.del(tx, i.fileId);
      });
      AbsentPathCache.tombstone(tx, p);
    });
    s.persistQueue.forget(freed);
    for (const id of freed) await s.blocks.removeFile(id);
  }

  /**
   * Check a rename before it is routed: the destination (into a directory that exists
   * there), mounts (never a mount point, one containing a mount, or across mounts), not into
   * itself. Undefined for a rename onto itself (nothing to do).
   */
  async planMove(src: string, dst: string, options: RenameOptions): Promise<{ src: string; sm: Located; dst: string; dm: Located } | undefined> {
    const s = this.s;
    let d = dst;
    if (src === ROOT) throw invalidPath(src, 'the root cannot be renamed');
    if (s.mounts.byPath(src)) throw mountConflict(`${src} is a mount point and cannot be renamed`);
    const dstInode = await tryStat(s, d, options);
    if (dstInode?.type === 'directory') d = joinPath(d, baseName(src));
    if (src === d) return undefined;
    if (isUnder(d, src)) throw invalidPath(d, `cannot move ${src} into itself`);
    const sm = writable(s, src);
    const dm = writable(s, d);
    if (sm.mount.mountId !== dm.mount.mountId) {
      throw mountConflict(`cannot rename across mounts: ${src} is on ${sm.mount.path}, ${d} is on ${dm.mount.path}`);
    }
    if (s.mounts.nestedUnder(src).length) throw mountConflict(`${src} contains a mount point and cannot be renamed`);
    return { src, sm, dst: d, dm };
  }

  /** Move `src` to `dst` (as planMove returned them). */
  async move(src: string, sm: Located, dst: string, dm: Located, options: RenameOptions): Promise<void> {
    const s = this.s;
    const inode = await statInode(s, src, options);
    if (await tryStat(s, dst, options)) throw alreadyExists(dst);
    const parent = await statInode(s, parentPath(dst), options).catch((err) => {
      if ((err as StrataError).code === ErrorCode.NOT_FOUND) throw notFound(parentPath(dst), 'destination directory');
      throw err;
    });
    if (parent.type !== 'directory') throw notADirectory(parentPath(dst));
    if (inode.type === 'directory') await s.sync.access(src, options, true);
    const inUfs = inode.ps === 'PERSISTED' || inode.type === 'directory';
    // An unpersisted or pending file may have replaced an older persisted copy: drop that
    // from the old name (the queued persist writes the current bytes under the new one).
    // Intent first: a crash between the UFS step and the commit is resolved at the next start.
    const renameIntent: Intent = { op: 'rename', src, dst, inodeId: inode.id, ufs: inUfs ? 'rename' : 'delete' };
    const intentId = await s.journal.begin(renameIntent);
    try {
      if (inUfs) await ufsOf(s, sm.mount).rename(sm.ufsPath, dm.ufsPath);
      else await ufsOf(s, sm.mount).delete(sm.ufsPath);
    } catch (err) {
      // Refused up front: nothing changed. Anything else may have been cut short half way
      // (an object store copies, then deletes): completed or undone now.
      if (REFUSALS.has((err as StrataError).code)) await s.journal.end(intentId);
      else await settle(s, intentId, renameIntent);
      throw err;
    }
    const replaced: number[] = [];
    await s.store.transact((tx) => {
      IntentJournal.finish(tx, intentId);
      const par = InodeTree.get(tx, parent.id);
      if (!par) throw notFound(parentPath(dst), 'destination directory');
      // Both paths are locked, so a change at either since the UFS step came from a sync that
      // listed the UFS after it: it may have dropped the source (gone from the UFS) or loaded
      // the destination first. Neither undoes the rename: the source comes back as moved (a
      // directory is listed again), a loaded destination gives way.
      const cur = InodeTree.get(tx, inode.id) ?? (inode.type === 'directory' ? { ...inode, loaded: false, syncMs: 0 } : inode);
      const there = InodeTree.child(tx, par.id, baseName(dst));
      if (there) {
        if (there.mountId !== undefined || there.id === cur.id) throw alreadyExists(dst);
        InodeTree.removeSubtree(tx, there, (i) => { if (i.type === 'file') replaced.push(i.fileId); PersistJobs.del(tx, i.fileId); });
      }
      // POSIX: both directories change (mtime, ctime), and so does the renamed inode's ctime.
      const now = Date.now();
      const from = cur.parentId;
      const to = InodeTree.update(tx, entriesChanged(InodeTree.get(tx, par.id) ?? par, now));
      if (from !== to.id) InodeTree.modify(tx, from, (dir) => entriesChanged(dir, now));
      InodeTree.move(tx, { ...cur, atimeMs: atimeOf(cur), ctimeMs: now }, to, baseName(dst), now);
      AbsentPathCache.tombstone(tx, src);
      AbsentPathCache.clearPath(tx, dst);
    }).catch(async (err: unknown) => { await settle(s, intentId, renameIntent); throw err; });
    for (const id of replaced) await s.blocks.removeFile(id);
  }

  /**
   * Change mode, owner, group, mtime or atime kept in the inode (validated by the caller); the
   * ctime becomes the time of the change (POSIX), and an atime not given stays what it was.
   */
  async setAttributes(p: string, a: SetAttributesOptions): Promise<InodeRecord> {
    const inode = await statInode(this.s, p);
    return this.s.store.transact((tx) => {
      const cur = InodeTree.get(tx, inode.id);
      if (!cur) throw notFound(p);
      const now = Date.now();
      const next: InodeRecord = {
        ...cur,
        ...(a.mode !== undefined ? { mode: a.mode } : {}),
        ...(a.uid !== undefined ? { uid: a.uid } : {}),
        ...(a.gid !== undefined ? { gid: a.gid } : {}),
        ...(a.mtimeMs !== undefined ? { mtimeMs: a.mtimeMs } : {}),
        atimeMs: a.atimeMs ?? atimeOf(cur),
        ctimeMs: now,
        touchMs: now,
      };
      InodeTree.update(tx, next);
      return next;
    });
  }

  /** Replace the extended attributes of a file (an empty object removes them). */
  async setXattr(p: string, xattr: Record<string, string>): Promise<void> {
    const inode = await statInode(this.s, p);
    await this.s.store.transact((tx) => {
      const cur = InodeTree.get(tx, inode.id);
      if (!cur) throw notFound(p);
      const next: InodeRecord = { ...cur, atimeMs: atimeOf(cur), ctimeMs: Date.now() };
      if (Object.keys(xattr).length) next.xattr = { ...xattr };
      else delete next.xattr;
      InodeTree.update(tx, next);
    });
  }
}

/**
 * A directory whose entries change now (POSIX mtime and ctime), written in `tx` unless it
 * already holds exactly these times: the creates of one commit group in one directory within
 * the same millisecond rewrite the directory's record (and bump the inode epoch for it) once,
 * not once each. (Each create bumps the epoch with its own inode anyway.)
 */
function entriesChangedIn(tx: MetaTxn, dir: InodeRecord, now: number): InodeRecord {
  const next = entriesChanged(dir, now);
  if (next.mtimeMs === dir.mtimeMs && next.ctimeMs === dir.ctimeMs && next.atimeMs === dir.atimeMs) return dir;
  return InodeTree.update(tx, next);
}

/** The inode of a written file under `parent`. */
function createFileInode(tx: MetaTxn, parent: InodeRecord, f: WrittenFile, now: number): InodeRecord {
  const o = f.options;
  return InodeTree.create(tx, parent, baseName(f.path), {
    type: 'file', fileId: f.fileId, length: f.length, ps: f.ps, blockSize: f.blockSize,
    mtimeMs: f.ufs?.mtimeMs ?? now,
    ...(f.ufs && f.ufs.mtimeMs !== now ? { ctimeMs: now } : {}),
    ufsContent: f.ufs?.contentHash, ufsMeta: f.ufs?.metaHash,
    ...(f.ufs?.etag ? { ufsEtag: f.ufs.etag } : {}),
    ...(f.ufs?.mode !== undefined ? { mode: f.ufs.mode & 0o7777 } : {}),
    pinned: f.ps === 'TO_BE_PERSISTED',
    ttlMs: o.ttlMs ?? -1, ttlAction: o.ttlAction ?? 'free',
    syncMs: now,
    ...(o.xattr && Object.keys(o.xattr).length ? { xattr: { ...o.xattr } } : {}),
  }, now);
}
