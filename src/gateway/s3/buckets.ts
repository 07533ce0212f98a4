// Bucket operations of the S3 gateway: buckets are the top-level directories of the
// namespace (CreateBucket is a mkdir and needs the admin role; DeleteBucket only when empty),
// and the listings (v1, v2, ?versions) answered page by page by listing.ts.

import { ErrorCode, StrataError } from '../../errors.js';
import type { FileInfo } from '../../types.js';
import { S3Error, toS3Error } from './errors.js';
import { bucketPath, etagOf, header, readSmallBody, sendEmpty, sendXml, type RequestContext } from './context.js';
import { listObjects, type ListEntry, type ListPage } from './listing.js';
import { requireBucket } from './objects.js';
import { uriEncode } from './sigv4.js';
import { RawXml, esc, isoTime, parseXmlBody } from './xml.js';

const OWNER = (ctx: RequestContext): Record<string, string> => ({ ID: ctx.user.accessKeyId, DisplayName: ctx.user.name });

/**
 * Bucket names CreateBucket accepts: S3's rules (3-63 characters of lower-case letters,
 * digits, '.' and '-', starting and ending with a letter or digit, no '..', '.-' or '-.',
 * not an IPv4 address). Existing top-level directories with other names are still served as buckets.
 */
export function checkBucketName(name: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || /\.\.|\.-|-\./.test(name) || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    throw new S3Error('InvalidBucketName', `The specified bucket is not valid: ${JSON.stringify(name)}`);
  }
}

/** xattr keys of a bucket directory: who created it, with which canned ACL, in which location. */
const OWNER_ATTR = 's3.owner';
const ACL_ATTR = 's3.acl';
const LOCATION_ATTR = 's3.location';

export async function listBuckets(ctx: RequestContext): Promise<void> {
  const buckets: Array<Record<string, string>> = [];
  for await (const page of ctx.fs.listStatus('/', { pageSize: 1000 })) {
    for (const d of page) if (d.type === 'directory') buckets.push({ Name: d.name, CreationDate: isoTime(d.mtimeMs) });
    if (buckets.length >= 10_000) break;
  }
  sendXml(ctx, 200, 'ListAllMyBucketsResult', { Owner: OWNER(ctx), Buckets: { Bucket: buckets } });
}

/**
 * CreateBucket. Asked again by its owner with the same canned ACL it answers 200 (S3's
 * us-east-1 behaviour, as radosgw); asked by anyone else, or with another ACL,
 * BucketAlreadyExists (409). A top-level directory not created through the gateway belongs
 * to every admin. The LocationConstraint given is kept for GetBucketLocation.
 */
export async function createBucket(ctx: RequestContext): Promise<void> {
  checkBucketName(ctx.bucket);
  const body = await readSmallBody(ctx, 64 * 1024);
  let location = '';
  if (body.trim() !== '') {
    const doc = parseXmlBody(body, 'CreateBucketConfiguration');
    if (doc.LocationConstraint !== undefined) location = String(doc.LocationConstraint);
  }
  const acl = (header(ctx.req, 'x-amz-acl') ?? 'private').trim();
  const path = bucketPath(ctx.bucket);
  const again = (st: FileInfo): void => {
    const owner = st.xattr?.[OWNER_ATTR];
    const mine = owner === undefined ? ctx.user.role === 'admin' : owner === ctx.user.accessKeyId;
    if (st.type !== 'directory' || !mine || (st.xattr?.[ACL_ATTR] ?? 'private') !== acl) {
      throw new S3Error('BucketAlreadyExists', 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.');
    }
    sendEmpty(ctx, 200, { Location: `/${ctx.bucket}` });
  };
  const existing = await ctx.fs.getStatus(path).catch((err: unknown) => {
    if ((err as StrataError).code === ErrorCode.NOT_FOUND) return undefined;
    throw err;
  });
  if (existing) { again(existing); return; }
  if (ctx.user.role !== 'admin') throw new S3Error('AccessDenied', `user ${ctx.user.name} may not create buckets: admin role required`);
  try {
    await ctx.fs.createDirectory(path);
  } catch (err) {
    if ((err as StrataError).code === ErrorCode.ALREADY_EXISTS) { again(await ctx.fs.getStatus(path)); return; }
    throw err;
  }
  await ctx.fs.setXattr(path, { [OWNER_ATTR]: ctx.user.accessKeyId, [ACL_ATTR]: acl, ...(location ? { [LOCATION_ATTR]: location } : {}) });
  sendEmpty(ctx, 200, { Location: `/${ctx.bucket}` });
}

export async function headBucket(ctx: RequestContext): Promise<void> {
  await requireBucket(ctx);
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': 'us-east-1' });
}

export async function deleteBucket(ctx: RequestContext): Promise<void> {
  if (ctx.user.role !== 'admin') throw new S3Error('AccessDenied', `user ${ctx.user.name} may not delete buckets: admin role required`);
  await requireBucket(ctx);
  const p = bucketPath(ctx.bucket);
  for await (const page of ctx.fs.listStatus(p, { pageSize: 1 })) {
    if (page.length) throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty');
  }
  try {
    await ctx.fs.delete(p, { recursive: false });
  } catch (err) {
    throw toS3Error(err, 'NoSuchBucket');
  }
  sendEmpty(ctx, 204);
}

export async function getBucketLocation(ctx: RequestContext): Promise<void> {
  const st = await ctx.fs.getStatus(bucketPath(ctx.bucket)).catch((err: unknown) => { throw toS3Error(err, 'NoSuchBucket'); });
  if (st.type !== 'directory') throw new S3Error('NoSuchBucket', `no bucket ${ctx.bucket}`);
  const location = st.xattr?.[LOCATION_ATTR];
  sendXml(ctx, 200, 'LocationConstraint', location ? { text: new RawXml(esc(location)) } : {});
}

function maxKeysOf(ctx: RequestContext, name = 'max-keys'): number {
  const v = ctx.query.get(name);
  if (v === undefined) return 1000;
  if (!/^\d+$/.test(v)) throw new S3Error('InvalidArgument', `${name} must be a non-negative integer`);
  return Math.min(1000, Number(v));
}

function encoder(ctx: RequestContext): (s: string) => string {
  const enc = ctx.query.get('encoding-type');
  if (enc !== undefined && enc !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request');
  return enc === 'url' ? (s) => uriEncode(s, true) : (s) => s;
}

/** An ETag escaped for XML text: the common `"hex"` form without a regex replace. */
function escEtag(etag: string): string {
  const inner = etag.length >= 2 && etag.charCodeAt(0) === 34 && etag.charCodeAt(etag.length - 1) === 34 ? etag.slice(1, -1) : undefined;
  return inner !== undefined && esc(inner) === inner ? `&quot;${inner}&quot;` : esc(etag);
}

/**
 * The `<Contents>` (or `<Version>`) elements of a listing page as one pre-escaped string:
 * the page's bulk, written without building an object per entry.
 */
function contentsXml(entries: ListEntry[], enc: (s: string) => string, o: { owner?: Record<string, string>; element?: string; version?: boolean } = {}): RawXml {
  const el = o.element ?? 'Contents';
  const owner = o.owner ? `<Owner><ID>${esc(o.owner.ID!)}</ID><DisplayName>${esc(o.owner.DisplayName!)}</DisplayName></Owner>` : '';
  const version = o.version ? '<VersionId>null</VersionId><IsLatest>true</IsLatest>' : '';
  let out = '';
  for (const e of entries) {
    const info = e.info as FileInfo;
    out += `<${el}><Key>${esc(enc(e.key))}</Key><LastModified>${isoTime(info.mtimeMs)}</LastModified><ETag>${escEtag(etagOf(info))}</ETag>`
      + `<Size>${info.type === 'directory' ? 0 : info.length}</Size><StorageClass>STANDARD</StorageClass>${version}${owner}</${el}>`;
  }
  return new RawXml(out);
}

const token = (k: string): string => Buffer.from(k, 'utf8').toString('base64url');
function untoken(t: string): string {
  const k = Buffer.from(t, 'base64url').toString('utf8');
  if (token(k) !== t.replace(/=+$/, '')) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect');
  return k;
}

/**
 * One listing page; the bucket is looked up only when the page is empty (a page with entries
 * proves the bucket exists): NoSuchBucket / AccessDenied then, as before any listing.
 */
async function listPage(ctx: RequestContext, p: Parameters<typeof listObjects>[1]): Promise<ListPage> {
  const page = await listObjects(ctx.fs, p);
  if (page.contents.length === 0 && page.commonPrefixes.length === 0) await requireBucket(ctx);
  return page;
}

/** ListObjectsV2 (list-type=2) and ListObjects (v1). */
export async function listObjectsHandler(ctx: RequestContext): Promise<void> {
  const v2 = ctx.query.get('list-type') === '2';
  const enc = encoder(ctx);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const maxKeys = maxKeysOf(ctx);
  const cont = ctx.query.get('continuation-token');
  const startAfter = v2 ? (cont !== undefined ? untoken(cont) : ctx.query.get('start-after')) : ctx.query.get('marker');
  const page = await listPage(ctx, { bucketPath: bucketPath(ctx.bucket), prefix, delimiter, startAfter: startAfter || undefined, maxKeys });
  const fetchOwner = ctx.query.get('fetch-owner') === 'true';
  const common = {
    Name: ctx.bucket,
    // v1 answers the Prefix as given, encoded or not (AWS and radosgw do; boto3 decodes it only in v2).
    Prefix: v2 ? enc(prefix) : prefix,
    ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
    MaxKeys: maxKeys,
    ...(ctx.query.has('encoding-type') ? { EncodingType: 'url' } : {}),
    IsTruncated: page.isTruncated,
  };
  const contents = contentsXml(page.contents, enc, !v2 || fetchOwner ? { owner: OWNER(ctx) } : {});
  const prefixes = page.commonPrefixes.map((p) => ({ Prefix: enc(p) }));
  if (v2) {
    sendXml(ctx, 200, 'ListBucketResult', {
      ...common,
      ...(cont !== undefined ? { ContinuationToken: cont } : {}),
      ...(ctx.query.has('start-after') ? { StartAfter: enc(ctx.query.get('start-after')!) } : {}),
      KeyCount: page.contents.length + prefixes.length,
      ...(page.isTruncated && page.last !== undefined ? { NextContinuationToken: token(page.last) } : {}),
      Contents: contents,
      CommonPrefixes: prefixes,
    });
  } else {
    sendXml(ctx, 200, 'ListBucketResult', {
      ...common,
      Marker: enc(ctx.query.get('marker') ?? ''),
      ...(page.isTruncated && delimiter && page.last !== undefined ? { NextMarker: enc(page.last) } : {}),
      Contents: contents,
      CommonPrefixes: prefixes,
    });
  }
}

/** GET ?versions answered as a plain listing: every object is its one version `null`. */
export async function listVersions(ctx: RequestContext): Promise<void> {
  const enc = encoder(ctx);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const maxKeys = maxKeysOf(ctx);
  const keyMarker = ctx.query.get('key-marker') ?? '';
  const page = await listPage(ctx, { bucketPath: bucketPath(ctx.bucket), prefix, delimiter, startAfter: keyMarker || undefined, maxKeys });
  sendXml(ctx, 200, 'ListVersionsResult', {
    Name: ctx.bucket,
    Prefix: enc(prefix),
    KeyMarker: enc(keyMarker),
    VersionIdMarker: ctx.query.get('version-id-marker') ?? '',
    ...(page.isTruncated && page.last !== undefined ? { NextKeyMarker: enc(page.last), NextVersionIdMarker: 'null' } : {}),
    MaxKeys: maxKeys,
    ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
    ...(ctx.query.has('encoding-type') ? { EncodingType: 'url' } : {}),
    IsTruncated: page.isTruncated,
    Version: contentsXml(page.contents, enc, { element: 'Version', version: true, owner: OWNER(ctx) }),
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  });
}

/** GET ?versioning: Strata keeps no versions (the status is absent, as for a never-versioned bucket). */
export async function getVersioning(ctx: RequestContext): Promise<void> {
  await requireBucket(ctx);
  sendXml(ctx, 200, 'VersioningConfiguration', {});
}

/** GET ?acl: the owner has full control (ACLs are not stored; PUT ?acl is accepted and ignored). */
export async function getAcl(ctx: RequestContext): Promise<void> {
  await requireBucket(ctx);
  sendXml(ctx, 200, 'AccessControlPolicy', {
    Owner: OWNER(ctx),
    AccessControlList: { Grant: { Grantee: { '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', '@_xsi:type': 'CanonicalUser', ...OWNER(ctx) }, Permission: 'FULL_CONTROL' } },
  });
}
