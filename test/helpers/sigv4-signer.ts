// AWS's own SigV4 signer (@smithy/signature-v4, shipped with the AWS SDK) wired to
// node:crypto, for tests that send hand-made requests to the S3 gateway: presigned URLs,
// aws-chunked bodies with chunk signatures, skewed clocks.

import { createHash, createHmac } from 'node:crypto';
import { SignatureV4, getSigningKey } from '@smithy/signature-v4';

/** The Checksum shape smithy wants: SHA-256, or HMAC-SHA-256 when given a secret. */
export class NodeSha256 {
  private readonly h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(secret?: any) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret as Uint8Array);
  }
  update(data: Uint8Array | string): void { this.h.update(data); }
  async digest(): Promise<Uint8Array> { return new Uint8Array(this.h.digest()); }
  reset(): void { /* one use per instance */ }
}

export interface Creds { accessKeyId: string; secretAccessKey: string }

export function signer(creds: Creds): SignatureV4 {
  return new SignatureV4({ credentials: creds, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
}

export interface HttpReq { method: string; url: string; headers: Record<string, string>; body?: Buffer }

/** Sign a request with smithy (header form). */
export async function signRequest(creds: Creds, r: { method: string; endpoint: string; path: string; query?: Record<string, string>; headers?: Record<string, string>; payloadHash: string; date?: Date }): Promise<HttpReq> {
  const u = new URL(r.endpoint);
  const signed = await signer(creds).sign({
    method: r.method, protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: r.path, query: r.query ?? {},
    headers: { host: u.host, 'x-amz-content-sha256': r.payloadHash, ...(r.headers ?? {}) },
  }, { signingDate: r.date ?? new Date() });
  const qs = new URLSearchParams(r.query ?? {}).toString();
  return { method: r.method, url: `${r.endpoint}${r.path}${qs ? `?${qs}` : ''}`, headers: signed.headers as Record<string, string> };
}

/** A presigned URL made by smithy. */
export async function presign(creds: Creds, r: { method: string; endpoint: string; path: string; expiresIn?: number; date?: Date }): Promise<string> {
  const u = new URL(r.endpoint);
  const p = await signer(creds).presign({
    method: r.method, protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: r.path, query: {},
    // As @aws-sdk/s3-request-presigner does: presigned S3 URLs carry UNSIGNED-PAYLOAD.
    headers: { host: u.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  }, { expiresIn: r.expiresIn ?? 900, ...(r.date ? { signingDate: r.date } : {}) });
  const qs = Object.entries(p.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
  return `${r.endpoint}${r.path}?${qs}`;
}

/**
 * An aws-chunked PUT (STREAMING-AWS4-HMAC-SHA256-PAYLOAD): the seed signed by smithy, each
 * chunk signed with smithy's signing key. `corrupt` flips one chunk signature.
 */
export async function chunkedPut(creds: Creds, endpoint: string, path: string, data: Buffer, chunkSize: number, corrupt?: number): Promise<HttpReq> {
  const date = new Date();
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkSize) chunks.push(data.subarray(i, i + chunkSize));
  chunks.push(Buffer.alloc(0));
  const encodedLength = chunks.reduce((a, c) => a + c.length.toString(16).length + ';chunk-signature='.length + 64 + 4 + c.length, 0);
  const req = await signRequest(creds, {
    method: 'PUT', endpoint, path, payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', date,
    headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length), 'content-length': String(encodedLength) },
  });
  const seed = /Signature=([0-9a-f]{64})/.exec(req.headers.authorization!)![1]!;
  const amzDate = req.headers['x-amz-date']!;
  const day = amzDate.slice(0, 8);
  const key = await getSigningKey(NodeSha256, creds, day, 'us-east-1', 's3');
  const scope = `${day}/us-east-1/s3/aws4_request`;
  const empty = createHash('sha256').digest('hex');
  let prev = seed;
  const parts: Buffer[] = [];
  chunks.forEach((c, i) => {
    const toSign = ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, prev, empty, createHash('sha256').update(c).digest('hex')].join('\n');
    let sig = createHmac('sha256', key).update(toSign).digest('hex');
    prev = sig;
    if (corrupt === i) sig = sig.replace(/^./, (ch) => (ch === '0' ? '1' : '0'));
    parts.push(Buffer.from(`${c.length.toString(16)};chunk-signature=${sig}\r\n`), c, Buffer.from('\r\n'));
  });
  return { ...req, body: Buffer.concat(parts) };
}

/** Send a prepared request with fetch; returns status, headers and the body text. */
export async function send(r: HttpReq): Promise<{ status: number; headers: Headers; text: string }> {
  const headers = { ...r.headers };
  delete headers.host;
  const res = await fetch(r.url, { method: r.method, headers, ...(r.body ? { body: new Uint8Array(r.body) } : {}) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
