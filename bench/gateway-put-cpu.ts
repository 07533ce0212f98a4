// Server CPU per 4 KiB PUT through the S3 gateway against the same number of TCP writeFiles of
// the same bytes, each in a server of its own (optionally under `--cpu-prof`), sides alternating.
// `node --import tsx bench/gateway-put-cpu.ts [--n 3000] [--rounds 3] [--roots A,B] [--modes put,tcp] [--profile DIR] [--env K=V,...]`
// `--roots` are built trees (default this one); each round runs every root × mode once.

import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { Job, JobResult } from './lib/s3-load.js';
import { printSummary, summarise, profileFiles } from './profile-top.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LOAD = join(ROOT, 'bench/lib/s3-load.ts');
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const n = Number(flag('--n') ?? 3000);
const rounds = Number(flag('--rounds') ?? 1);
const roots = (flag('--roots') ?? ROOT).split(',');
const modes = (flag('--modes') ?? 'put,tcp').split(',');
const profDir = flag('--profile');
const extraEnv: Record<string, string> = {};
for (const pair of (flag('--env') ?? '').split(',').filter(Boolean)) { const j = pair.indexOf('='); extraEnv[pair.slice(0, j)] = pair.slice(j + 1); }

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}
function cpuMs(pid: number): number { const [u, s] = cpuSplit(pid); return u + s; }
/** User and system CPU (ms) of all the process's threads, and its context switches (all threads). */
function cpuSplit(pid: number): [number, number, number] {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  let cs = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try { for (const m of readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8').matchAll(/ctxt_switches:\s+(\d+)/g)) cs += Number(m[1]); } catch { /* gone */ }
  }
  return [Number(rest[11]) * 10, Number(rest[12]) * 10, cs];
}
async function drive(job: Job): Promise<JobResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', LOAD, JSON.stringify(job)], { cwd: ROOT, maxBuffer: 1 << 20, timeout: 900_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as JobResult;
}

async function one(root: string, mode: string, tag: string): Promise<{ cpu: number; ops: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-put-cpu-'));
  const s3Port = await freePort();
  const dir = profDir ? join(profDir, tag) : undefined;
  if (dir) mkdirSync(dir, { recursive: true });
  const prof = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  const proc = spawn(process.execPath, [...prof, join(root, 'bin/strata.mjs'), 'server', '--port', '0', '--data-dir', dataDir, '--s3-port', String(s3Port), '-D', 'cache.capacity=2GB'],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, STRATA_LOG_LEVEL: 'warn', ...extraEnv } });
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => { out += d; const m = /strata listening on (\S+)/.exec(out); if (m) resolve(m[1]!); });
      proc.once('exit', (c) => reject(new Error(`server exited ${c}`)));
    });
    const [id, secret] = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim().split(':') as [string, string];
    const target = { endpoint: `http://127.0.0.1:${s3Port}`, accessKeyId: id, secretAccessKey: secret, region: 'us-east-1', bucket: 'bench' };
    const sdk = new S3Client({ endpoint: target.endpoint, region: target.region, forcePathStyle: true, credentials: { accessKeyId: id, secretAccessKey: secret } });
    await sdk.send(new CreateBucketCommand({ Bucket: 'bench' }));
    sdk.destroy();
    const job = (k: number, pre: string): Job => mode === 'tcp'
      ? { kind: 'strataPut', address, token: `${id}:${secret}`, dir: `/bench/${pre}`, size: 4096, n: k, inFlight: 16 }
      : { kind: 'put', target, prefix: `${pre}/`, size: 4096, n: k, inFlight: 16 };
    await drive(job(300, 'warm'));
    const c0 = cpuSplit(proc.pid!);
    const r = await drive(job(n, 'm'));
    const c1 = cpuSplit(proc.pid!);
    const cpu = c1[0] + c1[1] - c0[0] - c0[1];
    console.log(`${tag}: ${(cpu / n).toFixed(3)} ms CPU/op (user ${((c1[0] - c0[0]) / n).toFixed(3)}, sys ${((c1[1] - c0[1]) / n).toFixed(3)}), ` +
      `${((c1[2] - c0[2]) / n).toFixed(1)} context switches/op, ${(n / r.seconds).toFixed(0)} ops/s (load ${loadavg()[0]!.toFixed(1)})`);
    return { cpu: cpu / n, ops: n / r.seconds };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const res = new Map<string, number[]>();
for (let r = 0; r < rounds; r++) {
  const order = roots.flatMap((root, i) => modes.map((m) => ({ root, m, tag: `${i === 0 ? 'new' : `base${i}`}-${m}` })));
  for (const o of r % 2 ? order.reverse() : order) {
    const x = await one(o.root, o.m, o.tag);
    res.set(o.tag, [...(res.get(o.tag) ?? []), x.cpu]);
  }
}
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [tag, xs] of res) console.log(`${tag}: median ${med(xs).toFixed(3)} ms CPU/op [${xs.map((x) => x.toFixed(3)).join(' ')}]`);
if (profDir) for (const tag of res.keys()) for (const f of profileFiles(join(profDir, tag))) console.log(tag, printSummary(summarise(f, 30)));
