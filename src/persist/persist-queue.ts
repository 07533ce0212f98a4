// The durable persist queue of ASYNC_THROUGH: one job per file (meta/persist-jobs.ts),
// written in the same transaction that makes the file visible, so a crash can never lose
// it. Jobs run after `persist.initial.wait`, retry with exponential back-off capped at
// `persist.max.interval`, and never give up: a failing file stays cached, pinned and
// TO_BE_PERSISTED with its attempt count and last error. A persist holds the file's path
// lock while it uploads, so a delete or rename waits and the UFS ends as the client asked.
// Due jobs are found through an in-memory heap (rebuilt from the table at start), so the
// cost of a tick grows with the jobs it runs, not with the backlog. When a UFS is
// unavailable its jobs pause (no attempts burnt) while the UFS is probed; they resume as
// soon as it answers again.

import type { BlockStore } from '../cache/block-store.js';
import { ErrorCode, StrataError, toStrataError } from '../errors.js';
import type { Logger } from '../log.js';
import type { InodeRecord } from '../meta/inode.js';
import { InodeTree } from '../meta/inode-tree.js';
import { IntentJournal } from '../meta/intents.js';
import type { Intent } from '../meta/intents.js';
import type { MetaStore, MetaTxn } from '../meta/meta-store.js';
import type { MountRecord, MountTable } from '../meta/mount-table.js';
import { PersistJobs } from '../meta/persist-jobs.js';
import type { PersistJob } from '../meta/persist-jobs.js';
import type { Ufs } from '../ufs/ufs.js';
import type { Metrics } from '../metrics/metrics.js';

export type { PersistJob };

export interface PersistDeps {
  store: MetaStore;
  tree: InodeTree;
  mounts: MountTable;
  blocks: BlockStore;
  metrics: Metrics;
  /** The actor layer (above persist/): runs `run` on the path's shard holding `locks`. */
  actors: { tell<T>(path: string, locks: Array<{ path: string; exclusive: boolean; subtree?: boolean }>, run: () => Promise<T>): Promise<T> };
  log: Logger;
  ufsOf: (m: MountRecord) => Ufs;
  initialWaitMs: (path: string) => number;
  maxIntervalMs: number;
  parallelism: number;
}

/** A binary min-heap of [due ms, file id]; stale entries are skipped when popped. */
class DueHeap {
  private readonly a: Array<[number, number]> = [];
  get size(): number { return this.a.length; }
  peek(): [number, number] | undefined { return this.a[0]; }
  push(e: [number, number]): void {
    const a = this.a;
    a.push(e);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (a[p]![0] <= a[i]![0]) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): [number, number] | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]![0] < a[m]![0]) m = l;
        if (r < a.length && a[r]![0] < a[m]![0]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/** The error of a file whose cached block does not hold what the inode says (not persisted). */
function shortBlock(path: string, index: number, want: number, got: number | undefined): StrataError {
  return new StrataError(ErrorCode.FAILED_PRECONDITION,
    `cached block ${index} of ${path} ${got === undefined ? 'is missing' : `holds ${got} bytes, expected ${want}`}: the file is not persisted from incomplete data`);
}

/** Check in the index that every block of the inode is cached whole. */
function verifyBlocks(blocks: BlockStore, inode: InodeRecord, bs: number, path: string): void {
  for (let i = 0, off = 0; off < inode.length; i++, off += bs) {
    const want = Math.min(bs, inode.length - off);
    const size = blocks.has(inode.fileId, i);
    if (size !== want) throw shortBlock(path, i, want, size);
  }
}

interface Tracked {
  due: number;
  enqueuedMs: number;
  attempts: number;
}

export class PersistQueue {
  private timer: NodeJS.Timeout | undefined;
  private running = new Set<number>();
  private stopped = false;
  private ticking = false;
  /** Every queued job by file id (mirrors the stored jobs). */
  private readonly jobs = new Map<number, Tracked>();
  private readonly heap = new DueHeap();
  /** Mounts whose UFS is unavailable: their paused jobs and the probe timer. */
  private readonly outages = new Map<number, { fileIds: Set<number>; timer?: NodeJS.Timeout }>();

  /** The upload and its PERSISTED commit are one intent: a crash between them is resolved at start. */
  private readonly journal: IntentJournal;

  constructor(private readonly d: PersistDeps) {
    this.journal = new IntentJournal(d.store);
  }

  private track(fileId: number, job: PersistJob, due: number): void {
    this.jobs.set(fileId, { due, enqueuedMs: job.enqueuedMs, attempts: job.attempts });
    this.heap.push([due, fileId]);
  }

  /** The due time of a stored job: after the initial wait, or its back-off. */
  private dueOf(job: PersistJob): number {
    const path = this.d.tree.pathOf(job.inodeId);
    return job.attempts === 0 && path ? job.enqueuedMs + this.d.initialWaitMs(path) : job.nextMs;
  }

  /** A job was committed (ASYNC_THROUGH write): track it. */
  added(fileId: number): void {
    const job = PersistJobs.get(this.d.store, fileId);
    if (job) this.track(fileId, job, this.dueOf(job));
    this.schedule(50);
  }

  /** Jobs removed with their files (delete, overwrite). */
  forget(fileIds: Iterable<number>): void {
    for (const id of fileIds) this.jobs.delete(id);
  }

  /** In the transaction that creates an ASYNC_THROUGH file: queue its persist. */
  static enqueue(tx: MetaTxn, inode: InodeRecord, now: number, initialWaitMs = 0): void {
    const job: PersistJob = { inodeId: inode.id, fileId: inode.fileId, enqueuedMs: now, nextMs: now + initialWaitMs, attempts: 0 };
    PersistJobs.put(tx, job);
  }

  /** Load the stored jobs (after a restart every pending persist resumes) and start. */
  start(): void {
    for (const job of PersistJobs.all(this.d.store)) this.track(job.fileId, job, this.dueOf(job));
    this.schedule(10);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const now = Date.now();
      while (this.running.size < this.d.parallelism) {
        const top = this.heap.peek();
        if (!top || top[0] > now) break;
        this.heap.pop();
        const [due, fileId] = top;
        const t = this.jobs.get(fileId);
        if (!t || t.due !== due || this.running.has(fileId)) continue; // stale heap entry
        const job = PersistJobs.get(this.d.store, fileId);
        if (!job) { this.jobs.delete(fileId); continue; }
        const path = this.d.tree.pathOf(job.inodeId);
        const mountId = path ? this.d.mounts.resolve(path).mount.mountId : undefined;
        const outage = mountId !== undefined ? this.outages.get(mountId) : undefined;
        if (outage) { outage.fileIds.add(fileId); continue; } // resumes when the UFS answers
        this.running.add(fileId);
        void this.run(job).finally(() => {
          this.running.delete(fileId);
          this.resync(fileId, job.attempts);
          this.schedule(0);
        });
      }
    } finally {
      this.ticking = false;
    }
    const next = this.heap.peek();
    if (next) this.schedule(Math.max(10, next[0] - Date.now()));
  }

  /** After a run: mirror the table (the job may be gone, failed, or left for a renamed file). */
  private resync(fileId: number, attemptsBefore: number): void {
    const job = PersistJobs.get(this.d.store, fileId);
    if (!job) { this.jobs.delete(fileId); return; }
    this.track(fileId, job, job.attempts > attemptsBefore ? job.nextMs : Date.now());
  }

  /** A UFS failed as unavailable: pause its jobs and probe it until it answers. */
  private pauseMount(mount: MountRecord, fileId: number): void {
    let o = this.outages.get(mount.mountId);
    if (!o) {
      o = { fileIds: new Set() };
      this.outages.set(mount.mountId, o);
      this.d.metrics.inc('persist', 'outages');
      this.d.log.warn({ mount: mount.path }, 'UFS unavailable: persists to it are paused until it answers again');
      const probe = async (): Promise<void> => {
        if (this.stopped) return;
        try {
          await this.d.ufsOf(mount).check();
        } catch {
          o!.timer = setTimeout(() => void probe(), Math.min(2000, this.d.maxIntervalMs));
          o!.timer.unref();
          return;
        }
        this.outages.delete(mount.mountId);
        this.d.log.info({ mount: mount.path, jobs: o!.fileIds.size }, 'UFS answers again: persists resume');
        const now = Date.now();
        for (const id of o!.fileIds) {
          const t = this.jobs.get(id);
          if (t) { t.due = now; this.heap.push([now, id]); }
        }
        this.schedule(0);
      };
      o.timer = setTimeout(() => void probe(), Math.min(2000, this.d.maxIntervalMs));
      o.timer.unref();
    }
    o.fileIds.add(fileId);
  }

  /** Persist one file now (the `persist` command), waiting for the result. */
  async persistNow(path: string, inodeId: number): Promise<void> {
    const inode = this.d.tree.getInode(inodeId);
    if (!inode) throw new StrataError(ErrorCode.NOT_FOUND, `file no longer exists: ${path}`);
    const job = PersistJobs.get(this.d.store, inode.fileId) ?? { inodeId, fileId: inode.fileId, enqueuedMs: Date.now(), nextMs: 0, attempts: 0 };
    const err = await this.run(job);
    if (err) throw err;
  }

  /** Upload a file's cached blocks to its UFS and mark it PERSISTED. Returns the error, if any. */
  private async run(job: PersistJob): Promise<StrataError | undefined> {
    const path = this.d.tree.pathOf(job.inodeId);
    if (!path) {
      await this.d.store.transact((tx) => PersistJobs.del(tx, job.fileId));
      return undefined;
    }
    this.d.metrics.inc('persist', 'attempts');
    try {
      await this.d.actors.tell(path, [{ path, exclusive: true }], async () => {
        const inode = this.d.tree.getInode(job.inodeId);
        // Deleted, renamed or rewritten while waiting for the lock: the next tick sees the truth.
        if (!inode || inode.fileId !== job.fileId || this.d.tree.pathOf(job.inodeId) !== path) return;
        if (inode.ps === 'PERSISTED') {
          // Persisted before a crash cut the clean-up short: finish it.
          if (!inode.pinned) await this.d.blocks.setEvictable(job.fileId, true);
          await this.d.store.transact((tx) => PersistJobs.del(tx, job.fileId));
          return;
        }
        const { mount, ufsPath } = this.d.mounts.resolve(path);
        if (mount.readOnly) throw new StrataError(ErrorCode.READ_ONLY, `${path} is under the read-only mount ${mount.path}`);
        const blocks = this.d.blocks;
        const bs = inode.blockSize || blocks.blockSize;
        // Never persist from a short or missing block: every block must hold exactly the
        // bytes the inode says, checked against the index before anything goes to the UFS
        // and against the bytes actually read while they stream (a failed stream aborts the
        // UFS write: temp file removed locally, multipart aborted on S3).
        verifyBlocks(blocks, inode, bs, path);
        const filePath = path;
        async function* bytes(): AsyncIterable<Uint8Array> {
          for (let i = 0, off = 0; off < inode!.length; i++, off += bs) {
            const want = Math.min(bs, inode!.length - off);
            const b = await blocks.read(inode!.fileId, i, 0, want);
            if (!b || b.length !== want) throw shortBlock(filePath, i, want, b?.length);
            yield b;
          }
        }
        const intent: Intent = { op: 'persist', path, inodeId: inode.id, fileId: job.fileId };
        const intentId = await this.journal.begin(intent);
        let st;
        try {
          st = await this.d.ufsOf(mount).write(ufsPath, bytes(), { overwrite: true, size: inode.length, recursive: true });
        } catch (err) {
          await this.journal.end(intentId); // an upload is atomic: nothing landed
          throw err;
        }
        await this.d.store.transact((tx) => {
          IntentJournal.finish(tx, intentId);
          const cur = InodeTree.get(tx, inode.id);
          if (!cur || cur.fileId !== job.fileId) { PersistJobs.del(tx, job.fileId); return; }
          // Only the persistence fields and the UFS fingerprints change: the mtime (and ctime) stay
          // Strata's, so an mtime set after the write (utimens, cp -p, rsync) survives the upload.
          const { persistAttempts: _a, lastPersistError: _e, ...rest } = cur;
          InodeTree.update(tx, { ...rest, ps: 'PERSISTED', pinned: false, ufsContent: st.contentHash, ufsMeta: st.metaHash, ufsEtag: st.etag, syncMs: Date.now() });
        });
        await blocks.setEvictable(job.fileId, true);
        // The job goes last: a crash before this line leaves it, and the next run finishes
        // the clean-up above (blocks evictable), so persisted data never stays unevictable.
        await this.d.store.transact((tx) => PersistJobs.del(tx, job.fileId));
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
      if (e.code === ErrorCode.UFS_UNAVAILABLE) this.pauseMount(this.d.mounts.resolve(path).mount, job.fileId);
      await this.d.store.transact((tx) => {
        const cur = PersistJobs.get(tx, job.fileId);
        if (cur) PersistJobs.put(tx, { ...cur, attempts, nextMs: Date.now() + backoff, lastError: `${e.code}: ${e.message}` });
        const inode = InodeTree.get(tx, job.inodeId);
        if (inode && inode.fileId === job.fileId) InodeTree.update(tx, { ...inode, persistAttempts: attempts, lastPersistError: `${e.code}: ${e.message}` });
      });
      return e;
    }
  }

  /** Queue figures for the report: pending, in flight, failed (retrying after an error), oldest pending age, paused by an outage. */
  stats(): Record<string, number> {
    let failed = 0;
    let oldest = Infinity;
    for (const t of this.jobs.values()) {
      if (t.attempts > 0) failed++;
      if (t.enqueuedMs < oldest) oldest = t.enqueuedMs;
    }
    let paused = 0;
    for (const o of this.outages.values()) paused += o.fileIds.size;
    return {
      pending: this.jobs.size, inFlight: this.running.size, failed,
      oldestPendingMs: this.jobs.size ? Date.now() - oldest : 0, pausedByOutage: paused,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const o of this.outages.values()) clearTimeout(o.timer);
    while (this.running.size > 0) await new Promise((r) => setTimeout(r, 20));
  }
}
