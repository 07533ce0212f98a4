// A/B of the S3 sync (figure S3 of bench/run.ts) against another built checkout, interleaved:
// per round, each side's compiled server (bench/lib/server-child-dist.mjs of its checkout)
// syncs the bench prefix `reps` times (mount, loadMetadata -R, unmount), its wall time and
// the server process's CPU time (utime+stime from /proc) recorded, then the plain paged
// ListObjectsV2 of the prefix with the UFS's light reader (the limit of the figure).
//
//   node --import tsx bench/s3-sync-ab.ts --base /tmp/s3-sync-base [--rounds 4] [--reps 3] [--full] [--profile DIR]

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { StrataClient } from '../src/client/tcp-client.js';
import { ensureS3Server, s3Client, s3Options } from '../test/helpers/s3.js';
import { startChild } from './lib/child.js';
import { BENCH_ROOT } from './lib/tree.js';
import { S3_BUCKET, ensureObjects, listSequential } from './s3.js';
import type { S3Set } from './s3.js';

const argv = process.argv.slice(2);
const arg = (f: string): string | undefined => { const i = argv.indexOf(f); return i >= 0 ? argv[i + 1] : undefined; };
const full = argv.includes('--full');
const rounds = Number(arg('--rounds') ?? 4);
const reps = Number(arg('--reps') ?? (full ? 1 : 3));
const profile = arg('--profile');
const sides: Array<{ name: string; dir: string }> = [];
if (arg('--base')) sides.push({ name: 'base', dir: resolve(arg('--base')!) });
sides.push({ name: 'new', dir: resolve(new URL('..', import.meta.url).pathname) });
const set: S3Set = full ? { prefix: 'f100k', dirs: 1000, keys: 100, objects: 100_000 } : { prefix: 'q10k', dirs: 100, keys: 100, objects: 10_000 };
const log = (s: string): void => console.error(s);

const TICK_MS = 10; // USER_HZ 100
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

const s = await ensureS3Server();
const c = s3Client(s);
await ensureObjects(c, set, log);
await listSequential(c, set.prefix, true);
const uri = `s3://${S3_BUCKET}/${set.prefix}`;
const res: Record<string, { wall: number[]; cpu: number[] }> = {};
const light: number[] = [];
const lightCpu: number[] = [];
for (const x of sides) res[x.name] = { wall: [], cpu: [] };
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? sides : [...sides].reverse();
  for (const side of order) {
    const dataDir = mkdtempSync(join(BENCH_ROOT, 'data-s3ab-'));
    const execArgv = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profile, side.name)}`] : [];
    const srv = await startChild(['strata', dataDir, '{}'], { entry: join(side.dir, 'bench/lib/server-child-dist.mjs'), execArgv });
    const cl = await StrataClient.connect(srv.address);
    try {
      for (let k = 0; k < reps + 1; k++) {
        const at = `/s3-${k}`;
        await cl.mount(at, uri, { options: s3Options(s) });
        const c0 = cpuMs(srv.pid);
        const t0 = performance.now();
        const sum = await cl.loadMetadata(at, { recursive: true });
        const wall = performance.now() - t0;
        const cpu = cpuMs(srv.pid) - c0;
        if (sum.created !== set.objects + set.dirs) throw new Error(`${side.name}: created ${sum.created}`);
        await cl.unmount(at);
        if (k === 0) continue; // the first sync loads the SDK in the worker: untimed
        res[side.name]!.wall.push(wall);
        res[side.name]!.cpu.push(cpu);
        log(`round ${r} ${side.name} rep ${k}: ${wall.toFixed(0)} ms wall, ${cpu} ms server CPU (load ${loadavg()[0]!.toFixed(2)})`);
      }
    } finally {
      await cl.close();
      await srv.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    const u0 = process.cpuUsage();
    const l = await listSequential(c, set.prefix, true);
    const u = process.cpuUsage(u0);
    light.push(l.ms);
    lightCpu.push((u.user + u.system) / 1000);
    log(`round ${r} light-reader listing ${l.ms.toFixed(0)} ms, ${lightCpu.at(-1)!.toFixed(0)} ms CPU`);
  }
}
const med = (a: number[]): number => { const b = [...a].sort((x, y) => x - y); return b[Math.floor(b.length / 2)]!; };
const min = (a: number[]): number => Math.min(...a);
const lBest = min(light);
for (const x of sides) {
  const v = res[x.name]!;
  console.log(`${x.name}: wall best ${min(v.wall).toFixed(0)} median ${med(v.wall).toFixed(0)} ms (${(set.objects / min(v.wall) * 1000).toFixed(0)} obj/s, ${(lBest / min(v.wall)).toFixed(2)}x light listing); CPU best ${min(v.cpu)} median ${med(v.cpu)} ms`);
}
console.log(`light-reader listing: best ${lBest.toFixed(0)} median ${med(light).toFixed(0)} ms (${(set.objects / lBest * 1000).toFixed(0)} obj/s), CPU best ${min(lightCpu).toFixed(0)} median ${med(lightCpu).toFixed(0)} ms; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
c.destroy();
