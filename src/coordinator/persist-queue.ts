// The durable persist queue of ASYNC_THROUGH: one job per file in the 'persist' table,
// written in the same transaction that makes the file visible, so a crash can never lose
// it. Jobs run after `persist.initial.wait`, retry with exponential back-off capped at
// `persist.max.interval`, and never give up: a failing file stays cached, pinned and
// TO_BE_PERSISTED with its attempt count and last error. A persist holds the file's path
// lock while it uploads, so a delete or rename waits and the UFS ends as the client asked.

import type { ActorSystem } from '../actors/actor-system.js';
import type { BlockStore } from '../cache/block-store.js';
import { ErrorCode, StrataError, toStrataError } from '../errors.js';
import type { Logger } from '../log.js';
import type { InodeRecord } from '../meta/inode.js';
import type { InodeTree } from '../meta/inode-tree.js';
import type { MetaStore, MetaTxn } from '../meta/meta-store.js';
import type { MountRecord, MountTable } from '../meta/mount-table.js';
import type { Ufs } from '../ufs/ufs.js';
import type { Metrics } from './metrics.js';

export interface PersistJob {
  inodeId: number;
  fileId: number;
  enqueuedMs: number;
  nextMs: number;
  attempts: number;
  lastError?: string;
}

export interface PersistDeps {
  store: MetaStore;
  tree: InodeTree;
  mounts: MountTable;
  blocks: BlockStore;
  metrics: Metrics;
  actors: ActorSystem;
  log: Logger;
  ufsOf: (m: MountRecord) => Ufs;
  initialWaitMs: (path: string) => number;
  maxIntervalMs: number;
  parallelism: number;
}

export class PersistQueue {
  private timer: NodeJS.Timeout | undefined;
  private running = new Set<number>();
  private stopped = false;
  private ticking = false;

  constructor(private readonly d: PersistDeps) {}

  /** In the transaction that creates an ASYNC_THROUGH file: queue its persist. */
  static enqueue(tx: MetaTxn, inode: InodeRecord, now: number, initialWaitMs = 0): void {
    const job: PersistJob = { inodeId: inode.id, fileId: inode.fileId, enqueuedMs: now, nextMs: now + initialWaitMs, attempts: 0 };
    tx.put('persist', inode.fileId, job);
  }

  start(): void {
    this.schedule(10);
  }

  /** A new job arrived: look at the queue soon. */
  wake(): void {
    this.schedule(50);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private pathOf(inodeId: number): string | undefined {
    return this.d.tree.pathOf(inodeId);
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    let nextDue = Infinity;
    try {
      const now = Date.now();
      for (const { value: job } of this.d.store.range<PersistJob>('persist', {})) {
        if (this.running.size >= this.d.parallelism) break;
        if (this.running.has(job.fileId)) continue;
        const path = this.pathOf(job.inodeId);
        const due = job.attempts === 0 && path ? job.enqueuedMs + this.d.initialWaitMs(path) : job.nextMs;
        if (due > now) { nextDue = Math.min(nextDue, due); continue; }
        this.running.add(job.fileId);
        void this.run(job).finally(() => { this.running.delete(job.fileId); this.schedule(0); });
      }
    } finally {
      this.ticking = false;
    }
    if (Number.isFinite(nextDue)) this.schedule(Math.max(10, nextDue - Date.now()));
  }

  /** Persist one file now (the `persist` command), waiting for the result. */
  async persistNow(path: string, inodeId: number): Promise<void> {
    const inode = this.d.tree.getInode(inodeId);
    if (!inode) throw new StrataError(ErrorCode.NOT_FOUND, `file no longer exists: ${path}`);
    const job = this.d.store.get<PersistJob>('persist', inode.fileId) ?? { inodeId, fileId: inode.fileId, enqueuedMs: Date.now(), nextMs: 0, attempts: 0 };
    const err = await this.run(job);
    if (err) throw err;
  }

  /** Upload a file's cached blocks to its UFS and mark it PERSISTED. Returns the error, if any. */
  private async run(job: PersistJob): Promise<StrataError | undefined> {
    const path = this.pathOf(job.inodeId);
    if (!path) {
      await this.d.store.transact((tx) => tx.del('persist', job.fileId));
      return undefined;
    }
    this.d.metrics.inc('persist', 'attempts');
    try {
      await this.d.actors.tell(path, [{ path, exclusive: true }], async () => {
        const inode = this.d.tree.getInode(job.inodeId);
        // Deleted, renamed or rewritten while waiting for the lock: the next tick sees the truth.
        if (!inode || inode.fileId !== job.fileId || this.pathOf(job.inodeId) !== path) return;
        if (inode.ps === 'PERSISTED') {
          // Persisted before a crash cut the clean-up short: finish it.
          if (!inode.pinned) await this.d.blocks.setEvictable(job.fileId, true);
          await this.d.store.transact((tx) => tx.del('persist', job.fileId));
          return;
        }
        const { mount, ufsPath } = this.d.mounts.resolve(path);
        if (mount.readOnly) throw new StrataError(ErrorCode.READ_ONLY, `${path} is under the read-only mount ${mount.path}`);
        const blocks = this.d.blocks;
        const bs = inode.blockSize || blocks.blockSize;
        async function* bytes(): AsyncIterable<Uint8Array> {
          for (let i = 0, off = 0; off < inode!.length; i++, off += bs) {
            const b = await blocks.read(inode!.fileId, i, 0, Math.min(bs, inode!.length - off));
            if (!b) throw new StrataError(ErrorCode.INTERNAL, `cached block ${i} of ${path} is missing`);
            yield b;
          }
        }
        const st = await this.d.ufsOf(mount).write(ufsPath, bytes(), { overwrite: true, size: inode.length, recursive: true });
        await this.d.store.transact((tx) => {
          const cur = tx.get<InodeRecord>('inode', inode.id);
          if (!cur || cur.fileId !== job.fileId) { tx.del('persist', job.fileId); return; }
          const { persistAttempts: _a, lastPersistError: _e, ...rest } = cur;
          tx.put('inode', cur.id, { ...rest, ps: 'PERSISTED', pinned: false, ufsContent: st.contentHash, ufsMeta: st.metaHash, mtimeMs: st.mtimeMs, syncMs: Date.now() });
        });
        await blocks.setEvictable(job.fileId, true);
        // The job goes last: a crash before this line leaves it, and the next run finishes
        // the clean-up above (blocks evictable), so persisted data never stays unevictable.
        await this.d.store.transact((tx) => tx.del('persist', job.fileId));
        this.d.metrics.inc('persist', 'persisted');
        this.d.metrics.inc('persist', 'bytes', inode.length);
      });
      return undefined;
    } catch (err) {
      const e = toStrataError(err, ErrorCode.UFS_UNAVAILABLE);
      const attempts = job.attempts + 1;
      const backoff = Math.min(this.d.maxIntervalMs, 1000 * 2 ** Math.min(attempts - 1, 20));
      this.d.metrics.inc('persist', 'failures');
      this.d.log.warn({ path, attempts, code: e.code, error: e.message }, 'persist failed; will retry');
      await this.d.store.transact((tx) => {
        const cur = tx.get<PersistJob>('persist', job.fileId);
        if (cur) tx.put('persist', job.fileId, { ...cur, attempts, nextMs: Date.now() + backoff, lastError: `${e.code}: ${e.message}` });
        const inode = tx.get<InodeRecord>('inode', job.inodeId);
        if (inode && inode.fileId === job.fileId) tx.put('inode', inode.id, { ...inode, persistAttempts: attempts, lastPersistError: `${e.code}: ${e.message}` });
      });
      return e;
    }
  }

  /** Queue figures for the report: pending, in flight, failed (retrying after an error), oldest pending age. */
  stats(): Record<string, number> {
    let pending = 0;
    let failed = 0;
    let oldest = 0;
    const now = Date.now();
    for (const { value } of this.d.store.range<PersistJob>('persist', {})) {
      pending++;
      if (value.attempts > 0) failed++;
      oldest = Math.max(oldest, now - value.enqueuedMs);
      if (pending >= 100_000) break; // the report stays cheap on a huge backlog
    }
    return { pending, inFlight: this.running.size, failed, oldestPendingMs: oldest };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.running.size > 0) await new Promise((r) => setTimeout(r, 20));
  }
}
