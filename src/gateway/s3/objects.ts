// Object operations of the S3 gateway, each a thin mapping onto FileSystem calls: PUT streams
// the body into writeFile, GET streams readFile (ranged) into the response, HEAD is getStatus,
// DELETE is delete (idempotent, empty implicit parents removed so that listings match S3),
// CopyObject streams readFile into writeFile. Metadata and the MD5 ETag live in the xattr.

import { createHash } from 'node:crypto';
import type { DataSource, FileSystem } from '../../fs.js';
import { ErrorCode, StrataError } from '../../errors.js';
import { READ_TYPES, WRITE_TYPES } from '../../types.js';
import type { FileInfo, ReadType, WriteType } from '../../types.js';
import { S3Error, toS3Error } from './errors.js';
import {
  ETAG_ATTR, EMPTY_MD5_ETAG, MARKER_ATTR, STORED_HEADERS, bucketPath, etagMatches, etagOf, header, httpDate,
  metadataFromHeaders, objectPath, readSmallBody, requestBody, sendEmpty, sendXml, storedMetadata,
  type RequestContext,
} from './context.js';
import { parseXmlBody, isoTime } from './xml.js';
import { READ_BUFFER_BYTES, isPooledChunk, releaseReadBuffer } from '../../data/read-buffers.js';
import { safeDecode } from './sigv4.js';
import type { BodySpool } from './spool.js';

/** `x-strata-write-type` of a request, validated. */
export function writeTypeOf(ctx: RequestContext): WriteType | undefined {
  const v = header(ctx.req, 'x-strata-write-type');
  if (v === undefined) return undefined;
  const t = v.trim().toUpperCase();
  if (!(WRITE_TYPES as readonly string[]).includes(t)) throw new S3Error('InvalidArgument', `x-strata-write-type must be one of ${WRITE_TYPES.join(', ')}`);
  return t as WriteType;
}

function readTypeOf(ctx: RequestContext): ReadType | undefined {
  const v = header(ctx.req, 'x-strata-read-type');
  if (v === undefined) return undefined;
  const t = v.trim().toUpperCase();
  if (!(READ_TYPES as readonly string[]).includes(t)) throw new S3Error('InvalidArgument', `x-strata-read-type must be one of ${READ_TYPES.join(', ')}`);
  return t as ReadType;
}

/** The bucket must exist (NoSuchBucket otherwise). */
export async function requireBucket(ctx: RequestContext): Promise<void> {
  let st: FileInfo;
  try {
    st = await ctx.fs.getStatus(bucketPath(ctx.bucket));
  } catch (err) {
    throw toS3Error(err, 'NoSuchBucket');
  }
  if (st.type !== 'directory') throw new S3Error('NoSuchBucket', `no bucket ${ctx.bucket}`);
}

/** Status of an object, or undefined when the key names nothing (or a directory without `/`). */
export async function statObject(fs: FileSystem, bucket: string, key: string): Promise<FileInfo | undefined> {
  const path = objectPath(bucket, key);
  let st: FileInfo;
  try {
    st = await fs.getStatus(path);
  } catch (err) {
    const code = (err as StrataError).code;
    if (code === ErrorCode.NOT_FOUND || code === ErrorCode.NOT_A_DIRECTORY) return undefined;
    throw err;
  }
  if (key.endsWith('/') !== (st.type === 'directory')) return undefined;
  // A special file (symbolic link, FIFO, socket, device: made through the FUSE mount) has no
  // content: no object (docs/s3-gateway.md).
  if (st.node !== undefined) return undefined;
  return st;
}

const lastModified = (info: FileInfo): string => new Date(Math.floor(info.mtimeMs / 1000) * 1000).toUTCString();

/** Headers describing an object (GET/HEAD). */
function objectHeaders(info: FileInfo): Record<string, string> {
  const h: Record<string, string> = {
    ETag: etagOf(info),
    'Last-Modified': lastModified(info),
    'Accept-Ranges': 'bytes',
    'Content-Type': 'application/octet-stream',
    'x-strata-persistence-state': info.persistenceState,
  };
  for (const [k, v] of Object.entries(storedMetadata(info))) h[k] = v;
  if (h['content-type']) { h['Content-Type'] = h['content-type']; delete h['content-type']; }
  return h;
}

/**
 * Evaluate If-Match / If-None-Match / If-(Un)Modified-Since in S3's order of precedence.
 * @throws S3Error PreconditionFailed (412) or NotModified (304).
 */
export function checkConditions(get: (n: string) => string | undefined, info: FileInfo, prefix = ''): void {
  const etag = etagOf(info);
  const mtime = Math.floor(info.mtimeMs / 1000) * 1000;
  const ifMatch = get(`${prefix}if-match`);
  const ifNoneMatch = get(`${prefix}if-none-match`);
  const ifModified = httpDate(get(`${prefix}if-modified-since`));
  const ifUnmodified = httpDate(get(`${prefix}if-unmodified-since`));
  const copy = prefix !== '';
  const fail = (): never => { throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'); };
  const notModified = (): never => {
    if (copy) fail();
    const e = new S3Error('NotModified', 'Not Modified');
    e.headers = { ETag: etag, 'Last-Modified': lastModified(info) };
    throw e;
  };
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, etag)) fail();
  } else if (ifUnmodified !== undefined && mtime > ifUnmodified) fail();
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, etag)) notModified();
  } else if (ifModified !== undefined && mtime <= ifModified) notModified();
}

/** Parse a Range header against a size: undefined for the whole object; InvalidRange when unsatisfiable. */
export function parseRange(v: string | undefined, size: number): { start: number; end: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(v.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // syntactically invalid or multiple ranges: whole object
  let start: number; let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) throw invalidRange(size);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw invalidRange(size);
  return { start, end };
}

function invalidRange(size: number): S3Error {
  const e = new S3Error('InvalidRange', 'The requested range is not satisfiable');
  e.headers = { 'Content-Range': `bytes */${size}` };
  return e;
}

const OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type', 'response-content-language': 'Content-Language', 'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control', 'response-content-disposition': 'Content-Disposition', 'response-content-encoding': 'Content-Encoding',
};

/** GetObject and HeadObject. */
export async function getObject(ctx: RequestContext, head: boolean): Promise<void> {
  const path = objectPath(ctx.bucket, ctx.key);
  const readType = readTypeOf(ctx);
  const info = await statObject(ctx.fs, ctx.bucket, ctx.key);
  if (!info) {
    await requireBucket(ctx);
    throw new S3Error('NoSuchKey', 'The specified key does not exist.');
  }
  checkConditions((n) => header(ctx.req, n), info);
  const headers = objectHeaders(info);
  for (const [q, h] of Object.entries(OVERRIDES)) {
    const v = ctx.query.get(q);
    if (v !== undefined) {
      for (const k of Object.keys(headers)) if (k.toLowerCase() === h.toLowerCase()) delete headers[k];
      headers[h] = v;
    }
  }
  const size = info.type === 'directory' ? 0 : info.length;
  const partNumber = ctx.query.get('partNumber');
  const range = partNumber === undefined ? parseRange(header(ctx.req, 'range'), size) : undefined;
  if (partNumber !== undefined && partNumber !== '1') throw new S3Error('InvalidPart', 'the object has one part');
  const start = range?.start ?? 0;
  const length = range ? range.end - range.start + 1 : size;
  headers['Content-Length'] = String(length);
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
  ctx.res.writeHead(range ? 206 : 200, headers);
  if (head || length === 0) {
    ctx.res.end();
    return;
  }
  const res = ctx.res;
  // Cached blocks are read into the data path's pooled 1 MiB buffers (no fresh 4 MiB buffer
  // per block to fault in); each goes back to the pool once the socket has written it.
  for await (const chunk of ctx.fs.readFile(path, { offset: start, length, chunkSize: READ_BUFFER_BYTES, ...(readType ? { readType } : {}) })) {
    ctx.bytesOut += chunk.length;
    const written = isPooledChunk(chunk) ? res.write(chunk, () => releaseReadBuffer(chunk)) : res.write(chunk);
    if (!written) {
      await new Promise<void>((resolve, reject) => {
        const done = (): void => { res.off('drain', done); res.off('close', done); resolve(); };
        res.on('drain', done);
        res.on('close', done);
        if (res.destroyed) reject(new Error('client went away'));
      });
      if (res.destroyed) return;
    }
  }
  res.end();
}

/** The largest body a directory-marker PUT (`key/`) may carry (received and dropped). */
export const MARKER_BODY_MAX = 64 * 1024;

/** PutObject (and directory markers `key/`). */
export async function putObject(ctx: RequestContext, spool: BodySpool): Promise<void> {
  const path = objectPath(ctx.bucket, ctx.key);
  const writeType = writeTypeOf(ctx);
  await requireBucket(ctx);
  const ifNoneMatch = header(ctx.req, 'if-none-match');
  const ifMatch = header(ctx.req, 'if-match');
  // If-None-Match: * is an exclusive create; If-Match (and If-None-Match with ETags) compare
  // the current object, and the write then replaces only the file compared (its fileId, checked
  // under the key's lock with the write): a PUT between the check and the write fails this one.
  const exclusive = ifNoneMatch !== undefined && ifNoneMatch.trim() === '*';
  const conditional = ifMatch !== undefined || (ifNoneMatch !== undefined && !exclusive);
  /** The precondition of the write, evaluated against the object as it is now. */
  const precondition = async (): Promise<{ exclusive?: boolean; ifFileId?: number }> => {
    if (!conditional) return exclusive ? { exclusive } : {};
    const cur = await statObject(ctx.fs, ctx.bucket, ctx.key);
    if (ifMatch !== undefined && (!cur || !etagMatches(ifMatch, etagOf(cur)))) {
      throw new S3Error('PreconditionFailed', cur ? 'If-Match does not match the current ETag' : 'If-Match was given and the key does not exist');
    }
    if (ifNoneMatch !== undefined && !exclusive && cur && etagMatches(ifNoneMatch, etagOf(cur))) {
      throw new S3Error('PreconditionFailed', 'If-None-Match matches the current ETag');
    }
    return cur && cur.type === 'file' ? { ifFileId: cur.fileId } : { exclusive: true };
  };
  // A failing condition answers before the body is received (as S3 does) ...
  if (conditional) await precondition();
  if (ctx.key.endsWith('/')) {
    // A directory holds no bytes: a small body (s3-tests and some tools send the key as the
    // body) is received and dropped, the key kept as a marker; a larger one is refused.
    let n = 0;
    for await (const c of requestBody(ctx)) n += c.length;
    if (n > MARKER_BODY_MAX) throw new S3Error('InvalidArgument', `a key ending in / is a directory marker: its body (${n} bytes) must be at most ${MARKER_BODY_MAX} bytes, and is not kept`);
    if (conditional && await statObject(ctx.fs, ctx.bucket, ctx.key)) await precondition();
    const wt = writeType ? { writeType } : {};
    if (exclusive) {
      // An exclusive create of the directory itself (ALREADY_EXISTS: 412), its parents as needed.
      const parent = path.slice(0, path.lastIndexOf('/'));
      if (parent !== bucketPath(ctx.bucket)) await ctx.fs.createDirectory(parent, { recursive: true, allowExists: true, ...wt });
      try {
        await ctx.fs.createDirectory(path, { ...wt });
      } catch (err) {
        if ((err as StrataError).code === ErrorCode.ALREADY_EXISTS) throw new S3Error('PreconditionFailed', 'the key exists', { cause: err });
        throw err;
      }
    } else {
      await ctx.fs.createDirectory(path, { recursive: true, allowExists: true, ...wt });
    }
    await ctx.fs.setXattr(path, { [MARKER_ATTR]: '1' });
    sendEmpty(ctx, 200, { ETag: EMPTY_MD5_ETAG });
    return;
  }
  // The body is received whole (and verified) before the write takes the key's lock: a
  // client that stalls half way holds no lock (spool.ts). The MD5 goes into the xattr the
  // commit stores, so no reader ever sees the object without it.
  const xattr = metadataFromHeaders(ctx.req);
  const body = await spool.take(requestBody(ctx, (hex) => { xattr[ETAG_ATTR] = `"${hex}"`; }));
  try {
    // ... and is evaluated again once it is in, carried into the write (atomic with it).
    const info = await writeObject(ctx.fs, path, body.whole ?? body.chunks(), xattr, { writeType, ...await precondition() });
    sendEmpty(ctx, 200, { ETag: xattr[ETAG_ATTR]!, 'x-strata-persistence-state': info.persistenceState });
  } finally {
    await body.dispose();
  }
}

/**
 * writeFile with the gateway's options; ALREADY_EXISTS of an exclusive write is 412.
 * `xattr` is stored by the file's commit, which reads it when the body has ended: values the
 * caller adds while the body streams (the MD5 ETag) are committed with the file, in the
 * server process and over TCP (the client sends the final xattr with the end of the data).
 * A server too old for that gets them by a setXattr just after.
 */
export async function writeObject(fs: FileSystem, path: string, body: DataSource, xattr: Record<string, string>,
  o: { writeType?: WriteType; exclusive?: boolean; ifFileId?: number }): Promise<FileInfo> {
  let info: FileInfo;
  try {
    info = await fs.writeFile(path, body, {
      overwrite: !o.exclusive, recursive: true, ...(o.writeType ? { writeType: o.writeType } : {}), xattr,
      ...(o.ifFileId !== undefined ? { ifFileId: o.ifFileId } : {}),
    });
  } catch (err) {
    const code = (err as StrataError).code;
    if (code === ErrorCode.ALREADY_EXISTS || code === ErrorCode.FAILED_PRECONDITION) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { cause: err });
    if (code === ErrorCode.IS_A_DIRECTORY) throw new S3Error('InvalidRequest', `the key names a directory that holds other keys: ${path}`, { cause: err });
    if (code === ErrorCode.NOT_A_DIRECTORY) throw new S3Error('InvalidRequest', `a parent of the key is an object: ${path}`, { cause: err });
    throw err;
  }
  const etag = xattr[ETAG_ATTR];
  if (etag !== undefined && info.xattr?.[ETAG_ATTR] !== etag) {
    await fs.setXattr(path, { ...xattr });
    info = { ...info, xattr: { ...xattr } };
  }
  return info;
}

/**
 * Delete one key; idempotent (a missing key is success). Parent directories left empty are
 * removed unless they are explicit directory markers, as S3 has no empty prefixes.
 */
export async function deleteKey(fs: FileSystem, bucket: string, key: string): Promise<void> {
  const path = objectPath(bucket, key);
  const st = await statObject(fs, bucket, key);
  if (!st) return;
  try {
    await fs.delete(path, { recursive: false });
  } catch (err) {
    const code = (err as StrataError).code;
    if (code === ErrorCode.NOT_FOUND) return;
    if (code === ErrorCode.DIRECTORY_NOT_EMPTY) {
      // A marker of a prefix that holds keys: the marker goes, the keys stay.
      await fs.setXattr(path, {}).catch(() => undefined);
      return;
    }
    throw err;
  }
  await pruneParents(fs, bucket, path);
}

async function pruneParents(fs: FileSystem, bucket: string, path: string): Promise<void> {
  const top = bucketPath(bucket);
  let dir = path.slice(0, path.lastIndexOf('/'));
  for (let i = 0; i < 256 && dir.length > top.length; i++) {
    let st: FileInfo;
    try {
      st = await fs.getStatus(dir);
    } catch {
      return;
    }
    if (st.type !== 'directory' || st.isMountPoint || st.xattr?.[MARKER_ATTR]) return;
    for await (const page of fs.listStatus(dir, { pageSize: 1 })) if (page.length) return;
    try {
      await fs.delete(dir, { recursive: false });
    } catch {
      return;
    }
    dir = dir.slice(0, dir.lastIndexOf('/'));
  }
}

export async function deleteObject(ctx: RequestContext): Promise<void> {
  objectPath(ctx.bucket, ctx.key);
  await requireBucket(ctx);
  await deleteKey(ctx.fs, ctx.bucket, ctx.key);
  sendEmpty(ctx, 204);
}

/** DeleteObjects: up to 1000 keys, quiet or verbose, per-key errors. */
export async function deleteObjects(ctx: RequestContext): Promise<void> {
  await requireBucket(ctx);
  const doc = parseXmlBody(await readSmallBody(ctx), 'Delete');
  const objects = (doc.Object ?? []) as Array<Record<string, unknown>>;
  if (!Array.isArray(objects) || objects.length > 1000) throw new S3Error('MalformedXML', 'Delete holds 1 to 1000 Object elements');
  const quiet = String(doc.Quiet ?? 'false').toLowerCase() === 'true';
  const deleted: Array<Record<string, unknown>> = [];
  const errors: Array<Record<string, unknown>> = [];
  for (const o of objects) {
    const key = typeof o.Key === 'string' ? o.Key : String(o.Key ?? '');
    try {
      await deleteKey(ctx.fs, ctx.bucket, key);
      if (!quiet) deleted.push({ Key: key, ...(o.VersionId !== undefined ? { VersionId: String(o.VersionId) } : {}) });
    } catch (err) {
      const e = toS3Error(err);
      errors.push({ Key: key, Code: e.code, Message: e.message });
    }
  }
  sendXml(ctx, 200, 'DeleteResult', { Deleted: deleted, Error: errors });
}

/** Parse `x-amz-copy-source` (`/bucket/key` or `bucket/key`, URL-encoded, optional ?versionId). */
export function parseCopySource(v: string): { bucket: string; key: string } {
  let s = v.trim();
  const q = s.indexOf('?');
  if (q >= 0) s = s.slice(0, q);
  s = safeDecode(s);
  if (s.startsWith('/')) s = s.slice(1);
  const i = s.indexOf('/');
  if (i <= 0 || i === s.length - 1) throw new S3Error('InvalidArgument', 'x-amz-copy-source must be /bucket/key');
  return { bucket: s.slice(0, i), key: s.slice(i + 1) };
}

/** CopyObject: COPY or REPLACE metadata, x-amz-copy-source-if-*, copy onto itself to replace metadata. */
export async function copyObject(ctx: RequestContext): Promise<void> {
  const src = parseCopySource(header(ctx.req, 'x-amz-copy-source')!);
  const dstPath = objectPath(ctx.bucket, ctx.key);
  const writeType = writeTypeOf(ctx);
  await requireBucket(ctx);
  const info = await statObject(ctx.fs, src.bucket, src.key);
  if (!info || info.type !== 'file') throw new S3Error('NoSuchKey', `The specified copy source does not exist: ${src.bucket}/${src.key}`);
  checkConditions((n) => header(ctx.req, n), info, 'x-amz-copy-source-');
  const directive = (header(ctx.req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', 'x-amz-metadata-directive must be COPY or REPLACE');
  const meta = directive === 'REPLACE' ? metadataFromHeaders(ctx.req) : storedMetadata(info);
  const srcPath = objectPath(src.bucket, src.key);
  if (srcPath === dstPath) {
    if (directive !== 'REPLACE') {
      throw new S3Error('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata.');
    }
    const etag = etagOf(info);
    await ctx.fs.setXattr(dstPath, { ...meta, [ETAG_ATTR]: etag });
    sendXml(ctx, 200, 'CopyObjectResult', { LastModified: isoTime(info.mtimeMs), ETag: etag });
    return;
  }
  const md5 = createHash('md5');
  const fs = ctx.fs;
  // A multipart source keeps its ETag (S3 does too); otherwise the MD5 of what was copied,
  // set when the copy's body ends so that the commit stores it.
  const srcTag = etagOf(info);
  const keep = /-\d+"$/.test(srcTag) && info.xattr?.[ETAG_ATTR] !== undefined;
  const xattr: Record<string, string> = { ...meta, ...(keep ? { [ETAG_ATTR]: srcTag } : {}) };
  async function* body(): AsyncGenerator<Uint8Array> {
    // The source read is the version the conditions were checked on (or fails: 412).
    for await (const c of fs.readFile(srcPath, { ifFileId: info!.fileId })) { md5.update(c); yield c; }
    if (!keep) xattr[ETAG_ATTR] = `"${md5.digest('hex')}"`;
  }
  const out = await writeObject(ctx.fs, dstPath, body(), xattr, { writeType });
  sendXml(ctx, 200, 'CopyObjectResult', { LastModified: isoTime(out.mtimeMs), ETag: xattr[ETAG_ATTR]! });
}

export { STORED_HEADERS };
