#!/usr/bin/env node
// Start-up and footprint of the package, beside `node -e 0` measured in the same run:
// wall time of `strata fs ls /` (through bin/strata.mjs and through npx), server start to
// its listening line, and the idle server's RSS with its worker threads. Plain node, no
// tsx: it measures what users run. `--root DIR` measures another checkout (e.g. an older
// commit extracted with `git archive`, its node_modules symlinked) for before/after.
// `--sync DIRSxFILES` (e.g. 1000x1000: 1,001,000 entries) instead measures the server's peak
// RSS (and its anonymous and file-backed parts) while `strata fs loadMetadata -R` syncs a
// generated local tree (built once under the OS temp dir, shared with bench/sync.ts).
// Usage: node bench/startup.mjs [--root DIR] [--runs N] [--label TEXT] [--sync DIRSxFILES]

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const root = resolve(arg('--root', new URL('..', import.meta.url).pathname));
const runs = Number(arg('--runs', '15'));
const label = arg('--label', root);
const bin = join(root, 'bin', 'strata.mjs');
const env = { ...process.env, STRATA_LOG_LEVEL: 'warn', STRATA_NO_PROGRESS: '1' };

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const ms = (x) => `${x.toFixed(0)} ms`;

// CPU time (user + system) through GNU time when installed: less sensitive than wall time
// to other processes on a shared machine.
const gnuTime = spawnSync('/usr/bin/time', ['-f', '%U %S', 'true'], { stdio: 'ignore' }).status === 0;

/** Wall and CPU time (ms) of one run of a command to completion; throws when it fails. */
function wall(cmd, args, cwd = root) {
  const t0 = process.hrtime.bigint();
  const r = gnuTime
    ? spawnSync('/usr/bin/time', ['-f', 'CPU %U %S', cmd, ...args], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
    : spawnSync(cmd, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const t = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  const m = /CPU (\d+\.\d+) (\d+\.\d+)\s*$/.exec(r.stderr ?? '');
  return { wall: t, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN };
}

/** Interleaved runs of several commands (so that machine noise hits them alike). */
function compare(cmds) {
  const times = cmds.map(() => []);
  for (let i = 0; i < runs; i++) cmds.forEach((c, j) => times[j].push(wall(...c)));
  return times.map((t) => ({
    median: median(t.map((x) => x.wall)), min: Math.min(...t.map((x) => x.wall)), cpu: median(t.map((x) => x.cpu)),
  }));
}
const cpuText = (x) => (Number.isFinite(x.cpu) ? `; CPU ${ms(x.cpu)}` : '');

/** Start a server; resolves {proc, address, startMs} once its listening line appears. */
function startServer(dataDir, extra = []) {
  return new Promise((resolveStart, reject) => {
    const t0 = process.hrtime.bigint();
    const proc = spawn(process.execPath, [bin, 'server', '--port', '0', '--data-dir', dataDir, ...extra], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`no listening line in 60 s: ${err}`)); }, 60_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /^strata listening on (\S+:\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveStart({ proc, address: m[1], startMs: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: cpuOf(proc.pid) });
      }
    });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${err}`)); });
  });
}

async function stopServer(proc) {
  const done = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await done;
}

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024, threads: kb('Threads') };
}

/** CPU time (user + system, ms, all threads) a live process has used so far. */
function cpuOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/** The generated tree `dirs` × `files` (same layout and marker as bench/lib/tree.ts). */
function ensureTree(dirs, files) {
  const base = join(tmpdir(), 'strata-bench');
  const name = `tree-${dirs}x${files}`;
  const dir = join(base, name);
  const marker = join(base, `${name}.done`);
  if (!existsSync(marker)) {
    process.stderr.write(`generating ${dirs * files} files in ${dirs} dirs at ${dir} (once)\n`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const w = String(dirs - 1).length;
    const fw = String(files - 1).length;
    for (let d = 0; d < dirs; d++) {
      const dd = join(dir, `d${String(d).padStart(w, '0')}`);
      mkdirSync(dd);
      for (let f = 0; f < files; f++) closeSync(openSync(join(dd, `f${String(f).padStart(fw, '0')}`), 'w'));
    }
    writeFileSync(marker, new Date().toISOString());
  }
  return { dir, entries: dirs + dirs * files };
}

/** Run a CLI command to completion (async, so that the caller can sample meanwhile). */
function runCli(args) {
  return new Promise((resolveRun, reject) => {
    const proc = spawn(process.execPath, [bin, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { err += d; });
    proc.once('exit', (code) => (code === 0 ? resolveRun(out) : reject(new Error(`strata ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** Peak RSS of a server while it syncs a generated tree of `spec` (DIRSxFILES) entries. */
async function syncFigures(spec) {
  const [dirs, files] = spec.split('x').map(Number);
  const tree = ensureTree(dirs, files);
  const dataDir = join(tmp, 'sync');
  const load0 = loadavg()[0];
  const s = await startServer(dataDir, ['-D', `mount.allowed.roots=${pathToFileURL(tree.dir).href}`]);
  try { env.STRATA_TOKEN = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim(); } catch { /* no auth */ }
  const client = ['fs', '--address', s.address];
  await runCli([...client, 'mount', '/bench', pathToFileURL(tree.dir).href]);
  const idle = rssOf(s.proc.pid);
  const peak = { rss: 0, anon: 0, file: 0 };
  const sample = () => {
    const r = rssOf(s.proc.pid);
    for (const k of ['rss', 'anon', 'file']) peak[k] = Math.max(peak[k], r[k]);
  };
  const timer = setInterval(sample, 50);
  const cpu0 = cpuOf(s.proc.pid);
  const t0 = performance.now();
  const summary = await runCli([...client, 'loadMetadata', '-R', '/bench']).finally(() => clearInterval(timer));
  const syncMs = performance.now() - t0;
  sample();
  const syncCpu = cpuOf(s.proc.pid) - cpu0;
  const hwm = Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${s.proc.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  await stopServer(s.proc);
  const mib = (x) => `${x.toFixed(0)} MiB`;
  process.stdout.write(`\n### ${label}: sync of ${tree.entries.toLocaleString('en-US')} entries\n\n` +
    `Node ${process.version}, load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}; \`strata fs loadMetadata -R\` printed ${summary.trim()}\n\n` +
    '| figure | value | note |\n|---|---:|---|\n' +
    `| peak server RSS while syncing | ${mib(peak.rss)} | sampled every 50 ms; VmHWM ${mib(hwm)} (goal ≤ 300 MB = 286 MiB) |\n` +
    `| of it anonymous (RssAnon: heaps of the main thread and workers) | ${mib(peak.anon)} | idle before the sync: ${mib(idle.anon)} |\n` +
    `| of it file-backed (RssFile: LMDB's mapped pages, code) | ${mib(peak.file)} | page cache the kernel can reclaim |\n` +
    `| sync time | ${(syncMs / 1000).toFixed(1)} s | ${Math.round(tree.entries / (syncMs / 1000)).toLocaleString('en-US')} entries/s; server CPU ${(syncCpu / 1000).toFixed(1)} s |\n`);
}

const tmp = mkdtempSync(join(tmpdir(), 'strata-startup-'));
const rows = [];
try {
  if (arg('--sync')) await syncFigures(arg('--sync'));
  else await startFigures();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

async function startFigures() {
  const load0 = loadavg()[0];
  // Server start to listening, fresh data directory each time (5 runs), then restart on an existing one.
  const starts = [];
  const startCpu = [];
  for (let i = 0; i < 5; i++) {
    const s = await startServer(join(tmp, `fresh-${i}`));
    starts.push(s.startMs);
    startCpu.push(s.cpuMs);
    await stopServer(s.proc);
  }
  const restart = await startServer(join(tmp, 'fresh-0'));
  const restartMs = restart.startMs;
  await new Promise((r) => setTimeout(r, 3000)); // idle: workers up, nothing to do
  const idle = rssOf(restart.proc.pid);
  const address = restart.address;
  // The server wrote its admin credential on first start; the client commands present it
  // (an older checkout without authentication ignores STRATA_TOKEN).
  try { env.STRATA_TOKEN = readFileSync(join(tmp, 'fresh-0', 'admin.key'), 'utf8').trim(); } catch { /* no auth */ }
  const [node0, ls, npx] = compare([
    [process.execPath, ['-e', '0']],
    [process.execPath, [bin, 'fs', '--address', address, 'ls', '/']],
    ['npx', ['--no-install', 'strata', 'fs', '--address', address, 'ls', '/']],
  ]);
  await stopServer(restart.proc);
  const load1 = loadavg()[0];

  rows.push(['`node -e 0` (the floor)', ms(node0.median), `min ${ms(node0.min)}${cpuText(node0)}`]);
  rows.push(['`node bin/strata.mjs fs ls /` wall time', ms(ls.median), `min ${ms(ls.min)}${cpuText(ls)}; ${(ls.median - node0.median).toFixed(0)} ms above node -e 0 (goal ≤ 150 ms total)`]);
  rows.push(['`npx strata fs ls /` wall time', ms(npx.median), `min ${ms(npx.min)}${cpuText(npx)}; npx itself (npm start-up) is most of it`]);
  rows.push(['server start to listening (fresh data dir)', ms(median(starts)), `min ${ms(Math.min(...starts))}; CPU to listening ${ms(median(startCpu))}; restart on that data dir ${ms(restartMs)} (CPU ${ms(restart.cpuMs)}) (goal ≤ 0.5 s)`]);
  rows.push(['idle server RSS, with its worker threads', `${idle.rss.toFixed(0)} MiB`, `anonymous ${idle.anon.toFixed(0)} MiB; ${idle.threads} threads; 3 s after listening`]);
  process.stdout.write(`\n### ${label}\n\nNode ${process.version}, ${runs} interleaved runs each (median), load average ${load0.toFixed(1)} → ${load1.toFixed(1)}\n\n`);
  process.stdout.write('| figure | value | note |\n|---|---:|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);
}
