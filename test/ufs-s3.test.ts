// What only the S3 UFS does, against a real S3 server (Ceph RADOS Gateway started by
// scripts/s3-server.sh): directory markers and implied directories, prefixes, listings past
// 1,000 keys, multipart upload and its abort, rename's keys and UploadPartCopy, DeleteObjects
// batches, conditional multipart writes, and error mapping for bad credentials, a missing
// bucket, an unreachable or hanging server and throttling. What every UFS promises (listing,
// errors, ranged reads, atomic writes, rename, delete...) is in the contract suite (ufs-contract).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

import { GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';

import { S3Ufs, createS3Ufs, redactOptions } from '../src/ufs/s3/s3-ufs.js';
import type { UfsStatus } from '../src/ufs/ufs.js';
import { chunksOf, ensureS3Server, freshBucket, readAll, s3Options } from './helpers/s3.js';
import type { FreshBucket } from './helpers/s3.js';
import { listAll, rejects } from './helpers/assert.js';

const MB = 1024 * 1024;
const buckets: FreshBucket[] = [];
async function bucket(name: string): Promise<FreshBucket> {
  const b = await freshBucket(name);
  buckets.push(b);
  return b;
}



const names = (es: UfsStatus[]): string[] => es.map((e) => `${e.name}${e.type === 'directory' ? '/' : ''}`);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** `size` random bytes in chunks of `chunk` (a stream of unknown length). */
async function* randomStream(data: Buffer, chunk = 256 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
}

test.before(async () => {
  const t0 = Date.now();
  await ensureS3Server();
  process.stdout.write(`  (s3 server ready in ${Date.now() - t0}ms)\n`);
});

test.after(async () => {
  for (const b of buckets) await b.cleanup().catch(() => undefined);
});

test('mkdir writes a marker; an empty directory survives and lists empty', async () => {
  const b = await bucket('mkdir');
  const ufs = b.ufs();
  await ufs.mkdir('empty');
  assert.equal(await b.keys(), ['empty/']);
  const st = await ufs.getStatus('empty');
  assert.is(st?.type, 'directory');
  assert.is(st?.contentHash, 'dir');
  assert.equal((await listAll(ufs, 'empty')).entries, []);
  assert.equal(names((await listAll(ufs, '')).entries), ['empty/']);
  await ufs.mkdir('x/y/z', { recursive: true });
  assert.equal((await b.keys()).sort(), ['empty/', 'x/y/z/']);
  assert.is((await ufs.getStatus('x/y'))?.type, 'directory'); // implied by the marker below
  // deleting the last child keeps the (implied) parent alive
  await ufs.delete('x/y/z');
  assert.is((await ufs.getStatus('x/y'))?.type, 'directory');
  assert.ok((await b.keys()).includes('x/y/'));
});

test('nested listing with delimiters; recursive listing puts parents first', async () => {
  const b = await bucket('nested');
  const ufs = b.ufs();
  for (const k of ['a/b/c.txt', 'a/d.txt', 'e.txt', 'a/b/g/h.txt', 'a.txt', 'a-z/q']) {
    await b.client.send(new PutObjectCommand({ Bucket: b.bucket, Key: k, Body: k }));
  }
  await ufs.mkdir('a/f', { recursive: true });
  assert.equal(names((await listAll(ufs, '')).entries), ['a/', 'a-z/', 'a.txt', 'e.txt']); // sorted by name
  assert.equal(names((await listAll(ufs, 'a')).entries), ['b/', 'd.txt', 'f/']);
  assert.equal(names((await listAll(ufs, 'a/b')).entries), ['c.txt', 'g/']);
  const rec = (await listAll(ufs, '', { recursive: true })).entries;
  assert.equal(names(rec).sort(), ['a-z/', 'a-z/q', 'a.txt', 'a/', 'a/b/', 'a/b/c.txt', 'a/b/g/', 'a/b/g/h.txt', 'a/d.txt', 'a/f/', 'e.txt'].sort());
  const pos = new Map(rec.map((e, i) => [e.name, i]));
  for (const e of rec) {
    const parent = e.name.includes('/') ? e.name.slice(0, e.name.lastIndexOf('/')) : '';
    if (parent) assert.ok(pos.get(parent)! < pos.get(e.name)!, `${parent} listed before ${e.name}`);
  }
  assert.is(new Set(rec.map((e) => e.name)).size, rec.length, 'no duplicates');
  const recA = (await listAll(ufs, 'a', { recursive: true })).entries;
  assert.equal(names(recA), ['b/', 'b/c.txt', 'b/g/', 'b/g/h.txt', 'd.txt', 'f/']);
  const file = rec.find((e) => e.name === 'a/d.txt')!;
  assert.is(file.type, 'file');
  assert.is(file.length, 'a/d.txt'.length);
  // fingerprints agree between HEAD (getStatus) and listings
  const head = await ufs.getStatus('a/d.txt');
  assert.is(head?.contentHash, file.contentHash);
  assert.is(head?.mtimeMs, file.mtimeMs);
  const fromList = (await listAll(ufs, 'a')).entries.find((e) => e.name === 'd.txt')!;
  assert.is(fromList.contentHash, head?.contentHash);
  assert.is(head?.metaHash, fromList.metaHash);
});

test('a mount on a prefix sees only its prefix', async () => {
  const b = await bucket('prefix');
  await b.client.send(new PutObjectCommand({ Bucket: b.bucket, Key: 'outside.txt', Body: 'x' }));
  const ufs = b.ufs('pre/fix');
  assert.is(ufs.uri, `s3://${b.bucket}/pre/fix`);
  await ufs.write('in/side.txt', chunksOf('inside'));
  assert.equal((await b.keys()).sort(), ['outside.txt', 'pre/fix/in/side.txt']);
  assert.equal(names((await listAll(ufs, '')).entries), ['in/']);
  assert.equal(names((await listAll(ufs, '', { recursive: true })).entries), ['in/', 'in/side.txt']);
  assert.is((await readAll(ufs.read('in/side.txt'))).toString(), 'inside');
  // an empty prefix mount lists empty (its root exists)
  assert.equal((await listAll(b.ufs('nothing/here'), '')).entries, []);
});

test('pagination past 1,000 keys: 2,500 keys, delimited and recursive, page by page', async () => {
  const b = await bucket('pages');
  const ufs = b.ufs();
  const limit = pLimit(64);
  const t0 = Date.now();
  const keys = Array.from({ length: 2500 }, (_, i) => `many/f${String(i).padStart(5, '0')}`);
  await Promise.all(keys.map((Key) => limit(() => b.client.send(new PutObjectCommand({ Bucket: b.bucket, Key, Body: 'x' })))));
  const putMs = Date.now() - t0;
  let t = Date.now();
  const flat = await listAll(ufs, 'many');
  const flatMs = Date.now() - t;
  assert.is(flat.entries.length, 2500);
  assert.ok(flat.pages.length >= 3, `pages: ${flat.pages.length}`);
  assert.equal(flat.entries.map((e) => e.name), keys.map((k) => k.slice(5)));
  t = Date.now();
  const rec = await listAll(ufs, '', { recursive: true });
  const recMs = Date.now() - t;
  assert.is(rec.entries.length, 2501); // the synthesised directory plus 2,500 files
  assert.is(rec.entries[0]!.name, 'many');
  const small = await listAll(ufs, 'many', { pageSize: 100 });
  assert.is(small.pages.length, 25);
  assert.is(small.entries.length, 2500);
  // stopping early does not hang or leak an unhandled rejection from the prefetched page
  for await (const page of ufs.list('many', { pageSize: 500 })) {
    assert.is(page.length, 500);
    break;
  }
  process.stdout.write(`  (2,500 keys: parallel PUT ${putMs}ms; list ${flatMs}ms = ${Math.round(2500 / (flatMs / 1000))} keys/s; recursive ${recMs}ms)\n`);
});

test('multipart upload of ~20 MB with 5 MB parts reads back byte-identical', async () => {
  const b = await bucket('multipart');
  const ufs = b.ufs('', { partSize: '5MB' });
  const data = randomBytes(20 * MB + 12345);
  const t0 = Date.now();
  const st = await ufs.write('big/file.bin', randomStream(data));
  const ms = Date.now() - t0;
  assert.is(st.type, 'file');
  assert.is(st.length, data.length);
  assert.match(st.etag ?? '', /^[0-9a-f]{32}-5$/, `multipart ETag, got ${st.etag}`);
  const back = await readAll(ufs.read('big/file.bin'));
  assert.is(back.length, data.length);
  assert.is(sha(back), sha(data));
  assert.is((await ufs.getStatus('big/file.bin'))?.contentHash, st.contentHash);
  // a body of exactly one part is still fine, and below the part size is a single PUT
  const small = randomBytes(5 * MB - 1);
  const sst = await ufs.write('small.bin', randomStream(small));
  assert.not.match(sst.etag ?? '', /-/);
  assert.is(sha(await readAll(ufs.read('small.bin'))), sha(small));
  const ups = await b.client.send(new ListMultipartUploadsCommand({ Bucket: b.bucket }));
  assert.is(ups.Uploads?.length ?? 0, 0);
  process.stdout.write(`  (multipart 20 MB in ${ms}ms)\n`);
});

test('a failing multipart upload is aborted: no uploads, no object left', async () => {
  const b = await bucket('abort');
  const ufs = b.ufs('', { partSize: '5MB' });
  async function* failing(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 13; i++) yield randomBytes(MB);
    throw new Error('source broke');
  }
  await ufs.write('broken.bin', failing()).then(() => assert.unreachable('must fail'), (e: unknown) => {
    assert.is((e as Error).message, 'source broke', 'the source\'s own error is rethrown as it is');
  });
  const ups = await b.client.send(new ListMultipartUploadsCommand({ Bucket: b.bucket }));
  assert.is(ups.Uploads?.length ?? 0, 0, 'no multipart upload left behind');
  assert.is(await ufs.getStatus('broken.bin'), null);
  assert.equal(await b.keys(), []);
  // aborted by the caller's signal
  const ctl = new AbortController();
  async function* slow(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 30; i++) {
      if (i === 12) ctl.abort();
      yield randomBytes(MB);
    }
  }
  await rejects(ufs.write('aborted.bin', slow(), { signal: ctl.signal }), 'CANCELLED');
  const ups2 = await b.client.send(new ListMultipartUploadsCommand({ Bucket: b.bucket }));
  assert.is(ups2.Uploads?.length ?? 0, 0);
});

test('rename of a file and of a directory (copy + delete)', async () => {
  const b = await bucket('rename');
  const ufs = b.ufs();
  await ufs.write('dir/one.txt', chunksOf('one'));
  await ufs.write('dir/sub/two.txt', chunksOf('two'));
  await ufs.write('dir/a b+c ü%.txt', chunksOf('odd name'));
  await ufs.mkdir('dir/emptysub');
  await ufs.rename('dir/one.txt', 'dir/uno.txt');
  assert.is(await ufs.getStatus('dir/one.txt'), null);
  assert.is((await readAll(ufs.read('dir/uno.txt'))).toString(), 'one');
  await ufs.rename('dir', 'moved/here');
  assert.is(await ufs.getStatus('dir'), null);
  assert.equal((await b.keys()).sort(), ['moved/here/a b+c ü%.txt', 'moved/here/emptysub/', 'moved/here/sub/two.txt', 'moved/here/uno.txt']);
  assert.is((await readAll(ufs.read('moved/here/a b+c ü%.txt'))).toString(), 'odd name');
  assert.is((await ufs.getStatus('moved/here/emptysub'))?.type, 'directory');
  // the source's parent is kept by a marker once its last child moved away
  await ufs.write('p/only.txt', chunksOf('o'));
  await ufs.rename('p/only.txt', 'only.txt');
  assert.ok((await b.keys()).includes('p/'));
});

test('rename copies large objects with multipart UploadPartCopy', async () => {
  const b = await bucket('bigcopy');
  const ufs = b.ufs('', { partSize: '5MB', multipartCopyThreshold: '5MB' });
  const data = randomBytes(12 * MB);
  await ufs.write('big.bin', randomStream(data));
  await ufs.rename('big.bin', 'moved.bin');
  const st = await ufs.getStatus('moved.bin');
  assert.is(st?.length, data.length);
  assert.match(st?.etag ?? '', /-3$/);
  assert.is(sha(await readAll(ufs.read('moved.bin'))), sha(data));
});

test('recursive delete in DeleteObjects batches; non-recursive refuses a non-empty dir', async () => {
  const b = await bucket('delete');
  const ufs = b.ufs();
  const limit = pLimit(64);
  await Promise.all(Array.from({ length: 1100 }, (_, i) => limit(() =>
    b.client.send(new PutObjectCommand({ Bucket: b.bucket, Key: `top/d${i % 3}/k${i}`, Body: 'x' })))));
  await ufs.mkdir('top/emptydir');
  await ufs.write('keep.txt', chunksOf('k'));
  await rejects(ufs.delete('top'), 'DIRECTORY_NOT_EMPTY');
  await ufs.delete('top/emptydir');
  assert.is(await ufs.getStatus('top/emptydir'), null);
  await ufs.delete('top', { recursive: true });
  assert.is(await ufs.getStatus('top'), null);
  assert.equal(await b.keys(), ['keep.txt']);
  await ufs.delete('top', { recursive: true }); // missing is not an error
  await ufs.delete('keep.txt');
  assert.equal(await b.keys(), []);
  await rejects(ufs.delete(''), 'INVALID_PATH');
  // batchDelete=false: parallel DeleteObject (radosgw beast + bucket notifications, see docs/s3.md)
  const single = b.ufs('', { 's3.batchDelete': 'false' });
  for (let i = 0; i < 20; i++) await b.client.send(new PutObjectCommand({ Bucket: b.bucket, Key: `s/k${i}`, Body: 'x' }));
  await single.delete('s', { recursive: true });
  assert.equal(await b.keys(), []);
});

test('overwrite=false conflicts with ALREADY_EXISTS (If-None-Match, multipart too); an implied directory is not overwritten', async () => {
  const b = await bucket('conflict');
  const ufs = b.ufs('', { partSize: '5MB' });
  await ufs.write('f.txt', chunksOf('first'));
  await rejects(ufs.write('f.txt', chunksOf('second'), { overwrite: false }), 'ALREADY_EXISTS');
  assert.is((await readAll(ufs.read('f.txt'))).toString(), 'first');
  await rejects(ufs.write('f.txt', randomStream(randomBytes(11 * MB)), { overwrite: false }), 'ALREADY_EXISTS');
  assert.is((await readAll(ufs.read('f.txt'))).toString(), 'first');
  await ufs.write('dir/x', chunksOf('x')); // a directory implied by a key is one
  await rejects(ufs.write('dir', randomStream(randomBytes(11 * MB))), 'IS_A_DIRECTORY');
  const ups = await b.client.send(new ListMultipartUploadsCommand({ Bucket: b.bucket }));
  assert.is(ups.Uploads?.length ?? 0, 0);
});

test('wrong credentials: PERMISSION_DENIED, and the secret is never in the message', async () => {
  const b = await bucket('creds');
  const secret = 'wrongSecretValue0123456789abcdefghijklmn';
  const bad = b.ufs('', { secretAccessKey: secret });
  const e1 = await rejects(bad.check(), 'PERMISSION_DENIED');
  const e2 = await rejects(bad.getStatus('x'), 'PERMISSION_DENIED');
  const e3 = await rejects(bad.write('x', chunksOf('x')), 'PERMISSION_DENIED');
  const unknownKey = b.ufs('', { accessKeyId: 'NOSUCHACCESSKEY00000' });
  const e4 = await rejects(unknownKey.check(), 'PERMISSION_DENIED');
  for (const e of [e1, e2, e3, e4]) {
    assert.not.ok(e.message.includes(secret), e.message);
    assert.not.ok(e.message.includes(b.server.secretAccessKey), e.message);
    assert.not.ok(JSON.stringify(e.toJSON()).includes(secret));
  }
  assert.match(e1.message, /access denied/);
});

test('missing bucket: NOT_FOUND at check()', async () => {
  const srv = await ensureS3Server();
  const ufs = createS3Ufs('s3://no-such-bucket-strata/x', s3Options(srv));
  const e = await rejects(ufs.check(), 'NOT_FOUND');
  assert.match(e.message, /no-such-bucket-strata/);
  await ufs.close();
});

test('server unreachable (closed port): UFS_UNAVAILABLE within the timeout', async () => {
  const srv = await ensureS3Server();
  const tcp = createTcpServer();
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const port = (tcp.address() as AddressInfo).port;
  await new Promise<void>((r) => tcp.close(() => r()));
  const ufs = new S3Ufs('s3://bucket-x', s3Options(srv, { endpoint: `http://127.0.0.1:${port}`, 'ufs.timeout': '2s' }));
  const t0 = Date.now();
  const e = await rejects(ufs.check(), 'UFS_UNAVAILABLE');
  assert.ok(Date.now() - t0 < 2500, `took ${Date.now() - t0}ms`);
  assert.match(e.message, /ECONNREFUSED|unreachable/);
  await rejects(ufs.getStatus('a'), 'UFS_UNAVAILABLE');
  await rejects(readAll(ufs.read('a')), 'UFS_UNAVAILABLE');
  await ufs.close();
});

test('server hanging: UFS_UNAVAILABLE after ufs.timeout', async () => {
  const srv = await ensureS3Server();
  const sockets: Socket[] = [];
  const tcp = createTcpServer((s) => { sockets.push(s); s.on('error', () => undefined); }); // accepts, never answers
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const port = (tcp.address() as AddressInfo).port;
  const ufs = new S3Ufs('s3://bucket-x', s3Options(srv, { endpoint: `http://127.0.0.1:${port}`, 'ufs.timeout': '700ms' }));
  try {
    const t0 = Date.now();
    const e = await rejects(ufs.getStatus('a'), 'UFS_UNAVAILABLE');
    const ms = Date.now() - t0;
    assert.ok(ms >= 600 && ms < 2000, `took ${ms}ms`);
    assert.match(e.message, /700ms/);
  } finally {
    await ufs.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => tcp.close(() => r()));
  }
});

test('throttling (503 SlowDown) is retried with back-off; without retries it is UFS_UNAVAILABLE', async () => {
  const srv = await ensureS3Server();
  let requests = 0;
  let failFirst = 2;
  const http: Server = createServer((req, res) => {
    requests++;
    req.resume();
    if (failFirst > 0) {
      failFirst--;
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>');
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  try {
    const ufs = new S3Ufs('s3://bucket-x', s3Options(srv, { endpoint, maxAttempts: '3' }));
    const t0 = Date.now();
    assert.equal((await listAll(ufs, '')).entries, []);
    assert.is(requests, 3, 'two throttled attempts, then success');
    process.stdout.write(`  (2 x SlowDown retried in ${Date.now() - t0}ms)\n`);
    await ufs.close();
    requests = 0;
    failFirst = 5;
    const once = new S3Ufs('s3://bucket-x', s3Options(srv, { endpoint, maxAttempts: '1' }));
    const e = await rejects(listAll(once, ''), 'UFS_UNAVAILABLE');
    assert.match(e.message, /SlowDown/);
    assert.is(requests, 1);
    await once.close();
  } finally {
    await new Promise<void>((r) => http.close(() => r()));
  }
});

test('a prefetched page that fails while the consumer is busy surfaces as UFS_UNAVAILABLE, no crash', async () => {
  const srv = await ensureS3Server();
  let requests = 0;
  const http: Server = createServer((req, res) => {
    requests++;
    req.resume();
    if (!req.url?.includes('continuation-token')) {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>tok</NextContinuationToken><Contents><Key>a</Key><Size>1</Size><ETag>"x"</ETag><LastModified>2024-01-01T00:00:00.000Z</LastModified></Contents></ListBucketResult>');
      return;
    }
    res.writeHead(500, { 'content-type': 'application/xml' });
    res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>boom</Message></Error>');
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const ufs = new S3Ufs('s3://bucket-x', s3Options(srv, { endpoint, maxAttempts: '1' }));
  try {
    const seen: string[] = [];
    const e = await rejects(async () => {
      for await (const page of ufs.list('')) {
        seen.push(...page.map((x) => x.name));
        await new Promise((r) => setTimeout(r, 300)); // the next page fails meanwhile
      }
    }, 'UFS_UNAVAILABLE');
    assert.equal(seen, ['a']);
    assert.match(e.message, /InternalError/);
    assert.is(requests, 2);
  } finally {
    await ufs.close();
    await new Promise<void>((r) => http.close(() => r()));
  }
});

test('options: s3.* keys, environment fall-back, validation, redaction', async () => {
  const u = new S3Ufs('s3://my-bucket/a/b/', { 's3.endpoint': 'http://127.0.0.1:1', 's3.region': 'eu-west-1', 's3.partSize': '16MB', 'ufs.timeout': '5s' });
  assert.is(u.uri, 's3://my-bucket/a/b');
  assert.is(u.settings.prefix, 'a/b/');
  assert.is(u.settings.region, 'eu-west-1');
  assert.is(u.settings.partSize, 16 * MB);
  assert.is(u.settings.pathStyle, true);
  assert.is(u.settings.timeoutMs, 5000);
  await u.close();
  for (const [uri, opts] of [
    ['s3://', {}], ['s3://UPPER/x', {}], ['s3://ok-bucket/../x', {}], ['file:///x', {}],
    ['s3://ok-bucket', { partSize: '1MB' }], ['s3://ok-bucket', { pathStyle: 'maybe' }],
    ['s3://ok-bucket', { accessKeyId: 'only-the-id' }], ['s3://ok-bucket', { endpoint: 'ftp://x' }],
    ['s3://ok-bucket', { maxAttempts: '0' }],
  ] as Array<[string, Record<string, string>]>) {
    await rejects(async () => createS3Ufs(uri, opts), 'INVALID_ARGUMENT');
  }
  const red = redactOptions({ endpoint: 'http://user:pw@host:1', accessKeyId: 'AK', secretAccessKey: 'S', 's3.secretAccessKey': 'S', 's3.sessionToken': 'T', sessionToken: 'T', region: 'r' });
  assert.equal(red, { endpoint: 'http://***@host:1', accessKeyId: 'AK', secretAccessKey: '***', 's3.secretAccessKey': '***', 's3.sessionToken': '***', sessionToken: '***', region: 'r' });
  // environment: the standard AWS variables (what scripts/s3-server.sh prints)
  const srv = await ensureS3Server();
  const saved = { ...process.env };
  try {
    process.env.AWS_ACCESS_KEY_ID = srv.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = srv.secretAccessKey;
    process.env.S3_ENDPOINT = srv.endpoint;
    process.env.AWS_REGION = srv.region;
    const b = await bucket('envcreds');
    const viaEnv = createS3Ufs(`s3://${b.bucket}`, {});
    await viaEnv.check();
    await viaEnv.write('e.txt', chunksOf('env'));
    const got = await b.client.send(new GetObjectCommand({ Bucket: b.bucket, Key: 'e.txt' }));
    assert.is(await got.Body!.transformToString(), 'env');
    await viaEnv.close();
  } finally {
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'S3_ENDPOINT', 'AWS_REGION']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
});

test.run();
