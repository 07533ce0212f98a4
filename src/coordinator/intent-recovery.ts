// Resolution of open intents (src/meta/intents.ts) at start-up: each operation cut short by
// a crash is rolled forward or back from what the UFS and the namespace now hold, so that
// both agree for every path written through Strata. An intent whose UFS cannot be reached
// stays open for the next start; nothing is guessed.

import type { BlockStore } from '../cache/block-store.js';
import { toStrataError } from '../errors.js';
import type { Logger } from '../log.js';
import { AbsentPathCache } from '../meta/absent-cache.js';
import type { InodeRecord } from '../meta/inode.js';
import { InodeTree } from '../meta/inode-tree.js';
import { PersistJobs } from '../meta/persist-jobs.js';
import { IntentJournal } from '../meta/intents.js';
import type { Intent, OpenIntent } from '../meta/intents.js';
import type { MetaStore } from '../meta/meta-store.js';
import type { MountRecord, MountTable } from '../meta/mount-table.js';
import { baseName, joinPath, parentPath, pathComponents, ROOT } from '../meta/path.js';
import { fromUfs } from '../sync/applier.js';
import type { Ufs, UfsStatus } from '../ufs/ufs.js';
import { DIR_CONTENT_HASH } from '../ufs/ufs.js';
import type { Metrics } from '../metrics/metrics.js';

export interface IntentRecoveryDeps {
  store: MetaStore;
  tree: InodeTree;
  mounts: MountTable;
  blocks: BlockStore;
  journal: IntentJournal;
  metrics: Metrics;
  log: Logger;
  ufsOf: (m: MountRecord) => Ufs;
}

/** How an intent was resolved. */
export type Resolution = 'forward' | 'back' | 'noop';

export class IntentRecovery {
  constructor(private readonly d: IntentRecoveryDeps) {}

  /** Resolve every open intent, oldest first; counted as intents.recovered / intents.unresolved. */
  async resolveAll(): Promise<{ recovered: number; unresolved: number }> {
    let recovered = 0;
    let unresolved = 0;
    const open = [...this.d.journal.open()]; // few: one per operation in flight at the crash
    for (const o of open) {
      try {
        const how = await this.resolve(o);
        recovered++;
        this.d.metrics.inc('intents', 'recovered');
        this.d.metrics.inc('intents', `recovered.${o.intent.op}.${how}`);
        this.d.log.info({ intent: o.intent, resolution: how }, 'resolved an operation cut short by a crash');
      } catch (err) {
        unresolved++;
        this.d.metrics.inc('intents', 'unresolved');
        this.d.log.warn({ intent: o.intent, err: toStrataError(err).toJSON() }, 'could not resolve an interrupted operation; retried at the next start');
      }
    }
    return { recovered, unresolved };
  }

  /** Resolve one intent and delete it. Throws (leaving it open) when its UFS cannot be asked. */
  async resolve(o: OpenIntent): Promise<Resolution> {
    const how = await this.apply(o.intent);
    await this.d.journal.end(o.id);
    return how;
  }

  private where(path: string): { mount: MountRecord; ufsPath: string; ufs: Ufs } {
    const { mount, ufsPath } = this.d.mounts.resolve(path);
    return { mount, ufsPath, ufs: this.d.ufsOf(mount) };
  }

  private apply(i: Intent): Promise<Resolution> {
    switch (i.op) {
      case 'mkdir': return this.mkdir(i.path);
      case 'write': return i.committed ? this.committedWrite(i.path, i.fileId) : this.write(i.path, i.before);
      case 'delete': return this.delete(i.path, i.inodeId);
      case 'rename': return i.ufs === 'delete' ? this.unlinkUnpersisted(i.src, i.inodeId) : this.rename(i.src, i.dst, i.inodeId);
      case 'persist': return this.persist(i.path, i.inodeId, i.fileId);
      case 'unlink': return this.unlink(i.path);
    }
  }

  /** Directories the UFS holds but Strata does not: create them (roll forward). */
  private async mkdir(path: string): Promise<Resolution> {
    let cur = this.d.tree.getInode(1)!;
    let curPath = ROOT;
    let created = 0;
    for (const name of pathComponents(path)) {
      const next = joinPath(curPath, name);
      const child = this.d.tree.getChild(cur.id, name);
      if (child) {
        if (child.type !== 'directory') break;
        cur = child;
        curPath = next;
        continue;
      }
      const { ufs, ufsPath } = this.where(next);
      const st = await ufs.getStatus(ufsPath);
      if (!st || st.type !== 'directory') break;
      const parentId = cur.id;
      cur = await this.d.store.transact((tx) => {
        const par = InodeTree.get(tx, parentId)!;
        const inode = InodeTree.create(tx, par, name, { ...fromUfs(st), type: 'directory', ufsContent: DIR_CONTENT_HASH, loaded: false });
        AbsentPathCache.clearPath(tx, next);
        return inode;
      });
      curPath = next;
      created++;
    }
    return created ? 'forward' : 'noop';
  }

  /**
   * A UFS write that completed without its commit: the inode takes the UFS file (roll forward).
   * The UFS file recorded as `before` (an old copy under an unpersisted file) is not this write.
   */
  private async write(path: string, before: string | undefined): Promise<Resolution> {
    const { ufs, ufsPath } = this.where(path);
    const st = await ufs.getStatus(ufsPath);
    const r = this.d.tree.resolve(path);
    const cur = r.inode;
    if (!st || st.type !== 'file') return 'back'; // the UFS write never landed: the old state stands
    if (before !== undefined && st.contentHash === before) return 'back'; // the old copy, not this write
    if (cur && cur.type === 'file' && cur.ps === 'PERSISTED' && cur.ufsContent === st.contentHash) return 'back';
    if (cur?.type === 'directory' || cur?.mountId !== undefined) return 'noop';
    const parent = this.d.tree.resolve(parentPath(path)).inode;
    if (!parent || parent.type !== 'directory') return 'noop';
    await this.replaceFromUfs(parent.id, path, st);
    return 'forward';
  }

  /**
   * A write whose commit is durable while its UFS placement may not be (cut during the
   * directory's fsync, or before the intent's end): the file stays if the UFS holds it;
   * otherwise the namespace takes what the UFS holds (the old file, or nothing). A path
   * that no longer holds this write's file has changed since: nothing to do.
   */
  private async committedWrite(path: string, fileId: number): Promise<Resolution> {
    const cur = this.d.tree.resolve(path).inode;
    if (!cur || cur.type !== 'file' || cur.fileId !== fileId) return 'noop';
    const { ufs, ufsPath } = this.where(path);
    const st = await ufs.getStatus(ufsPath);
    if (st?.type === 'file' && st.contentHash === cur.ufsContent) return 'noop';
    const parent = this.d.tree.resolve(parentPath(path)).inode;
    if (st?.type === 'file' && parent?.type === 'directory') await this.replaceFromUfs(parent.id, path, st);
    else await this.removeInodes(path, cur.id); // nothing (or a directory, for the next sync) in the UFS
    return 'back';
  }

  /** Replace (or create) the file at `path` by the UFS file `st`, dropping the old content. */
  private async replaceFromUfs(parentId: number, path: string, st: UfsStatus): Promise<void> {
    const old: number[] = [];
    await this.d.store.transact((tx) => {
      const par = InodeTree.get(tx, parentId)!;
      const prev = InodeTree.child(tx, parentId, baseName(path));
      if (prev) InodeTree.removeSubtree(tx, prev, (x) => { if (x.type === 'file') old.push(x.fileId); PersistJobs.del(tx, x.fileId); });
      InodeTree.create(tx, par, baseName(path), { ...fromUfs(st), syncMs: Date.now() });
      AbsentPathCache.clearPath(tx, path);
    });
    for (const id of old) await this.d.blocks.removeFile(id);
  }

  /** A delete: finish it in the UFS and in Strata (roll forward). */
  private async delete(path: string, inodeId: number): Promise<Resolution> {
    const { mount, ufs, ufsPath } = this.where(path);
    if (!mount.readOnly && path !== mount.path) await ufs.delete(ufsPath, { recursive: true });
    await this.removeInodes(path, inodeId);
    return 'forward';
  }

  private async removeInodes(path: string, inodeId: number): Promise<void> {
    const inode = this.d.tree.resolve(path).inode;
    if (!inode || inode.id !== inodeId) return;
    const freed: number[] = [];
    await this.d.store.transact((tx) => {
      const cur = InodeTree.get(tx, inodeId);
      if (!cur) return;
      InodeTree.removeSubtree(tx, cur, (x) => { if (x.type === 'file') freed.push(x.fileId); PersistJobs.del(tx, x.fileId); });
      AbsentPathCache.tombstone(tx, path);
    });
    for (const id of freed) await this.d.blocks.removeFile(id);
  }

  /** A rename of an unpersisted file: its stale UFS copy at the old name goes (the namespace keeps the old name). */
  private async unlinkUnpersisted(src: string, inodeId: number): Promise<Resolution> {
    const inode = this.d.tree.resolve(src).inode;
    if (!inode || inode.id !== inodeId || inode.ps === 'PERSISTED') return 'noop';
    const { mount, ufs, ufsPath } = this.where(src);
    if (!mount.readOnly) await ufs.delete(ufsPath);
    return 'back';
  }

  /**
   * A UFS rename without its metadata move. The UFS decides: renamed (the source gone, or
   * every source entry already at the destination) → the namespace follows; not renamed →
   * the copies made at the destination go.
   */
  private async rename(src: string, dst: string, inodeId: number): Promise<Resolution> {
    const s = this.where(src);
    const dUfs = this.where(dst);
    const [srcSt, dstSt] = await Promise.all([s.ufs.getStatus(s.ufsPath), dUfs.ufs.getStatus(dUfs.ufsPath)]);
    const inode = this.d.tree.resolve(src).inode;
    if (!inode || inode.id !== inodeId) return 'noop';
    if (srcSt && !dstSt) return 'back'; // the UFS rename never happened
    if (!srcSt && !dstSt) return 'noop'; // both gone: a sync settles it
    if (srcSt && dstSt) {
      // Cut short half way. A local file is renamed by link + unlink (no replace): both names
      // with one fingerprint are one file, the unlink is what is missing. An object store
      // copies, then deletes: complete when every source entry has its copy, else undo the
      // copies. Anything else: the destination was there before, the rename never ran.
      const linked = srcSt.type === 'file' && dstSt.type === 'file' && srcSt.contentHash === dstSt.contentHash;
      if (linked || (s.ufs.flatListing && await this.allCopied(s.ufs, s.ufsPath, dUfs.ufsPath, srcSt))) {
        await s.ufs.delete(s.ufsPath, { recursive: srcSt.type === 'directory' });
      } else if (s.ufs.flatListing) {
        await dUfs.ufs.delete(dUfs.ufsPath, { recursive: true });
        return 'back';
      } else {
        return 'back';
      }
    }
    const parent = this.d.tree.resolve(parentPath(dst)).inode;
    if (!parent || parent.type !== 'directory' || this.d.tree.getChild(parent.id, baseName(dst))) {
      await dUfs.ufs.rename(dUfs.ufsPath, s.ufsPath); // the namespace cannot follow: undo in the UFS
      return 'back';
    }
    await this.d.store.transact((tx) => {
      const cur = InodeTree.get(tx, inodeId)!;
      const par = InodeTree.get(tx, parent.id)!;
      InodeTree.move(tx, cur, par, baseName(dst));
      AbsentPathCache.tombstone(tx, src);
      AbsentPathCache.clearPath(tx, dst);
    });
    return 'forward';
  }

  private async allCopied(ufs: Ufs, srcPath: string, dstPath: string, srcSt: UfsStatus): Promise<boolean> {
    if (srcSt.type === 'file') {
      const d = await ufs.getStatus(dstPath);
      return !!d && d.type === 'file' && d.length === srcSt.length;
    }
    const have = new Set<string>();
    for await (const page of ufs.list(dstPath, { recursive: true })) for (const e of page) if (e.type === 'file') have.add(`${e.name}\u0000${e.length}`);
    for await (const page of ufs.list(srcPath, { recursive: true })) {
      for (const e of page) if (e.type === 'file' && !have.has(`${e.name}\u0000${e.length}`)) return false;
    }
    return true;
  }

  /**
   * A persist cut short: a queued job runs again (roll forward by the queue); a `persist`
   * command of an unpersisted file leaves no UFS copy behind (roll back).
   */
  private async persist(path: string, inodeId: number, fileId: number): Promise<Resolution> {
    const inode = this.d.tree.getInode(inodeId);
    if (!inode || inode.fileId !== fileId || inode.ps === 'PERSISTED') return 'noop';
    if (PersistJobs.get(this.d.store, fileId)) return 'forward';
    const p = this.d.tree.pathOf(inodeId);
    if (p !== path) return 'noop';
    const { mount, ufs, ufsPath } = this.where(path);
    if (!mount.readOnly) await ufs.delete(ufsPath);
    return 'back';
  }

  /** The old UFS copy of a file overwritten by an unpersisted one goes, unless a persisted file took the path since. */
  private async unlink(path: string): Promise<Resolution> {
    const cur = this.d.tree.resolve(path).inode;
    if (cur && (cur.type !== 'file' || cur.ps !== 'NOT_PERSISTED')) return 'noop';
    const { mount, ufs, ufsPath } = this.where(path);
    if (mount.readOnly) return 'noop';
    const st = await ufs.getStatus(ufsPath);
    if (st?.type !== 'file') return 'noop';
    await ufs.delete(ufsPath);
    return 'forward';
  }
}
