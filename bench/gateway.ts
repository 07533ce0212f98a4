// Bench of the S3 gateway beside radosgw on the same machine, same bytes, same client: hot GET
// of a 64 MiB object (and reading the file from local disk), 4 KiB GETs and PUTs at 16 in
// flight, ListObjectsV2 of a 10,000-key prefix (10 pages). The load comes from a separate
// process (bench/lib/s3-load.ts: plain node:http, SigV4 of its own), so the figures measure
// the servers; the CPU time (user+sys) each server spends per figure is printed beside them.
// `node --import tsx bench/gateway.ts [--profile DIR] [--only gateway|radosgw] [--list-keys N]` (a few minutes).

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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
const BIN = join(ROOT, 'bin/strata.mjs');
const LOAD = join(ROOT, 'bench/lib/s3-load.ts');
const log = (s: string): void => console.error(`[gateway bench] ${s}`);
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const profDir = flag('--profile');
const only = flag('--only');
const listKeys = Number(flag('--list-keys') ?? 10_000);

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

interface Side { name: string; target: Target; pids: () => number[] }
interface Figure { value: number; cpuMsPerOp: number }

async function main(): Promise<void> {
  await promisify(execFile)(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT });
  const rgw = await ensureS3Server();
  const s3Dir = process.env.STRATA_S3_DIR ?? '/tmp/strata-s3';
  const rgwPids = (): number[] => ['client.rgw', 'osd.0', 'mon.a'].map((n) => join(s3Dir, 'run', `${n}.pid`)).filter(existsSync)
    .map((f) => Number(readFileSync(f, 'utf8').trim()));
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-gw-bench-'));
  const s3Port = await freePort();
  if (profDir) mkdirSync(profDir, { recursive: true });
  let tcpAddress = '';
  const proc = spawn(process.execPath, [...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), BIN, 'server', '--port', '0',
    '--data-dir', dataDir, '--s3-port', String(s3Port), '-D', 'cache.capacity=2GB'],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, STRATA_LOG_LEVEL: 'warn' } });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => { out += d; const m = /strata listening on (\S+)/.exec(out); if (m) { tcpAddress = m[1]!; resolve(); } });
    proc.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  const [id, secret] = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim().split(':') as [string, string];
  const gwEndpoint = `http://127.0.0.1:${s3Port}`;
  const sides: Side[] = [
    { name: 'gateway', target: { endpoint: gwEndpoint, accessKeyId: id, secretAccessKey: secret, region: 'us-east-1', bucket: 'bench' }, pids: () => [proc.pid!] },
    { name: 'radosgw', target: { endpoint: rgw.endpoint, accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey, region: rgw.region,
      bucket: `gwbench-${Date.now().toString(36)}` }, pids: rgwPids },
  ].filter((s) => !only || s.name === only);
  const figures: Record<string, Record<string, Figure>> = {};
  const measure = async (fig: string, s: Side, job: Job, value: (r: JobResult) => number): Promise<void> => {
    const pids = s.pids();
    const c0 = cpuMs(pids);
    const r = await drive(job);
    const cpu = cpuMs(pids) - c0;
    const f = { value: value(r), cpuMsPerOp: cpu / r.ops };
    (figures[fig] ??= {})[s.name] = f;
    log(`${s.name}: ${fig} = ${f.value.toFixed(3)}, server CPU ${f.cpuMsPerOp.toFixed(2)} ms/op (load ${loadavg()[0]!.toFixed(1)})`);
  };
  try {
    const big = randomBytes(64 << 20);
    const local = join(dataDir, 'local-64m.bin');
    writeFileSync(local, big);
    for (const s of sides) {
      const t = s.target;
      // The test radosgw is shared with other processes: make sure it (still) runs.
      if (s.name === 'radosgw') await promisify(execFile)(join(ROOT, 'scripts/s3-server.sh'), ['start'], { timeout: 900_000 });
      const sdk = new S3Client({ endpoint: t.endpoint, region: t.region, forcePathStyle: true,
        credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
        requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
      log(`${s.name}: put 64 MiB, 200 x 4 KiB, 10,000 keys`);
      await sdk.send(new CreateBucketCommand({ Bucket: t.bucket }));
      await sdk.send(new PutObjectCommand({ Bucket: t.bucket, Key: 'big/64m.bin', Body: big }));
      sdk.destroy();
      await drive({ kind: 'get', target: t, keys: ['big/64m.bin'], n: 1, inFlight: 1 }); // warm: Strata caches it, radosgw has it in memory
      await measure('hot GET 64 MiB (MiB/s)', s, { kind: 'get', target: t, keys: ['big/64m.bin'], n: 1, inFlight: 1, repeat: 5 },
        (r) => 64 / median(r.times!));
      await drive({ kind: 'put', target: t, prefix: 'small/', size: 4096, n: 200, inFlight: 16 });
      await drive({ kind: 'get', target: t, keys: Array.from({ length: 200 }, (_, i) => `small/${i}`), n: 200, inFlight: 16 });
      await measure('4 KiB GET, 16 in flight (ops/s)', s, { kind: 'get', target: t, keys: Array.from({ length: 200 }, (_, i) => `small/${i}`), n: 4000, inFlight: 16 },
        (r) => r.ops / r.seconds);
      await measure('4 KiB PUT, 16 in flight (ops/s)', s, { kind: 'put', target: t, prefix: 'puts/', size: 4096, n: 1000, inFlight: 16 },
        (r) => r.ops / r.seconds);
      if (s.name === 'gateway') {
        // The same PUTs as writeFile over the TCP protocol (no gateway): what the coordinator's write path allows.
        await measure('4 KiB writeFile over TCP, 16 in flight, no gateway (ops/s)', s, { kind: 'strataPut', address: tcpAddress,
          token: `${id}:${secret}`, dir: '/bench/tcp-puts', size: 4096, n: 1000, inFlight: 16 }, (r) => r.ops / r.seconds);
      }
      await drive({ kind: 'put', target: t, prefix: 'list/k', size: 0, n: listKeys, inFlight: 32 });
      await measure('ListObjectsV2 of 10,000 keys, 10 pages (s)', s, { kind: 'list', target: t, prefix: 'list/', expect: listKeys, repeat: 3 },
        (r) => r.seconds);
    }
    const lt = [];
    for (let i = 0; i < 5; i++) {
      const t0 = process.hrtime.bigint();
      await readFile(local);
      lt.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const localMiBs = 64 / median(lt);
    const rows: string[] = [];
    for (const [fig, v] of Object.entries(figures)) {
      const g = v.gateway; const r = v.radosgw;
      const lowerIsBetter = fig.endsWith('(s)');
      const d = lowerIsBetter ? 3 : 0;
      const ratio = g && r ? `${(lowerIsBetter ? r.value / g.value : g.value / r.value).toFixed(2)}×${lowerIsBetter ? ' (radosgw time / gateway time)' : ''}` : '';
      rows.push(`| ${fig} | ${g?.value.toFixed(d) ?? ''} | ${r?.value.toFixed(d) ?? ''} | ${ratio} | ${g?.cpuMsPerOp.toFixed(2) ?? ''} | ${r?.cpuMsPerOp.toFixed(2) ?? ''} |`);
    }
    const hot = figures['hot GET 64 MiB (MiB/s)']?.gateway?.value;
    if (hot) rows.push(`| hot GET 64 MiB vs local disk read (fs.readFile, page cache warm) | ${hot.toFixed(0)} | ${localMiBs.toFixed(0)} (local) | ${(hot / localMiBs).toFixed(2)}× | | |`);
    console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log('| figure | gateway | radosgw | ratio | gateway CPU ms/op | radosgw CPU ms/op (rgw+osd+mon) |\n|---|---:|---:|---:|---:|---:|');
    console.log(rows.join('\n'));
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (profDir) {
    await new Promise((r) => setTimeout(r, 500));
    for (const f of profileFiles(profDir)) console.log(printSummary(summarise(f, 40)));
  }
}

await main();
