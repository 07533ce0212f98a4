// Multipart uploads of the S3 gateway are durable: parts survive a restart of the gateway and
// the coordinator and the upload completes after it; an expired upload leaves nothing on disk;
// the object appears only at completion.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, ListPartsCommand,
  S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ADMIN } from './helpers/gateway.js';
import { UserStore } from '../src/auth/users.js';
import { startS3Gateway, type S3Gateway } from '../src/gateway/s3/server.js';
import { MultipartStore } from '../src/gateway/s3/multipart.js';
import { openEnv, type Env } from './helpers/fixture.js';

let env: Env;
const users = new UserStore([ADMIN]);
const gwDir = (): string => join(env.dataDir, 's3-gateway');
const client = (gw: S3Gateway): S3Client => new S3Client({
  endpoint: `http://127.0.0.1:${gw.port}`, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1,
  credentials: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: ADMIN.secretKey },
});

test.before(async () => { env = await openEnv(); });
test.after(async () => { await env?.dispose(); });

test('parts survive a restart of gateway and coordinator; the object appears at completion', async () => {
  let gw = await startS3Gateway({ fs: env.fs, users, port: 0, dataDir: gwDir() });
  let s3 = client(gw);
  const p1 = randomBytes(5 * 1024 * 1024); const p2 = randomBytes(1234);
  let UploadId: string | undefined;
  let e1: string | undefined;
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'mpu' }));
    UploadId = (await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'x/y.bin', Metadata: { a: 'b' } }))).UploadId!;
    e1 = (await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'x/y.bin', UploadId, PartNumber: 1, Body: p1 }))).ETag!;
    assert.is(await env.fs.exists('/mpu/x/y.bin'), false);
  } finally {
    s3.destroy();
    await gw.close();
  }
  await env.restart();
  gw = await startS3Gateway({ fs: env.fs, users, port: 0, dataDir: gwDir() });
  s3 = client(gw);
  try {
    const parts = await s3.send(new ListPartsCommand({ Bucket: 'mpu', Key: 'x/y.bin', UploadId }));
    assert.equal(parts.Parts!.map((p) => [p.PartNumber, p.ETag, p.Size]), [[1, e1, p1.length]]);
    const e2 = (await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'x/y.bin', UploadId, PartNumber: 2, Body: p2 }))).ETag!;
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'x/y.bin', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }] } }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'x/y.bin' }));
    assert.equal(got.Metadata, { a: 'b' });
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat([p1, p2])));
    assert.equal(await readdir(join(gwDir(), 'multipart')), []);
  } finally {
    s3.destroy();
    await gw.close();
  }
});

test('an expired upload is removed with its parts', async () => {
  const store = new MultipartStore(join(env.dataDir, 'expiry-test'), 50);
  await store.open();
  try {
    const id = await store.create({ bucket: 'mpu', key: 'k', initiated: Date.now() - 1000, meta: {}, owner: 'x' });
    await store.putPart(id, 1, [Buffer.from('part')]);
    assert.is((await store.list()).length, 1);
    assert.is(await store.expire(), 1);
    assert.equal(await store.list(), []);
  } finally {
    store.close();
  }
});

test.run();
