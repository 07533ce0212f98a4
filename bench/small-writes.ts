// Small writes over TCP, old build against new, interleaved: writeFile of 4 KB files
// (MUST_CACHE and CACHE_THROUGH, fresh names) at 1 and 16 in flight against a server of this
// checkout and one of `--base DIR` (another checkout, e.g. `git archive <commit> | tar -x -C
// DIR` with node_modules symlinked), each in its own process and data directory on the same
// disk; beside them, each round, the local floor of a durable small write: open + write 4 KB +
// fsync + close + rename of a file, and one durable LMDB commit (a ~200 B put, awaited until
// flushed), at the same depths. Sides alternate order round by round; the table gives the
// median of the rounds, the median of the per-round ratios new ÷ base, and the server CPU per
// write (user + sys from /proc, the warm-up included in both counts).
// Run: node --import tsx bench/small-writes.ts --base DIR [--rounds 5] [--ms 1500] [--rows WT:DEPTH,...] [--bytes 4096] [--dist] [--profile DIR]

import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as lmdb from 'lmdb';
import { StrataClient } from '../src/client/tcp-client.js';
import type { WriteType } from '../src/types.js';
import { atDepth } from './lib/depth.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const base = arg('--base');
const rounds = Number(arg('--rounds') ?? 5);
const ms = Number(arg('--ms') ?? 1500);
const profileDir = arg('--profile');
const dist = process.argv.includes('--dist');
const here = resolve(new URL('..', import.meta.url).pathname);
const work = mkdtempSync(join(tmpdir(), 'strata-small-writes-'));

interface Server { name: string; proc: ChildProcess; pid: number; client: StrataClient }

/** A bench server of the checkout at `root`, in its own process (bench/server-child.ts of that checkout). */
async function startServer(name: string, root: string): Promise<Server> {
  const dataDir = join(work, name);
  // `--dist`: each side's compiled server (its dist/, built beforehand), no tsx in the server process.
  const execArgv = [...(dist ? [] : ['--import', 'tsx']), ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(resolve(profileDir), name)}`] : [])];
  const entry = join(root, dist ? 'bench/lib/server-child-dist.mjs' : 'bench/server-child.ts');
  const proc = fork(entry, ['strata', dataDir, '{}'], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((res, rej) => {
    proc.once('message', (m: { port?: number }) => res(m.port!));
    proc.once('exit', (code) => rej(new Error(`${name} server exited with ${code}`)));
  });
  return { name, proc, pid: proc.pid!, client: await StrataClient.connect(`127.0.0.1:${port}`) };
}

async function stopServer(s: Server): Promise<void> {
  await s.client.close();
  await new Promise<void>((res) => {
    if (s.proc.exitCode !== null) return res();
    const kill = setTimeout(() => s.proc.kill('SIGKILL'), 30_000);
    s.proc.once('exit', () => { clearTimeout(kill); res(); });
    s.proc.send({ cmd: 'exit' });
  });
}

/** CPU (user and sys, ms) a process has used, from /proc/<pid>/stat. */
function cpuMs(pid: number): { user: number; sys: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return { user: Number(rest[11]) * 10, sys: Number(rest[12]) * 10 };
}

const DATA = Buffer.alloc(Number(arg('--bytes') ?? 4096), 7);
let seq = 0;

/** writeFile ops/s of one server at one depth, and its CPU per write. */
async function writes(s: Server, wt: WriteType, depth: number, round: number): Promise<{ ops: number; cpuUs: number; userUs: number }> {
  const dir = `/sw-${wt}-${depth}-${round}`;
  await s.client.createDirectory(dir, { writeType: 'MUST_CACHE', allowExists: true });
  const n0 = seq;
  const c0 = cpuMs(s.pid);
  const r = await atDepth(`${s.name} ${wt}`, depth, () => s.client.writeFile(`${dir}/f${seq++}`, DATA, { writeType: wt }), ms);
  const c1 = cpuMs(s.pid);
  const n = Math.max(1, seq - n0);
  return { ops: r.opsPerSec, cpuUs: ((c1.user + c1.sys - c0.user - c0.sys) * 1000) / n, userUs: ((c1.user - c0.user) * 1000) / n };
}

/** The local floor: open + write 4 KB + fsync + close + rename (no directory fsync). */
async function localFloor(depth: number, round: number): Promise<number> {
  const dir = join(work, 'floor', `${depth}-${round}`);
  mkdirSync(dir, { recursive: true });
  const r = await atDepth('local', depth, async () => {
    const n = seq++;
    const tmp = join(dir, `.t${n}`);
    const fh = await open(tmp, 'wx');
    try { await fh.write(DATA); await fh.sync(); } finally { await fh.close(); }
    await rename(tmp, join(dir, `f${n}`));
  }, ms);
  return r.opsPerSec;
}

/** One durable LMDB commit per call (a put, awaited until its group is flushed), as the store opens it. */
function lmdbFloor(): (depth: number) => Promise<number> {
  const env = lmdb.open({ path: join(work, 'lmdb'), maxDbs: 4, mapSize: 1 << 30, pageSize: 8192, remapChunks: true });
  const db = env.openDB({ name: 't' });
  const value = { path: '/some/dir/of/a/file', fileId: 0, ms: 0, pad: 'x'.repeat(120) };
  return async (depth) => (await atDepth('lmdb', depth, async () => {
    const k = seq++;
    const done = env.transaction(() => { db.putSync(k, { ...value, fileId: k }); });
    const flushed = env.flushed;
    await done;
    await flushed;
  }, ms)).opsPerSec;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const f0 = (n: number): string => Math.round(n).toLocaleString('en-US');

const sides: Server[] = [await startServer('new', here)];
if (base) sides.push(await startServer('base', resolve(base)));
const lmdbAt = lmdbFloor();
// `--rows MUST_CACHE:16,CACHE_THROUGH:1` measures only those (e.g. for a profile of one kind of write).
const rows: Array<{ wt: WriteType; depth: number }> = (arg('--rows') ?? 'MUST_CACHE:1,MUST_CACHE:16,CACHE_THROUGH:1,CACHE_THROUGH:16')
  .split(',').map((r) => ({ wt: r.split(':')[0] as WriteType, depth: Number(r.split(':')[1]) }));
const got = new Map<string, { ops: number[]; cpu: number[]; user: number[]; ratio: number[] }>();
const put = (key: string, ops: number, cpu = NaN, user = NaN): void => {
  const e = got.get(key) ?? { ops: [], cpu: [], user: [], ratio: [] };
  e.ops.push(ops); e.cpu.push(cpu); e.user.push(user); e.ratio.push(NaN);
  got.set(key, e);
};
const loads: number[] = [];
console.log(`new = ${here}${base ? `, base = ${resolve(base)}` : ''}; ${rounds} rounds of ${ms} ms per row; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (let round = 0; round < rounds; round++) {
  loads.push(loadavg()[0]!);
  const order = round % 2 ? [...sides].reverse() : sides;
  for (const { wt, depth } of rows) {
    const r: Record<string, number> = {};
    for (const s of order) {
      const w = await writes(s, wt, depth, round);
      r[s.name] = w.ops;
      put(`${wt} ${depth} ${s.name}`, w.ops, w.cpuUs, w.userUs);
    }
    if (base) got.get(`${wt} ${depth} new`)!.ratio[round] = r.new! / r.base!;
  }
  for (const depth of [1, 16]) {
    put(`local ${depth}`, await localFloor(depth, round));
    put(`lmdb ${depth}`, await lmdbAt(depth));
  }
  console.log(`round ${round + 1}: load ${loadavg()[0]!.toFixed(1)}; ` + rows.map(({ wt, depth }) =>
    `${wt} ${depth}: ${sides.map((s) => f0(got.get(`${wt} ${depth} ${s.name}`)!.ops[round]!)).join(' / ')}`).join('; ') +
    `; floor local ${f0(got.get('local 1')!.ops[round]!)} / ${f0(got.get('local 16')!.ops[round]!)}, lmdb ${f0(got.get('lmdb 1')!.ops[round]!)} / ${f0(got.get('lmdb 16')!.ops[round]!)}`);
}
for (const s of sides) await stopServer(s);

console.log(`\n| writeFile ${DATA.length} B | in flight | new ops/s | ${base ? 'base ops/s | new ÷ base (median of rounds) | ' : ''}server CPU µs/write (user + sys) new${base ? ' / base' : ''} | of it user | ÷ local floor | ÷ LMDB commit floor |`);
console.log(`|---|---:|---:|${base ? '---:|---:|' : ''}---:|---:|---:|---:|`);
for (const { wt, depth } of rows) {
  const n = got.get(`${wt} ${depth} new`)!;
  const b = got.get(`${wt} ${depth} base`);
  const local = median(got.get(`local ${depth}`)!.ops);
  const lm = median(got.get(`lmdb ${depth}`)!.ops);
  console.log(`| ${wt} | ${depth} | ${f0(median(n.ops))} | ${b ? `${f0(median(b.ops))} | ${median(n.ratio).toFixed(2)}× | ` : ''}` +
    `${f0(median(n.cpu))}${b ? ` / ${f0(median(b.cpu))}` : ''} | ${f0(median(n.user))}${b ? ` / ${f0(median(b.user))}` : ''} | ${(median(n.ops) / local).toFixed(2)}× | ${(median(n.ops) / lm).toFixed(2)}× |`);
}
for (const depth of [1, 16]) {
  console.log(`| floor: local open+write+fsync+rename 4 KB | ${depth} | ${f0(median(got.get(`local ${depth}`)!.ops))} | | | | | | |`);
  console.log(`| floor: LMDB durable commit | ${depth} | ${f0(median(got.get(`lmdb ${depth}`)!.ops))} | | | | | | |`);
}
console.log(`1-min load per round: ${loads.map((l) => l.toFixed(1)).join(', ')} → ${loadavg()[0]!.toFixed(1)}`);
rmSync(work, { recursive: true, force: true });
process.exit(0);
