// Short-circuit reads against the TCP read path, interleaved in one run: a `strata server`
// and two TCP daemons on it (default, and -o fuse.short.circuit=false), a cached file read with
// dd bs=1M through each in turn (mount page cache dropped first), wall time and the CPU time of
// the daemon and of the server per GiB read (from /proc/PID/stat). Run:
// node --import tsx bench/fuse-short-circuit.ts [--mb 512] [--rounds 3]

import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchProcs } from './lib/procs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'strata.mjs');
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const MB = arg('mb', 512);
const ROUNDS = arg('rounds', 3);
const run = new BenchProcs();
const { mounts } = run;

function sh(script: string): number {
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`\`${script}\` failed (${r.status}): ${r.stderr}`);
  return performance.now() - t0;
}

const start = run.start.bind(run);
/** user+system CPU seconds of a process so far. */
async function cpu(pid: number): Promise<number> {
  const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (100/s)
}

const base = await mkdtemp(join(tmpdir(), 'strata-sc-bench-'));
try {
  const data = join(base, 'data');
  await mkdir(join(data, 'ufs'), { recursive: true });
  const on = join(base, 'on');
  const off = join(base, 'off');
  await mkdir(on);
  await mkdir(off);
  const { p: server, m } = await start([process.execPath, BIN, 'server', '--port', '0', '--data-dir', data, '-D', 'cache.capacity=4GB'], /strata listening on (\S+)/);
  const address = m;
  process.env.STRATA_TOKEN = (await readFile(join(data, 'admin.key'), 'utf8')).trim();
  const { p: dOn } = await start([process.execPath, BIN, 'fuse', 'mount', on, '--address', address], /strata fuse mounted/);
  mounts.push(on);
  const { p: dOff } = await start([process.execPath, BIN, 'fuse', 'mount', off, '--address', address, '-o', 'fuse.short.circuit=false'], /strata fuse mounted/);
  mounts.push(off);
  sh(`head -c ${MB << 20} /dev/urandom > ${on}/seq.bin`);
  const rows: string[] = [];
  const gib = MB / 1024;
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, dir, daemon] of [['short-circuit', on, dOn], ['TCP', off, dOff]] as const) {
      sh(`dd if=${dir}/seq.bin iflag=nocache count=0 2>/dev/null`);
      const c0 = await cpu(daemon.pid!);
      const s0 = await cpu(server.pid!);
      const ms = sh(`dd if=${dir}/seq.bin of=/dev/null bs=1M 2>/dev/null`);
      const dc = (await cpu(daemon.pid!)) - c0;
      const sc = (await cpu(server.pid!)) - s0;
      rows.push(`| ${r + 1} | ${name} | ${(MB / (ms / 1000)).toFixed(0)} MiB/s | ${(dc / gib).toFixed(2)} s | ${(sc / gib).toFixed(2)} s |`);
    }
  }
  const load = (await readFile('/proc/loadavg', 'utf8')).trim();
  process.stdout.write([`short-circuit bench ${new Date().toISOString()}, ${MB} MiB cached file, load ${load}`,
    '| round | read path | dd bs=1M | daemon CPU per GiB | server CPU per GiB |', '|---|---|---:|---:|---:|', ...rows].join('\n') + '\n');
} finally {
  await run.stopAll(base);
}
