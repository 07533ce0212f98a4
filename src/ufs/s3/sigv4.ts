// A small AWS Signature Version 4 signer on node:crypto, for the few radosgw calls the AWS
// SDK has no command for (SNS-style CreateTopic/DeleteTopic on the S3 port, and
// `DELETE /bucket?notification=ID`).

import { createHash, createHmac } from 'node:crypto';

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const sha256hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept). */
export function uriEncode(s: string, keepSlash = false): string {
  let out = '';
  for (const ch of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(ch);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${ch.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
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
  const amzDate = (args.now ?? new Date()).toISOString().replace(/[:-]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256hex(body);
  const basePath = url.pathname.replace(/\/+$/, '');
  const canonicalPath = uriEncode(basePath + args.path, true) || '/';
  const q = Object.entries(args.query ?? {}).map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const canonicalQuery = q.map(([k, v]) => `${k}=${v}`).join('&');
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-date': amzDate,
    'x-amz-content-sha256': payloadHash,
    ...(args.credentials.sessionToken ? { 'x-amz-security-token': args.credentials.sessionToken } : {}),
  };
  for (const [k, v] of Object.entries(args.headers ?? {})) headers[k.toLowerCase()] = v;
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${headers[n]!.trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [args.method, canonicalPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${args.region}/${args.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${args.credentials.secretAccessKey}`, day);
  const kSigning = hmac(hmac(hmac(kDate, args.region), args.service), 'aws4_request');
  const signature = createHmac('sha256', kSigning).update(toSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${args.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  delete headers.host;
  const origin = `${url.protocol}//${url.host}`;
  return { url: `${origin}${canonicalPath}${canonicalQuery ? `?${canonicalQuery}` : ''}`, method: args.method, headers, body };
}
