// Special files of the namespace (symbolic links, FIFOs, sockets: made through the FUSE mount
// with createNode) have no content, so the S3 gateway does not show them as objects: listings
// skip them, HEAD and GET answer NoSuchKey, a DELETE leaves them alone. Real SDK requests.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, ListObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { openGateway, type GatewayEnv } from './helpers/gateway.js';

let g: GatewayEnv;

test.before(async () => {
  try {
    await setUp();
  } catch (err) {
    console.error('test.before failed:', err); // uvu prints no hook error
    throw err;
  }
});

async function setUp(): Promise<void> {
  g = await openGateway();
  const s3 = g.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'special' }));
  for (const key of ['a', 'd/x', 'm', 'z']) await s3.send(new PutObjectCommand({ Bucket: 'special', Key: key, Body: `body of ${key}` }));
  await g.env.fs.createNode('/special/link', { kind: 'symlink', target: 'a' });
  await g.env.fs.createNode('/special/d/fifo', { kind: 'fifo' });
  await g.env.fs.createNode('/special/sock', { kind: 'socket' });
}
test.after(async () => { await g?.dispose(); });

test('listings (v1, v2, recursive and with a delimiter, from a start key) skip special files', async () => {
  const s3 = g.client();
  const flat = await s3.send(new ListObjectsV2Command({ Bucket: 'special' }));
  assert.equal(flat.Contents?.map((c) => c.Key), ['a', 'd/x', 'm', 'z']);
  const delim = await s3.send(new ListObjectsV2Command({ Bucket: 'special', Delimiter: '/' }));
  assert.equal(delim.Contents?.map((c) => c.Key), ['a', 'm', 'z']);
  assert.equal(delim.CommonPrefixes?.map((p) => p.Prefix), ['d/']);
  const from = await s3.send(new ListObjectsV2Command({ Bucket: 'special', StartAfter: 'l' }));
  assert.equal(from.Contents?.map((c) => c.Key), ['m', 'z']);
  const v1 = await s3.send(new ListObjectsCommand({ Bucket: 'special', Prefix: 'd/' }));
  assert.equal(v1.Contents?.map((c) => c.Key), ['d/x']);
  const exact = await s3.send(new ListObjectsV2Command({ Bucket: 'special', Prefix: 'link' }));
  assert.is(exact.KeyCount, 0);
});

test('HEAD and GET of a special file answer NoSuchKey; a PUT replaces it with an object', async () => {
  const s3 = g.client();
  for (const key of ['link', 'd/fifo', 'sock']) {
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'special', Key: key })).then(() => 200, (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode);
    assert.is(head, 404, key);
    const get = await s3.send(new GetObjectCommand({ Bucket: 'special', Key: key })).then(() => 'ok', (e: { name?: string }) => e.name);
    assert.is(get, 'NoSuchKey', key);
  }
  await s3.send(new PutObjectCommand({ Bucket: 'special', Key: 'sock', Body: 'now an object' }));
  const r = await s3.send(new GetObjectCommand({ Bucket: 'special', Key: 'sock' }));
  assert.is(await r.Body!.transformToString(), 'now an object');
  assert.is((await g.env.fs.getStatus('/special/sock')).node, undefined);
  assert.is((await g.env.fs.getStatus('/special/link')).node, 'symlink');
});

test.run();
