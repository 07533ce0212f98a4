// The actor system: routes each operation to the shard actor owning its path (shards are
// subtrees named by the first `shard.depth` path components, hashed onto `shard.count`
// actors) and runs offloaded behaviour on a Piscina pool. Cheap point mutations run inline
// on the coordinator (an LMDB transaction costs microseconds, a Piscina round trip 30-70
// µs); directory syncs, whose listings block on the file system or wait on S3, run on the
// pool. See docs/architecture.md.

import { Piscina } from 'piscina';
import type { Transferable } from 'node:worker_threads';
import { pathComponents } from '../meta/path.js';
import type { CounterGroup } from '../metrics/metrics.js';
import { ErrorCode, StrataError, toStrataError } from '../errors.js';
import { PathLocks } from './path-locks.js';
import type { LockRequest } from './path-locks.js';
import { ShardActor } from './shard-actor.js';
import type { ActorSlot } from './shard-actor.js';
import type { WorkerInit, WorkerReply, WorkerTask } from './messages.js';
import { exposeProgress } from './progress-port.js';
import { limitHeapGrowth } from './heap-growth.js';

/** Young-generation size of each worker thread (MiB); see the pool's resourceLimits. */
const WORKER_YOUNG_GENERATION_MB = 12;

export interface ActorSystemOptions {
  shardCount: number;
  shardDepth: number;
  threads: number;
  /** Messages one actor runs at once. */
  actorConcurrency?: number;
  /** Concurrent tasks per worker thread (syncs mostly wait on I/O). */
  tasksPerThread?: number;
  workerInit: WorkerInit;
  /** Receives the counters each offloaded message produced. */
  onCounters: (c: Partial<Record<CounterGroup, Record<string, number>>>) => void;
  /** An error the pool reports outside any task while open (without it: thrown, as Piscina would). */
  onPoolError?: (err: unknown) => void;
  /**
   * Runs on this thread as each task's reply (or failure) arrives, before its caller resumes:
   * what the worker committed must be visible to the reads that follow (`MetaStore.refresh`).
   */
  afterTask?: () => void;
}

export interface OffloadOptions {
  /** Receives the task's progress reports (entries done so far). */
  onProgress?: (done: number) => void;
}

/** FNV-1a, enough to spread subtree names over shards. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The Piscina worker entry beside this module: the compiled `worker.js` when running from
 * dist/, or (sources run through tsx in development) the shim that registers tsx first.
 */
export function workerFile(): string {
  const compiled = import.meta.url.endsWith('.js');
  return new URL(compiled ? './worker.js' : './worker-shim.mjs', import.meta.url).href;
}

export class ActorSystem {
  readonly locks = new PathLocks();
  /** Each shard's mailbox for mutations (which take path locks). */
  private readonly shards: ShardActor[];
  /**
   * Each shard's second mailbox, for syncs (which take no locks). A mutation may need a
   * sync (a path to load before a create); keeping syncs in their own lane means a message
   * never waits for a slot of its own mailbox, so a full mailbox cannot deadlock.
   */
  private readonly syncLanes: ShardActor[];
  /** The worker pool, created on first use (see warmUpSoon): a start never waits for it. */
  private poolInstance: Piscina | undefined;
  private closed = false;
  private warmTimer: NodeJS.Timeout | undefined;
  /**
   * Settles once every worker of the pool has loaded (its modules, LMDB's native addon).
   * `close` waits for it: a worker terminated while the addon registers aborts the whole
   * process (a stop right after a start hit this, ~1 in 40 starts).
   */
  private loaded: Promise<unknown> | undefined;

  constructor(private readonly opts: ActorSystemOptions) {
    this.shards = Array.from({ length: opts.shardCount }, (_, i) => new ShardActor(i, this.locks, opts.actorConcurrency ?? 32));
    this.syncLanes = Array.from({ length: opts.shardCount }, (_, i) => new ShardActor(i, this.locks, opts.actorConcurrency ?? 32));
  }

  private get pool(): Piscina {
    if (this.closed) throw new StrataError(ErrorCode.CONNECTION_CLOSED, 'the worker pool is closed');
    if (!this.poolInstance) {
      // Before the workers start: their heaps take the growing factor when created.
      limitHeapGrowth();
      this.poolInstance = new Piscina({
        filename: workerFile(),
        minThreads: this.opts.threads,
        maxThreads: this.opts.threads,
        // Workers must keep their event loop running between tasks (S3 sockets, timers), and
        // must never be recycled while idle.
        atomics: 'disabled',
        idleTimeout: Number.MAX_SAFE_INTEGER,
        concurrentTasksPerWorker: this.opts.tasksPerThread ?? 8,
        workerData: this.opts.workerInit,
        // A small young generation per worker (V8's default lets each grow to ~48 MiB, most
        // of an idle worker's RSS while syncing): the old generation is not capped, so a
        // directory of millions of entries still syncs.
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      });
      // One ping per task slot reaches every worker; each answers once it has loaded.
      const pool = this.poolInstance;
      const slots = this.opts.threads * (this.opts.tasksPerThread ?? 8);
      this.loaded = Promise.all(Array.from({ length: slots }, () => pool.run({ kind: 'ping' })));
      this.loaded.catch(() => undefined); // reported by warmUp; close only waits for it
      // A worker's late answer to a task the pool dropped when it was destroyed is no fault.
      pool.on('error', (err: unknown) => {
        if (this.closed) return;
        if (!this.opts.onPoolError) throw err;
        this.opts.onPoolError(err);
      });
    }
    return this.poolInstance;
  }

  /** The shard owning a path: its subtree prefix of `shardDepth` components. */
  shardIndex(path: string): number {
    const prefix = pathComponents(path).slice(0, this.opts.shardDepth).join('/');
    return hash(prefix) % this.shards.length;
  }

  /** Run a mutation on the shard actor of `path`, holding `locks` while it runs. */
  tell<T>(path: string, locks: LockRequest[], run: (slot: ActorSlot) => Promise<T>): Promise<T> {
    return this.shards[this.shardIndex(path)]!.tell(locks, run);
  }

  /** Run a sync step (no locks) in the sync lane of the shard of `path`. */
  tellSync<T>(path: string, run: () => Promise<T>): Promise<T> {
    return this.syncLanes[this.shardIndex(path)]!.tell([], run);
  }

  /**
   * Run a task on the pool, through the sync lane of the shard of `path`. With `onProgress`,
   * the worker's progress reports reach it while the task runs (over a transferred port).
   */
  offload<T>(path: string, task: WorkerTask, opts: OffloadOptions = {}): Promise<T> {
    return this.tellSync(path, () => this.runOnPool<T>(task, opts));
  }

  /** Run a task on the pool directly (callers that already hold their actor's turn). */
  async runOnPool<T>(task: WorkerTask, opts: OffloadOptions = {}): Promise<T> {
    const channel = opts.onProgress ? exposeProgress(opts.onProgress) : undefined;
    const transferList: Transferable[] | undefined = channel ? [channel.port] : undefined;
    try {
      const msg = channel ? { ...task, progress: channel.port } : task;
      const reply = (await this.pool.run(msg, transferList ? { transferList } : undefined)) as WorkerReply<T>;
      this.opts.afterTask?.();
      this.opts.onCounters(reply.counters);
      return reply.result;
    } catch (err) {
      this.opts.afterTask?.(); // a failed task may have committed part of its work
      const counters = (err as { counters?: WorkerReply<unknown>['counters'] }).counters;
      if (counters) this.opts.onCounters(counters);
      throw toStrataError(err);
    } finally {
      channel?.close();
    }
  }

  /** Resolves when every worker thread has loaded (TypeScript compiled, LMDB open). */
  async warmUp(): Promise<void> {
    if (this.closed) return;
    void this.pool; // created with its load pings (see `loaded`)
    await this.loaded!.catch((err: unknown) => { throw toStrataError(err); });
  }

  /** Most time `close` waits for workers still loading before it terminates them anyway. */
  static readonly CLOSE_LOAD_WAIT_MS = 15_000;

  /**
   * Start the worker threads on the next turn of the event loop (after the caller's start has
   * finished, e.g. the server's listen): they load their modules and open LMDB while the
   * server already answers; a task sent meanwhile waits for them. A worker that cannot start
   * fails the tasks that need it and is reported to `onError`.
   */
  warmUpSoon(onError: (err: unknown) => void): void {
    this.warmTimer ??= setTimeout(() => { this.warmUp().catch((err: unknown) => { if (!this.closed) onError(err); }); }, 0);
  }

  stats(): { shards: number; queued: number; handled: number; poolThreads: number; poolQueue: number } {
    let queued = 0;
    let handled = 0;
    for (const s of [...this.shards, ...this.syncLanes]) { queued += s.queued; handled += s.handled; }
    return { shards: this.shards.length, queued, handled, poolThreads: this.poolInstance?.threads.length ?? 0, poolQueue: this.poolInstance?.queueSize ?? 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.warmTimer);
    if (this.loaded) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.loaded.catch(() => undefined), new Promise<void>((resolve) => { timer = setTimeout(resolve, ActorSystem.CLOSE_LOAD_WAIT_MS); })]);
      clearTimeout(timer);
    }
    await this.poolInstance?.destroy();
  }
}
