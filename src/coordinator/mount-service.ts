// Mounts as a service: mount (URI and options checked, the target allowed by
// mount.allowed.roots, the UFS answering, then the mount record and its directory inode in
// one transaction), unmount (refused while it holds unpersisted data or nested mounts),
// the mount table as clients see it, and active sync started on mounts that ask for it.

import { AllowedRoots } from '../auth/allowed-roots.js';
import { isConfigKey, isUfsOptionKey, validateProperty } from '../config/keys.js';
import { ErrorCode, StrataError, invalidArgument, mountConflict, notADirectory, notFound, readOnly } from '../errors.js';
import type { InodeRecord } from '../meta/inode.js';
import { InodeTree } from '../meta/inode-tree.js';
import { MountTable } from '../meta/mount-table.js';
import type { MountRecord } from '../meta/mount-table.js';
import { baseName, parentPath, ROOT } from '../meta/path.js';
import type { MountInfo, MountOptions } from '../types.js';
import { InstrumentedUfs } from '../ufs/instrumented.js';
import { ufsTimeoutMs } from '../ufs/mounted-ufs.js';
import { createUfs } from '../ufs/registry.js';
import { mutate, tryStat } from './services.js';
import type { Services } from './services.js';
import { DIR_CONTENT_HASH } from '../ufs/ufs.js';

export class MountService {
  /** The targets mounts may name (src/auth/allowed-roots.ts); a malformed list fails here, at start. */
  private readonly allowedRoots: AllowedRoots;

  constructor(private readonly s: Services) {
    this.allowedRoots = new AllowedRoots({
      list: s.config.get('mount.allowed.roots'), dataDir: s.dataDir,
      rootUfs: s.mounts.root!.ufsUri, ufsDefaults: s.config.ufsDefaults,
    });
  }

  /** Mount `ufsUri` at `p` (normalized). */
  async mount(p: string, ufsUri: string, options: MountOptions): Promise<void> {
    const s = this.s;
    if (p === ROOT) throw mountConflict('/ is the root mount; mount below it');
    if (typeof ufsUri !== 'string' || !ufsUri) throw invalidArgument('a UFS URI is required');
    const opts = options.options ?? {};
    for (const [k, v] of Object.entries(opts)) {
      if (typeof v !== 'string') throw invalidArgument(`mount option ${k} must be a string`);
      if (isConfigKey(k)) validateProperty(k, v, 'path');
      else if (!isUfsOptionKey(k)) throw invalidArgument(`unknown mount option ${JSON.stringify(k)}`);
    }
    // Parse the URI first: a malformed one (s3:// without a bucket) is INVALID_ARGUMENT, not a conflict.
    await createUfs(ufsUri, { ...s.config.ufsDefaults, ...opts }).close();
    s.mounts.checkNew(p, ufsUri);
    // What a mount may reach (mount.allowed.roots, never the data directory): before any UFS call.
    this.allowedRoots.check(ufsUri, { ...s.config.ufsDefaults, ...opts });
    const under = s.mounts.resolve(p);
    if (under.mount.readOnly) throw readOnly(p, under.mount.path);
    return mutate(s, p, async () => {
      if (await tryStat(s, p, { loadType: 'ONCE' })) throw mountConflict(`mount path ${p} already exists`);
      const parent = await tryStat(s, parentPath(p));
      if (!parent) throw notFound(parentPath(p), 'parent directory of the mount point');
      if (parent.type !== 'directory') throw notADirectory(parentPath(p));
      // Checked under the mount's timeout: a server that hangs fails the mount, never the caller.
      const ufs = new InstrumentedUfs(createUfs(ufsUri, { ...s.config.ufsDefaults, ...opts }),
        { count: s.metrics.ufsCall, timeoutMs: ufsTimeoutMs(opts, s.config.get('ufs.timeout')) });
      try {
        await ufs.check();
      } finally {
        await ufs.close().catch(() => undefined);
      }
      s.mounts.checkNew(p, ufsUri); // again: another mount may have landed meanwhile
      await s.store.transact((tx) => {
        const par = InodeTree.get(tx, parent.id);
        if (!par) throw notFound(parentPath(p));
        if (InodeTree.child(tx, par.id, baseName(p))) throw mountConflict(`mount path ${p} already exists`);
        const mountId = InodeTree.allocId(tx);
        s.mounts.add(tx, { mountId, path: p, ufsUri, readOnly: !!options.readOnly, options: opts, createdMs: Date.now() });
        InodeTree.create(tx, par, baseName(p), { type: 'directory', mountId, ufsContent: DIR_CONTENT_HASH });
      });
      s.mounts.reload();
      await s.absent.clearUnder(p);
      s.log.info({ path: p, ufsUri, readOnly: !!options.readOnly }, 'mounted');
      await this.autoActiveSync(s.mounts.byPath(p)!);
    });
  }

  /** Unmount the mount point `p` (normalized). */
  async unmount(p: string): Promise<void> {
    const s = this.s;
    if (p === ROOT) throw mountConflict('the root mount cannot be unmounted');
    const m = s.mounts.byPath(p);
    if (!m) throw invalidArgument(`${p} is not a mount point`);
    const nested = s.mounts.nestedUnder(p);
    if (nested.length) throw mountConflict(`${p} has the nested mount ${nested[0]!.path}: unmount it first`);
    return mutate(s, p, async () => {
      const inode = s.tree.require(p);
      // Unpersisted data exists nowhere else: refuse rather than lose it (before changing anything).
      for (const { path: ip, inode: i } of s.tree.walk(p, inode)) {
        if (i.type === 'file' && (i.ps === 'TO_BE_PERSISTED' || i.ps === 'NOT_PERSISTED')) {
          throw new StrataError(ErrorCode.FAILED_PRECONDITION, `${p} holds files not persisted to its UFS (e.g. ${ip}): persist or delete them first`);
        }
      }
      await s.activeSync.stopUnder(p);
      const freed: number[] = [];
      await s.store.transact((tx) => {
        const cur = InodeTree.get(tx, inode.id);
        if (cur) InodeTree.removeSubtree(tx, cur, (i) => { if (i.type === 'file') freed.push(i.fileId); });
        s.mounts.remove(tx, p);
      });
      s.mounts.reload();
      await s.ufsCache.drop(m.mountId);
      await s.absent.clearUnder(p);
      for (const id of freed) await s.blocks.removeFile(id);
      s.log.info({ path: p }, 'unmounted');
    }, [], true);
  }

  /** The mount table as clients see it (options redacted). */
  list(): MountInfo[] {
    return this.s.mounts.list().map(MountTable.info);
  }

  /** Start active sync on a mount whose `activeSync` option (or preset) asks for it. */
  async autoActiveSync(m: MountRecord): Promise<void> {
    const s = this.s;
    if (!s.options.get(m.path, 'activeSync') || s.activeSync.has(m.path)) return;
    try {
      await s.activeSync.start(m.path, m, false);
    } catch (err) {
      if ((err as StrataError).code !== ErrorCode.ALREADY_EXISTS) throw err;
    }
  }

  /** At start: active sync on every mount that asks for it. */
  async startActiveSync(): Promise<void> {
    for (const m of this.s.mounts.list()) await this.autoActiveSync(m);
  }
}
