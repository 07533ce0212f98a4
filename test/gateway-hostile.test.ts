// Malformed and hostile requests never take the S3 gateway down: garbage bytes, broken
// Authorization headers, bad percent-encoding, broken aws-chunked bodies, bad XML, junk
// ranges and part numbers each get an S3 error (or a closed connection), and the gateway
// answers a normal request afterwards.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ADMIN, openGateway, type GatewayEnv } from './helpers/gateway.js';
import { send, signRequest } from './helpers/sigv4-signer.js';

let g: GatewayEnv;
const creds = { accessKeyId: ADMIN.accessKeyId, secretAccessKey: ADMIN.secretKey };

test.before(async () => {
  g = await openGateway();
  await g.client().send(new CreateBucketCommand({ Bucket: 'hst' }));
  await g.client().send(new PutObjectCommand({ Bucket: 'hst', Key: 'obj', Body: 'twelve bytes' }));
});
test.after(async () => { await g?.dispose(); });

/** Write raw bytes, return whatever comes back before the server closes or 3 s pass. */
function raw(bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(g.gw.port, '127.0.0.1');
    let out = '';
    const done = (): void => { clearTimeout(t); s.destroy(); resolve(out); };
    const t = setTimeout(done, 3000);
    s.on('data', (d) => { out += d.toString('latin1'); if (/\r\n\r\n/.test(out) && /Content-Length: 0|<\/Error>/.test(out)) done(); });
    s.on('error', done);
    s.on('close', done);
    s.write(bytes);
  });
}

test('garbage and broken HTTP', async () => {
  { const t = await raw('\x00\x01\x02 not http at all\r\n\r\n'); assert.match(t, /400/, t.slice(0, 400)); }
  { const t = await raw('GET / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 garbage\r\n\r\n'); assert.match(t, /AuthorizationHeaderMalformed/, t.slice(0, 400)); }
  { const t = await raw('GET / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=00\r\nX-Amz-Date: 20260101T000000Z\r\n\r\n'); assert.match(t, /AuthorizationHeaderMalformed/, t.slice(0, 400)); }
  { const t = await raw('GET / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS abc:def\r\n\r\n'); assert.match(t, /InvalidRequest/, t.slice(0, 400)); }
  { const t = await raw('GET /hst/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n'); assert.match(t, /InvalidURI/, t.slice(0, 400)); }
  { const t = await raw('GET /hst?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x HTTP/1.1\r\nHost: x\r\n\r\n'); assert.match(t, /AuthorizationQueryParametersError/, t.slice(0, 400)); }
  { const t = await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`); assert.match(t, /431|400|^$/, t.slice(0, 400)); }
});

test('signed but malformed: chunked bodies, XML, ranges, part numbers, copy sources, keys', async () => {
  const ep = g.endpoint;
  const put = async (path: string, body: Buffer, payloadHash: string, headers: Record<string, string> = {}, query?: Record<string, string>): Promise<string> => {
    const r = await signRequest(creds, { method: 'PUT', endpoint: ep, path, payloadHash, headers: { 'content-length': String(body.length), ...headers }, ...(query ? { query } : {}) });
    return (await send({ ...r, body })).text;
  };
  { const t = await put('/hst/c1', Buffer.from('zz;chunk-signature=00\r\nabc'), 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', { 'x-amz-decoded-content-length': '3' }); assert.match(t, /IncompleteBody/, t.slice(0, 400)); }
  { const t = await put('/hst/c2', Buffer.from('3;chunk-signature=' + '0'.repeat(64) + '\r\nabc\r\n0;chunk-signature=' + '0'.repeat(64) + '\r\n\r\n'), 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', { 'x-amz-decoded-content-length': '3' }); assert.match(t, /SignatureDoesNotMatch/, t.slice(0, 400)); }
  { const t = await put('/hst/c3', Buffer.from('3\r\nab'), 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', { 'x-amz-decoded-content-length': '3' }); assert.match(t, /IncompleteBody/, t.slice(0, 400)); }
  assert.is(await g.env.fs.exists('/hst/c1') || await g.env.fs.exists('/hst/c2') || await g.env.fs.exists('/hst/c3'), false);
  { const t = await put('/hst/x', Buffer.from('x'), 'UNSIGNED-PAYLOAD', {}, { partNumber: 'abc', uploadId: 'zz' }); assert.match(t, /InvalidArgument|NoSuchUpload/, t.slice(0, 400)); }
  { const t = await put('/hst/x', Buffer.from('x'), 'UNSIGNED-PAYLOAD', {}, { partNumber: '1', uploadId: '../../etc' }); assert.match(t, /NoSuchUpload/, t.slice(0, 400)); }
  { const t = await put('/hst/x', Buffer.from(''), 'UNSIGNED-PAYLOAD', { 'x-amz-copy-source': 'nonsense' }); assert.match(t, /InvalidArgument/, t.slice(0, 400)); }
  { const t = await put('/hst/x', Buffer.from(''), 'UNSIGNED-PAYLOAD', { 'x-amz-copy-source': '/hst/missing' }); assert.match(t, /NoSuchKey/, t.slice(0, 400)); }
  { const t = await put('/hst/x', Buffer.from('x'), 'UNSIGNED-PAYLOAD', { 'x-strata-write-type': 'SOMETIMES' }); assert.match(t, /InvalidArgument/, t.slice(0, 400)); }
  { const t = await put('/hst/a//b', Buffer.from('x'), 'UNSIGNED-PAYLOAD'); assert.match(t, /InvalidArgument/, t.slice(0, 400)); }
  { const t = await put('/hst/obj/under-a-file', Buffer.from('x'), 'UNSIGNED-PAYLOAD'); assert.match(t, /InvalidRequest/, t.slice(0, 400)); }
  const post = async (path: string, query: Record<string, string>, body: string): Promise<string> => {
    const r = await signRequest(creds, { method: 'POST', endpoint: ep, path, query, payloadHash: 'UNSIGNED-PAYLOAD', headers: { 'content-length': String(Buffer.byteLength(body)) } });
    return (await send({ ...r, body: Buffer.from(body) })).text;
  };
  { const t = await post('/hst', { delete: '' }, '<NotDelete/>'); assert.match(t, /MalformedXML/, t.slice(0, 400)); }
  { const t = await post('/hst', { delete: '' }, '<Delete>' + '<Object><Key>k</Key></Object>'.repeat(1001) + '</Delete>'); assert.match(t, /MalformedXML/, t.slice(0, 400)); }
  const up = /<UploadId>([0-9a-f]+)<\/UploadId>/.exec(await post('/hst/m', { uploads: '' }, ''))![1]!;
  { const t = await post('/hst/m', { uploadId: up }, '<CompleteMultipartUpload></CompleteMultipartUpload>'); assert.match(t, /MalformedXML/, t.slice(0, 400)); }
  { const t = await post('/hst/m', { uploadId: up }, '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>'); assert.match(t, /InvalidPart/, t.slice(0, 400)); }
  { const t = await post('/hst/m', { uploadId: up }, 'not xml at all <<<'); assert.match(t, /MalformedXML/, t.slice(0, 400)); }
  const get = async (path: string, headers: Record<string, string>, query?: Record<string, string>): Promise<{ status: number; text: string }> =>
    send(await signRequest(creds, { method: 'GET', endpoint: ep, path, payloadHash: 'UNSIGNED-PAYLOAD', headers, ...(query ? { query } : {}) }));
  assert.is((await get('/hst/obj', { range: 'bytes=garbage' })).status, 200); // an unparsable range is ignored, as S3 does
  assert.is((await get('/hst/obj', { range: 'bytes=5-2' })).status, 200);
  assert.is((await get('/hst/obj', { range: 'bytes=0-1,4-5' })).status, 200);
  assert.is((await get('/hst/obj', { 'if-modified-since': 'not a date' })).status, 200);
  assert.match((await get('/hst', {}, { 'max-keys': '-1' })).text, /InvalidArgument/);
  assert.match((await get('/hst', {}, { 'list-type': '2', 'continuation-token': '!!!' })).text, /InvalidArgument/);
  assert.match((await get('/hst', {}, { 'encoding-type': 'base64' })).text, /InvalidArgument/);
  assert.match((await get('/hst', {}, { prefix: '../../' })).text, /<KeyCount>0<\/KeyCount>|<IsTruncated>false/);
  // Still serving.
  await g.client().send(new HeadBucketCommand({ Bucket: 'hst' }));
});

test.run();
