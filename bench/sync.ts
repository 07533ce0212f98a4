// Figures 1, 2 and 7 (RSS): cold sync and re-sync of a generated local tree by a fresh
// Strata server (its own process, driven over TCP: one loadMetadata -R call), beside the
// fastest plain walk of the same tree (a), the walk + store floor (b) and the walk + one
// digest compare per directory (c) (bench/lib/walk.ts); peak RSS of the server while it
// syncs. The server runs the compiled dist/ code, as shipped (built here when stale);
// BENCH_SYNC_TSX=1 runs it from the sources through tsx instead (as before issue 16).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StrataClient } from '../src/client/tcp-client.js';
import type { SyncSummary } from '../src/types.js';
import { cpuMsOf, rssOf, sampleRss, startChild } from './lib/child.js';
import type { ChildOptions } from './lib/child.js';
import { atDepth } from './lib/depth.js';
import type { DepthResult } from './lib/depth.js';
import { ratio } from './lib/report.js';
import type { Row } from './lib/report.js';
import { BENCH_ROOT, ensureTree, treeFile } from './lib/tree.js';
import type { Tree } from './lib/tree.js';
import { storeAndDigestWalks } from './lib/walk.js';
import type { WalkResult } from './lib/walk.js';

export interface SyncRun {
  coldMs: number;
  resyncMs: number;
  cold: SyncSummary;
  resync: SyncSummary;
  peakRss: number;
  /** Peak anonymous RSS (heaps; excludes LMDB's file-backed map pages). */
  peakAnon: number;
  hwm: number;
  /** Peak file-backed RSS (LMDB's mapped pages) during the cold sync. */
  peakFile: number;
  /** Anonymous and file-backed RSS of the sample with the peak VmRSS. */
  atPeak: { anon: number; file: number };
  /** CPU time (user + system, all threads) of the server during the cold sync. */
  coldCpuMs: number;
  /** CPU time of the server during the re-sync. */
  resyncCpuMs: number;
  getStatus?: DepthResult;
  /** Limit (b): walk + store, on the same number of threads as the walk (a). */
  store?: WalkResult;
  /** Limit (c): walk + one digest compare per directory. */
  digest?: WalkResult;
  /** The server ran compiled (dist/) or through tsx. */
  compiled: boolean;
}

/** Child options for the sync server: the compiled one unless BENCH_SYNC_TSX=1 (dist/ rebuilt when stale). */
function syncServer(child: ChildOptions): { child: ChildOptions; compiled: boolean } {
  if (process.env.BENCH_SYNC_TSX === '1') return { child, compiled: false };
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--if-stale', '--quiet'], { stdio: 'inherit' });
  return { child: { ...child, entry: join(root, 'bench', 'lib', 'server-child-dist.mjs') }, compiled: true };
}

/** Cold sync, then re-sync, of `tree` in a fresh server; optionally getStatus p50 after. */
export async function syncRun(tree: Tree, child: ChildOptions, opts: { getStatusMs?: number; limits?: boolean; log: (s: string) => void }): Promise<SyncRun> {
  let store: WalkResult | undefined;
  let digest: WalkResult | undefined;
  if (opts.limits !== false) {
    ({ store, digest } = await storeAndDigestWalks(tree.dir, 2, BENCH_ROOT));
    opts.log(`walk + store (b): ${Math.round(store.perSec)}/s; walk + digest (c): ${Math.round(digest.perSec)}/s (2 threads)`);
  }
  const server = syncServer(child);
  const dataDir = mkdtempSync(join(BENCH_ROOT, 'data-sync-'));
  const srv = await startChild(['strata', dataDir, JSON.stringify({})], server.child);
  const cl = await StrataClient.connect(srv.address);
  try {
    await cl.mount('/bench', pathToFileURL(tree.dir).href);
    const sampler = sampleRss(srv.pid);
    const cpu0 = cpuMsOf(srv.pid);
    let t0 = performance.now();
    const cold = await cl.loadMetadata('/bench', { recursive: true });
    const coldMs = performance.now() - t0;
    const coldCpuMs = cpuMsOf(srv.pid) - cpu0;
    const peakRss = sampler.stop();
    const peakAnon = sampler.peakAnon();
    const peakFile = sampler.peakFile();
    const atPeak = sampler.atPeak();
    const hwm = rssOf(srv.pid).hwm;
    opts.log(`cold sync ${tree.entries} entries: ${coldMs.toFixed(0)} ms ${JSON.stringify(cold)}`);
    await cl.needsSync('/bench');
    t0 = performance.now();
    const cpu1 = cpuMsOf(srv.pid);
    const resync = await cl.loadMetadata('/bench', { recursive: true });
    const resyncMs = performance.now() - t0;
    const resyncCpuMs = cpuMsOf(srv.pid) - cpu1;
    opts.log(`re-sync: ${resyncMs.toFixed(0)} ms ${JSON.stringify(resync)}`);
    let getStatus: DepthResult | undefined;
    if (opts.getStatusMs) {
      let i = 0;
      const n = tree.files;
      getStatus = await atDepth('getStatus', 1, () => cl.getStatus(`/bench/${treeFile(tree, (i = (i * 7919 + 104729) % n))}`), opts.getStatusMs);
    }
    return { coldMs, resyncMs, cold, resync, peakRss, peakAnon, hwm, peakFile, atPeak, coldCpuMs, resyncCpuMs, getStatus, store, digest, compiled: server.compiled };
  } finally {
    await cl.close();
    await srv.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function syncRows(tree: Tree, r: SyncRun, walk: WalkResult, walk1: WalkResult): Row[] {
  const cold = tree.entries / (r.coldMs / 1000);
  const re = tree.entries / (r.resyncMs / 1000);
  // The limit is the fastest of the walks (on this VM 2 threads barely beat 1).
  const best = walk1.perSec > walk.perSec ? walk1 : walk;
  const walkName = `fastest readdirSync+lstatSync walk (${best.threads} worker thread${best.threads > 1 ? 's' : ''})`;
  const walkNote = `walk: 1 thread ${Math.round(walk1.perSec).toLocaleString('en-US')}/s, ${walk.threads} threads ${Math.round(walk.perSec).toLocaleString('en-US')}/s`;
  const rc = ratio(cold, best.perSec);
  const rr = ratio(re, best.perSec);
  const server = r.compiled ? 'server compiled (dist/)' : 'server through tsx';
  const rows: Row[] = [
    {
      fig: '1', name: `cold sync, ${tree.entries.toLocaleString('en-US')} entries (loadMetadata -R)`, value: cold, unit: 'entries/s',
      limitName: walkName, limit: best.perSec, ratio: rc, target: '≥ 0.5× walk (a)', meets: rc >= 0.5,
      note: `${(r.coldMs / 1000).toFixed(2)} s; ${walkNote}; ${server}`, extra: { ms: r.coldMs, summary: r.cold, walk, walk1, compiled: r.compiled },
    },
  ];
  if (r.store) {
    const rs = ratio(cold, r.store.perSec);
    rows.push({
      fig: '1', name: 'cold sync vs walk + store (b)', value: cold, unit: 'entries/s',
      limitName: `walk + msgpack encode + inode and edge put (lmdb-js batched async puts, ${r.store.threads} threads)`, limit: r.store.perSec, ratio: rs,
      target: '≥ 0.8× (b)', meets: rs >= 0.8, note: `(b) ${(r.store.ms / 1000).toFixed(2)} s`, extra: { store: r.store },
    });
  }
  rows.push({
    fig: '2', name: 're-sync of the unchanged tree (needsSync + loadMetadata -R)', value: re, unit: 'entries/s',
    limitName: walkName, limit: best.perSec, ratio: rr, target: '≥ 0.9× walk', meets: rr >= 0.9,
    note: `${(r.resyncMs / 1000).toFixed(2)} s; unchanged ${r.resync.unchanged}`, extra: { ms: r.resyncMs, summary: r.resync },
  });
  if (r.digest) {
    const rd = ratio(re, r.digest.perSec);
    rows.push({
      fig: '2', name: 're-sync vs walk + digest (c)', value: re, unit: 'entries/s',
      limitName: `walk + SHA-1 of each directory's entries + one LMDB get (${r.digest.threads} threads)`, limit: r.digest.perSec, ratio: rd,
      note: `(c) ${(r.digest.ms / 1000).toFixed(2)} s`, extra: { digest: r.digest },
    });
  }
  return rows;
}

// Run alone: `node --import tsx bench/sync.ts --sync 1000x1000 [--limits] [--node-flags '--trace-gc']` — one cold sync and
// re-sync of a generated tree by the compiled server, with its peak RSS split (figure 7).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const spec = argv[argv.indexOf('--sync') + 1] ?? '200x1000';
  const [dirs, files] = spec.split('x').map(Number) as [number, number];
  const log = (s: string): void => console.error(`[sync] ${s}`);
  const tree = ensureTree(dirs, files, log);
  const flags = argv.includes('--node-flags') ? argv[argv.indexOf('--node-flags') + 1]!.split(' ').filter(Boolean) : [];
  const r = await syncRun(tree, { execArgv: flags }, { log, limits: argv.includes('--limits') });
  const mib = (b: number): number => Math.round(b / (1 << 20));
  console.log(JSON.stringify({
    entries: tree.entries, coldMs: Math.round(r.coldMs), coldCpuMs: r.coldCpuMs, coldPerSec: Math.round(tree.entries / (r.coldMs / 1000)),
    resyncMs: Math.round(r.resyncMs), resyncCpuMs: r.resyncCpuMs, peakRssMiB: mib(r.peakRss), atPeakMiB: { anon: mib(r.atPeak.anon), file: mib(r.atPeak.file) },
    peakAnonMiB: mib(r.peakAnon), peakFileMiB: mib(r.peakFile), hwmMiB: mib(r.hwm), compiled: r.compiled,
  }));
}
