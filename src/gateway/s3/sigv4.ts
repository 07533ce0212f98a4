// AWS Signature Version 4 verification for the S3 gateway: the Authorization header form,
// presigned URLs (query auth) and aws-chunked bodies (each chunk signature checked in turn).
// Pure functions over the request's method, raw URL and headers; the secret comes from the
// UserStore. Failures are S3Errors with the codes S3 clients expect. The SigV4 arithmetic
// (canonical request, string to sign, signing key) is the one of src/ufs/s3/sigv4.ts.

import { createHash } from 'node:crypto';
import { sameSecret } from '../../auth/users.js';
import {
  EMPTY_SHA256, SIGV4_ALGORITHM, canonicalHeaders, canonicalQueryString, canonicalRequest, chunkStringToSign,
  credentialScope, signatureOf, signingKey, stringToSign, uriEncode,
} from '../../ufs/s3/sigv4.js';
import type { User, UserStore } from '../../auth/users.js';
import { S3Error } from './errors.js';

/** Largest clock difference accepted between client and gateway (S3's 15 minutes). */
export const MAX_SKEW_MS = 15 * 60 * 1000;
const ALGORITHM = SIGV4_ALGORITHM;
export { EMPTY_SHA256, uriEncode };

/** The request as the verifier needs it. */
export interface SignedRequestView {
  method: string;
  /** The raw request target (`/bucket/key?query`), as received. */
  url: string;
  /** Header values by lower-case name (repeated headers as arrays). */
  headers: Record<string, string | string[] | undefined>;
}

/** What a verified request carries on: the user, and what its body must be checked against. */
export interface AuthResult {
  user: User;
  /** `x-amz-content-sha256` (header auth) or UNSIGNED-PAYLOAD (presigned). */
  payloadHash: string;
  /** Signing key, scope and seed signature: needed to verify aws-chunked chunk signatures. */
  signing: { key: Buffer; amzDate: string; scope: string; seed: string };
}

/** Decode a URL component, answering InvalidURI rather than throwing URIError. */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidURI', `cannot decode ${JSON.stringify(s)}`);
  }
}

/** Query pairs of a raw query string, decoded (`+` is a space, as in form encoding). */
export function parseQuery(raw: string): Array<[string, string]> {
  if (!raw) return [];
  return raw.split('&').filter((p) => p !== '').map((p) => {
    const eq = p.indexOf('=');
    const k = eq < 0 ? p : p.slice(0, eq);
    const v = eq < 0 ? '' : p.slice(eq + 1);
    return [safeDecode(k.replace(/\+/g, ' ')), safeDecode(v.replace(/\+/g, ' '))];
  });
}

function headerValue(h: SignedRequestView['headers'], name: string): string | undefined {
  const v = h[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

/** `20250101T000000Z` → epoch ms, or NaN. */
function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length || !/^[0-9a-f]+$/.test(a)) return false;
  return sameSecret(a, b);
}

/** The canonical URIs a client may have signed: the path re-encoded, and the path as sent. */
function canonicalPaths(rawPath: string): string[] {
  const decoded = rawPath.split('/').map((seg) => safeDecode(seg)).join('/');
  const encoded = uriEncode(decoded, true) || '/';
  return encoded === rawPath ? [encoded] : [encoded, rawPath || '/'];
}

/**
 * Verify the signature of a request (header or query form) against the user's secret.
 * @throws S3Error AccessDenied (anonymous, expired), InvalidAccessKeyId, SignatureDoesNotMatch,
 * RequestTimeTooSkewed, AuthorizationHeaderMalformed.
 */
export function verifyRequest(req: SignedRequestView, users: UserStore, now = Date.now()): AuthResult {
  const qi = req.url.indexOf('?');
  const rawPath = qi < 0 ? req.url : req.url.slice(0, qi);
  const query = parseQuery(qi < 0 ? '' : req.url.slice(qi + 1));
  const auth = headerValue(req.headers, 'authorization');
  const q = new Map(query);
  let accessKeyId: string; let scopeParts: string[]; let signedHeaders: string[]; let signature: string;
  let amzDate: string; let payloadHash: string; let queryForCanon = query;
  if (auth !== undefined) {
    if (!auth.startsWith(`${ALGORITHM} `)) {
      throw new S3Error(auth.startsWith('AWS ') ? 'InvalidRequest' : 'AuthorizationHeaderMalformed',
        auth.startsWith('AWS ') ? 'Signature Version 2 is not supported; use AWS4-HMAC-SHA256' : 'the Authorization header is not AWS4-HMAC-SHA256');
    }
    const fields = new Map<string, string>();
    for (const part of auth.slice(ALGORITHM.length + 1).split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const cred = fields.get('Credential'); const sh = fields.get('SignedHeaders'); const sig = fields.get('Signature');
    if (!cred || !sh || !sig) throw new S3Error('AuthorizationHeaderMalformed', 'the Authorization header lacks Credential, SignedHeaders or Signature');
    [accessKeyId, ...scopeParts] = cred.split('/') as [string, ...string[]];
    signedHeaders = sh.split(';');
    signature = sig;
    amzDate = headerValue(req.headers, 'x-amz-date') ?? '';
    if (!amzDate) {
      const d = headerValue(req.headers, 'date');
      const t = d ? Date.parse(d) : NaN;
      if (Number.isNaN(t)) throw new S3Error('AccessDenied', 'the request has no x-amz-date or Date header');
      amzDate = new Date(t).toISOString().replace(/[:-]|\.\d{3}/g, '');
    }
    payloadHash = headerValue(req.headers, 'x-amz-content-sha256') ?? EMPTY_SHA256;
  } else if (q.has('X-Amz-Algorithm')) {
    if (q.get('X-Amz-Algorithm') !== ALGORITHM) throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Algorithm must be AWS4-HMAC-SHA256');
    const cred = q.get('X-Amz-Credential'); const sh = q.get('X-Amz-SignedHeaders'); const sig = q.get('X-Amz-Signature');
    amzDate = q.get('X-Amz-Date') ?? '';
    if (!cred || !sh || !sig || !amzDate) throw new S3Error('AuthorizationQueryParametersError', 'a presigned URL needs X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Signature');
    [accessKeyId, ...scopeParts] = cred.split('/') as [string, ...string[]];
    signedHeaders = sh.split(';');
    signature = sig;
    payloadHash = q.get('X-Amz-Content-Sha256') ?? q.get('x-amz-content-sha256') ?? headerValue(req.headers, 'x-amz-content-sha256') ?? 'UNSIGNED-PAYLOAD';
    queryForCanon = query.filter(([k]) => k !== 'X-Amz-Signature');
    const expires = Number(q.get('X-Amz-Expires') ?? '604800');
    const t = parseAmzDate(amzDate);
    if (!Number.isInteger(expires) || expires < 0) throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Expires must be 0-604800 seconds');
    // Longer than a week: refused as radosgw does and s3-tests expects (403).
    if (expires > 604800) throw new S3Error('AccessDenied', 'X-Amz-Expires must be less than a week (in seconds) that is 604800');
    if (!Number.isNaN(t) && now > t + expires * 1000) throw new S3Error('AccessDenied', 'Request has expired');
  } else if (q.has('AWSAccessKeyId') || q.has('Signature')) {
    throw new S3Error('InvalidRequest', 'Signature Version 2 presigned URLs are not supported; use AWS4-HMAC-SHA256');
  } else {
    throw new S3Error('AccessDenied', 'anonymous requests are refused: sign the request with an access key');
  }
  if (scopeParts.length !== 4 || scopeParts[3] !== 'aws4_request') {
    throw new S3Error('AuthorizationHeaderMalformed', 'the credential scope must be ACCESSKEY/DATE/REGION/SERVICE/aws4_request');
  }
  const [day, region, service] = scopeParts as [string, string, string, string];
  const t = parseAmzDate(amzDate);
  if (Number.isNaN(t)) throw new S3Error('AccessDenied', `x-amz-date ${JSON.stringify(amzDate)} is not of the form YYYYMMDDTHHMMSSZ`);
  if (auth !== undefined && Math.abs(now - t) > MAX_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
  }
  if (!amzDate.startsWith(day)) throw new S3Error('AuthorizationHeaderMalformed', 'the credential date does not match x-amz-date');
  const user = users.get(accessKeyId);
  if (!user) throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  if (!signedHeaders.includes('host')) throw new S3Error('AccessDenied', 'the host header must be signed');

  const canonHeaders = canonicalHeaders(signedHeaders, (n) => headerValue(req.headers, n));
  const key = signingKey(user.secretKey, day, region, service);
  const scope = credentialScope(day, region, service);
  const cq = canonicalQueryString(queryForCanon);
  for (const path of canonicalPaths(rawPath)) {
    const canonical = canonicalRequest({ method: req.method, canonicalPath: path, canonicalQuery: cq, canonicalHeaders: canonHeaders, signedHeaders, payloadHash });
    const expected = signatureOf(key, stringToSign(amzDate, scope, canonical));
    if (sameHex(signature, expected)) return { user, payloadHash, signing: { key, amzDate, scope, seed: signature } };
  }
  throw new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
}

/** True for the payload hashes that announce an aws-chunked body. */
export function isStreamingPayload(payloadHash: string): boolean {
  return payloadHash.startsWith('STREAMING-');
}

/**
 * Decode an aws-chunked body: yields the payload bytes, verifying each chunk's signature
 * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) against the previous one, or none for
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER. Trailers (checksums) are read and ignored. Bytes are
 * passed on as they arrive; a bad signature throws at the chunk's end, which aborts the write.
 */
export async function* decodeAwsChunked(body: AsyncIterable<Uint8Array>, auth: AuthResult): AsyncGenerator<Buffer> {
  const signed = auth.payloadHash.startsWith('STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
  let prev = auth.signing.seed;
  const it = body[Symbol.asyncIterator]();
  let buf: Buffer = Buffer.alloc(0);
  const more = async (): Promise<boolean> => {
    const r = await it.next();
    if (r.done) return false;
    buf = buf.length ? Buffer.concat([buf, r.value]) : Buffer.from(r.value);
    return true;
  };
  const line = async (): Promise<string> => {
    for (;;) {
      const i = buf.indexOf('\r\n');
      if (i >= 0) {
        const s = buf.subarray(0, i).toString('latin1');
        buf = buf.subarray(i + 2);
        return s;
      }
      if (buf.length > 8192) throw new S3Error('IncompleteBody', 'aws-chunked header line too long');
      if (!(await more())) throw new S3Error('IncompleteBody', 'the aws-chunked body ended early');
    }
  };
  for (;;) {
    const header = await line();
    const [sizeHex, ...ext] = header.split(';');
    const size = parseInt(sizeHex!, 16);
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeHex!.trim()) || !Number.isSafeInteger(size)) throw new S3Error('IncompleteBody', `bad aws-chunked chunk header ${JSON.stringify(header.slice(0, 80))}`);
    const sig = ext.map((e) => e.trim()).find((e) => e.startsWith('chunk-signature='))?.slice('chunk-signature='.length);
    if (signed && !sig) throw new S3Error('SignatureDoesNotMatch', 'an aws-chunked chunk has no chunk-signature');
    const hash = signed ? createHash('sha256') : undefined;
    let left = size;
    while (left > 0) {
      if (buf.length === 0 && !(await more())) throw new S3Error('IncompleteBody', 'the aws-chunked body ended inside a chunk');
      const n = Math.min(left, buf.length);
      const piece = buf.subarray(0, n);
      buf = buf.subarray(n);
      left -= n;
      hash?.update(piece);
      yield piece;
    }
    if (signed) {
      const expected = signatureOf(auth.signing.key, chunkStringToSign(auth.signing.amzDate, auth.signing.scope, prev, hash!.digest('hex')));
      if (!sameHex(sig!, expected)) throw new S3Error('SignatureDoesNotMatch', 'an aws-chunked chunk signature does not match');
      prev = expected;
    }
    if (size === 0) {
      // Trailers (x-amz-checksum-*, x-amz-trailer-signature) up to an empty line, or the end.
      for (;;) {
        if (buf.length === 0 && !(await more())) return;
        const l = await line().catch(() => '');
        if (l === '') return;
      }
    }
    while (buf.length < 2) if (!(await more())) throw new S3Error('IncompleteBody', 'the aws-chunked body ended after a chunk');
    if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw new S3Error('IncompleteBody', 'an aws-chunked chunk is not followed by CRLF');
    buf = buf.subarray(2);
  }
}
