// Figure 9 (issue 7): active sync lag and idle cost. A Strata server (own process) mounts a
// local directory with `metadata.sync.interval` -1 and runs startSync on it; an outside
// writer (this process, plain fs) creates N files, paced; the bench polls exists() with
// loadType NEVER (no UFS access on the read) until each file is visible and records the lag
// from its write to its visibility. Then the server idles ~5 s and the delta of its UFS call
// counters gives the UFS calls per second while idle (0 expected with inotify).
// The limit beside it: the raw inotify event latency (inotifywait -m on a directory, same
// writer pacing): the time from a write to the CREATE event line, which no watcher can beat.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StrataClient } from '../src/client/tcp-client.js';
import { startChild } from './lib/child.js';
import type { ChildOptions } from './lib/child.js';
import { ratio } from './lib/report.js';
import type { Row } from './lib/report.js';
import { BENCH_ROOT } from './lib/tree.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (a: number[], f: number): number => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(f * s.length))] ?? NaN;
};

/** Write one small file the way an outside program would (open, write, close). */
function outsideWrite(path: string): void {
  const fd = openSync(path, 'w');
  writeSync(fd, 'x');
  closeSync(fd);
}

/** Paced writes: `n` files, `perTick` every `tickMs`, into dir/sub-<k> (a few directories). */
async function pacedWrites(dir: string, n: number, opts: { perTick: number; tickMs: number; subdirs: number }, onWrite: (i: number, rel: string, t: number) => void): Promise<void> {
  for (let i = 0; i < n; i += opts.perTick) {
    for (let j = i; j < Math.min(n, i + opts.perTick); j++) {
      const rel = `sub-${j % opts.subdirs}/f${j}`;
      outsideWrite(join(dir, rel));
      onWrite(j, rel, performance.now());
    }
    await sleep(opts.tickMs);
  }
}

/** Raw inotify latency: inotifywait -m (non-recursive watches on each subdir) → event line. */
async function inotifyLatency(dir: string, n: number, pace: { perTick: number; tickMs: number; subdirs: number }): Promise<number[] | undefined> {
  if (spawnSync('inotifywait', ['--help'], { stdio: 'ignore' }).error) return undefined;
  const subs = Array.from({ length: pace.subdirs }, (_, k) => join(dir, `sub-${k}`));
  for (const s of subs) mkdirSync(s, { recursive: true });
  const p = spawn('inotifywait', ['-m', '-e', 'close_write', '--format', '%w%f', ...subs], { stdio: ['ignore', 'pipe', 'pipe'] });
  const seen = new Map<string, number>();
  let buf = '';
  let ready = false;
  p.stderr.on('data', (b: Buffer) => { if (b.toString().includes('Watches established')) ready = true; });
  p.stdout.on('data', (b: Buffer) => {
    const t = performance.now();
    buf += b.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) { seen.set(buf.slice(0, nl), t); buf = buf.slice(nl + 1); }
  });
  for (let i = 0; i < 100 && !ready; i++) await sleep(20);
  const written = new Map<string, number>();
  await pacedWrites(dir, n, pace, (_i, rel, t) => written.set(join(dir, rel), t));
  const until = performance.now() + 5000;
  while (seen.size < n && performance.now() < until) await sleep(20);
  p.kill();
  const lags: number[] = [];
  for (const [f, t] of written) { const s = seen.get(f); if (s !== undefined) lags.push(s - t); }
  return lags.length ? lags : undefined;
}

export async function activeSyncRows(opts: { n: number; child: ChildOptions; log: (s: string) => void }): Promise<Row[]> {
  const { n, log } = opts;
  const pace = { perTick: 5, tickMs: 10, subdirs: 10 }; // ~500 files/s across 10 directories
  const root = mkdtempSync(join(BENCH_ROOT, 'active-sync-'));
  const ufsDir = join(root, 'ufs');
  const dataDir = join(root, 'data');
  mkdirSync(ufsDir);
  mkdirSync(dataDir);
  for (let k = 0; k < pace.subdirs; k++) mkdirSync(join(ufsDir, `sub-${k}`));
  const srv = await startChild(['strata', dataDir, JSON.stringify({ 'metadata.sync.interval': '-1' })], opts.child);
  const cl = await StrataClient.connect(srv.address);
  try {
    await cl.mount('/watched', pathToFileURL(ufsDir).href);
    await cl.loadMetadata('/watched', { recursive: true });
    await cl.startSync('/watched');
    // Wait until the sync point is active (initial sync done, watches established).
    for (let i = 0; i < 200; i++) {
      const sp = (await cl.getSyncPathList()).find((p) => p.path === '/watched');
      if (sp?.state === 'active') break;
      await sleep(25);
    }
    const sp = (await cl.getSyncPathList()).find((p) => p.path === '/watched');
    log(`active sync point: ${JSON.stringify(sp)}`);

    // Writer and poller run side by side. The poller must not become the load it measures:
    // each round (every 5 ms) polls the 16 oldest pending files (exists, loadType NEVER); when
    // all of them are visible it sweeps on through the pending set at once, so a batch that
    // lands together is seen together. Resolution: ~5 ms plus a round trip.
    const written = new Array<number>(n).fill(NaN);
    const visible = new Array<number>(n).fill(NaN);
    const rel = new Array<string>(n);
    const pending = new Set<number>(); // insertion order = write order
    let writing = true;
    let polls = 0;
    const writer = pacedWrites(ufsDir, n, pace, (i, r, t) => { rel[i] = r; written[i] = t; pending.add(i); }).finally(() => { writing = false; });
    const deadline = performance.now() + 60_000;
    while ((writing || pending.size) && performance.now() < deadline) {
      const order = [...pending];
      for (let from = 0, size = 16; from < order.length; from += size, size *= 2) {
        const batch = order.slice(from, from + size);
        const res = await Promise.all(batch.map((i) => cl.exists(`/watched/${rel[i]}`, { loadType: 'NEVER' })));
        polls += batch.length;
        const t = performance.now();
        batch.forEach((i, k) => { if (res[k]) { visible[i] = t; pending.delete(i); } });
        if (!res.every(Boolean)) break;
      }
      await sleep(5);
    }
    await writer;
    const lags = written.map((w, i) => visible[i]! - w).filter((x) => Number.isFinite(x));
    const missing = n - lags.length;
    const p50 = pct(lags, 0.5);
    const p99 = pct(lags, 0.99);
    const max = Math.max(...lags);
    const report = await cl.getReport();
    log(`active sync lag over ${lags.length}/${n} files: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms (${polls} polls); report ${JSON.stringify(report.activeSync)}`);

    // Idle: no writer, no reads; UFS calls of the server over the window.
    const idleMs = 5000;
    const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);
    const u0 = (await cl.getReport()).ufsCalls;
    const t0 = performance.now();
    await sleep(idleMs);
    const u1 = (await cl.getReport()).ufsCalls;
    const idleS = (performance.now() - t0) / 1000;
    const delta = Object.fromEntries(Object.entries(u1).map(([k, v]) => [k, v - (u0[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
    const idleRate = (sum(u1) - sum(u0)) / idleS;
    log(`idle ${idleS.toFixed(1)} s: UFS calls ${JSON.stringify(delta)}`);

    // The limit: raw inotify event latency with the same writer pacing (server stopped first
    // would change nothing: it watches another directory).
    const raw = await inotifyLatency(join(root, 'raw'), n, pace);
    const rawP50 = raw ? pct(raw, 0.5) : null;
    const rawP99 = raw ? pct(raw, 0.99) : null;
    const rows: Row[] = [
      {
        fig: '9', name: `active sync lag p50, ${n.toLocaleString('en-US')} outside creates at ~500/s (local mount, inotify; write → exists() with loadType NEVER)`,
        value: p50, unit: 'ms', limitName: raw ? 'inotify event latency p50 (inotifywait -m, same writer)' : '—', limit: rawP50,
        ratio: rawP50 !== null ? ratio(p50, rawP50, true) : null,
        target: 'visible within 1–2 s', meets: p99 <= 2000,
        note: `p99 ${p99.toFixed(1)} / max ${max.toFixed(1)} ms${missing ? `; ${missing} never visible within 60 s` : ''}; inotify p99 ${rawP99?.toFixed(2) ?? '—'} ms; ` +
          `server: events ${report.activeSync.eventsReceived ?? '?'} received, ${report.activeSync.batches ?? '?'} batches, server-side lag p50 ${report.activeSync.lagP50Ms ?? '?'} ms`,
        extra: { p50, p99, max, missing, polls, rawP50, rawP99, activeSync: report.activeSync, syncPoint: sp },
      },
      {
        fig: '9', name: 'active sync lag p99 (same run)', value: p99, unit: 'ms',
        limitName: raw ? 'inotify event latency p99' : '—', limit: rawP99, ratio: rawP99 !== null ? ratio(p99, rawP99, true) : null,
        note: 'includes the batching window and the targeted sync of the directory',
      },
      {
        fig: '9', name: `UFS calls per second while idle (${idleS.toFixed(1)} s, active sync on)`, value: idleRate, unit: 'calls/s',
        limitName: '—', limit: null, ratio: null, target: '0 (inotify)', meets: idleRate === 0,
        note: Object.keys(delta).length ? `calls: ${JSON.stringify(delta).replace(/"/g, '')}` : 'no UFS call (inotify pushes; reconciliation every active.sync.interval = 30 s is outside the window)',
        extra: { delta, idleS },
      },
    ];
    return rows;
  } finally {
    await cl.close();
    await srv.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
