// Strata's bench: every figure beside its physical limit, measured in the same run on the
// same machine, and their ratio. `npm run bench` (quick, a few minutes on 2 cores) or
// `npm run bench -- --full` (1M files, 1 GiB). Other flags:
//   --only 1,2,3      run only these figures (1-2 sync, 3-4 metadata ops, 5-6 data, 7 scale, 8 rclone,
//                     9 active sync lag and idle UFS calls, S3 sync of a radosgw prefix + rclone on it)
//   --profile         run the servers under `node --cpu-prof` and print their top functions
//   --time MS         time per tinybench measurement (default 1500 quick, 3000 full)
//   --no-write        do not write bench/results/<date>.json
// Targets are printed beside the figures; nothing here fails on a target.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StrataClient } from '../src/client/tcp-client.js';
import { dataRows } from './data-io.js';
import { startChild } from './lib/child.js';
import type { ChildOptions } from './lib/child.js';
import { markdownTable, ratio } from './lib/report.js';
import type { Row } from './lib/report.js';
import { BENCH_ROOT, ensureTree } from './lib/tree.js';
import { parallelWalk } from './lib/walk.js';
import { metadataRows } from './metadata-ops.js';
import { printSummary, profileFiles, summarise } from './profile-top.js';
import { activeSyncRows } from './active-sync.js';
import { rcloneRows } from './rclone.js';
import { s3Rows } from './s3.js';
import { syncRows, syncRun } from './sync.js';
import type { SyncRun } from './sync.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const flag = (f: string): boolean => argv.includes(f);
const arg = (f: string): string | undefined => { const i = argv.indexOf(f); return i >= 0 ? argv[i + 1] : undefined; };
const full = flag('--full');
const only = arg('--only')?.split(',').map((s) => s.trim());
const want = (fig: string): boolean => !only || only.includes(fig);
const timeMs = Number(arg('--time') ?? (full ? 3000 : 1500));
const profile = flag('--profile');
const started = Date.now();
const log = (s: string): void => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${s}`);

// A hard stop, so the bench always ends by itself.
const deadline = setTimeout(() => { console.error('bench: overall time limit reached, stopping'); process.exit(3); }, (full ? 90 : 15) * 60_000);
deadline.unref();

mkdirSync(BENCH_ROOT, { recursive: true });
const profDir = profile ? mkdtempSync(join(BENCH_ROOT, 'profiles-')) : undefined;
const child = (name: string): ChildOptions => (profDir ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${join(profDir, name)}`] } : {});

const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  memGiB: Math.round(totalmem() / (1 << 30)),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
};
log(`mode ${full ? 'full' : 'quick'}; ${machine.cores} cores (${machine.cpu}), Node ${machine.node}`);

const rows: Row[] = [];
const sizes = full ? { dirs: 1000, files: 1000, ioBytes: 1 << 30, reps: 1 } : { dirs: 1000, files: 100, ioBytes: 100 << 20, reps: 3 };

// ---------------------------------------------------------------- figures 1, 2, 7 (RSS), 8
let sync: SyncRun | undefined;
if (want('1') || want('2') || want('7') || want('8')) {
  const tree = ensureTree(sizes.dirs, sizes.files, log);
  if (want('1') || want('2') || want('7')) {
    const walk = await parallelWalk(tree.dir, Math.max(2, Math.min(machine.cores, 2)));
    const walk1 = await parallelWalk(tree.dir, 1);
    log(`walk: ${Math.round(walk.perSec)}/s on ${walk.threads} threads, ${Math.round(walk1.perSec)}/s on 1 (${walk.entries} entries)`);
    if (walk.entries !== tree.entries) throw new Error(`walk saw ${walk.entries} entries, expected ${tree.entries}`);
    sync = await syncRun(tree, child('sync'), { log, getStatusMs: full ? timeMs : undefined });
    if (want('1') || want('2')) rows.push(...syncRows(tree, sync, walk, walk1));
    const walkAfter = await parallelWalk(tree.dir, 2, 1);
    log(`walk after the sync: ${Math.round(walkAfter.perSec)}/s (noise check)`);
  }
  if (want('7')) {
    const mb = (b: number): number => b / (1 << 20);
    rows.push({
      fig: '7', name: `peak RSS of the server while syncing ${tree.entries.toLocaleString('en-US')} entries`, value: mb(Math.max(sync!.peakRss, 0)), unit: 'MiB',
      limitName: '—', limit: null, ratio: null,
      target: full ? '≤ 300 MB at 1M' : '(target applies at 1M: --full)', meets: full ? sync!.peakRss <= 300e6 : undefined,
      note: `sampled every 50 ms; VmHWM since start ${mb(sync!.hwm).toFixed(0)} MiB; of it anonymous (heaps of main + worker threads) peak ${mb(sync!.peakAnon).toFixed(0)} MiB, the rest file-backed LMDB map pages`,
      extra: { peakRss: sync!.peakRss, peakAnon: sync!.peakAnon, hwm: sync!.hwm },
    });
    if (full) {
      const small = ensureTree(10, 1000, log);
      const s10k = await syncRun(small, child('sync10k'), { log, getStatusMs: timeMs });
      const big = sync!.getStatus!;
      const q = big.p50Ms / s10k.getStatus!.p50Ms;
      rows.push({
        fig: '7', name: 'getStatus p50 at 1M inodes vs at 10k (1 in flight, random files)', value: big.p50Ms, unit: 'ms',
        limitName: 'getStatus p50 at 10k inodes', limit: s10k.getStatus!.p50Ms, ratio: q,
        target: '≤ 1.2× (ratio = 1M / 10k)', meets: q <= 1.2,
        note: `p99 ${big.p99Ms.toFixed(3)} vs ${s10k.getStatus!.p99Ms.toFixed(3)} ms`, extra: { at1M: big, at10k: s10k.getStatus },
      });
    } else {
      rows.push({ fig: '7', name: 'getStatus p50 at 10k vs 1M inodes', value: null, unit: 'ms', limitName: '—', limit: null, ratio: null, note: 'full run only (--full)' });
    }
  }
  if (want('8')) rows.push(...await rcloneRows(tree, want('1') ? sync?.coldMs : undefined, log));
}

// ---------------------------------------------------------------- figures 3, 4, 5, 6
if (want('3') || want('4') || want('5') || want('6')) {
  const dataDir = mkdtempSync(join(BENCH_ROOT, 'data-tcp-'));
  const echoSrv = await startChild(['echo'], child('echo'));
  const srv = await startChild(['strata', dataDir, JSON.stringify({ 'cache.capacity': full ? '8GB' : '2GB' })], child('strata-tcp'));
  const cl = await StrataClient.connect(srv.address);
  try {
    if (want('3') || want('4')) {
      const md = await metadataRows(cl, echoSrv, { timeMs, log, strataPid: srv.pid, skip3: !want('3'), serverPid: srv.pid, ...(want('4') ? { floorDir: join(dataDir, 'fsync-floor') } : {}) });
      rows.push(...md.filter((r) => (r.fig === '3' && want('3')) || (r.fig === '4' && want('4'))));
    }
    if (want('5') || want('6')) {
      const io = await dataRows(cl, dataDir, { bytes: sizes.ioBytes, reps: sizes.reps, log, writes: want('6'), child: child('stream'), strataPid: srv.pid });
      rows.push(...io.filter((r) => (r.fig === '5' && want('5')) || (r.fig === '6' && want('6'))));
    }
  } finally {
    await cl.close();
    await srv.stop();
    await echoSrv.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- figure 9: active sync
if (want('9')) rows.push(...await activeSyncRows({ n: full ? 10_000 : 1000, child: child('active-sync'), log }));

// ---------------------------------------------------------------- S3 (figure "S3")
if (want('S3') || want('s3')) rows.push(...await s3Rows(full, child('s3'), log));

// ---------------------------------------------------------------- output
const date = new Date().toISOString().slice(0, 10);
const table = markdownTable(rows);
console.log(`\nStrata bench ${date} (${full ? 'full' : 'quick'}): ${machine.cores} cores, ${machine.cpu}, Node ${machine.node}\n`);
console.log(table);
const result = { date, mode: full ? 'full' : 'quick', machine, timeMs, durationS: (Date.now() - started) / 1000, rows, profiles: [] as unknown[] };
if (profDir) {
  for (const name of ['sync', 'sync10k', 'strata-tcp', 'stream', 'active-sync', 's3']) {
    let files: string[] = [];
    try { files = profileFiles(join(profDir, name)); } catch { continue; }
    for (const f of files) {
      const s = summarise(f, 20);
      result.profiles.push({ ...s, server: name });
      console.log(`\nprofile of ${name}:\n${printSummary(s)}`);
    }
  }
  console.log(`\nprofiles kept in ${profDir}`);
}
if (!flag('--no-write')) {
  const out = join(HERE, 'results', `${date}${full ? '-full' : ''}${only ? `-only-${only.join('_')}` : ''}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  log(`wrote ${out}`);
}
log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
void ratio;
process.exit(0);
