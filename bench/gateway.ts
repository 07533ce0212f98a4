// Bench of the S3 gateway beside radosgw on the same machine, same bytes, same client: hot GET
// of a 64 MiB object (and reading the file from local disk), 4 KiB GETs and PUTs at 16 in
// flight, ListObjectsV2 of a 10,000-key prefix (10 pages). The load comes from a separate
// process (bench/lib/s3-load.ts: plain node:http, SigV4 of its own), so the figures measure
// the servers. Robust on a loaded machine: the sides alternate round by round per figure
// (A B, B A, …), each figure is the median of the rounds, the server CPU time (user+sys) per
// operation is printed beside the wall figure, and the load average beside each round.
// `node --import tsx bench/gateway.ts [--rounds N] [--figures get,getc,small,put,list] [--base DIR] [--env SIDE=K=V,...] [--profile DIR] [--only gateway|radosgw] [--list-keys N]`
// `--base DIR` adds a second strata server built from another tree (e.g. /tmp/base-perf-gateway,
// `git archive main`, built, node_modules linked) as the side `base`, for an interleaved before/after.

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ensureS3Server } from '../test/helpers/s3.js';
import type { Job, JobResult, Target } from './lib/s3-load.js';
import { printSummary, profileFiles, summarise } from './profile-top.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LOAD = join(ROOT, 'bench/lib/s3-load.ts');
const log = (s: string): void => console.error(`[gateway bench] ${s}`);
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const profDir = flag('--profile');
const only = flag('--only');
const listKeys = Number(flag('--list-keys') ?? 10_000);
const rounds = Number(flag('--rounds') ?? 5);
const baseDir = flag('--base');
/** `--env NAME=K=V[,K=V]`: environment of one strata side's server (e.g. gateway=UV_THREADPOOL_SIZE=16), for an A/B of a setting. */
const sideEnv = new Map<string, Record<string, string>>();
for (let i = 0; i < args.length; i++) {
  if (args[i] !== '--env') continue;
  const [side, ...kv] = args[i + 1]!.split('=');
  const env = sideEnv.get(side!) ?? {};
  for (const pair of kv.join('=').split(',')) { const j = pair.indexOf('='); env[pair.slice(0, j)] = pair.slice(j + 1); }
  sideEnv.set(side!, env);
}
/** Figures to run (get, getc = the hot GET by curl, small, put, list; default all). */
const figs = new Set((flag('--figures') ?? 'get,getc,small,put,list').split(','));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}

/** Run one job in a load-driver process. */
async function drive(job: Job): Promise<JobResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', LOAD, JSON.stringify(job)],
    { cwd: ROOT, maxBuffer: 1 << 20, timeout: 900_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as JobResult;
}

/** CPU time (user+sys, ms) of processes so far, from /proc. */
function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      ticks += Number(rest[11]) + Number(rest[12]);
    } catch { /* gone */ }
  }
  return ticks * 10; // USER_HZ 100
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Side { name: string; target: Target; pids: () => number[]; tcpAddress?: string; token?: string }
/** One round of one figure on one side. */
interface Sample { value: number; cpuMsPerOp: number; clientCpuMsPerOp: number; load: number }

/** A strata server with the S3 gateway, from the tree `root`, in its own process. */
async function startStrata(root: string, name: string): Promise<{ proc: ReturnType<typeof spawn>; dataDir: string; s3Port: number; tcpAddress: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), `strata-gw-bench-${name}-`));
  const s3Port = await freePort();
  const prof = profDir && name === 'gateway' ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const proc = spawn(process.execPath, [...prof, join(root, 'bin/strata.mjs'), 'server', '--port', '0',
    '--data-dir', dataDir, '--s3-port', String(s3Port), '-D', 'cache.capacity=2GB'],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, STRATA_LOG_LEVEL: 'warn', ...sideEnv.get(name) } });
  const tcpAddress = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => { out += d; const m = /strata listening on (\S+)/.exec(out); if (m) resolve(m[1]!); });
    proc.once('exit', (c) => reject(new Error(`${name} server exited ${c}`)));
  });
  return { proc, dataDir, s3Port, tcpAddress };
}

async function main(): Promise<void> {
  await promisify(execFile)(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT });
  const rgw = await ensureS3Server();
  const s3Dir = process.env.STRATA_S3_DIR ?? '/tmp/strata-s3';
  const rgwPids = (): number[] => ['client.rgw', 'osd.0', 'mon.a'].map((n) => join(s3Dir, 'run', `${n}.pid`)).filter(existsSync)
    .map((f) => Number(readFileSync(f, 'utf8').trim()));
  if (profDir) mkdirSync(profDir, { recursive: true });
  const servers = [{ name: 'gateway', root: ROOT }, ...(baseDir ? [{ name: 'base', root: baseDir }] : [])]
    .filter((s) => !only || s.name === only || (only === 'gateway' && s.name === 'base'));
  const started: Array<Awaited<ReturnType<typeof startStrata>>> = [];
  const sides: Side[] = [];
  try {
    for (const s of servers) {
      const st = await startStrata(s.root, s.name);
      started.push(st);
      const [id, secret] = readFileSync(join(st.dataDir, 'admin.key'), 'utf8').trim().split(':') as [string, string];
      sides.push({ name: s.name, target: { endpoint: `http://127.0.0.1:${st.s3Port}`, accessKeyId: id, secretAccessKey: secret, region: 'us-east-1', bucket: 'bench' },
        pids: () => [st.proc.pid!], tcpAddress: st.tcpAddress, token: `${id}:${secret}` });
    }
    if (!only || only === 'radosgw') {
      sides.push({ name: 'radosgw', target: { endpoint: rgw.endpoint, accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey, region: rgw.region,
        bucket: `gwbench-${Date.now().toString(36)}` }, pids: rgwPids });
    }
    await run(sides, started[0]?.dataDir ?? mkdtempSync(join(tmpdir(), 'strata-gw-bench-')));
  } finally {
    for (const st of started) {
      st.proc.kill('SIGTERM');
      await new Promise((r) => st.proc.once('exit', r));
      rmSync(st.dataDir, { recursive: true, force: true });
    }
  }
  if (profDir) {
    await new Promise((r) => setTimeout(r, 500));
    for (const f of profileFiles(profDir)) console.log(printSummary(summarise(f, 40)));
  }
}

async function run(sides: Side[], scratch: string): Promise<void> {
  const samples: Record<string, Record<string, Sample[]>> = {};
  const smallKeys = Array.from({ length: 200 }, (_, i) => `small/${i}`);
  /** One sample: a job on one side, with the CPU its server processes spent. */
  const measure = async (fig: string, s: Side, job: Job, value: (r: JobResult) => number): Promise<void> => {
    const pids = s.pids();
    const c0 = cpuMs(pids);
    const r = await drive(job);
    const cpu = cpuMs(pids) - c0;
    const f: Sample = { value: value(r), cpuMsPerOp: pids.length ? cpu / r.ops : NaN, clientCpuMsPerOp: job.kind === 'getCurl' ? NaN : (r.clientCpuMs ?? NaN) / r.ops, load: loadavg()[0]! };
    ((samples[fig] ??= {})[s.name] ??= []).push(f);
    log(`${s.name}: ${fig} = ${f.value.toFixed(3)}, server CPU ${f.cpuMsPerOp.toFixed(2)} ms/op, client CPU ${f.clientCpuMsPerOp.toFixed(2)} ms/op (load ${f.load.toFixed(1)})`);
  };
  /** Rounds of one figure, the sides alternating: A B C, C B A, A B C, … */
  const interleave = async (fig: string, list: Side[], job: (s: Side, round: number) => Job, value: (r: JobResult) => number): Promise<void> => {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? list : [...list].reverse();
      for (const s of order) {
        // The test radosgw is shared with other processes: make sure it (still) runs.
        if (s.name === 'radosgw') await promisify(execFile)(join(ROOT, 'scripts/s3-server.sh'), ['start'], { timeout: 900_000 });
        await measure(fig, s, job(s, r), value);
      }
    }
  };
  const big = randomBytes(64 << 20);
  const local = join(scratch, 'local-64m.bin');
  writeFileSync(local, big);
  for (const s of sides) {
    const t = s.target;
    if (s.name === 'radosgw') await promisify(execFile)(join(ROOT, 'scripts/s3-server.sh'), ['start'], { timeout: 900_000 });
    const sdk = new S3Client({ endpoint: t.endpoint, region: t.region, forcePathStyle: true,
      credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    log(`${s.name}: put 64 MiB, 200 x 4 KiB, ${listKeys} keys`);
    await sdk.send(new CreateBucketCommand({ Bucket: t.bucket }));
    await sdk.send(new PutObjectCommand({ Bucket: t.bucket, Key: 'big/64m.bin', Body: big }));
    sdk.destroy();
    await drive({ kind: 'get', target: t, keys: ['big/64m.bin'], n: 1, inFlight: 1 }); // warm: Strata caches it, radosgw has it in memory
    await drive({ kind: 'put', target: t, prefix: 'small/', size: 4096, n: 200, inFlight: 16 });
    await drive({ kind: 'get', target: t, keys: smallKeys, n: 200, inFlight: 16 });
    await drive({ kind: 'put', target: t, prefix: 'list/k', size: 0, n: listKeys, inFlight: 32 });
  }
  // The local-disk reference is a side of its own for the hot GET (same driver process).
  const localSide: Side = { name: 'local', target: sides[0]!.target, pids: () => [] };
  // The ceiling: a plain node:http server streaming the same file from the page cache, same client.
  const plain = figs.has('get') || figs.has('getc') ? await startPlainHttp(local) : undefined;
  const plainSide: Side[] = plain ? [{ name: 'node http', target: { ...sides[0]!.target, endpoint: plain.endpoint }, pids: () => [plain.proc.pid!] }] : [];
  try {
    await hotGets([...sides, ...plainSide], localSide, local);
  } finally {
    if (plain) { plain.proc.kill('SIGTERM'); await new Promise((r) => plain.proc.once('exit', r)); }
  }
  await otherFigures();
  printTable(samples, sides);

  async function hotGets(list: Side[], localSide: Side, local: string): Promise<void> {
    if (figs.has('get')) await interleave('hot GET 64 MiB (MiB/s)', [...list, localSide], (s) => s.name === 'local'
      ? { kind: 'readLocal', path: local, repeat: 3 }
      : { kind: 'get', target: s.target, keys: ['big/64m.bin'], n: 1, inFlight: 1, repeat: 3 },
    (r) => 64 / median(r.times!));
    // The same hot GET by curl into /dev/null (the local reference: curl of file://): the node:http
    // client above costs about as much CPU per byte as the servers, so it caps both sides.
    if (figs.has('getc')) await interleave('hot GET 64 MiB by curl (MiB/s)', [...list, localSide], (s) => s.name === 'local'
      ? { kind: 'getCurl', target: s.target, file: local, repeat: 3 }
      : { kind: 'getCurl', target: s.target, key: 'big/64m.bin', repeat: 3 },
    (r) => 64 / median(r.times!));
  }

  async function otherFigures(): Promise<void> {
    if (figs.has('small')) await interleave('4 KiB GET, 16 in flight (ops/s)', sides, (s) => ({ kind: 'get', target: s.target, keys: smallKeys, n: 2000, inFlight: 16 }),
      (r) => r.ops / r.seconds);
    // The same 4 KiB writes as writeFile over the TCP protocol (no gateway): what the coordinator's write path allows.
    const tcpSides: Side[] = sides.filter((s) => s.tcpAddress).map((s) => ({ ...s, name: `${s.name} TCP writeFile` }));
    if (figs.has('put')) await interleave('4 KiB PUT, 16 in flight (ops/s)', [...sides, ...tcpSides], (s, r) => s.name.endsWith('TCP writeFile')
      ? { kind: 'strataPut', address: s.tcpAddress!, token: s.token!, dir: `/bench/tcp-puts/${r}`, size: 4096, n: 500, inFlight: 16 }
      : { kind: 'put', target: s.target, prefix: `puts/${r}/`, size: 4096, n: 500, inFlight: 16 },
    (r) => r.ops / r.seconds);
    if (figs.has('list')) await interleave(`ListObjectsV2 of ${listKeys} keys, ${Math.ceil(listKeys / 1000)} pages (s)`, sides,
      (s) => ({ kind: 'list', target: s.target, prefix: 'list/', expect: listKeys, repeat: 1 }), (r) => r.seconds);
  }
}

/** The plain node:http server of bench/lib/plain-http.ts over `file`. */
async function startPlainHttp(file: string): Promise<{ proc: ReturnType<typeof spawn>; endpoint: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/plain-http.ts'), file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => { out += d; const m = /listening (\d+)/.exec(out); if (m) resolve(m[1]!); });
    proc.once('exit', (c) => reject(new Error(`plain http server exited ${c}`)));
  });
  return { proc, endpoint: `http://127.0.0.1:${port}` };
}

function printTable(samples: Record<string, Record<string, Sample[]>>, sides: Side[]): void {

  const rows: string[] = [];
  const names = [...sides.map((s) => s.name)];
  const ref = names.includes('radosgw') ? 'radosgw' : undefined;
  for (const [fig, bySide] of Object.entries(samples)) {
    const lowerIsBetter = fig.endsWith('(s)');
    const d = lowerIsBetter ? 3 : 0;
    const med = (name: string, k: 'value' | 'cpuMsPerOp' | 'clientCpuMsPerOp'): number | undefined => bySide[name] ? median(bySide[name]!.map((x) => x[k])) : undefined;
    for (const name of Object.keys(bySide)) {
      const v = med(name, 'value')!;
      const rv = ref && name !== ref ? med(ref, 'value') : undefined;
      const ratio = rv === undefined ? '' : `${(lowerIsBetter ? rv / v : v / rv).toFixed(2)}×`;
      const all = bySide[name]!.map((x) => x.value.toFixed(d)).join(' ');
      const loads = bySide[name]!.map((x) => x.load.toFixed(1)).join(' ');
      const cpu = med(name, 'cpuMsPerOp');
      const ccpu = med(name, 'clientCpuMsPerOp');
      const show = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '' : x.toFixed(2));
      rows.push(`| ${fig} | ${name} | ${v.toFixed(d)} | ${ratio} | ${show(cpu)} | ${show(ccpu)} | ${all} | ${loads} |`);
    }
    // Per-round ratios (each side's sample against radosgw's in the same round): steadier than medians apart.
    if (ref && bySide[ref]) {
      for (const name of Object.keys(bySide)) {
        if (name === ref || name === 'local') continue;
        const rr = bySide[name]!.map((x, i) => { const y = bySide[ref]![i]!.value; return lowerIsBetter ? y / x.value : x.value / y; });
        rows.push(`| ${fig} | ${name} / radosgw, per round | ${median(rr).toFixed(2)}× (median) | | | | ${rr.map((x) => x.toFixed(2)).join(' ')} | |`);
      }
    }
    if (bySide['node http'] && bySide.gateway) {
      const rr = bySide.gateway.map((x, i) => x.value / bySide['node http']![i]!.value);
      rows.push(`| ${fig} | gateway / plain node:http of the file (ceiling), per round | ${median(rr).toFixed(2)}× (median) | | | | ${rr.map((x) => x.toFixed(2)).join(' ')} | |`);
    }
    if (bySide.local && bySide.gateway) {
      const rr = bySide.gateway.map((x, i) => x.value / bySide.local![i]!.value);
      rows.push(`| ${fig} | gateway / local disk, per round | ${median(rr).toFixed(2)}× (median) | | | | ${rr.map((x) => x.toFixed(2)).join(' ')} | |`);
    }
  }
  console.log(`rounds: ${rounds}; load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log('| figure | side | median | vs radosgw | server CPU ms/op (median) | client CPU ms/op (median) | rounds | load (1 min) per round |\n|---|---|---:|---:|---:|---:|---|---|');
  console.log(rows.join('\n'));
}

await main();
