// FUSE bench: a `strata server` process and a `strata fuse mount` daemon over TCP, beside an
// `rclone mount` of the same local directory (the server's root UFS), in one run:
// sequential read of a cached file (dd bs=1M) against reading the UFS file from local disk,
// stat of 10k files, ls -lR of the tree, small-file creates (4 KB, CACHE_THROUGH and
// MUST_CACHE), 8 parallel readers of different files. Run: node --import tsx bench/fuse.ts
// [--seq-mb 256] [--files 10000] [--creates 300] [--skip-read] [--skip-creates] [--skip-par]
// [--no-write]. Prints a table and writes bench/results/fuse-<date>.json (unless --no-write).
// Every mount is unmounted at the end, also on failure.

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchProcs, pyCreateLoop, pyStatLoop, sh } from './lib/procs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'strata.mjs');
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SEQ_MB = arg('seq-mb', 256);
const FILES = arg('files', 10_000);
const CREATES = arg('creates', 300);
const PAR_MB = arg('par-mb', 32);
const flag = (name: string): boolean => process.argv.includes(`--${name}`);
const SKIP_READ = flag('skip-read');
const SKIP_CREATES = flag('skip-creates');
const SKIP_PAR = flag('skip-par');

const run = new BenchProcs();
const { procs, mounts } = run;
const start = async (args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<string> => (await run.start(args, ready, env)).m;
const log = (m: string): void => { process.stderr.write(`[fuse bench] ${m}\n`); };



async function waitMounted(dir: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (sh(`grep -c " ${dir} " /proc/mounts || true`).out.trim() !== '0') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${dir} not mounted`);
}

const mbps = (bytes: number, ms: number): number => bytes / (1 << 20) / (ms / 1000);
const rate = (n: number, ms: number): number => n / (ms / 1000);

interface Row { figure: string; strata: string; peer: string; limit?: string; ratio: string; note?: string }

async function main(): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'strata-fuse-bench-'));
  const data = join(base, 'data');
  const ufs = join(data, 'ufs');
  const mS = join(base, 'strata');
  const mM = join(base, 'strata-mc');
  const mR = join(base, 'rclone');
  const mE = join(base, 'strata-embedded');
  const mX = join(base, 'strata-noxattr');
  await mkdir(ufs, { recursive: true });
  for (const d of [mS, mM, mR, mE, mX]) await mkdir(d);
  const rows: Row[] = [];
  try {
    const address = await start([process.execPath, BIN, 'server', '--port', '0', '--data-dir', data, '-D', 'cache.capacity=4GB'], /strata listening on (\S+)/);
    log(`server ${address}`);
    // The server writes its admin credential on first start; the mounts authenticate with it.
    process.env.STRATA_TOKEN = (await readFile(join(data, 'admin.key'), 'utf8')).trim();
    await start([process.execPath, BIN, 'fuse', 'mount', mS, '--address', address], /strata fuse mounted/);
    mounts.push(mS);
    await start([process.execPath, BIN, 'fuse', 'mount', mM, '--address', address, '-o', 'write.type=MUST_CACHE'], /strata fuse mounted/);
    mounts.push(mM);
    // Without extended attributes (-o fuse.xattrs=false): the kernel stops asking, as with rclone.
    await start([process.execPath, BIN, 'fuse', 'mount', mX, '--address', address, '-o', 'fuse.xattrs=false'], /strata fuse mounted/);
    mounts.push(mX);
    // An embedded daemon (its own Coordinator and data directory): reads of cached files go
    // straight to the block files.
    await start([process.execPath, BIN, 'fuse', 'mount', mE, '--embedded', '--data-dir', join(base, 'data-embedded'), '-D', 'cache.capacity=4GB'], /strata fuse mounted/);
    mounts.push(mE);

    // The data, written before rclone mounts (its directory cache would hide later changes for a while).
    const tree = join(ufs, 'tree');
    await mkdir(tree);
    const per = 1000;
    for (let d = 0; d < Math.ceil(FILES / per); d++) {
      await mkdir(join(tree, `d${d}`));
      await Promise.all(Array.from({ length: Math.min(per, FILES - d * per) }, (_, i) => writeFile(join(tree, `d${d}`, `f${i}`), 'x')));
    }
    if (!SKIP_READ) {
      sh(`head -c ${SEQ_MB << 20} /dev/urandom > ${mS}/seq.bin`); // written through Strata: cached (CACHE_THROUGH)
      sh(`cp ${mS}/seq.bin ${mE}/seq.bin`);
      // Written to the UFS by another program: not in Strata's cache (a cold read loads it).
      sh(`head -c ${SEQ_MB << 20} /dev/urandom > ${ufs}/cold.bin`);
    }
    if (!SKIP_PAR) {
      sh(`mkdir -p ${mS}/par && for i in 0 1 2 3 4 5 6 7; do head -c ${PAR_MB << 20} /dev/urandom > ${mS}/par/p$i; done`);
      sh(`mkdir -p ${mE}/par && cp ${mS}/par/* ${mE}/par/`);
    }
    const rc = spawn('rclone', ['mount', ufs, mR, '--config', '/dev/null', '--vfs-cache-mode', 'off'], { stdio: 'ignore', env: { ...process.env, AWS_CA_BUNDLE: '' } });
    procs.push(rc);
    mounts.push(mR);
    await waitMounted(mR);
    const rcloneVersion = sh('rclone version | head -1').out.trim();
    log(`mounted: strata at ${mS} and ${mM}, ${rcloneVersion} at ${mR}`);

    // 1. Sequential read of a cached file.
    // The mount's pages of the file are dropped first (dd iflag=nocache count=0: fadvise
    // DONTNEED), so every read goes through the daemon; the local file stays in the page cache
    // (as the daemon's block files are): "local disk" is what the kernel serves locally.
    const bytes = SEQ_MB << 20;
    if (!SKIP_READ) {
    const dd = (f: string): number => {
      sh(`dd if=${f} iflag=nocache count=0 2>/dev/null`);
      return sh(`dd if=${f} of=/dev/null bs=1M 2>&1`).ms;
    };
    sh(`cat ${ufs}/seq.bin > /dev/null`);
    const local = Math.min(dd(`${ufs}/seq.bin`), sh(`dd if=${ufs}/seq.bin of=/dev/null bs=1M 2>&1`).ms);
    const strata = dd(`${mS}/seq.bin`);
    const embedded = dd(`${mE}/seq.bin`);
    const strata2 = sh(`dd if=${mS}/seq.bin of=/dev/null bs=1M 2>&1`).ms;
    const rcl = dd(`${mR}/seq.bin`);
    const coldS = dd(`${mS}/cold.bin`);
    const coldR = dd(`${mR}/cold.bin`);
    rows.push({ figure: `sequential read of a cached ${SEQ_MB} MiB file (dd bs=1M, the mount's page cache dropped), over TCP`, strata: `${mbps(bytes, strata).toFixed(0)} MiB/s`,
      peer: `rclone ${mbps(bytes, rcl).toFixed(0)} MiB/s`, limit: `local disk ${mbps(bytes, local).toFixed(0)} MiB/s`,
      ratio: `${(local / strata).toFixed(2)}× local (target ≥ 0.5×)`,
      note: `read again with the kernel page cache kept (auto_cache): ${mbps(bytes, strata2).toFixed(0)} MiB/s` });
    rows.push({ figure: `cold read of a ${SEQ_MB} MiB file written to the UFS outside Strata (dd bs=1M, first read through the mount)`, strata: `${mbps(bytes, coldS).toFixed(0)} MiB/s`,
      peer: `rclone ${mbps(bytes, coldR).toFixed(0)} MiB/s`, ratio: `${(coldR / coldS).toFixed(2)}× rclone (target ≥ 1×)`, note: 'both read the same UFS file (in the page cache); Strata also caches it' });
    rows.push({ figure: `same, embedded mount (direct reads of the block files)`, strata: `${mbps(bytes, embedded).toFixed(0)} MiB/s`,
      peer: `rclone ${mbps(bytes, rcl).toFixed(0)} MiB/s`, limit: `local disk ${mbps(bytes, local).toFixed(0)} MiB/s`,
      ratio: `${(local / embedded).toFixed(2)}× local (target ≥ 0.5×)` });
    }

    // 2/3. stat of N files and ls -lR, on a tree written to the UFS by another program (before the mounts).
    // Timed inside python (the loop only): the interpreter's start, tens of ms when quiet and
    // over a second on a loaded machine, is no part of a stat; the wall time is in the note.
    const statScript = (m: string): string => pyStatLoop(m, FILES, per);
    const timed = (script: string): { ms: number; wall: number } => {
      const r = sh(script);
      return { ms: Number(r.out.trim().split('\n').pop()), wall: r.ms };
    };
    // Strata loads the tree's metadata on first access; a first ls -R pays for that (reported apart).
    const firstLs = sh(`set -o pipefail; ls -lR ${mS}/tree | wc -l`).ms;
    const lsR1 = sh(`set -o pipefail; ls -lR ${mR}/tree | wc -l`).ms;
    const statS = timed(statScript(mS));
    const statR = timed(statScript(mR));
    rows.push({ figure: `stat of ${FILES} files (python os.stat, names known; the loop timed in python)`, strata: `${rate(FILES, statS.ms).toFixed(0)} stats/s`,
      peer: `rclone ${rate(FILES, statR.ms).toFixed(0)} stats/s`, ratio: `${(statR.ms / statS.ms).toFixed(2)}× rclone (target ≥ 2×)`,
      note: `both mounts listed the tree once before (metadata warm); with python's start: ${rate(FILES, statS.wall).toFixed(0)} / ${rate(FILES, statR.wall).toFixed(0)} stats/s = ${(statR.wall / statS.wall).toFixed(2)}×` });
    const lsS = sh(`set -o pipefail; ls -lR ${mS}/tree | wc -l`).ms;
    sh(`set -o pipefail; ls -lR ${mX}/tree | wc -l`);
    const lsX = sh(`set -o pipefail; ls -lR ${mX}/tree | wc -l`).ms;
    const lsR = sh(`set -o pipefail; ls -lR ${mR}/tree | wc -l`).ms;
    rows.push({ figure: `ls -lR of ${FILES} files`, strata: `${rate(FILES, lsS).toFixed(0)} entries/s`, peer: `rclone ${rate(FILES, Math.min(lsR, lsR1)).toFixed(0)} entries/s`,
      ratio: `${(Math.min(lsR, lsR1) / lsS).toFixed(2)}× rclone (target ≥ 2×)`, note: `Strata's first ls -lR (metadata loaded from the UFS): ${rate(FILES, firstLs).toFixed(0)} entries/s` });
    rows.push({ figure: `ls -lR of ${FILES} files, mount with -o fuse.xattrs=false`, strata: `${rate(FILES, lsX).toFixed(0)} entries/s`, peer: `rclone ${rate(FILES, Math.min(lsR, lsR1)).toFixed(0)} entries/s`,
      ratio: `${(Math.min(lsR, lsR1) / lsX).toFixed(2)}× rclone (target ≥ 2×)`, note: 'no user.strata.* attributes on this mount: the kernel asks no xattr after the first ENOSYS' });

    // 4. Small-file creates.
    if (!SKIP_CREATES) {
    const creates = (m: string, dir: string): string => pyCreateLoop(m, dir, CREATES);
    const cS = timed(creates(mS, 'c-ct'));
    const cM = timed(creates(mM, 'c-mc'));
    const cR = timed(creates(mR, 'c-rc'));
    rows.push({ figure: `small-file creates, 4 KB, CACHE_THROUGH (${CREATES} files, one writer; the loop timed in python)`, strata: `${rate(CREATES, cS.ms).toFixed(0)} files/s`,
      peer: `rclone ${rate(CREATES, cR.ms).toFixed(0)} files/s`, ratio: `${(cR.ms / cS.ms).toFixed(2)}× rclone (target ≥ 1×)`,
      note: `with python's start and mkdir: ${(cR.wall / cS.wall).toFixed(2)}×` });
    rows.push({ figure: `small-file creates, 4 KB, MUST_CACHE (${CREATES} files, one writer; the loop timed in python)`, strata: `${rate(CREATES, cM.ms).toFixed(0)} files/s`,
      peer: `rclone ${rate(CREATES, cR.ms).toFixed(0)} files/s`, ratio: `${(cR.ms / cM.ms).toFixed(2)}× rclone (target ≥ 1×)`,
      note: `with python's start and mkdir: ${(cR.wall / cM.wall).toFixed(2)}×` });

    // 5. 8 parallel readers of different (cached) files.
    }
    if (!SKIP_PAR) {
    const par = (m: string) => `for i in 0 1 2 3 4 5 6 7; do dd if=${m}/par/p$i of=/dev/null bs=1M 2>/dev/null & done; wait`;
    const drop = (m: string) => sh(`for i in 0 1 2 3 4 5 6 7; do dd if=${m}/par/p$i iflag=nocache count=0 2>/dev/null; done`);
    drop(mS);
    const pS = sh(par(mS)).ms;
    drop(mE);
    const pE = sh(par(mE)).ms;
    drop(mR);
    const pR = sh(par(mR)).ms;
    const pL = sh(par(ufs)).ms;
    rows.push({ figure: `8 parallel readers of different ${PAR_MB} MiB files (aggregate, mount page caches dropped), over TCP`, strata: `${mbps(8 * (PAR_MB << 20), pS).toFixed(0)} MiB/s`,
      peer: `rclone ${mbps(8 * (PAR_MB << 20), pR).toFixed(0)} MiB/s`, limit: `local disk ${mbps(8 * (PAR_MB << 20), pL).toFixed(0)} MiB/s`,
      ratio: `${(pR / pS).toFixed(2)}× rclone`, note: `embedded mount: ${mbps(8 * (PAR_MB << 20), pE).toFixed(0)} MiB/s` });
    }

    const load = sh('cat /proc/loadavg').out.trim();
    const lines = [
      `FUSE bench ${new Date().toISOString()} · ${rcloneVersion} · load ${load}`,
      '| figure | strata mount | rclone mount | limit | ratio | note |', '|---|---:|---:|---:|---|---|',
      ...rows.map((r) => `| ${r.figure} | ${r.strata} | ${r.peer} | ${r.limit ?? '—'} | ${r.ratio} | ${r.note ?? ''} |`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    if (!flag('no-write')) await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
    if (!flag('no-write')) await writeFile(join(ROOT, 'bench', 'results', `fuse-${new Date().toISOString().slice(0, 10)}.json`), JSON.stringify({ load, rows }, null, 2));
  } finally {
    await run.stopAll(base);
  }
}

await main();
