// The in-process S3 gateway's counters (requests by operation and status, errors by S3 code,
// bytes in/out, latency) in the server's own report: `strata fsadmin report` (human and
// `--json`) and the server's Prometheus text (/metrics), after real SDK requests.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { runCli, startServer, type ServerHandle } from './helpers/server.js';

let srv: ServerHandle | undefined;
let client: S3Client | undefined;
let metricsPort = 0;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}

test.before(async () => {
  const s3Port = await freePort();
  metricsPort = await freePort();
  srv = await startServer({ args: ['--s3-port', String(s3Port), '-D', `metrics.port=${metricsPort}`], timeoutMs: 60_000 });
  const [id, secret] = (await readFile(join(srv.dataDir, 'admin.key'), 'utf8')).trim().split(':') as [string, string];
  client = new S3Client({ endpoint: `http://127.0.0.1:${s3Port}`, region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: id, secretAccessKey: secret }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
});

test.after(async () => {
  client?.destroy();
  await srv?.stop();
});

test('fsadmin report and the server\'s /metrics show the in-process gateway\'s counters', async () => {
  const c = client!;
  await c.send(new CreateBucketCommand({ Bucket: 'rep' }));
  await c.send(new PutObjectCommand({ Bucket: 'rep', Key: 'a.txt', Body: 'twelve bytes' }));
  const got = await c.send(new GetObjectCommand({ Bucket: 'rep', Key: 'a.txt' }));
  assert.is(await got.Body!.transformToString(), 'twelve bytes');
  const missing = await c.send(new GetObjectCommand({ Bucket: 'rep', Key: 'nope' })).then(() => 'found', (e: Error) => e.name);
  assert.is(missing, 'NoSuchKey');

  const json = await runCli(['fsadmin', 'report', '--json', '--address', srv!.address]);
  assert.is(json.code, 0, json.stderr);
  const gw = (JSON.parse(json.stdout) as { gateway?: Record<string, number> }).gateway ?? {};
  assert.is(gw['requests.CreateBucket.200'], 1);
  assert.is(gw['requests.PutObject.200'], 1);
  assert.is(gw['requests.GetObject.200'], 1);
  assert.is(gw['requests.GetObject.404'], 1);
  assert.is(gw['errors.NoSuchKey'], 1);
  assert.is(gw.bytesIn, 12);
  assert.ok((gw.bytesOut ?? 0) >= 12, `bytesOut ${gw.bytesOut}`);
  assert.type(gw['latencyMs.GetObject'], 'number');

  const human = await runCli(['fsadmin', 'report', '--address', srv!.address]);
  assert.is(human.code, 0, human.stderr);
  assert.match(human.stdout, /S3 gateway/);
  assert.match(human.stdout, /requests\.GetObject\.404\s+1/);
  assert.match(human.stdout, /errors\.NoSuchKey\s+1/);

  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  assert.is(res.status, 200);
  const text = await res.text();
  assert.match(text, /strata_gateway_requests_total\{op="GetObject",status="200"\} 1\n/);
  assert.match(text, /strata_gateway_requests_total\{op="GetObject",status="404"\} 1\n/);
  assert.match(text, /strata_gateway_errors_total\{code="NoSuchKey"\} 1\n/);
  assert.match(text, /strata_gateway_request_duration_ms_count\{op="GetObject"\} 2\n/);
  assert.match(text, /strata_gateway_bytes_in_total 12\n/);
  assert.match(text, /strata_gateway_total\{name="requests.PutObject.200"\} 1\n/);
  // One family per name: the generic group export and the labelled families do not collide.
  assert.is(text.match(/^# TYPE strata_gateway_total /gm)?.length, 1);
});

test.run();
