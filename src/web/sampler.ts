// Metrics history of the web console: samples `getReport()` every few seconds into a ring
// buffer of the last minutes and derives rates from consecutive samples. The report's own
// counters are the only source, so the charts and `fsadmin report` can never disagree.

import type { Report } from '../types.js';

/** One point of the history: gauges and rates over the interval that ended at `t`. */
export interface MetricsPoint {
  /** Wall-clock time of the sample, ms since the epoch. */
  t: number;
  /** Client operations per second (calls, not byte counters). */
  opsPerSec: number;
  /** UFS calls per second, all operations. */
  ufsCallsPerSec: number;
  /** Bytes read from and written to the UFS per second. */
  ufsBytesPerSec: number;
  /** UFS calls per second by operation. */
  ufsCallsByOp: Record<string, number>;
  /** Cache hits / (hits + misses) over the interval; null when no read touched the cache. */
  hitRatio: number | null;
  /** Cumulative hit ratio since start (the report's figure). */
  hitRatioTotal: number;
  persistPending: number;
  persistInFlight: number;
  persistFailed: number;
  /** Entries (created, updated, deleted, unchanged) applied by metadata sync per second. */
  syncEntriesPerSec: number;
  /** Directories synced per second. */
  syncDirsPerSec: number;
  /** Events applied by active sync per second. */
  activeSyncEventsPerSec: number;
  cacheUsedBytes: number;
  inodes: number;
}

/** Counters of the `ops` group that are not calls (bytes, breakdowns of writeFile). */
const NOT_CALLS = new Set(['bytesWritten', 'writesDuringUfsOutage']);

function sum(rec: Record<string, number>, skip?: (k: string) => boolean): number {
  let n = 0;
  for (const [k, v] of Object.entries(rec)) if (!skip?.(k)) n += v;
  return n;
}

/** Counters of the `ufsCalls` group that count bytes, not calls (`readBytes`, `writeBytes`). */
export function isByteCounter(name: string): boolean {
  return /bytes$/i.test(name);
}

/** Total client operations in a report's `ops` group. */
export function opsTotal(r: Report): number {
  return sum(r.ops, (k) => NOT_CALLS.has(k) || k.includes('.'));
}

/** The point derived from two consecutive reports (`prev` undefined: the first sample). */
export function derivePoint(t: number, r: Report, prev?: { t: number; r: Report }): MetricsPoint {
  const dt = prev ? Math.max(1, t - prev.t) / 1000 : 0;
  const rate = (now: number, before: number): number => (dt > 0 ? Math.max(0, now - before) / dt : 0);
  const p = prev?.r;
  const byOp: Record<string, number> = {};
  for (const [op, n] of Object.entries(r.ufsCalls)) {
    if (isByteCounter(op)) continue;
    const v = rate(n, p?.ufsCalls[op] ?? 0);
    if (v > 0) byOp[op] = v;
  }
  const dh = r.cache.hits - (p?.cache.hits ?? 0);
  const dm = r.cache.misses - (p?.cache.misses ?? 0);
  return {
    t,
    opsPerSec: p ? rate(opsTotal(r), opsTotal(p)) : 0,
    ufsCallsPerSec: p ? rate(sum(r.ufsCalls, isByteCounter), sum(p.ufsCalls, isByteCounter)) : 0,
    ufsBytesPerSec: p ? rate(sum(r.ufsCalls, (k) => !isByteCounter(k)), sum(p.ufsCalls, (k) => !isByteCounter(k))) : 0,
    ufsCallsByOp: p ? byOp : {},
    hitRatio: p && dh + dm > 0 ? dh / (dh + dm) : null,
    hitRatioTotal: r.cache.hitRatio,
    persistPending: r.persist.pending ?? 0,
    persistInFlight: r.persist.inFlight ?? 0,
    persistFailed: r.persist.failed ?? 0,
    syncEntriesPerSec: p ? rate(r.sync.entries ?? 0, p.sync.entries ?? 0) : 0,
    syncDirsPerSec: p ? rate(r.sync.directories ?? 0, p.sync.directories ?? 0) : 0,
    activeSyncEventsPerSec: p ? rate(r.activeSync.eventsApplied ?? 0, p.activeSync.eventsApplied ?? 0) : 0,
    cacheUsedBytes: r.cache.usedBytes,
    inodes: r.namespace.inodes,
  };
}

export interface SamplerOptions {
  /** Where the reports come from (the server's own view, not a user's). */
  report: () => Promise<Report>;
  intervalMs: number;
  /** How much history to keep. */
  historyMs: number;
  onError?: (err: unknown) => void;
}

/** Samples reports on a timer into a fixed-size ring buffer. */
export class MetricsSampler {
  private readonly ring: Array<MetricsPoint | undefined>;
  private next = 0;
  private count = 0;
  private last?: { t: number; r: Report };
  private timer?: NodeJS.Timeout;
  private inflight?: Promise<void>;
  private stopped = false;

  constructor(private readonly opts: SamplerOptions) {
    if (!(opts.intervalMs > 0)) throw new RangeError('the sample interval must be positive');
    this.ring = new Array(Math.max(2, Math.ceil(opts.historyMs / opts.intervalMs) + 1));
  }

  get intervalMs(): number {
    return this.opts.intervalMs;
  }

  /** Take a first sample now and then one every interval (a slow report skips ticks). */
  start(): void {
    void this.tick();
    this.timer = setInterval(() => { void this.tick(); }, this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** Take one sample now (after the one in flight, if any). Timer ticks skip while one runs. */
  async sample(): Promise<void> {
    while (this.inflight) await this.inflight;
    await this.tick();
  }

  private tick(): Promise<void> {
    if (this.inflight || this.stopped) return this.inflight ?? Promise.resolve();
    this.inflight = (async () => {
      try {
        const r = await this.opts.report();
        // Strictly increasing times, even for two samples within one millisecond: `points(since)`
        // pages by time, and a point sharing its time with the last one seen would be skipped.
        const t = Math.max(Date.now(), (this.last?.t ?? -Infinity) + 1);
        this.push(derivePoint(t, r, this.last));
        this.last = { t, r };
      } catch (err) {
        this.opts.onError?.(err);
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }

  private push(p: MetricsPoint): void {
    this.ring[this.next] = p;
    this.next = (this.next + 1) % this.ring.length;
    this.count = Math.min(this.count + 1, this.ring.length);
  }

  /** Points newer than `sinceMs` (all kept points when absent), oldest first. */
  points(sinceMs = -Infinity): MetricsPoint[] {
    const out: MetricsPoint[] = [];
    const start = (this.next - this.count + this.ring.length) % this.ring.length;
    for (let i = 0; i < this.count; i++) {
      const p = this.ring[(start + i) % this.ring.length]!;
      if (p.t > sinceMs) out.push(p);
    }
    return out;
  }

  /** The newest report sampled, if any. */
  latestReport(): Report | undefined {
    return this.last?.r;
  }

  /** The newest point, if any. */
  latest(): MetricsPoint | undefined {
    return this.count ? this.ring[(this.next - 1 + this.ring.length) % this.ring.length] : undefined;
  }
}
