// Active sync: sync points that follow a UFS's change stream instead of waiting for an
// interval. Each sync point (stored in the 'syncpoint' table, so it survives restart) runs
// a watcher; events are coalesced per path and applied in batches as targeted syncs (a
// file: its own status; a created or moved-in directory: a recursive rescan, so files
// created inside it before the watch existed are not missed). Whenever events may have
// been lost (overflow, watcher death, Strata restart) the sync point is fully resynced,
// and a watcher that cannot watch degrades to periodic reconciliation — never silence.
// The watcher comes from the mount's UFS (its optional `watcher` capability); a UFS without
// one is reconciled by periodic listing (PollingWatcher). A batch's targeted syncs are
// committed together (SyncTarget.syncPaths) and its rescans run side by side, so the apply
// rate does not hang on one commit per event; the batching window adapts (a quiet period's
// first event is applied after ~2 ms, a stream of events is gathered for longer).

import { ErrorCode, StrataError, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { MetaStore } from '../meta/meta-store.js';
import type { MountRecord, MountTable } from '../meta/mount-table.js';
import { isUnder, joinPath } from '../meta/path.js';
import type { SyncPointInfo } from '../types.js';
import type { ChangeEvent, ChangeWatcher, WatchCallbacks } from '../ufs/change-watcher.js';
import type { Ufs } from '../ufs/ufs.js';
import { hasUfsCapability } from '../ufs/ufs.js';
import { PollingWatcher } from './polling-watcher.js';
import { SyncPoints } from '../meta/sync-points.js';

/** Wait after the first event of a quiet period before applying it. */
const FLUSH_QUIET_MS = 2;
/** Wait after an event while events keep coming, so a burst lands in one batch. */
const FLUSH_BUSY_MS = 5;
/** Events closer together than this make a stream (the longer window). */
const QUIET_GAP_MS = 50;
/** Rescans (created or moved-in directories) of one batch run at once. */
const RESCAN_PARALLELISM = 4;
/** Paths of one grouped sync at most (a larger batch is split into several groups). */
const GROUP_MAX = 1000;

/** Is `path` strictly below one of `dirs`? (One look-up per ancestor, not per directory.) */
function underAny(path: string, dirs: ReadonlySet<string>): boolean {
  if (dirs.size === 0) return false;
  for (let cut = path.lastIndexOf('/'); cut > 0; cut = path.lastIndexOf('/', cut - 1)) {
    if (dirs.has(path.slice(0, cut))) return true;
  }
  return dirs.has('/') && path !== '/';
}

export interface SyncPointRecord {
  path: string;
  mountId: number;
  createdMs: number;
}

/** What the manager needs from the sync engine. */
export interface SyncTarget {
  /** Sync one path's own status (create, update or remove it). */
  syncPath(path: string): Promise<void>;
  /**
   * Sync many paths' own statuses, committed together. Resolves with the paths whose status
   * could not be fetched; rejects when the commit fails. Without it, paths sync one by one.
   */
  syncPaths?(paths: string[]): Promise<Array<{ path: string; err: unknown }>>;
  /** Sync one directory's listing (one level). */
  syncDir(path: string): Promise<void>;
  /** Sync a subtree recursively. */
  syncTree(path: string): Promise<void>;
}

export interface ActiveSyncDeps {
  store: MetaStore;
  mounts: MountTable;
  target: SyncTarget;
  metrics: Metrics;
  log: Logger;
  /** Reconciliation period for a path (active.sync.interval). */
  intervalMs: (path: string) => number;
  batchMax: number;
  /** The (raw) Ufs of a mount, whose optional `watcher` capability is used. */
  ufsOf: (mount: MountRecord) => Ufs;
  /** Build a watcher for a mount (tests may substitute). */
  watcherFor?: (mount: MountRecord, ufsDir: string, cb: WatchCallbacks) => ChangeWatcher;
  /** Port of a push endpoint on 127.0.0.1 for watchers that receive pushes (S3 notifications; 0: any free port). */
  notifyPort?: number;
}

/** Reconciliation period used when `active.sync.interval` is not positive. */
const DEFAULT_RECONCILE_MS = 30_000;

interface Pending {
  event: ChangeEvent;
  rescan: boolean;
}

class SyncPoint {
  state: SyncPointInfo['state'] = 'initial-sync';
  message: string | undefined;
  /** Why the watcher is not yet known to deliver (S3 topic before its first event). */
  warming: string | undefined;
  degradedAtMs: number | undefined;
  lastEventMs: number | undefined;
  /** When the latest event was received (monotonic clock), for the adaptive window. */
  lastReceived = -Infinity;
  eventsApplied = 0;
  watcher: ChangeWatcher | undefined;
  readonly queue = new Map<string, Pending>();
  flushTimer: NodeJS.Timeout | undefined;
  reconcileTimer: NodeJS.Timeout | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  applying: Promise<void> = Promise.resolve();
  fullResyncPending = false;
  /** The watcher was restarted after a loss: resync once its new watch is established. */
  resyncOnReady = false;
  stopped = false;
  constructor(readonly record: SyncPointRecord) {}
}

export class ActiveSyncManager {
  private readonly points = new Map<string, SyncPoint>();
  private readonly lags: number[] = [];

  constructor(private readonly d: ActiveSyncDeps) {}

  /** Re-activate the stored sync points (after a restart: with a full resync each). */
  async startAll(): Promise<void> {
    for (const value of SyncPoints.all<SyncPointRecord>(this.d.store)) {
      if (!this.d.mounts.byId(value.mountId)) continue;
      this.d.metrics.inc('activeSync', 'recoveryResyncs');
      this.activate(value);
    }
  }

  /**
   * The sync point at, above or below `path`. An explicit startSync (`anyMount`) refuses
   * every overlap in the namespace; sync points derived from a mount option only clash
   * within their own mount (each mount of the external-writers preset gets its own).
   */
  private coverOf(path: string, mountId: number, anyMount = false): SyncPoint | undefined {
    let found: SyncPoint | undefined;
    for (const p of this.points.values()) {
      if ((anyMount || p.record.mountId === mountId) && (isUnder(path, p.record.path) || isUnder(p.record.path, path))) {
        if (p.record.path === path) return p;
        found ??= p;
      }
    }
    return found;
  }

  /**
   * Start a sync point on a directory (the caller checked it exists). `persist` stores it
   * (explicit startSync); sync points from a mount option or preset are derived anew at start.
   */
  async start(path: string, mount: MountRecord, persist = true): Promise<void> {
    const clash = this.coverOf(path, mount.mountId, persist);
    if (clash) {
      const other = clash.record.path;
      if (other === path) throw new StrataError(ErrorCode.ALREADY_EXISTS, `${path} is already a sync point`);
      throw new StrataError(ErrorCode.MOUNT_CONFLICT, isUnder(path, other)
        ? `cannot start a sync point at ${path}: it is below the sync point ${other}, which already covers it (one sync point per subtree; stopSync ${other} first)`
        : `cannot start a sync point at ${path}: the sync point ${other} is below it (one sync point per subtree; stopSync ${other} first)`);
    }
    const record: SyncPointRecord = { path, mountId: mount.mountId, createdMs: Date.now() };
    if (persist) await this.d.store.transact((tx) => SyncPoints.put(tx, path, record));
    this.activate(record);
  }

  async stop(path: string): Promise<void> {
    const p = this.points.get(path);
    if (!p) throw notFound(path, 'sync point');
    await this.deactivate(p);
    await this.d.store.transact((tx) => SyncPoints.del(tx, path));
  }

  /** Stop every sync point at or below a path (unmount). */
  async stopUnder(path: string): Promise<void> {
    for (const p of [...this.points.values()]) if (isUnder(p.record.path, path)) await this.stop(p.record.path);
  }

  has(path: string): boolean {
    return this.points.has(path);
  }

  list(): SyncPointInfo[] {
    return [...this.points.values()].map((p) => {
      const warming = p.state === 'active' && p.warming !== undefined;
      const message = warming ? p.warming : p.message;
      return {
        path: p.record.path,
        state: warming ? 'warming-up' as const : p.state,
        ...(p.state === 'degraded' && p.degradedAtMs !== undefined ? { degradedAtMs: p.degradedAtMs } : {}),
        ...(p.lastEventMs !== undefined ? { lastEventMs: p.lastEventMs } : {}),
        eventsApplied: p.eventsApplied,
        ...(message ? { message } : {}),
      };
    }).sort((a, b) => a.path.localeCompare(b.path));
  }

  /** Lag percentiles (event received → applied) over the recent window. */
  lagStats(): Record<string, number> {
    if (!this.lags.length) return {};
    const s = [...this.lags].sort((a, b) => a - b);
    const q = (f: number) => s[Math.min(s.length - 1, Math.floor(f * s.length))]!;
    return { lagP50Ms: q(0.5), lagP99Ms: q(0.99), lagMaxMs: s[s.length - 1]! };
  }

  private strataPath(p: SyncPoint, ufsRel: string): string | undefined {
    const mount = this.d.mounts.byId(p.record.mountId);
    if (!mount) return undefined;
    return ufsRel === '' ? mount.path : joinPath(mount.path, ufsRel);
  }

  private watcherFor(mount: MountRecord, ufsDir: string, cb: WatchCallbacks, syncPoint: string): ChangeWatcher {
    if (this.d.watcherFor) return this.d.watcherFor(mount, ufsDir, cb);
    try {
      const ufs = this.d.ufsOf(mount);
      if (hasUfsCapability(ufs, 'watcher')) {
        return ufs.watcher({
          dir: ufsDir, cb, label: syncPoint, log: this.d.log, port: this.d.notifyPort ?? 0,
          count: (name, n = 1) => this.d.metrics.inc('activeSync', name, n),
        });
      }
    } catch (err) {
      this.d.log.info({ path: syncPoint, err: (err as Error).message }, 'change notifications unavailable; reconciling by listing');
    }
    return new PollingWatcher(cb);
  }

  /** The watcher of a sync point (tests). */
  watcherOf(path: string): ChangeWatcher | undefined {
    return this.points.get(path)?.watcher;
  }

  private activate(record: SyncPointRecord): void {
    const p = new SyncPoint(record);
    this.points.set(record.path, p);
    const mount = this.d.mounts.byId(record.mountId)!;
    const { ufsPath } = this.d.mounts.resolve(record.path);
    let initialDone = false;
    const cb: WatchCallbacks = {
      onReady: () => {
        if (initialDone) {
          if (p.resyncOnReady) {
            p.resyncOnReady = false;
            void this.fullResync(p, 'watcher restarted', false);
          }
          return;
        }
        initialDone = true;
        // Changes made before the watch existed (or while Strata was down) come from a full sync.
        void this.fullResync(p, 'initial sync').then(() => {
          if (p.state === 'initial-sync') p.state = 'active';
        });
      },
      onEvents: (events) => this.enqueue(p, events),
      onLost: (reason, how) => {
        this.d.log.warn({ path: record.path, reason }, 'active sync lost events; full resync');
        this.d.metrics.inc('activeSync', 'lostStreams');
        void this.fullResync(p, reason);
        if (how?.restart) {
          p.resyncOnReady = true;
          this.restartWatcher(p, mount, ufsPath, cb);
        }
      },
      onNotice: (message) => { p.message = message; p.warming = undefined; },
      onWarming: (reason) => { p.warming = reason; },
      onDelivering: () => { p.warming = undefined; },
      onDegraded: (reason) => {
        if (p.state === 'degraded') return;
        this.d.log.warn({ path: record.path, reason }, 'active sync degraded to interval reconciliation');
        this.d.metrics.inc('activeSync', 'degraded');
        p.state = 'degraded';
        p.degradedAtMs = Date.now();
        p.message = reason;
        p.warming = undefined;
        void p.watcher?.stop();
        p.watcher = undefined;
        if (!initialDone) { initialDone = true; void this.fullResync(p, 'initial sync (degraded)'); }
        this.scheduleReconcile(p);
      },
    };
    p.watcher = this.watcherFor(mount, ufsPath, cb, record.path);
    p.watcher.start();
    // Watchers without a stream, or whose events are only a hint (S3), also reconcile.
    if (p.watcher.kind === 'poll' || p.watcher.reconcile) this.scheduleReconcile(p);
  }

  private restartWatcher(p: SyncPoint, mount: MountRecord, ufsPath: string, cb: WatchCallbacks): void {
    if (p.stopped || p.state === 'degraded') return;
    clearTimeout(p.restartTimer);
    p.restartTimer = setTimeout(() => {
      if (p.stopped) return;
      p.watcher = this.watcherFor(mount, ufsPath, cb, p.record.path);
      p.watcher.start();
    }, 1000);
    p.restartTimer.unref();
  }

  /** Periodic reconciliation for watchers without a stream (polling) or degraded ones. */
  private scheduleReconcile(p: SyncPoint): void {
    if (p.stopped) return;
    clearTimeout(p.reconcileTimer);
    const configured = this.d.intervalMs(p.record.path);
    const every = configured > 0 ? Math.max(100, configured) : DEFAULT_RECONCILE_MS;
    p.reconcileTimer = setTimeout(() => {
      this.d.metrics.inc('activeSync', 'reconciliations');
      void this.fullResync(p, 'reconciliation', false).finally(() => this.scheduleReconcile(p));
    }, every);
    p.reconcileTimer.unref();
  }

  private enqueue(p: SyncPoint, events: ChangeEvent[]): void {
    this.d.metrics.inc('activeSync', 'eventsReceived', events.length);
    const now = performance.now();
    const quiet = p.queue.size === 0 && now - p.lastReceived > QUIET_GAP_MS;
    p.lastReceived = now;
    for (const e of events) {
      if (!isUnder(this.strataPath(p, e.path) ?? '', p.record.path)) continue;
      const prev = p.queue.get(e.path);
      const rescan = (e.isDir && (e.kind === 'create' || e.kind === 'moveTo')) || (prev?.rescan ?? false);
      if (prev) this.d.metrics.inc('activeSync', 'eventsCoalesced');
      p.queue.set(e.path, { event: prev ? { ...e, timeMs: prev.event.timeMs } : e, rescan });
      p.lastEventMs = e.timeMs;
    }
    if (p.queue.size >= this.d.batchMax) this.flushSoon(p, 0);
    else this.flushSoon(p, quiet ? FLUSH_QUIET_MS : FLUSH_BUSY_MS);
  }

  private flushSoon(p: SyncPoint, ms: number): void {
    if (p.flushTimer && ms > 0) return;
    clearTimeout(p.flushTimer);
    p.flushTimer = setTimeout(() => {
      p.flushTimer = undefined;
      p.applying = p.applying.then(() => this.flush(p));
    }, ms);
  }

  /** Apply up to one batch of queued events as targeted syncs. */
  private async flush(p: SyncPoint): Promise<void> {
    if (p.stopped || p.queue.size === 0) return;
    if (p.fullResyncPending) {
      // A full resync is queued behind this flush: its listing covers every queued event.
      this.d.metrics.inc('activeSync', 'eventsCoalesced', p.queue.size);
      p.queue.clear();
      return;
    }
    const batch: Array<[string, Pending]> = [];
    for (const entry of p.queue) {
      batch.push(entry);
      if (batch.length >= this.d.batchMax) break;
    }
    for (const [k] of batch) p.queue.delete(k);
    this.d.metrics.inc('activeSync', 'batches');
    // Parents before children: a rescanned directory covers what is below it.
    batch.sort(([a], [b]) => a.length - b.length);
    const rescans: Array<{ path: string; event: ChangeEvent }> = [];
    const targeted: Array<{ path: string; event: ChangeEvent }> = [];
    const rescanned = new Set<string>();
    for (const [rel, { event, rescan }] of batch) {
      const path = this.strataPath(p, rel);
      if (!path) continue;
      // Below a directory rescanned in this batch (shorter paths sort first): its listing,
      // made after the event, covers it.
      if (underAny(path, rescanned)) { this.d.metrics.inc('activeSync', 'eventsCoalesced'); continue; }
      (rescan ? rescans : targeted).push({ path, event });
      if (rescan) rescanned.add(path);
    }
    await this.applyTargeted(p, targeted);
    await this.applyRescans(p, rescans);
    if (p.queue.size > 0) this.flushSoon(p, 0);
  }

  /** The targeted syncs of a batch: committed together when the target can, else one by one. */
  private async applyTargeted(p: SyncPoint, items: Array<{ path: string; event: ChangeEvent }>): Promise<void> {
    const syncPaths = this.d.target.syncPaths;
    for (let from = 0; from < items.length; from += GROUP_MAX) {
      if (p.fullResyncPending) { this.coalesceRest(items.length - from); return; }
      const group = items.slice(from, from + GROUP_MAX);
      if (syncPaths && group.length > 1) {
        try {
          const failed = await syncPaths.call(this.d.target, group.map((g) => g.path));
          this.d.metrics.inc('activeSync', 'groupedSyncs');
          const bad = new Set(failed.map((f) => f.path));
          for (const f of failed) this.applyFailed(p, f.path, f.err);
          for (const g of group) if (!bad.has(g.path)) this.applied(p, g.event);
          continue;
        } catch (err) {
          // The commit failed: nothing is lost, each path is tried on its own below.
          this.d.log.warn({ path: p.record.path, err: (err as Error).message }, 'active sync: grouped commit failed; applying one by one');
          this.d.metrics.inc('activeSync', 'groupFallbacks');
        }
      }
      for (const g of group) {
        if (p.fullResyncPending) { this.d.metrics.inc('activeSync', 'eventsCoalesced'); continue; }
        try {
          await this.d.target.syncPath(g.path);
          this.applied(p, g.event);
        } catch (err) {
          this.applyFailed(p, g.path, err);
        }
      }
    }
  }

  /** The rescans of a batch (disjoint subtrees: none is below another), a few at once. */
  private async applyRescans(p: SyncPoint, items: Array<{ path: string; event: ChangeEvent }>): Promise<void> {
    let next = 0;
    const run = async (): Promise<void> => {
      while (next < items.length) {
        const item = items[next++]!;
        if (p.fullResyncPending) { this.d.metrics.inc('activeSync', 'eventsCoalesced'); continue; }
        try {
          await this.d.target.syncTree(item.path);
          this.applied(p, item.event);
        } catch (err) {
          this.applyFailed(p, item.path, err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(RESCAN_PARALLELISM, items.length) }, run));
  }

  private coalesceRest(n: number): void {
    if (n > 0) this.d.metrics.inc('activeSync', 'eventsCoalesced', n);
  }

  private applied(p: SyncPoint, event: ChangeEvent): void {
    p.eventsApplied++;
    this.d.metrics.inc('activeSync', 'eventsApplied');
    this.recordLag(Date.now() - event.timeMs);
  }

  private applyFailed(p: SyncPoint, path: string, err: unknown): void {
    this.d.metrics.inc('activeSync', 'applyFailures');
    this.d.log.warn({ path, err: (err as Error).message }, 'active sync could not apply an event; full resync');
    void this.fullResync(p, 'apply failure');
  }

  private recordLag(ms: number): void {
    this.lags.push(ms);
    if (this.lags.length > 4096) this.lags.splice(0, this.lags.length - 4096);
  }

  /** Sync the whole sync point (initial, after a loss, or as reconciliation). */
  private fullResync(p: SyncPoint, reason: string, count = true): Promise<void> {
    if (p.fullResyncPending) return p.applying;
    p.fullResyncPending = true;
    if (count) this.d.metrics.inc('activeSync', 'fullResyncs');
    // Events not yet applied are covered by the resync's listing.
    if (p.queue.size) {
      this.d.metrics.inc('activeSync', 'eventsCoalesced', p.queue.size);
      p.queue.clear();
    }
    p.applying = p.applying.then(async () => {
      p.fullResyncPending = false;
      if (p.stopped) return;
      try {
        await this.d.target.syncTree(p.record.path);
      } catch (err) {
        p.message = `${reason} failed: ${(err as Error).message}`;
        this.d.log.warn({ path: p.record.path, reason, err: (err as Error).message }, 'active sync resync failed; will retry');
        if (p.state !== 'degraded') this.scheduleRetry(p);
      }
    });
    return p.applying;
  }

  private scheduleRetry(p: SyncPoint): void {
    const t = setTimeout(() => void this.fullResync(p, 'retry'), 5000);
    t.unref();
  }

  private async deactivate(p: SyncPoint): Promise<void> {
    p.stopped = true;
    p.state = 'stopped';
    clearTimeout(p.flushTimer);
    clearTimeout(p.reconcileTimer);
    clearTimeout(p.restartTimer);
    await p.watcher?.stop();
    await p.applying.catch(() => undefined);
    this.points.delete(p.record.path);
  }

  async close(): Promise<void> {
    for (const p of [...this.points.values()]) await this.deactivate(p);
  }
}
