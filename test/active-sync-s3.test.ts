// Active sync on an S3 mount against a real radosgw with bucket notifications: a SECOND
// server (civetweb frontend — DeleteObjects with a notification crashes beast — on its own
// port and directory, started through scripts/s3-server.sh). Outside writer: the AWS SDK
// (create, overwrite, delete, multipart). Changes become visible through Strata within a
// bounded poll: by reconciliation (active.sync.interval=2s) until the persistent topic runs
// (18-22 s after creation), then by notifications. stopSync removes the notification.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { S3NotifyWatcher } from '../src/ufs/s3/s3-notify.js';
import { bucketHasNotification } from '../src/ufs/s3/notified-buckets.js';
import pino from 'pino';
import { openEnv, readText, waitFor } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';
import { s3Client, s3Options } from './helpers/s3.js';
import type { S3Server } from './helpers/s3.js';

const SCRIPT = fileURLToPath(new URL('../scripts/s3-server.sh', import.meta.url));
const PORT = process.env.STRATA_NOTIFY_S3_PORT ?? '7491';

let env: Env;
let srv: S3Server;
let bucket: string;
let options: Record<string, string>;
const NEVER = { loadType: 'NEVER' as const };
const exists = (p: string) => env.fs.exists(p, NEVER).catch(() => false);
const len = (p: string) => env.fs.getStatus(p, NEVER).then((s) => s.length, () => -1);

test.before(async () => {
  const { stdout } = await promisify(execFile)(SCRIPT, ['start'], {
    timeout: 900_000,
    env: { ...process.env, S3_FRONTEND: 'civetweb', S3_PORT: PORT, STRATA_S3_DIR: `/tmp/strata-s3-notify-${PORT}` },
  });
  const e: Record<string, string> = {};
  for (const m of stdout.matchAll(/^export (\w+)=(.*)$/gm)) e[m[1]!] = m[2]!;
  srv = { endpoint: e.S3_ENDPOINT!, accessKeyId: e.AWS_ACCESS_KEY_ID!, secretAccessKey: e.AWS_SECRET_ACCESS_KEY!, region: e.AWS_REGION ?? 'us-east-1' };
  bucket = `as-${Date.now().toString(36)}`;
  await s3Client(srv).send(new CreateBucketCommand({ Bucket: bucket }));
  options = s3Options(srv);
  env = await openEnv({ 'metadata.sync.interval': '-1', 'active.sync.interval': '2s' });
});
test.after(async () => { await env?.dispose(); });

test('outside writes through the SDK become visible; notifications arrive once the topic runs; stop cleans up', async () => {
  const c = s3Client(srv);
  const put = (k: string, body: string) => c.send(new PutObjectCommand({ Bucket: bucket, Key: `pre/${k}`, Body: body }));
  await put('seed', 's');
  await env.fs.mount('/s3', `s3://${bucket}/pre`, { options });
  const t0 = Date.now();
  await env.fs.startSync('/s3');
  await waitFor(() => exists('/s3/seed'), 'initial sync', 15_000);
  const sp = (await env.fs.getSyncPathList())[0]!;
  assert.is(sp.path, '/s3');

  // create, overwrite, delete, multipart
  await put('a b+c/x.txt', 'one');
  await waitFor(() => exists('/s3/a b+c/x.txt'), 'create', 15_000);
  await put('a b+c/x.txt', 'three');
  await waitFor(async () => (await len('/s3/a b+c/x.txt')) === 5, 'overwrite', 15_000);
  assert.is(await readText(env.fs, '/s3/a b+c/x.txt'), 'three');
  await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'pre/seed' }));
  await waitFor(async () => !(await exists('/s3/seed')), 'delete', 15_000);
  const up = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'pre/mp.bin' }));
  const p1 = await c.send(new UploadPartCommand({ Bucket: bucket, Key: 'pre/mp.bin', UploadId: up.UploadId, PartNumber: 1, Body: 'multipart' }));
  await c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'pre/mp.bin', UploadId: up.UploadId, MultipartUpload: { Parts: [{ ETag: p1.ETag, PartNumber: 1 }] } }));
  await waitFor(async () => (await len('/s3/mp.bin')) === 9, 'multipart', 15_000);
  // A key outside the mount's prefix is not ours.
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'elsewhere/z', Body: 'z' }));

  // While the notification exists, this process deletes with single DeleteObject calls.
  assert.ok(bucketHasNotification(srv.endpoint, bucket), 'bucket marked as notified');
  const watcher = (env.fs as unknown as { activeSync: { watcherOf(p: string): unknown } }).activeSync.watcherOf('/s3') as S3NotifyWatcher;
  assert.is(watcher.kind, 's3-notify');
  // Until the topic delivers its first event, the sync point says it is warming up, and why.
  await watcher.ready;
  await waitFor(async () => (await env.fs.getSyncPathList())[0]!.state !== 'initial-sync', 'initial sync done', 15_000);
  const warming = (await env.fs.getSyncPathList())[0]!;
  if (((await env.fs.getReport()).activeSync.eventsReceived ?? 0) === 0) {
    assert.is(warming.state, 'warming-up');
    assert.match(warming.message ?? '', /no event delivered yet/);
  }
  await env.fs.createDirectory('/s3/rmdir');
  await env.fs.writeFile('/s3/rmdir/f', Buffer.from('f'));
  await env.fs.delete('/s3/rmdir', { recursive: true });

  // Notifications: persistent topics start 18-22 s after creation. Wait for the first ones.
  await waitFor(async () => ((await env.fs.getReport()).activeSync.eventsReceived ?? 0) > 0, 'first notification', 45_000);
  process.stderr.write(`first notification ${Date.now() - t0} ms after startSync\n`);
  const delivering = (await env.fs.getSyncPathList())[0]!;
  assert.is(delivering.state, 'active', 'delivering: no longer warming up');
  assert.is(delivering.message, undefined);
  // Now a write is seen by its notification (lag from S3 write to applied, measured).
  const lags: number[] = [];
  for (let i = 0; i < 5; i++) {
    const w0 = Date.now();
    await put(`lag${i}`, 'l');
    await waitFor(() => exists(`/s3/lag${i}`), `lag${i}`, 15_000);
    lags.push(Date.now() - w0);
  }
  const r = (await env.fs.getReport()).activeSync;
  process.stderr.write(`S3 write -> visible: ${lags.join(', ')} ms; report lag p50 ${r.lagP50Ms} p99 ${r.lagP99Ms}; received ${r.eventsReceived} applied ${r.eventsApplied}\n`);
  assert.ok((r.eventsApplied ?? 0) > 0);

  const id = watcher.notificationId;
  assert.ok(id);
  const before = await S3NotifyWatcher.bucketNotifications(`s3://${bucket}/pre`, options);
  assert.ok(before.some((n) => n.Id === id), 'notification configured');
  await env.fs.stopSync('/s3');
  const after = await S3NotifyWatcher.bucketNotifications(`s3://${bucket}/pre`, options);
  assert.equal(after, [], 'notification removed on stop');
  assert.is(bucketHasNotification(srv.endpoint, bucket), false);
});

test('a server without notifications falls back to reconciliation (log line, not an error)', async () => {
  // AWS-style credentials the server does not know: CreateTopic is refused.
  const w = new S3NotifyWatcher({
    uri: `s3://${bucket}/other`, options: { ...options, secretAccessKey: 'wrong-secret-000000000000000000000000000' }, dir: '', syncPoint: '/x',
    cb: { onReady() {}, onEvents() {}, onLost() {}, onDegraded() {}, onNotice(m) { notice = m; } },
    log: pino({ level: 'silent' }),
  });
  let notice = '';
  w.start();
  await w.ready;
  assert.is(w.kind, 'poll');
  assert.match(notice, /notifications unavailable/);
  await w.stop();
});

test.run();
