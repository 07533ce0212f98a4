// Real S3 clients against `strata server --s3-port` (a real server process): `aws s3 sync` of
// 1,050 small files both ways, the same tree synced to radosgw and every listing compared key
// by key (prefix, delimiter, pagination past 1,000, look-alike names), boto3, rclone copy +
// check, a bucket spanning a local directory and an S3 mount with hot GETs making no UFS
// call, and `strata gateway` as its own process over the TCP client.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { BIN, ROOT, runCli, startServer, tempDir, type ServerHandle } from './helpers/server.js';
import { freshBucket, type FreshBucket } from './helpers/s3.js';

const run = promisify(execFile);
let srv: ServerHandle;
let s3Port: number;
let endpoint: string;
let key: { id: string; secret: string };
let ref: FreshBucket;
let work: string;
let gwClient: S3Client;
let refClient: S3Client;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** Environment of a child S3 tool: only these credentials, no user config, no CA bundle. */
function toolEnv(id: string, secret: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_') || k.startsWith('RCLONE_')) delete env[k];
  return {
    ...env, AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', ...extra,
  };
}

async function aws(endpointUrl: string, id: string, secret: string, args: string[]): Promise<string> {
  const { stdout } = await run('aws', ['--endpoint-url', endpointUrl, ...args], { env: toolEnv(id, secret), timeout: 240_000, maxBuffer: 64 << 20 });
  return stdout;
}

const sdk = (ep: string, id: string, secret: string): S3Client => new S3Client({
  endpoint: ep, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: id, secretAccessKey: secret },
  requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
});

// Directory and file names that sort differently key by key than directory by directory.
const DIRS = ['a', 'a-b', 'a.b', 'a/b', 'ab', 'a b', 'é', 'z'];
const N = 1050;
const treeKey = (i: number): string => (i % 50 === 0 ? `t/${DIRS[i % DIRS.length]}-f${i}.txt` : `t/${DIRS[i % DIRS.length]}/f${i}.txt`);

test.before(async () => {
  ref = await freshBucket('gw-ref');
  s3Port = await freePort();
  srv = await startServer({ args: ['--s3-port', String(s3Port), '-D', 'metadata.sync.interval=-1'], timeoutMs: 60_000 });
  endpoint = `http://127.0.0.1:${s3Port}`;
  const [id, secret] = (await readFile(join(srv.dataDir, 'admin.key'), 'utf8')).trim().split(':') as [string, string];
  key = { id, secret };
  work = await tempDir('strata-gw-clients-');
  gwClient = sdk(endpoint, id, secret);
  refClient = sdk(ref.server.endpoint, ref.server.accessKeyId, ref.server.secretAccessKey);
});

test.after(async () => {
  gwClient?.destroy();
  refClient?.destroy();
  if (srv) await srv.stop();
  if (srv) await rm(srv.dataDir, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
  await ref?.cleanup();
});

test('aws s3 sync of 1,050 small files up and down (byte-identical), and the same tree on radosgw', async () => {
  const src = join(work, 'src');
  for (let i = 0; i < N; i++) {
    const f = join(src, treeKey(i));
    await mkdir(join(f, '..'), { recursive: true });
    await writeFile(f, `file ${i} ${'x'.repeat(i % 97)}\n`);
  }
  await aws(endpoint, key.id, key.secret, ['s3', 'mb', 's3://tree']);
  await aws(endpoint, key.id, key.secret, ['s3', 'sync', '--only-show-errors', src, 's3://tree']);
  // The reference holds the same keys (written with the SDK, 32 at a time: faster than a second aws sync).
  const keys = Array.from({ length: N }, (_, i) => i);
  for (let i = 0; i < N; i += 32) {
    await Promise.all(keys.slice(i, i + 32).map(async (j) => refClient.send(new PutObjectCommand({ Bucket: ref.bucket, Key: treeKey(j), Body: await readFile(join(src, treeKey(j))) }))));
  }
  const dst = join(work, 'dst');
  await aws(endpoint, key.id, key.secret, ['s3', 'sync', '--only-show-errors', 's3://tree', dst]);
  for (let i = 0; i < N; i += 7) {
    assert.ok((await readFile(join(src, treeKey(i)))).equals(await readFile(join(dst, treeKey(i)))), treeKey(i));
  }
  const count = async (d: string): Promise<number> => (await readdir(d, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;
  assert.is(await count(dst), N);
  // A second sync finds nothing to do (sizes and times agree).
  const again = await aws(endpoint, key.id, key.secret, ['s3', 'sync', src, 's3://tree']);
  assert.is(again.trim(), '');
});

async function listAll(c: S3Client, bucket: string, o: { prefix?: string; delimiter?: string; maxKeys?: number; startAfter?: string }): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  for (let i = 0; i < 200; i++) {
    const r: ListObjectsV2CommandOutput = await c.send(new ListObjectsV2Command({
      Bucket: bucket, Prefix: o.prefix, Delimiter: o.delimiter, MaxKeys: o.maxKeys, StartAfter: token ? undefined : o.startAfter, ContinuationToken: token,
    }));
    out.push(`page ${(r.Contents ?? []).length + (r.CommonPrefixes ?? []).length} truncated=${r.IsTruncated}`);
    for (const x of r.Contents ?? []) out.push(`key ${x.Key} ${x.Size}`);
    for (const p of r.CommonPrefixes ?? []) out.push(`prefix ${p.Prefix}`);
    if (!r.IsTruncated) return out;
    token = r.NextContinuationToken;
  }
  throw new Error('listing did not end within 200 pages');
}

test('listings match radosgw key by key: prefix, delimiter, pagination past 1,000, look-alike names', async () => {
  const cases = [
    {}, { maxKeys: 333 }, { prefix: 't/' }, { prefix: 't/a' }, { prefix: 't/a', delimiter: '/' }, { prefix: 't/', delimiter: '/' },
    { delimiter: '/' }, { prefix: 't/a/', maxKeys: 7 }, { prefix: 't/a-' }, { prefix: 't/é/' }, { prefix: 't/', delimiter: 'b' },
    { prefix: 't/', startAfter: 't/a-b/f9.txt', maxKeys: 100 }, { prefix: 't/a', delimiter: '/', maxKeys: 2 }, { prefix: 'nothing' },
  ];
  for (const c of cases) {
    const mine = await listAll(gwClient, 'tree', c);
    const theirs = await listAll(refClient, ref.bucket, c);
    const firstDiff = mine.findIndex((l, i) => l !== theirs[i]);
    assert.is(firstDiff === -1 && mine.length === theirs.length, true,
      `${JSON.stringify(c)}: line ${firstDiff}: gateway ${mine[firstDiff]} / radosgw ${theirs[firstDiff]} (${mine.length} vs ${theirs.length} lines)`);
  }
});

test('boto3: bucket, put/get, 30 MB upload_file (multipart) and download_file identical, paginator, delete_objects', async () => {
  const big = join(work, 'boto-big.bin');
  const data = randomBytes(30 * 1024 * 1024);
  await writeFile(big, data);
  const script = `
import boto3, hashlib, sys
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url=sys.argv[1], config=Config(s3={'addressing_style': 'path'}))
s3.create_bucket(Bucket='boto')
s3.put_object(Bucket='boto', Key='k/one', Body=b'hello', Metadata={'m': 'v'})
o = s3.get_object(Bucket='boto', Key='k/one')
assert o['Body'].read() == b'hello' and o['Metadata'] == {'m': 'v'}, o
s3.upload_file(sys.argv[2], 'boto', 'k/big.bin')
s3.download_file('boto', 'k/big.bin', sys.argv[2] + '.back')
a = hashlib.sha256(open(sys.argv[2], 'rb').read()).hexdigest(); b = hashlib.sha256(open(sys.argv[2] + '.back', 'rb').read()).hexdigest()
assert a == b, 'download differs'
assert s3.head_object(Bucket='boto', Key='k/big.bin')['ETag'].endswith('-4"')
keys = [x['Key'] for p in s3.get_paginator('list_objects_v2').paginate(Bucket='boto', PaginationConfig={'PageSize': 1}) for x in p.get('Contents', [])]
assert keys == ['k/big.bin', 'k/one'], keys
r = s3.delete_objects(Bucket='boto', Delete={'Objects': [{'Key': k} for k in keys]})
assert len(r['Deleted']) == 2, r
s3.delete_bucket(Bucket='boto')
print('OK')
`;
  const { stdout } = await run('python3', ['-c', script, endpoint, big], { env: toolEnv(key.id, key.secret), timeout: 180_000 });
  assert.is(stdout.trim(), 'OK');
});

test('rclone copy and rclone check: 0 differences (MD5 ETags)', async () => {
  const src = join(work, 'rc');
  for (let i = 0; i < 60; i++) {
    await mkdir(join(src, `d${i % 4}`), { recursive: true });
    await writeFile(join(src, `d${i % 4}`, `r${i}.bin`), randomBytes(100 + i * 37));
  }
  const env = toolEnv(key.id, key.secret, {
    RCLONE_CONFIG_GW_TYPE: 's3', RCLONE_CONFIG_GW_PROVIDER: 'Other', RCLONE_CONFIG_GW_ENDPOINT: endpoint,
    RCLONE_CONFIG_GW_ACCESS_KEY_ID: key.id, RCLONE_CONFIG_GW_SECRET_ACCESS_KEY: key.secret, RCLONE_CONFIG_GW_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_GW_REGION: 'us-east-1', RCLONE_CONFIG: '/nonexistent',
  });
  await run('rclone', ['mkdir', 'gw:rcl'], { env, timeout: 60_000 });
  await run('rclone', ['copy', src, 'gw:rcl/copy'], { env, timeout: 120_000 });
  const { stderr } = await run('rclone', ['check', src, 'gw:rcl/copy'], { env, timeout: 120_000 });
  assert.match(stderr, /0 differences found/);
  assert.match(stderr, /60 matching files/);
  assert.not.match(stderr, /hashes could not be checked/);
});

test('a bucket spanning a local directory and an S3 mount; a hot GET makes no UFS call', async () => {
  const mounted = await freshBucket('gw-span');
  try {
    await mounted.client.send(new PutObjectCommand({ Bucket: mounted.bucket, Key: 'pre/existing.txt', Body: 'from outside' }));
    const fs = (...args: string[]) => runCli(['fs', '--address', srv.address, ...args], { timeoutMs: 60_000 });
    assert.is((await fs('mkdir', '/data')).code, 0);
    assert.is((await fs('mkdir', '/data/local')).code, 0);
    const s = mounted.server;
    const m = await fs('mount', '--option', `endpoint=${s.endpoint}`, '--option', `accessKeyId=${s.accessKeyId}`, '--option', `secretAccessKey=${s.secretAccessKey}`,
      '--option', `region=${s.region}`, '--option', 'pathStyle=true', '/data/s3', `s3://${mounted.bucket}/pre`);
    assert.is(m.code, 0, m.stderr);
    const body = randomBytes(300_000);
    await gwClient.send(new PutObjectCommand({ Bucket: 'data', Key: 's3/new/obj.bin', Body: body }));
    await gwClient.send(new PutObjectCommand({ Bucket: 'data', Key: 'local/obj.bin', Body: body }));
    assert.ok((await mounted.keys()).includes('pre/new/obj.bin'), 'the S3 mount got the object');
    const listed = await listAll(gwClient, 'data', {});
    assert.equal(listed.filter((l) => l.startsWith('key ')).map((l) => l.split(' ')[1]), ['local/obj.bin', 's3/existing.txt', 's3/new/obj.bin']);
    // Written through the gateway: its MD5 (stored with the commit), not the UFS's ETag.
    assert.is((await gwClient.send(new HeadObjectCommand({ Bucket: 'data', Key: 's3/new/obj.bin' }))).ETag, `"${createHash('md5').update(body).digest('hex')}"`);
    const outside = await gwClient.send(new GetObjectCommand({ Bucket: 'data', Key: 's3/existing.txt' }));
    assert.is(await outside.Body!.transformToString(), 'from outside');
    // Written to the S3 UFS by someone else: the object's own ETag (radosgw's), kept on the inode.
    const rgwHead = await mounted.client.send(new HeadObjectCommand({ Bucket: mounted.bucket, Key: 'pre/existing.txt' }));
    assert.is(outside.ETag, rgwHead.ETag);
    // A local UFS file from elsewhere has no ETag of its own: a fingerprint value, not an MD5.
    await writeFile(join(srv.dataDir, 'ufs', 'data', 'local', 'outside.txt'), 'local from outside');
    assert.is((await fs('ls', '-f', '/data/local')).code, 0); // sync the directory: the file enters the namespace
    const localOutside = await gwClient.send(new HeadObjectCommand({ Bucket: 'data', Key: 'local/outside.txt' }));
    assert.match(localOutside.ETag!, /^"strata-/);
    const get = async (k: string): Promise<Buffer> => Buffer.from(await (await gwClient.send(new GetObjectCommand({ Bucket: 'data', Key: k }))).Body!.transformToByteArray());
    assert.ok((await get('s3/new/obj.bin')).equals(body));
    const report = async (): Promise<{ ufsCalls: Record<string, number>; gateway?: Record<string, number> }> => JSON.parse((await runCli(['fsadmin', 'report', '--json', '--address', srv.address])).stdout);
    const before = await report();
    assert.ok((await get('s3/new/obj.bin')).equals(body));
    assert.ok((await get('local/obj.bin')).equals(body));
    const after = await report();
    assert.equal(after.ufsCalls, before.ufsCalls);
    assert.ok((after.gateway?.['requests.GetObject.200'] ?? 0) > (before.gateway?.['requests.GetObject.200'] ?? 0));
    assert.ok((after.gateway?.bytesOut ?? 0) > 0);
    assert.is((await fs('unmount', '/data/s3')).code, 0);
  } finally {
    await mounted.cleanup();
  }
});

test('strata gateway: its own process over the TCP client, same keys, same namespace, its own metrics endpoint', async () => {
  const port = await freePort();
  const gwDir = await tempDir('strata-gw-proc-');
  const metricsToken = 'gw-metrics-secret';
  const proc: ChildProcess = spawn(process.execPath, [BIN, 'gateway', '--address', srv.address, '--s3-port', String(port),
    '--users', join(srv.dataDir, 'users.json'), '--data-dir', gwDir, '--metrics-port', '0', '-D', `metrics.token=${metricsToken}`,
    ...(srv.token ? ['--token', srv.token] : [])], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STRATA_LOG_LEVEL: 'warn' } });
  try {
    const metricsUrl = await new Promise<string>((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => reject(new Error(`gateway did not start: ${err}`)), 30_000);
      proc.stderr!.on('data', (d: Buffer) => {
        err += d;
        const m = /strata gateway metrics on (\S+)/.exec(err);
        if (/strata s3 gateway on/.test(err) && m) { clearTimeout(t); resolve(m[1]!); }
      });
      proc.once('exit', (c) => { clearTimeout(t); reject(new Error(`gateway exited ${c}: ${err}`)); });
    });
    assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const c = sdk(`http://127.0.0.1:${port}`, key.id, key.secret);
    try {
      const ops = async (): Promise<Record<string, number>> => JSON.parse((await runCli(['fsadmin', 'report', '--json', '--address', srv.address])).stdout).ops;
      const before = await ops();
      await c.send(new PutObjectCommand({ Bucket: 'tree', Key: 'via/gateway.txt', Body: 'over tcp' }));
      // The MD5 went in with the file's commit (the end of the upload), not by a second call.
      assert.is((await ops()).setXattr ?? 0, before.setXattr ?? 0);
      const r = await gwClient.send(new GetObjectCommand({ Bucket: 'tree', Key: 'via/gateway.txt' }));
      assert.is(await r.Body!.transformToString(), 'over tcp');
      assert.is(r.ETag, `"${createHash('md5').update('over tcp').digest('hex')}"`);
      assert.is((await c.send(new GetObjectCommand({ Bucket: 'tree', Key: 'via/gateway.txt' }))).ETag, r.ETag);
      await c.send(new GetObjectCommand({ Bucket: 'tree', Key: 'no/such/key' })).catch(() => undefined);
      // Its own counters on its own endpoint: Bearer token required, as for the server's.
      assert.is((await fetch(metricsUrl)).status, 401);
      assert.is((await fetch(metricsUrl, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      const scrape = await fetch(metricsUrl, { headers: { authorization: `Bearer ${metricsToken}` } });
      assert.is(scrape.status, 200);
      const text = await scrape.text();
      assert.match(text, /strata_gateway_requests_total\{op="PutObject",status="200"\} 1\n/);
      assert.match(text, /strata_gateway_requests_total\{op="GetObject",status="200"\} 1\n/);
      assert.match(text, /strata_gateway_requests_total\{op="GetObject",status="404"\} 1\n/);
      assert.match(text, /strata_gateway_request_duration_ms_count\{op="GetObject"\} 2\n/);
      assert.match(text, /strata_gateway_bytes_in_total 8\n/);
      assert.match(text, /strata_gateway_bytes_out_total [1-9]\d*\n/);
      const l = await c.send(new ListObjectsV2Command({ Bucket: 'tree', Prefix: 't/a', Delimiter: '/' }));
      assert.equal(l.CommonPrefixes!.map((p) => p.Prefix), ['t/a b/', 't/a-b/', 't/a.b/', 't/a/', 't/ab/']);
    } finally {
      c.destroy();
    }
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => { if (proc.exitCode !== null) r(null); else proc.once('exit', r); });
    await rm(gwDir, { recursive: true, force: true });
  }
});

test.run();
