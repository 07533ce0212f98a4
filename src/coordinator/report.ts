// The report (`fsadmin report`) and the Prometheus exposition, built from the counters and
// the services' own statistics. Read-only: nothing here changes state.

import type { Report } from '../types.js';
import type { Services } from './services.js';
import { gatewayPrometheus } from '../metrics/gateway.js';

const VERSION = '0.1.0';

/** The server report: uptime, namespace size, ops, UFS calls, cache, sync, persist, active sync, intents. */
export function buildReport(s: Services, startedAt: number): Report {
  const cache = s.blocks.stats();
  const hits = s.metrics.get('cache', 'hits');
  const misses = s.metrics.get('cache', 'misses');
  const actors = s.actors.stats();
  return {
    server: { version: VERSION, uptimeMs: Date.now() - startedAt, startedAt: new Date(startedAt).toISOString() },
    namespace: { inodes: s.tree.count(), mounts: s.mounts.list().length },
    ops: { ...s.metrics.groups.ops },
    ufsCalls: { ...s.metrics.groups.ufsCalls },
    cache: {
      hits, misses,
      usedBytes: cache.usedBytes, capacityBytes: cache.capacityBytes,
      hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
      evictedBytes: cache.evictedBytes,
      bytesByState: { evictable: cache.evictableBytes, unevictable: cache.usedBytes - cache.evictableBytes },
      bypassOnFull: s.metrics.get('cache', 'bypassOnFull'),
      readAheadBlocks: s.metrics.get('cache', 'readAheadBlocks'),
      ufsChangedResyncs: s.metrics.get('cache', 'ufsChangedResyncs'),
    },
    sync: { ...s.metrics.groups.sync, actorShards: actors.shards, actorQueued: actors.queued, actorMessages: actors.handled },
    persist: { ...s.metrics.groups.persist, ...s.persistQueue.stats() },
    activeSync: { ...s.metrics.groups.activeSync, ...s.activeSync.lagStats(), syncPoints: s.activeSync.list().length },
    intents: { recovered: 0, unresolved: 0, ...s.metrics.groups.intents, open: s.journal.count() },
    ...(Object.keys(s.metrics.groups.gateway).length ? { gateway: { ...s.metrics.groups.gateway } } : {}),
    recentRuns: s.runs.list(),
  };
}

/** Prometheus text exposition of the counters and gauges. */
export async function prometheusText(s: Services, startedAt: number): Promise<string> {
  const r = buildReport(s, startedAt);
  const text = await s.metrics.prometheus({
    cacheUsedBytes: r.cache.usedBytes, cacheCapacityBytes: r.cache.capacityBytes, inodes: r.namespace.inodes,
    persistPending: r.persist.pending ?? 0, persistFailed: r.persist.failed ?? 0,
  });
  // The in-process S3 gateway's counters also as labelled families (op, status, code), as `strata gateway` serves them.
  const gw = s.metrics.groups.gateway;
  return Object.keys(gw).length ? text + gatewayPrometheus(gw, { totals: false }) : text;
}
