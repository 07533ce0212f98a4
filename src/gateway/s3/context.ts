// What one S3 request carries through the gateway's handlers: the user's view of the file
// system, the parsed bucket/key/query, the verified signature, and helpers to answer (XML,
// empty, error). Also the key rules (segments, length) and the metadata kept in a file's xattr.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { FileSystem } from '../../fs.js';
import type { User } from '../../auth/users.js';
import type { FileInfo } from '../../types.js';
import { S3Error } from './errors.js';
import type { AuthResult } from './sigv4.js';
import { decodeAwsChunked, isStreamingPayload } from './sigv4.js';
import { xmlDoc } from './xml.js';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** The file system as the authenticated user sees it (`withUser`). */
  fs: FileSystem;
  user: User;
  auth: AuthResult;
  bucket: string;
  /** The object key (decoded), '' for bucket requests. */
  key: string;
  query: Map<string, string>;
  requestId: string;
  /** The operation name, for metrics and the access log (set by the router). */
  op: string;
  bytesIn: number;
  bytesOut: number;
  /** The S3 error code answered, if any (counted as `errors.<code>`). */
  errorCode?: string;
  /** The S3 error the request body raised (bad digest, signature), answered in place of what the write made of it. */
  bodyError?: unknown;
}

/** xattr key of the S3 ETag (quoted, as S3 prints it). */
export const ETAG_ATTR = 's3.etag';
/** xattr key marking a directory created as an S3 directory marker (`key/`). */
export const MARKER_ATTR = 's3.marker';
/** Headers stored with an object and returned by GET/HEAD. */
export const STORED_HEADERS = ['content-type', 'content-encoding', 'content-disposition', 'content-language', 'cache-control', 'expires'];
export const EMPTY_MD5_ETAG = `"${createHash('md5').digest('hex')}"`;

/** Namespace path of a bucket. */
export const bucketPath = (bucket: string): string => `/${bucket}`;

/** Check an object key and return its namespace path (`.`/`..`/empty segments are InvalidArgument). */
export function objectPath(bucket: string, key: string): string {
  if (key === '') throw new S3Error('InvalidArgument', 'the object key is empty');
  if (Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError', 'Your key is too long (over 1024 bytes)');
  const body = key.endsWith('/') ? key.slice(0, -1) : key;
  for (const seg of body.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') {
      throw new S3Error('InvalidArgument', `object key ${JSON.stringify(key)} has an empty, '.' or '..' segment, which Strata's namespace cannot hold`);
    }
    if (seg.includes('\0')) throw new S3Error('InvalidArgument', 'object keys may not contain NUL');
  }
  return `/${bucket}/${body}`;
}

/**
 * The ETag of a file: the MD5 stored when the gateway wrote it; else the UFS's own ETag of
 * the content (an S3 object's, kept on the inode when loaded or persisted); else a stable
 * value derived from the content fingerprint (fileId, length, mtime) that does not look like
 * an MD5, so that SDKs do not check downloads against it.
 */
export function etagOf(info: FileInfo): string {
  const stored = info.xattr?.[ETAG_ATTR];
  if (stored) return stored;
  if (info.type === 'directory') return EMPTY_MD5_ETAG;
  if (info.ufsEtag) return `"${info.ufsEtag}"`;
  return `"strata-${info.fileId.toString(36)}-${info.length.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}"`;
}

/** The metadata of a PUT/copy/multipart request to store in the file's xattr. */
export function metadataFromHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const v = Array.isArray(value) ? value.join(',') : value;
    if (name.startsWith('x-amz-meta-') || STORED_HEADERS.includes(name)) out[name] = v;
  }
  if (typeof out['content-encoding'] === 'string') {
    // aws-chunked is a transfer detail of the request, not the object's encoding.
    const enc = out['content-encoding'].split(',').map((s) => s.trim()).filter((s) => s && s !== 'aws-chunked');
    if (enc.length) out['content-encoding'] = enc.join(','); else delete out['content-encoding'];
  }
  return out;
}

/** The stored metadata of a file (its xattr without Strata's own keys). */
export function storedMetadata(info: FileInfo): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(info.xattr ?? {})) if (!k.startsWith('s3.')) out[k] = v;
  return out;
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Answer with an XML document. */
export function sendXml(ctx: RequestContext, status: number, root: string, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  const text = Buffer.from(xmlDoc(root, body));
  ctx.bytesOut += text.length;
  ctx.res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': String(text.length), ...headers });
  ctx.res.end(text);
}

export function sendEmpty(ctx: RequestContext, status: number, headers: Record<string, string> = {}): void {
  ctx.res.writeHead(status, { 'Content-Length': '0', ...headers });
  ctx.res.end();
}

/**
 * The request body as a stream of payload bytes: aws-chunked decoded (chunk signatures
 * checked), counted, and checked at its end against x-amz-content-sha256 and Content-MD5.
 * `onDone` receives the MD5 (hex) and length once the body is complete and verified.
 */
export async function* requestBody(ctx: RequestContext, onDone?: (md5hex: string, length: number) => void): AsyncGenerator<Uint8Array> {
  try {
    yield* checkedBody(ctx, onDone);
  } catch (err) {
    ctx.bodyError = err;
    throw err;
  }
}

async function* checkedBody(ctx: RequestContext, onDone?: (md5hex: string, length: number) => void): AsyncGenerator<Uint8Array> {
  const { req, auth } = ctx;
  const streaming = isStreamingPayload(auth.payloadHash);
  const src: AsyncIterable<Uint8Array> = streaming ? decodeAwsChunked(req, auth) : req;
  const md5 = createHash('md5');
  const sha = /^[0-9a-f]{64}$/.test(auth.payloadHash) ? createHash('sha256') : undefined;
  let n = 0;
  for await (const chunk of src) {
    md5.update(chunk);
    sha?.update(chunk);
    n += chunk.length;
    ctx.bytesIn += chunk.length;
    yield chunk;
  }
  const declared = streaming ? header(req, 'x-amz-decoded-content-length') : undefined;
  if (declared !== undefined && Number(declared) !== n) throw new S3Error('IncompleteBody', `the body has ${n} bytes, x-amz-decoded-content-length says ${declared}`);
  if (sha && sha.digest('hex') !== auth.payloadHash) {
    throw new S3Error('XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
  }
  const digest = md5.digest();
  const want = header(req, 'content-md5');
  if (want !== undefined) {
    const b = Buffer.from(want, 'base64');
    if (b.length !== 16) throw new S3Error('InvalidDigest', 'The Content-MD5 you specified is not valid.');
    if (!b.equals(digest)) throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  onDone?.(digest.toString('hex'), n);
}

/** Read a small request body (XML) whole, bounded by `limit` bytes. */
export async function readSmallBody(ctx: RequestContext, limit = 2 * 1024 * 1024): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of requestBody(ctx)) {
    n += c.length;
    if (n > limit) throw new S3Error('MalformedXML', `the request body is larger than ${limit} bytes`);
    parts.push(Buffer.from(c));
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Parse an HTTP date header; undefined when absent or unparsable (ignored, as S3 does). */
export function httpDate(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** ETag lists of If-Match / If-None-Match (`*` matches anything). */
export function etagMatches(list: string, etag: string): boolean {
  const bare = etag.replace(/^"|"$/g, '');
  return list.split(',').map((s) => s.trim().replace(/^W\//, '').replace(/^"|"$/g, '')).some((t) => t === '*' || t === bare);
}
