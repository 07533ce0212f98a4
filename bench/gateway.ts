// Bench of the S3 gateway beside radosgw on the same machine, same bytes, same client (the
// AWS SDK v3, keep-alive): hot GET of a 64 MiB object (and reading the file from local disk),
// 4 KiB GETs and PUTs at 16 in flight, ListObjectsV2 of a 10,000-key prefix (10 pages).
// `node --import tsx bench/gateway.ts` (a few minutes). Prints a markdown table of ratios.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import pLimit from 'p-limit';
import { ensureS3Server } from '../test/helpers/s3.js';

const BIN = fileURLToPath(new URL('../bin/strata.mjs', import.meta.url));
const log = (s: string): void => console.error(`[gateway bench] ${s}`);

function client(endpoint: string, id: string, secret: string): S3Client {
  return new S3Client({
    endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: id, secretAccessKey: secret },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) }),
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function getAll(c: S3Client, bucket: string, key: string): Promise<number> {
  const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  let n = 0;
  for await (const chunk of r.Body as AsyncIterable<Uint8Array>) n += chunk.length;
  return n;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function opsPerSec(n: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const limit = pLimit(inFlight);
  const s = await timed(() => Promise.all(Array.from({ length: n }, (_, i) => limit(() => op(i)))));
  return n / s;
}

interface Side { name: string; c: S3Client; bucket: string }

async function main(): Promise<void> {
  const rgw = await ensureS3Server();
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-gw-bench-'));
  const s3Port = await freePort();
  const proc = spawn(process.execPath, [BIN, 'server', '--port', '0', '--data-dir', dataDir, '--s3-port', String(s3Port), '-D', 'cache.capacity=2GB'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, STRATA_LOG_LEVEL: 'warn' } });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => { out += d; if (/strata listening/.test(out)) resolve(); });
    proc.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  const [id, secret] = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim().split(':') as [string, string];
  const sides: Side[] = [
    { name: 'gateway', c: client(`http://127.0.0.1:${s3Port}`, id, secret), bucket: 'bench' },
    { name: 'radosgw', c: client(rgw.endpoint, rgw.accessKeyId, rgw.secretAccessKey), bucket: `gwbench-${Date.now().toString(36)}` },
  ];
  const rows: string[] = [];
  const figures: Record<string, Record<string, number>> = {};
  const put = (k: string, side: string, v: number): void => { (figures[k] ??= {})[side] = v; log(`${side}: ${k} = ${v.toFixed(3)} (load ${loadavg()[0]!.toFixed(1)})`); };
  try {
    for (const s of sides) await s.c.send(new CreateBucketCommand({ Bucket: s.bucket }));
    const big = randomBytes(64 << 20);
    const local = join(dataDir, 'local-64m.bin');
    writeFileSync(local, big);
    const small = randomBytes(4096);
    for (const s of sides) {
      log(`${s.name}: put 64 MiB, 200 x 4 KiB, 10,000 keys`);
      await s.c.send(new PutObjectCommand({ Bucket: s.bucket, Key: 'big/64m.bin', Body: big }));
      await getAll(s.c, s.bucket, 'big/64m.bin'); // warm: Strata caches it, radosgw has it in memory
      const t = [];
      for (let i = 0; i < 3; i++) t.push(await timed(() => getAll(s.c, s.bucket, 'big/64m.bin')));
      put('hot GET 64 MiB (MiB/s)', s.name, 64 / median(t));
      const limit = pLimit(64);
      await Promise.all(Array.from({ length: 200 }, (_, i) => limit(() => s.c.send(new PutObjectCommand({ Bucket: s.bucket, Key: `small/${i}`, Body: small })))));
      await Promise.all(Array.from({ length: 200 }, (_, i) => limit(() => getAll(s.c, s.bucket, `small/${i}`))));
      put('4 KiB GET, 16 in flight (ops/s)', s.name, await opsPerSec(2000, 16, (i) => getAll(s.c, s.bucket, `small/${i % 200}`)));
      put('4 KiB PUT, 16 in flight (ops/s)', s.name, await opsPerSec(1000, 16, (i) => s.c.send(new PutObjectCommand({ Bucket: s.bucket, Key: `puts/${i}`, Body: small }))));
      await Promise.all(Array.from({ length: 10_000 }, (_, i) => limit(() => s.c.send(new PutObjectCommand({ Bucket: s.bucket, Key: `list/k${String(i).padStart(5, '0')}`, Body: '', ContentLength: 0 })))));
      const lt = [];
      for (let r = 0; r < 3; r++) {
        lt.push(await timed(async () => {
          let token: string | undefined; let n = 0;
          do {
            const p = await s.c.send(new ListObjectsV2Command({ Bucket: s.bucket, Prefix: 'list/', ContinuationToken: token }));
            n += p.KeyCount ?? 0;
            token = p.IsTruncated ? p.NextContinuationToken : undefined;
          } while (token);
          if (n !== 10_000) throw new Error(`${s.name} listed ${n} keys`);
        }));
      }
      put('ListObjectsV2 of 10,000 keys, 10 pages (s)', s.name, Math.min(...lt));
    }
    const lt = [];
    for (let i = 0; i < 3; i++) lt.push(await timed(() => readFile(local)));
    const localMiBs = 64 / median(lt);
    for (const [fig, v] of Object.entries(figures)) {
      const g = v.gateway!; const r = v.radosgw!;
      const lowerIsBetter = fig.endsWith('(s)');
      const ratio = lowerIsBetter ? r / g : g / r;
      rows.push(`| ${fig} | ${g.toFixed(fig.endsWith('(s)') ? 3 : 0)} | ${r.toFixed(fig.endsWith('(s)') ? 3 : 0)} | ${ratio.toFixed(2)}× ${lowerIsBetter ? '(radosgw time / gateway time)' : ''} |`);
    }
    rows.push(`| hot GET 64 MiB vs local disk read (fs.readFile, page cache warm) | ${figures['hot GET 64 MiB (MiB/s)']!.gateway!.toFixed(0)} | ${localMiBs.toFixed(0)} (local) | ${(figures['hot GET 64 MiB (MiB/s)']!.gateway! / localMiBs).toFixed(2)}× |`);
    console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log('| figure | gateway | radosgw | ratio |\n|---|---:|---:|---:|');
    console.log(rows.join('\n'));
  } finally {
    for (const s of sides) s.c.destroy();
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
