// Overview page: the server's report at a glance and live charts of the last 15 minutes,
// polled every sample interval (the charts extend incrementally with /api/metrics?since=).

import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, errorText, get, qs } from './api.js';
import type { SessionInfo } from './api.js';
import { Chart } from './chart.js';
import { bytes, duration, num, percent, time } from './format.js';

interface MetricsPoint {
  t: number; opsPerSec: number; ufsCallsPerSec: number; hitRatio: number | null; hitRatioTotal: number;
  persistPending: number; persistInFlight: number; persistFailed: number; syncEntriesPerSec: number;
  syncDirsPerSec: number; activeSyncEventsPerSec: number; inodes: number; cacheUsedBytes: number;
}

interface Report {
  server: { version: string; uptimeMs: number; startedAt: string };
  namespace: { inodes: number; mounts: number };
  ops: Record<string, number>;
  ufsCalls: Record<string, number>;
  cache: { hits: number; misses: number; usedBytes: number; capacityBytes: number; hitRatio: number; evictedBytes: number; bytesByState: Record<string, number> };
  sync: Record<string, number>;
  persist: Record<string, number>;
  activeSync: Record<string, number>;
}

interface SyncPoint { path: string; state: string; lastEventMs?: number; eventsApplied: number; message?: string }

const HISTORY_MS = 15 * 60_000;

export function Overview({ session }: { session: SessionInfo }) {
  const [report, setReport] = useState<Report | null>(null);
  const [syncPoints, setSyncPoints] = useState<SyncPoint[]>([]);
  const [points, setPoints] = useState<MetricsPoint[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [denied, setDenied] = useState(false);

  useEffect(() => {
    let stopped = false;
    let last = -Infinity;
    let acc: MetricsPoint[] = [];
    const tick = async () => {
      try {
        const o = await get<{ report: Report; syncPoints: SyncPoint[] }>('/overview');
        const m = await get<{ points: MetricsPoint[] }>(`/metrics${Number.isFinite(last) ? qs({ since: last }) : ''}`);
        if (stopped) return;
        setReport(o.report);
        setSyncPoints(o.syncPoints);
        if (m.points.length) {
          last = m.points[m.points.length - 1]!.t;
          const cut = Date.now() - HISTORY_MS;
          acc = [...acc.filter((p) => p.t >= cut), ...m.points];
          setPoints(acc);
        }
        setError(null);
      } catch (err) {
        if (stopped) return;
        if (err instanceof ApiError && err.status === 403) setDenied(true);
        setError(errorText(err));
      }
    };
    void tick();
    const timer = setInterval(tick, Math.max(500, session.sampleIntervalMs));
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [session.sampleIntervalMs]);

  const cols = useMemo(() => {
    const x = points.map((p) => p.t / 1000);
    const col = (f: (p: MetricsPoint) => number | null) => points.map(f);
    return {
      ops: [x, col((p) => p.opsPerSec)],
      ufs: [x, col((p) => p.ufsCallsPerSec)],
      hit: [x, col((p) => p.hitRatio), col((p) => p.hitRatioTotal)],
      persist: [x, col((p) => p.persistPending), col((p) => p.persistInFlight), col((p) => p.persistFailed)],
      sync: [x, col((p) => p.syncEntriesPerSec), col((p) => p.activeSyncEventsPerSec)],
    };
  }, [points]);

  if (denied) {
    return (
      <section aria-labelledby="ov-h">
        <h1 id="ov-h">Overview</h1>
        <p class="notice" role="status">The server's report and charts need the admin role. {error}</p>
      </section>
    );
  }
  const r = report;
  const c = r?.cache;
  const ops = r ? Object.entries(r.ops).filter(([k]) => !k.includes('.') && k !== 'bytesWritten' && k !== 'writesDuringUfsOutage').reduce((a, [, v]) => a + v, 0) : 0;
  const latest = points[points.length - 1];
  return (
    <section aria-labelledby="ov-h">
      <h1 id="ov-h">Overview</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {!r ? <p>Loading…</p> : (
        <>
          <div class="cards">
            <Card title="Server" rows={[
              ['Version', r.server.version], ['Uptime', duration(r.server.uptimeMs)], ['Started', time(Date.parse(r.server.startedAt))],
            ]} />
            <Card title="Namespace" rows={[
              ['Inodes', num(r.namespace.inodes)], ['Mounts', num(r.namespace.mounts)], ['Operations', num(ops)],
              ['Ops/s', num(latest?.opsPerSec ?? 0, 1)],
            ]} id="card-namespace" />
            <Card title="Cache" rows={[
              ['Used', `${bytes(c!.usedBytes)} of ${bytes(c!.capacityBytes)}`],
              ['Hit ratio', percent(c!.hitRatio)], ['Hits / misses', `${num(c!.hits)} / ${num(c!.misses)}`],
              ['Evictable', bytes(c!.bytesByState.evictable)], ['Unevictable', bytes(c!.bytesByState.unevictable)],
              ['Evicted', bytes(c!.evictedBytes)],
            ]}>
              <meter min={0} max={c!.capacityBytes || 1} value={c!.usedBytes} aria-label="cache used">{percent(c!.usedBytes / (c!.capacityBytes || 1))}</meter>
            </Card>
            <Card title="Persist queue" rows={[
              ['Pending', num(r.persist.pending ?? 0)], ['In flight', num(r.persist.inFlight ?? 0)], ['Failed (retrying)', num(r.persist.failed ?? 0)],
              ['Oldest pending', r.persist.pending ? duration(r.persist.oldestPendingMs) : 'none'], ['Paused by outage', num(r.persist.pausedByOutage ?? 0)],
              ['Persisted', num(r.persist.persisted ?? 0)],
            ]} id="card-persist" />
            <Card title="Metadata sync" rows={[
              ['Entries synced', num(r.sync.entries ?? 0)], ['Directories', num(r.sync.directories ?? 0)], ['loadMetadata calls', num(r.sync.loadMetadata ?? 0)],
              ['Failed directories', num(r.sync.failedDirectories ?? 0)], ['Entries/s', num(latest?.syncEntriesPerSec ?? 0, 1)],
            ]} id="card-sync" />
            <Card title="Active sync" rows={[
              ['Sync points', num(r.activeSync.syncPoints ?? 0)], ['Events applied', num(r.activeSync.eventsApplied ?? 0)],
              ['Full resyncs', num(r.activeSync.fullResyncs ?? 0)], ['Lag p50 / p99', `${duration(r.activeSync.lagP50Ms)} / ${duration(r.activeSync.lagP99Ms)}`],
            ]} />
          </div>
          <div class="charts">
            <Chart title="Operations / s" series={[{ label: 'ops/s', color: '#1f6feb' }]} data={cols.ops} />
            <Chart title="UFS calls / s" series={[{ label: 'calls/s', color: '#8250df' }]} data={cols.ufs} />
            <Chart title="Cache hit ratio" yRange={[0, 1]} yFormat={(v) => `${Math.round(v * 100)}%`}
              series={[{ label: 'interval', color: '#1a7f37', value: percent }, { label: 'since start', color: '#9a6700', value: percent }]} data={cols.hit} />
            <Chart title="Persist queue" series={[{ label: 'pending', color: '#bf3989' }, { label: 'in flight', color: '#0969da' }, { label: 'failed', color: '#cf222e' }]} data={cols.persist} />
            <Chart title="Sync entries / s" series={[{ label: 'metadata sync', color: '#0a7ea4' }, { label: 'active sync events', color: '#bc4c00' }]} data={cols.sync} />
          </div>
          <div class="cols">
            <div>
              <h2>UFS calls by operation</h2>
              <table class="kv"><tbody>
                {Object.entries(r.ufsCalls).sort((a, b) => b[1] - a[1]).map(([k, v]) => <tr key={k}><th scope="row">{k}</th><td>{/bytes$/i.test(k) ? bytes(v) : num(v)}</td></tr>)}
                {Object.keys(r.ufsCalls).length === 0 && <tr><td>none yet</td></tr>}
              </tbody></table>
            </div>
            <div>
              <h2>Operations</h2>
              <table class="kv"><tbody>
                {Object.entries(r.ops).sort((a, b) => b[1] - a[1]).slice(0, 16).map(([k, v]) => <tr key={k}><th scope="row">{k}</th><td>{/bytes/i.test(k) ? bytes(v) : num(v)}</td></tr>)}
              </tbody></table>
            </div>
            <div>
              <h2>Active sync points</h2>
              <SyncPointTable points={syncPoints} />
            </div>
          </div>
        </>
      )}
    </section>
  );
}

export function SyncPointTable({ points, actions }: { points: SyncPoint[]; actions?: (p: SyncPoint) => preact.ComponentChildren }) {
  if (!points.length) return <p>No sync points.</p>;
  return (
    <div class="scroll">
      <table>
        <thead><tr><th>Path</th><th>State</th><th>Events applied</th><th>Last event</th><th>Message</th>{actions && <th>Actions</th>}</tr></thead>
        <tbody>
          {points.map((p) => (
            <tr key={p.path}>
              <td><a href={`#/browse${qs({ path: p.path })}`}>{p.path}</a></td>
              <td><span class={`state state-${p.state}`}>{p.state}</span></td>
              <td>{num(p.eventsApplied)}</td><td>{time(p.lastEventMs)}</td><td>{p.message ?? ''}</td>
              {actions && <td>{actions(p)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Card({ title, rows, children, id }: { title: string; rows: Array<[string, string]>; children?: preact.ComponentChildren; id?: string }) {
  return (
    <div class="card" id={id}>
      <h2>{title}</h2>
      {children}
      <dl>{rows.map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}</dl>
    </div>
  );
}
