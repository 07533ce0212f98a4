// Figure 9 (issue 7): active sync lag and idle cost. A Strata server (own process) mounts a
// local directory with `metadata.sync.interval` -1 and runs startSync on it; an outside
// writer (this process, plain fs) creates N files, paced; the bench polls exists() with
// loadType NEVER (no UFS access on the read) until each file is visible and records the lag
// from its write to its visibility. Then the server idles ~5 s and the delta of its UFS call
// counters gives the UFS calls per second while idle (0 expected with inotify).
// The limit beside it: the raw inotify event latency (inotifywait -m on a directory, same
// writer pacing): the time from a write to the CREATE event line, which no watcher can beat.
// Both are measured twice: on the machine as it is ("quiet") and with the machine busy — the
// bench starts one spinning child process per core (started and stopped by the bench) — and
// the server's CPU time (user+sys, /proc) for each phase is reported beside the lag.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { cpus } from 'node:os';
import type { ChildProcess } from 'node:child_process';
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
async function pacedWrites(dir: string, n: number, opts: { perTick: number; tickMs: number; subdirs: number; tag?: string }, onWrite: (i: number, rel: string, t: number) => void): Promise<void> {
  for (let i = 0; i < n; i += opts.perTick) {
    for (let j = i; j < Math.min(n, i + opts.perTick); j++) {
      const rel = `sub-${j % opts.subdirs}/f${opts.tag ?? ''}${j}`;
      outsideWrite(join(dir, rel));
      onWrite(j, rel, performance.now());
    }
    await sleep(opts.tickMs);
  }
}

/** Raw inotify latency: inotifywait -m (non-recursive watches on each subdir) → event line. */
async function inotifyLatency(dir: string, n: number, pace: { perTick: number; tickMs: number; subdirs: number; tag?: string }): Promise<number[] | undefined> {
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


/** CPU time (user+sys, ms) a process has used so far, from /proc/<pid>/stat (NaN if unreadable). */
function cpuMsOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * 10; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/**
 * The load: one child process per core spinning on the CPU until stopped (or until this
 * process goes away: each child checks its parent about every 50 ms, and ends by itself
 * after `maxMs`).
 */
function startLoad(maxMs: number): { stop(): Promise<void> } {
  const code = `const end = Date.now() + ${maxMs}; const parent = process.ppid;
    for (;;) { const t = Date.now() + 50; while (Date.now() < t) {} if (Date.now() > end || process.ppid !== parent) process.exit(0); }`;
  const procs: ChildProcess[] = cpus().map(() => spawn(process.execPath, ['-e', code], { stdio: 'ignore' }));
  return {
    stop: async () => {
      await Promise.all(procs.map((p) => new Promise<void>((resolve) => {
        if (p.exitCode !== null || p.signalCode !== null) return resolve();
        p.once('exit', () => resolve());
        p.kill('SIGKILL');
      })));
    },
  };
}

interface LagRun {
  lags: number[];
  missing: number;
  polls: number;
  serverCpuMs: number;
  wallMs: number;
  report: Record<string, number>;
}

/** One phase: paced outside writes, polled through Strata until each is visible. */
async function strataLag(cl: StrataClient, ufsDir: string, n: number, pace: { perTick: number; tickMs: number; subdirs: number; tag: string }, serverPid: number): Promise<LagRun> {
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
  const before = (await cl.getReport()).activeSync as Record<string, number>;
  const cpu0 = cpuMsOf(serverPid);
  const t0 = performance.now();
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
  const wallMs = performance.now() - t0;
  const serverCpuMs = cpuMsOf(serverPid) - cpu0;
  const after = (await cl.getReport()).activeSync as Record<string, number>;
  const report: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) report[k] = /Ms$/.test(k) ? v : v - (before[k] ?? 0);
  const lags = written.map((w, i) => visible[i]! - w).filter((x) => Number.isFinite(x));
  return { lags, missing: n - lags.length, polls, serverCpuMs, wallMs, report };
}

export async function activeSyncRows(opts: { n: number; child: ChildOptions; log: (s: string) => void; skipLoaded?: boolean }): Promise<Row[]> {
  const { n, log } = opts;
  const base = { perTick: 5, tickMs: 10, subdirs: 10 }; // ~500 files/s across 10 directories
  const root = mkdtempSync(join(BENCH_ROOT, 'active-sync-'));
  const ufsDir = join(root, 'ufs');
  const dataDir = join(root, 'data');
  mkdirSync(ufsDir);
  mkdirSync(dataDir);
  for (let k = 0; k < base.subdirs; k++) mkdirSync(join(ufsDir, `sub-${k}`));
  const srv = await startChild(['strata', dataDir, JSON.stringify({ 'metadata.sync.interval': '-1' })], opts.child);
  const cl = await StrataClient.connect(srv.address);
  let load: { stop(): Promise<void> } | undefined;
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

    const describe = (name: string, r: LagRun): string => {
      const p50 = pct(r.lags, 0.5);
      const p99 = pct(r.lags, 0.99);
      return `${name}: lag over ${r.lags.length}/${n} files p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...r.lags).toFixed(1)} ms ` +
        `(${r.polls} polls); server CPU ${r.serverCpuMs.toFixed(0)} ms over ${r.wallMs.toFixed(0)} ms; server ${JSON.stringify(r.report)}`;
    };
    const quiet = await strataLag(cl, ufsDir, n, { ...base, tag: 'q' }, srv.pid);
    log(describe('quiet', quiet));

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

    // The limit: raw inotify event latency with the same writer pacing (it watches another directory).
    const raw = await inotifyLatency(join(root, 'raw'), n, { ...base, tag: 'q' });
    const rawP50 = raw ? pct(raw, 0.5) : null;
    const rawP99 = raw ? pct(raw, 0.99) : null;

    // The same with the machine busy: one spinning process per core.
    let loaded: LagRun | undefined;
    let rawLoaded: number[] | undefined;
    if (!opts.skipLoaded) {
      load = startLoad(5 * 60_000);
      await sleep(500);
      loaded = await strataLag(cl, ufsDir, n, { ...base, tag: 'l' }, srv.pid);
      log(describe(`loaded (${cpus().length} spinning processes)`, loaded));
      rawLoaded = await inotifyLatency(join(root, 'raw-loaded'), n, { ...base, tag: 'l' });
      await load.stop();
      load = undefined;
    }
    const lRawP50 = rawLoaded ? pct(rawLoaded, 0.5) : null;
    const lRawP99 = rawLoaded ? pct(rawLoaded, 0.99) : null;
    log(`inotify latency: quiet p50 ${rawP50?.toFixed(2)} / p99 ${rawP99?.toFixed(2)} ms; loaded p50 ${lRawP50?.toFixed(2)} / p99 ${lRawP99?.toFixed(2)} ms`);

    const p50 = pct(quiet.lags, 0.5);
    const p99 = pct(quiet.lags, 0.99);
    const max = Math.max(...quiet.lags);
    const report = quiet.report;
    const rows: Row[] = [
      {
        fig: '9', name: `active sync lag p50, ${n.toLocaleString('en-US')} outside creates at ~500/s (local mount, inotify; write → exists() with loadType NEVER)`,
        value: p50, unit: 'ms', limitName: raw ? 'inotify event latency p50 (inotifywait -m, same writer)' : '—', limit: rawP50,
        ratio: rawP50 !== null ? ratio(p50, rawP50, true) : null,
        target: 'visible within 1–2 s', meets: p99 <= 2000,
        note: `p99 ${p99.toFixed(1)} / max ${max.toFixed(1)} ms${quiet.missing ? `; ${quiet.missing} never visible within 60 s` : ''}; inotify p99 ${rawP99?.toFixed(2) ?? '—'} ms; ` +
          `server: events ${report.eventsReceived ?? '?'} received, ${report.batches ?? '?'} batches, server-side lag p50 ${report.lagP50Ms ?? '?'} ms, CPU ${quiet.serverCpuMs.toFixed(0)} ms`,
        extra: { p50, p99, max, missing: quiet.missing, polls: quiet.polls, rawP50, rawP99, activeSync: report, syncPoint: sp, serverCpuMs: quiet.serverCpuMs },
      },
      {
        fig: '9', name: 'active sync lag p99 (same run)', value: p99, unit: 'ms',
        limitName: raw ? 'inotify event latency p99' : '—', limit: rawP99, ratio: rawP99 !== null ? ratio(p99, rawP99, true) : null,
        note: 'includes the batching window and the targeted sync of the directory',
      },
    ];
    if (loaded) {
      const lp50 = pct(loaded.lags, 0.5);
      const lp99 = pct(loaded.lags, 0.99);
      const lmax = Math.max(...loaded.lags);
      rows.push({
        fig: '9', name: `active sync lag p99 with the machine busy (${cpus().length} spinning processes started by the bench), same writer`,
        value: lp99, unit: 'ms', limitName: rawLoaded ? 'inotify event latency p99 under the same load' : '—', limit: lRawP99,
        ratio: lRawP99 !== null ? ratio(lp99, lRawP99, true) : null,
        target: '≤ 250 ms', meets: lp99 <= 250 && loaded.missing === 0,
        note: `p50 ${lp50.toFixed(1)} / max ${lmax.toFixed(1)} ms${loaded.missing ? `; ${loaded.missing} never visible within 60 s` : ''}; inotify p50 ${lRawP50?.toFixed(2) ?? '—'} ms; ` +
          `server: ${loaded.report.eventsReceived ?? '?'} events, ${loaded.report.batches ?? '?'} batches, CPU ${loaded.serverCpuMs.toFixed(0)} ms over ${loaded.wallMs.toFixed(0)} ms`,
        extra: { p50: lp50, p99: lp99, max: lmax, missing: loaded.missing, rawP50: lRawP50, rawP99: lRawP99, activeSync: loaded.report, serverCpuMs: loaded.serverCpuMs },
      });
    }
    rows.push({
      fig: '9', name: `UFS calls per second while idle (${idleS.toFixed(1)} s, active sync on)`, value: idleRate, unit: 'calls/s',
      limitName: '—', limit: null, ratio: null, target: '0 (inotify)', meets: idleRate === 0,
      note: Object.keys(delta).length ? `calls: ${JSON.stringify(delta).replace(/"/g, '')}` : 'no UFS call (inotify pushes; reconciliation every active.sync.interval = 30 s is outside the window)',
      extra: { delta, idleS },
    });
    return rows;
  } finally {
    await load?.stop();
    await cl.close();
    await srv.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** `node --import tsx bench/active-sync.ts [N]`: figure 9 alone (quiet and loaded). */
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const n = Number(process.argv[2] ?? 1000);
  const prof = process.argv.indexOf('--prof-dir');
  const child: ChildOptions = prof > 0 ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${process.argv[prof + 1]}`] } : {};
  const rows = await activeSyncRows({ n, child, skipLoaded: process.argv.includes('--quiet-only'), log: (s) => console.error(`[active-sync] ${s}`) });
  console.log(JSON.stringify(rows.map((r) => ({ name: r.name, value: r.value, limit: r.limit, ratio: r.ratio, meets: r.meets, note: r.note })), null, 2));
}
