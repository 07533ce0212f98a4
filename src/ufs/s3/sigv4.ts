// AWS Signature Version 4, one implementation for both directions: the canonical request,
// the string to sign, the signing key and the signature (used by `signV4`, the signer of the
// few radosgw calls the AWS SDK has no command for — SNS-style topics, DELETE ?notification —
// and by the S3 gateway's verifier, src/gateway/s3/sigv4.ts, which keeps its request parsing).
// Pure functions on node:crypto; checked against the AWS SDK's own signer by the tests.

import { createHash, createHmac } from 'node:crypto';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Hex SHA-256 of a string or bytes. */
export const sha256hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** SHA-256 of an empty payload. */
export const EMPTY_SHA256 = sha256hex('');

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept; `/` kept in paths with `keepSlash`). */
export function uriEncode(s: string, keepSlash = false): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if ((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) ||
        b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e || (keepSlash && b === 0x2f)) out += String.fromCharCode(b);
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The canonical query string of raw (decoded) pairs: encoded, sorted by name then value. */
export function canonicalQueryString(pairs: Iterable<readonly [string, string]>): string {
  return [...pairs].map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join('&');
}

/** The canonical headers block (`name:value\n` per signed header, values trimmed and spaces folded). */
export function canonicalHeaders(signedHeaders: readonly string[], valueOf: (name: string) => string | undefined): string {
  let out = '';
  for (const n of signedHeaders) out += `${n}:${(valueOf(n) ?? '').trim().replace(/\s+/g, ' ')}\n`;
  return out;
}

/** The canonical request (`canonicalPath` already encoded, `canonicalQuery` from canonicalQueryString). */
export function canonicalRequest(r: {
  method: string; canonicalPath: string; canonicalQuery: string; canonicalHeaders: string;
  signedHeaders: readonly string[]; payloadHash: string;
}): string {
  return [r.method, r.canonicalPath, r.canonicalQuery, r.canonicalHeaders, r.signedHeaders.join(';'), r.payloadHash].join('\n');
}

/** `DAY/REGION/SERVICE/aws4_request`. */
export function credentialScope(day: string, region: string, service: string): string {
  return `${day}/${region}/${service}/aws4_request`;
}

/** The string to sign of a canonical request. */
export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [SIGV4_ALGORITHM, amzDate, scope, sha256hex(canonical)].join('\n');
}

/** The string to sign of one aws-chunked chunk (its signature chains from the previous one). */
export function chunkStringToSign(amzDate: string, scope: string, previousSignature: string, chunkSha256: string): string {
  return ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previousSignature, EMPTY_SHA256, chunkSha256].join('\n');
}

/** Derived signing keys by secret, day, region and service: four HMACs saved per request. */
const signingKeys = new Map<string, Buffer>();
const MAX_SIGNING_KEYS = 1024;

/** The signing key of a secret for one day, region and service (cached). */
export function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  const id = `${day}\0${region}\0${service}\0${secret}`;
  let k = signingKeys.get(id);
  if (!k) {
    k = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
    if (signingKeys.size >= MAX_SIGNING_KEYS) signingKeys.clear(); // keys of past days and unknown scopes age out
    signingKeys.set(id, k);
  }
  return k;
}

/** Hex HMAC-SHA-256 signature of a string to sign. */
export function signatureOf(key: Buffer, toSign: string): string {
  return createHmac('sha256', key).update(toSign).digest('hex');
}

/** `20250101T000000Z` of a date. */
export function amzDateOf(d: Date): string {
  return d.toISOString().replace(/[:-]|\.\d{3}/g, '');
}

export interface SignedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sign a request. `path` is the raw (unencoded) path, `query` raw key/value pairs; the body
 * is sent as given. Returns the URL and headers to use.
 */
export function signV4(args: {
  method: string;
  endpoint: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  service: string;
  region: string;
  credentials: SigV4Credentials;
  now?: Date;
}): SignedRequest {
  const url = new URL(args.endpoint);
  const body = args.body ?? '';
  const amzDate = amzDateOf(args.now ?? new Date());
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256hex(body);
  const basePath = url.pathname.replace(/\/+$/, '');
  const canonicalPath = uriEncode(basePath + args.path, true) || '/';
  const canonicalQuery = canonicalQueryString(Object.entries(args.query ?? {}));
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-date': amzDate,
    'x-amz-content-sha256': payloadHash,
    ...(args.credentials.sessionToken ? { 'x-amz-security-token': args.credentials.sessionToken } : {}),
  };
  for (const [k, v] of Object.entries(args.headers ?? {})) headers[k.toLowerCase()] = v;
  const names = Object.keys(headers).sort();
  const canonical = canonicalRequest({
    method: args.method, canonicalPath, canonicalQuery,
    canonicalHeaders: canonicalHeaders(names, (n) => headers[n]), signedHeaders: names, payloadHash,
  });
  const scope = credentialScope(day, args.region, args.service);
  const sig = signatureOf(signingKey(args.credentials.secretAccessKey, day, args.region, args.service), stringToSign(amzDate, scope, canonical));
  headers.authorization = `${SIGV4_ALGORITHM} Credential=${args.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${sig}`;
  delete headers.host;
  const origin = `${url.protocol}//${url.host}`;
  return { url: `${origin}${canonicalPath}${canonicalQuery ? `?${canonicalQuery}` : ''}`, method: args.method, headers, body };
}
