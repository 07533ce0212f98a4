// Two PUTs of one key overlap (s3-tests test_atomic_dual_write_*): a client sends half of a
// PUT's body on connection A and stops, PUTs the same key whole on connection B, then
// finishes A. Both succeed, the one that completes last wins, and no reader ever sees a mix
// of the two. The same for UploadPart of one part number, and for a CopyObject onto a key
// whose PUT is stalled. The waits are bounded: a gateway that holds a lock while a client
// streams fails here instead of hanging.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ADMIN, openGateway, type GatewayEnv } from './helpers/gateway.js';
import { signRequest } from './helpers/sigv4-signer.js';
import { StrataClient } from '../src/client/tcp-client.js';
import { StrataServer } from '../src/server/tcp-server.js';
import { UserStore } from '../src/auth/users.js';
import { TEST_ADMIN, TEST_ADMIN_TOKEN, readText } from './helpers/fixture.js';

let g: GatewayEnv;
const creds = { accessKeyId: ADMIN.accessKeyId, secretAccessKey: ADMIN.secretKey };
const SIZE = 1024 * 1024;

test.before(async () => {
  g = await openGateway();
  await g.client().send(new CreateBucketCommand({ Bucket: 'dual' }));
});
test.after(async () => { await g?.dispose(); });

/** Resolves to the result, or to 'still waiting' when `p` has not settled within `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'still waiting'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<'still waiting'>((r) => { timer = setTimeout(() => r('still waiting'), ms); })])
    .finally(() => clearTimeout(timer));
}

interface Open { send(b: Buffer): void; finish(b?: Buffer): Promise<{ status: number; text: string }>; abort(): void }

/** A signed request on its own connection, its body sent by the caller piece by piece. */
async function openRequest(method: string, path: string, length: number, query?: Record<string, string>, headers: Record<string, string> = {}): Promise<Open> {
  const r = await signRequest(creds, { method, endpoint: g.endpoint, path, payloadHash: 'UNSIGNED-PAYLOAD', headers: { 'content-length': String(length), ...headers }, ...(query ? { query } : {}) });
  const req = http.request(r.url, { method, headers: r.headers, agent: false });
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  return {
    send: (b) => { req.write(b); },
    finish: (b) => { req.end(b); return answer; },
    abort: () => { req.destroy(); answer.catch(() => undefined); },
  };
}

async function text(key: string): Promise<string> {
  const r = await g.client().send(new GetObjectCommand({ Bucket: 'dual', Key: key }));
  return r.Body!.transformToString();
}

test('a PUT of a key while another PUT of it is half sent: both succeed, the last to complete wins', async () => {
  for (const [first, second] of [['A', 'B'], ['C', 'D']] as const) {
    const a = await openRequest('PUT', '/dual/k', SIZE);
    a.send(Buffer.alloc(SIZE / 2, first));
    await new Promise((r) => setTimeout(r, 200)); // the gateway has the first half
    const b = await openRequest('PUT', '/dual/k', SIZE);
    const bDone = within(b.finish(Buffer.alloc(SIZE, second)), 20_000);
    const rb = await bDone;
    if (rb === 'still waiting') a.abort();
    assert.ok(rb !== 'still waiting', 'the second PUT completed while the first was stalled');
    assert.is(rb.status, 200, rb.text);
    // While A is still stalled, readers see B whole.
    assert.is(await text('k'), second.repeat(SIZE));
    const ra = await within(a.finish(Buffer.alloc(SIZE / 2, first)), 20_000);
    assert.ok(ra !== 'still waiting', 'the first PUT completed');
    assert.is(ra.status, 200, ra.text);
    assert.is(await text('k'), first.repeat(SIZE), 'the PUT that completed last wins');
  }
});

test('a PUT stalled for good holds nothing: other PUTs and a CopyObject onto its key complete', async () => {
  await g.client().send(new PutObjectCommand({ Bucket: 'dual', Key: 'src', Body: 'copied' }));
  const a = await openRequest('PUT', '/dual/stuck', 4 * SIZE);
  a.send(Buffer.alloc(2 * SIZE, 'x')); // past the in-memory part: a spool file
  const spool = join(g.env.dataDir, 's3-gateway', 'spool');
  for (let i = 0; i < 100 && (await readdir(spool)).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.is((await readdir(spool)).length, 1, 'the stalled body is spooled');
  try {
    const put = await within(g.client().send(new PutObjectCommand({ Bucket: 'dual', Key: 'stuck', Body: 'whole' })), 20_000);
    assert.ok(put !== 'still waiting', 'PUT beside a stalled PUT of the same key');
    assert.is(await text('stuck'), 'whole');
    const copy = await openRequest('PUT', '/dual/stuck', 0, undefined, { 'x-amz-copy-source': '/dual/src' });
    const rc = await within(copy.finish(), 20_000);
    assert.ok(rc !== 'still waiting', 'CopyObject onto the key of a stalled PUT');
    assert.is(rc.status, 200, rc.text);
    assert.is(await text('stuck'), 'copied');
  } finally {
    a.abort();
  }
  // The stalled PUT, cut off, wrote nothing and left no spool file.
  await new Promise((r) => setTimeout(r, 200));
  assert.is(await text('stuck'), 'copied');
  assert.equal(await readdir(spool), []);
});

test('UploadPart of one part number twice, the first stalled: both succeed, the last to complete is the part', async () => {
  const up = await g.client().send(new CreateMultipartUploadCommand({ Bucket: 'dual', Key: 'mp' }));
  const q = { uploadId: up.UploadId!, partNumber: '1' };
  const a = await openRequest('PUT', '/dual/mp', SIZE, q);
  a.send(Buffer.alloc(SIZE / 2, 'P'));
  await new Promise((r) => setTimeout(r, 200));
  const b = await openRequest('PUT', '/dual/mp', SIZE, q);
  const rb = await within(b.finish(Buffer.alloc(SIZE, 'Q')), 20_000);
  if (rb === 'still waiting') a.abort();
  assert.ok(rb !== 'still waiting', 'the second UploadPart completed');
  assert.is(rb.status, 200, rb.text);
  const ra = await within(a.finish(Buffer.alloc(SIZE / 2, 'P')), 20_000);
  assert.ok(ra !== 'still waiting');
  assert.is(ra.status, 200, ra.text);
  const body = Buffer.from('<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>');
  const c = await openRequest('POST', '/dual/mp', body.length, { uploadId: up.UploadId! });
  const rc = await within(c.finish(body), 20_000);
  assert.ok(rc !== 'still waiting');
  assert.is(rc.status, 200, rc.text);
  assert.is(await text('mp'), 'P'.repeat(SIZE));
});

// The TCP protocol's writeFile streams into the path's lock (its contract: one writer of a
// path at a time, in order). A stalled writer is aborted after upload.idle.timeout, which
// frees the lock: the second writer waits that long, never forever, and wins.
test('over TCP, a writeFile behind a stalled writeFile of the same path completes once upload.idle.timeout aborts the stalled one', async () => {
  const server = new StrataServer(g.env.fs, { host: '127.0.0.1', port: 0, users: new UserStore([TEST_ADMIN]), uploadIdleTimeoutMs: 1000 });
  const addr = await server.listen();
  const a = await StrataClient.connect(addr, { token: TEST_ADMIN_TOKEN });
  const b = await StrataClient.connect(addr, { token: TEST_ADMIN_TOKEN });
  let unstall: (() => void) | undefined;
  try {
    await b.createDirectory('/tcpdual', { allowExists: true });
    async function* stalled(): AsyncGenerator<Uint8Array> {
      yield Buffer.alloc(SIZE / 2, 'A');
      await new Promise<void>((r) => { unstall = r; });
      yield Buffer.alloc(SIZE / 2, 'A');
    }
    const first = a.writeFile('/tcpdual/f', stalled(), { overwrite: true });
    first.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    const second = await within(b.writeFile('/tcpdual/f', Buffer.alloc(SIZE, 'B'), { overwrite: true }), 30_000);
    assert.ok(second !== 'still waiting', 'the second writeFile completed');
    // The client learns of the abort when its source yields again.
    unstall?.();
    const err = await within(first.then(() => undefined, (e: { code?: string }) => e), 30_000);
    assert.is((err as { code?: string } | undefined)?.code, 'TIMEOUT', 'the stalled writer was aborted');
    assert.is(await readText(b, '/tcpdual/f'), 'B'.repeat(SIZE));
  } finally {
    unstall?.();
    await a.close().catch(() => undefined);
    await b.close().catch(() => undefined);
    await server.close();
  }
});

test.run();
