// The one SigV4 module (src/ufs/s3/sigv4.ts) against the AWS SDK's own signer
// (@smithy/signature-v4): signV4 produces the SDK's Authorization header for the same request
// and instant, and the S3 gateway's verifier, built on the same functions, accepts both.
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { UserStore } from '../src/auth/users.js';
import { verifyRequest } from '../src/gateway/s3/sigv4.js';
import { sha256hex, signV4, uriEncode } from '../src/ufs/s3/sigv4.js';
import { signRequest } from './helpers/sigv4-signer.js';

const creds = { accessKeyId: 'AKIDSIGV4TEST', secretAccessKey: 'secret/with+odd=chars0123456789' };
const users = new UserStore([{ name: 'u', accessKeyId: creds.accessKeyId, secretKey: creds.secretAccessKey, role: 'user' }]);
const endpoint = 'http://127.0.0.1:9000';
const date = new Date('2026-11-30T12:34:56Z');

const CASES: Array<{ method: string; path: string; query?: Record<string, string>; body?: string; headers?: Record<string, string> }> = [
  { method: 'GET', path: '/bucket/key.txt' },
  { method: 'DELETE', path: '/bucket', query: { notification: 'strata-abc' } },
  { method: 'POST', path: '/', body: 'Action=CreateTopic&Name=t', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
  { method: 'PUT', path: '/bucket/a b+c ü%/é.txt', query: { 'list-type': '2', prefix: 'x y/', 'max-keys': '10' }, body: 'hello' },
];

test('signV4 produces the AWS SDK signer\'s signature for the same request and instant', async () => {
  for (const c of CASES) {
    const ours = signV4({ ...c, endpoint, service: 's3', region: 'us-east-1', credentials: creds, now: date });
    const theirs = await signRequest(creds, {
      method: c.method, endpoint, path: uriEncode(c.path, true), query: c.query ?? {}, headers: c.headers ?? {},
      payloadHash: sha256hex(c.body ?? ''), date,
    });
    assert.is(ours.headers.authorization, theirs.headers.authorization, `${c.method} ${c.path}`);
  }
});

test('the gateway verifier accepts what signV4 signed, and refuses a changed request', () => {
  for (const c of CASES) {
    const s = signV4({ ...c, endpoint, service: 's3', region: 'us-east-1', credentials: creds, now: date });
    const url = new URL(s.url);
    const headers = { ...s.headers, host: url.host };
    const view = { method: c.method, url: `${url.pathname}${url.search}`, headers };
    const ok = verifyRequest(view, users, date.getTime());
    assert.is(ok.user.name, 'u');
    assert.is(ok.payloadHash, sha256hex(c.body ?? ''));
    assert.throws(() => verifyRequest({ ...view, method: c.method === 'GET' ? 'HEAD' : 'GET' }, users, date.getTime()), /signature/i);
  }
});

test.run();
