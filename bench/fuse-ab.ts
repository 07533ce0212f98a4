// FUSE A/B bench: two builds of Strata (this checkout and --base DIR, a built checkout of an
// older commit), each a `strata server` process with `strata fuse mount` daemons over TCP
// (CACHE_THROUGH and MUST_CACHE), beside an `rclone mount` of a local directory, measured in
// alternating rounds (the order of the sides rotates each round) so that a loaded machine
// weighs on all sides alike (the best round of each side is printed too: load only slows). Besides the wall time it reports the CPU time (user + system,
// from /proc) the daemon and the server spent per create and per stat: on a shared machine
// the steadier figure. Figures: 4 KB creates by one writer (python open/write/close), stat of
// FILES files (warm; creates and stats timed inside python), sequential read of a cached MB MiB file with the mount's page cache
// dropped and kept, cold read of a MB MiB file written to the UFS outside Strata.
// Run as root: node --import tsx bench/fuse-ab.ts --base DIR [--rounds 3] [--creates 300]
// [--files 10000] [--mb 128] [--only creates,stat,seq,cold] [--json FILE] [--opts-new a=b,c=d]
// [--opts-base a=b] (extra -o options of that side's daemons)
// Every mount is unmounted at the end, also on failure.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMsOf as cpuMs } from './lib/child.js';
import { BenchProcs, pyCreateLoop, pyStatLoop, sh as shOut } from './lib/procs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const num = (name: string, def: number): number => Number(argOf(name) ?? def);
const BASE = argOf('base');
const ROUNDS = num('rounds', 3);
const CREATES = num('creates', 300);
const FILES = num('files', 10_000);
const MB = num('mb', 128);
const ONLY = new Set((argOf('only') ?? 'creates,stat,seq,cold').split(','));
const JSON_OUT = argOf('json');
/** Extra `-o` options of each side's daemons (--base may be this checkout, to compare options). */
const OPTS: Record<string, string[]> = {
  new: argOf('opts-new')?.split(',') ?? [],
  base: argOf('opts-base')?.split(',') ?? [],
};
const log = (m: string): void => { process.stderr.write(`[fuse-ab] ${m}\n`); };
const run = new BenchProcs();
const { procs, mounts } = run;
const start = run.start.bind(run);

const sh = (script: string): number => shOut(script).ms;
/** The ms a python loop printed last (timed inside python: its start is no part of the figure). */
const pyMs = (script: string): number => Number(shOut(script).out.trim().split('\n').pop());



async function waitMounted(dir: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (spawnSync('mountpoint', ['-q', dir]).status === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${dir} not mounted`);
}

interface Side {
  name: string;
  /** Mount points: CACHE_THROUGH (the default) and MUST_CACHE; rclone has one. */
  ct: string;
  mc: string;
  /** The local directory under the mounts. */
  ufs: string;
  /** The processes whose CPU counts: the daemons of ct and mc, and the server. */
  daemonCt?: number;
  daemonMc?: number;
  server?: number;
}

async function strataSide(name: string, root: string, base: string): Promise<Side> {
  const bin = join(root, 'bin', 'strata.mjs');
  const data = join(base, `data-${name}`);
  const ufs = join(data, 'ufs');
  await mkdir(ufs, { recursive: true });
  const server = await start([process.execPath, bin, 'server', '--port', '0', '--data-dir', data, '-D', 'cache.capacity=4GB'], /strata listening on (\S+)/);
  process.env.STRATA_TOKEN = (await readFile(join(data, 'admin.key'), 'utf8')).trim();
  const ct = join(base, `${name}-ct`);
  const mc = join(base, `${name}-mc`);
  await mkdir(ct);
  await mkdir(mc);
  const o = (OPTS[name] ?? []).flatMap((x) => ['-o', x]);
  const dct = await start([process.execPath, bin, 'fuse', 'mount', ct, '--address', server.m, ...o], /strata fuse mounted/);
  mounts.push(ct);
  const dmc = await start([process.execPath, bin, 'fuse', 'mount', mc, '--address', server.m, '-o', 'write.type=MUST_CACHE', ...o], /strata fuse mounted/);
  mounts.push(mc);
  return { name, ct, mc, ufs, daemonCt: dct.p.pid, daemonMc: dmc.p.pid, server: server.p.pid };
}

type Figure = 'create-ct' | 'create-mc' | 'stat' | 'seq' | 'seq-kept' | 'cold';
interface Sample { side: string; figure: Figure; round: number; value: number; unit: string; cpuDaemonMs?: number; cpuServerMs?: number; load: string }

const loadNow = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function main(): Promise<void> {
  if (!BASE) throw new Error('--base DIR (a built checkout of the commit to compare with) is required');
  const base = await mkdtemp(join(tmpdir(), 'fuse-perf-ab-'));
  const samples: Sample[] = [];
  try {
    const sides = [await strataSide('new', ROOT, base), await strataSide('base', BASE, base)];
    const rcDir = join(base, 'rclone-ufs');
    const rcMnt = join(base, 'rclone');
    await mkdir(rcDir);
    await mkdir(rcMnt);
    const rclone: Side = { name: 'rclone', ct: rcMnt, mc: rcMnt, ufs: rcDir };
    // Trees and cold files in every UFS before rclone mounts (its directory cache would hide later ones).
    const per = 1000;
    for (const s of [...sides, rclone]) {
      const tree = join(s.ufs, 'tree');
      for (let d = 0; d < Math.ceil(FILES / per); d++) {
        await mkdir(join(tree, `d${d}`), { recursive: true });
        await Promise.all(Array.from({ length: Math.min(per, FILES - d * per) }, (_, i) => writeFile(join(tree, `d${d}`, `f${i}`), 'x')));
      }
      if (ONLY.has('cold')) for (let r = 0; r < ROUNDS; r++) sh(`head -c ${MB << 20} /dev/urandom > ${s.ufs}/cold-${r}.bin`);
    }
    for (const s of sides) if (ONLY.has('seq')) sh(`head -c ${MB << 20} /dev/urandom > ${s.ct}/seq.bin`); // written through Strata: cached
    if (ONLY.has('seq')) sh(`head -c ${MB << 20} /dev/urandom > ${rcDir}/seq.bin`);
    const rc = spawn('rclone', ['mount', rcDir, rcMnt, '--config', '/dev/null', '--vfs-cache-mode', 'off'], { stdio: 'ignore' });
    procs.push(rc);
    mounts.push(rcMnt);
    await waitMounted(rcMnt);
    rclone.daemonCt = rclone.daemonMc = rc.pid;
    // Metadata warm on every side (Strata loads the tree from its UFS on first access).
    for (const s of [...sides, rclone]) sh(`ls -lR ${s.ct}/tree > /dev/null`);
    log(`mounted ${sides.map((s) => `${s.name}: ${s.ct}`).join(', ')}, rclone: ${rcMnt}; load ${loadNow()}`);

    const statScript = (m: string): string => pyStatLoop(m, FILES, per);
    const createScript = (m: string, dir: string): string => pyCreateLoop(m, dir, CREATES);
    const all = [...sides, rclone];
    for (let r = 0; r < ROUNDS; r++) {
      const order = all.map((_, i) => all[(i + r) % all.length]!);
      for (const s of order) {
        const measure = (figure: Figure, daemon: number | undefined, run: () => number, toValue: (ms: number) => number, unit: string): void => {
          const d0 = daemon ? cpuMs(daemon) : 0;
          const s0 = s.server ? cpuMs(s.server) : 0;
          const ms = run();
          const n = figure === 'stat' ? FILES : figure.startsWith('create') ? CREATES : 1;
          samples.push({
            side: s.name, figure, round: r, value: toValue(ms), unit,
            ...(daemon ? { cpuDaemonMs: (cpuMs(daemon) - d0) / n } : {}),
            ...(s.server ? { cpuServerMs: (cpuMs(s.server) - s0) / n } : {}),
            load: loadNow(),
          });
        };
        const perSec = (n: number) => (ms: number): number => n / (ms / 1000);
        const mibps = (ms: number): number => MB / (ms / 1000);
        if (ONLY.has('creates')) {
          measure('create-ct', s.daemonCt, () => pyMs(createScript(s.ct, `c-ct-${r}`)), perSec(CREATES), 'files/s');
          if (s !== rclone) measure('create-mc', s.daemonMc, () => pyMs(createScript(s.mc, `c-mc-${r}`)), perSec(CREATES), 'files/s');
        }
        if (ONLY.has('stat')) measure('stat', s.daemonCt, () => pyMs(statScript(s.ct)), perSec(FILES), 'stats/s');
        if (ONLY.has('seq')) {
          const f = `${s.ct}/seq.bin`;
          measure('seq', s.daemonCt, () => { sh(`dd if=${f} iflag=nocache count=0 2>/dev/null`); return sh(`dd if=${f} of=/dev/null bs=1M 2>/dev/null`); }, mibps, 'MiB/s');
          measure('seq-kept', s.daemonCt, () => sh(`dd if=${f} of=/dev/null bs=1M 2>/dev/null`), mibps, 'MiB/s');
          if (s === rclone) {
            sh(`cat ${rcDir}/seq.bin > /dev/null`);
            const local = sh(`dd if=${rcDir}/seq.bin of=/dev/null bs=1M 2>/dev/null`);
            samples.push({ side: 'local', figure: 'seq', round: r, value: mibps(local), unit: 'MiB/s', load: loadNow() });
          }
        }
        if (ONLY.has('cold')) measure('cold', s.daemonCt, () => sh(`dd if=${s.ct}/cold-${r}.bin of=/dev/null bs=1M 2>/dev/null`), mibps, 'MiB/s');
      }
      log(`round ${r + 1}/${ROUNDS} done, load ${loadNow()}`);
    }
    // Per figure and side: the median over rounds, and its CPU per operation.
    const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
    const figures = [...new Set(samples.map((x) => x.figure))];
    const lines = [`FUSE A/B ${new Date().toISOString()} · ${ROUNDS} rounds · load ${loadNow()}`, '| figure | side | median | best | rounds | daemon CPU/op | server CPU/op |', '|---|---|---:|---:|---|---:|---:|'];
    for (const f of figures) {
      for (const side of ['new', 'base', 'rclone', 'local']) {
        const xs = samples.filter((x) => x.figure === f && x.side === side);
        if (!xs.length) continue;
        const cpu = (k: 'cpuDaemonMs' | 'cpuServerMs'): string => {
          const v = xs.map((x) => x[k]).filter((x): x is number => x !== undefined);
          if (!v.length) return '—';
          const m = median(v);
          return f === 'stat' || f.startsWith('create') ? `${(m * 1000).toFixed(0)} µs` : `${m.toFixed(0)} ms`;
        };
        lines.push(`| ${f} | ${side} | ${median(xs.map((x) => x.value)).toFixed(0)} ${xs[0]!.unit} | ${Math.max(...xs.map((x) => x.value)).toFixed(0)} | ${xs.map((x) => x.value.toFixed(0)).join(' / ')} | ${cpu('cpuDaemonMs')} | ${cpu('cpuServerMs')} |`);
      }
    }
    process.stdout.write(lines.join('\n') + '\n');
    if (JSON_OUT) await writeFile(JSON_OUT, JSON.stringify(samples, null, 2));
  } finally {
    await run.stopAll(base);
  }
}

await main();
