// Multipart uploads of the S3 gateway. Parts live durably in the gateway's own directory
// (DATA_DIR/multipart/<uploadId>/part-NNNNN-<md5>, each written to a temp file and renamed,
// so a part is whole or absent) and survive a restart; completion streams the parts in order
// into one writeFile, so the object appears atomically; abort and expiry remove the directory.
// A completed upload leaves only a record of its result for an hour (a repeated Complete).

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { WriteType } from '../../types.js';
import { authorize } from '../../auth/access.js';
import { S3Error } from './errors.js';
import {
  ETAG_ATTR, header, metadataFromHeaders, objectPath, readSmallBody, requestBody, sendEmpty, sendXml, type RequestContext,
} from './context.js';
import { checkConditions, parseCopySource, requireBucket, statObject, writeObject, writeTypeOf } from './objects.js';
import { parseXmlBody, isoTime } from './xml.js';

/** Smallest part S3 accepts except the last one. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;
/** How long a completed upload's result is kept for a repeated CompleteMultipartUpload (at most the expiry). */
export const COMPLETED_KEEP_MS = 3_600_000;

interface UploadMeta {
  bucket: string;
  key: string;
  initiated: number;
  meta: Record<string, string>;
  writeType?: WriteType;
  owner: string;
}

interface PartFile { number: number; md5: string; file: string }

interface CompletedUpload { bucket: string; key: string; etag: string }

/** The gateway's multipart state on local disk. */
export class MultipartStore {
  readonly dir: string;
  private sweeper: NodeJS.Timeout | undefined;

  /** Records of completed uploads (DATA_DIR/multipart-completed/<uploadId>), kept COMPLETED_KEEP_MS. */
  readonly completedDir: string;

  constructor(dataDir: string, private readonly expiryMs: number) {
    this.dir = join(dataDir, 'multipart');
    this.completedDir = join(dataDir, 'multipart-completed');
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await mkdir(this.completedDir, { recursive: true });
    await this.expire();
    this.sweeper = setInterval(() => { void this.expire().catch(() => undefined); }, Math.min(3_600_000, Math.max(1000, this.expiryMs / 4)));
    this.sweeper.unref();
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  /** Remove uploads initiated longer ago than the expiry. */
  async expire(now = Date.now()): Promise<number> {
    let n = 0;
    for (const id of await readdir(this.dir).catch(() => [] as string[])) {
      const m = await this.meta(id).catch(() => undefined);
      const started = m?.initiated ?? (await stat(join(this.dir, id)).then((s) => s.mtimeMs, () => 0));
      if (now - started > this.expiryMs) {
        await rm(join(this.dir, id), { recursive: true, force: true });
        n++;
      }
    }
    const keep = Math.min(COMPLETED_KEEP_MS, this.expiryMs);
    for (const name of await readdir(this.completedDir).catch(() => [] as string[])) {
      const f = join(this.completedDir, name);
      if (now - (await stat(f).then((s) => s.mtimeMs, () => now)) > keep) await rm(f, { force: true });
    }
    return n;
  }

  private uploadDir(id: string): string {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new S3Error('NoSuchUpload', 'The specified upload does not exist.');
    return join(this.dir, id);
  }

  async meta(id: string): Promise<UploadMeta> {
    try {
      return JSON.parse(await readFile(join(this.uploadDir(id), 'upload.json'), 'utf8')) as UploadMeta;
    } catch {
      throw new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
    }
  }

  /** The upload, checked to belong to this bucket and key. */
  async get(id: string, bucket: string, key: string): Promise<UploadMeta> {
    const m = await this.meta(id);
    if (m.bucket !== bucket || m.key !== key) throw new S3Error('NoSuchUpload', 'The specified upload does not exist for this key.');
    return m;
  }

  async create(m: UploadMeta): Promise<string> {
    const id = randomBytes(16).toString('hex');
    const d = this.uploadDir(id);
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'upload.json.tmp'), JSON.stringify(m));
    await rename(join(d, 'upload.json.tmp'), join(d, 'upload.json'));
    return id;
  }

  async parts(id: string): Promise<PartFile[]> {
    const d = this.uploadDir(id);
    const out: PartFile[] = [];
    for (const name of await readdir(d)) {
      const m = /^part-(\d{5})-([0-9a-f]{32})$/.exec(name);
      if (m) out.push({ number: Number(m[1]), md5: m[2]!, file: join(d, name) });
    }
    return out.sort((a, b) => a.number - b.number);
  }

  /** Store a part from a byte stream (temp file + rename); returns its MD5 and size. */
  async putPart(id: string, number: number, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<{ md5: string; size: number }> {
    const d = this.uploadDir(id);
    const tmp = join(d, `.tmp-${randomBytes(6).toString('hex')}`);
    const hash = createHash('md5');
    let size = 0;
    async function* tap(): AsyncGenerator<Uint8Array> {
      for await (const c of body) { hash.update(c); size += c.length; yield c; }
    }
    try {
      await pipeline(Readable.from(tap()), createWriteStream(tmp));
      const md5 = hash.digest('hex');
      const old = (await this.parts(id)).filter((p) => p.number === number);
      await rename(tmp, join(d, `part-${String(number).padStart(5, '0')}-${md5}`));
      for (const p of old) if (!p.file.endsWith(md5)) await rm(p.file, { force: true });
      return { md5, size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Mark an upload completed: its record (bucket, key, ETag) replaces the upload and its
   * parts, so that a repeated CompleteMultipartUpload (a client retrying after a lost
   * answer) gets the same result; the record goes with the expiry sweep.
   */
  async completed(id: string, c: CompletedUpload): Promise<void> {
    const file = join(this.completedDir, this.uploadDir(id).slice(this.dir.length + 1));
    await writeFile(`${file}.tmp`, JSON.stringify(c));
    await rename(`${file}.tmp`, file);
    await this.remove(id);
  }

  /** The record of a completed upload of this bucket and key, if there is one. */
  async completion(id: string, bucket: string, key: string): Promise<CompletedUpload | undefined> {
    const file = join(this.completedDir, this.uploadDir(id).slice(this.dir.length + 1));
    const c = await readFile(file, 'utf8').then((t) => JSON.parse(t) as CompletedUpload, () => undefined);
    return c && c.bucket === bucket && c.key === key ? c : undefined;
  }

  async remove(id: string): Promise<void> {
    await rm(this.uploadDir(id), { recursive: true, force: true });
  }

  /** Upload ids, oldest directory names first (bounded by what is on disk). */
  async list(): Promise<string[]> {
    return (await readdir(this.dir).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{32}$/.test(n));
  }
}

function partNumberOf(ctx: RequestContext): number {
  const v = ctx.query.get('partNumber') ?? '';
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > MAX_PARTS) throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PARTS}, inclusive`);
  return n;
}

export async function createUpload(ctx: RequestContext, store: MultipartStore): Promise<void> {
  await requireBucket(ctx);
  authorize(ctx.user, 'writeFile', [objectPath(ctx.bucket, ctx.key)]);
  const writeType = writeTypeOf(ctx);
  const id = await store.create({
    bucket: ctx.bucket, key: ctx.key, initiated: Date.now(), meta: metadataFromHeaders(ctx.req),
    ...(writeType ? { writeType } : {}), owner: ctx.user.accessKeyId,
  });
  sendXml(ctx, 200, 'InitiateMultipartUploadResult', { Bucket: ctx.bucket, Key: ctx.key, UploadId: id });
}

export async function uploadPart(ctx: RequestContext, store: MultipartStore): Promise<void> {
  const id = ctx.query.get('uploadId')!;
  const n = partNumberOf(ctx);
  await store.get(id, ctx.bucket, ctx.key);
  // Writing a part needs write access to the key it will become.
  authorize(ctx.user, 'writeFile', [objectPath(ctx.bucket, ctx.key)]);
  const copySource = header(ctx.req, 'x-amz-copy-source');
  if (copySource === undefined) {
    const { md5 } = await store.putPart(id, n, requestBody(ctx));
    sendEmpty(ctx, 200, { ETag: `"${md5}"` });
    return;
  }
  const src = parseCopySource(copySource);
  const info = await statObject(ctx.fs, src.bucket, src.key);
  if (!info || info.type !== 'file') throw new S3Error('NoSuchKey', `The specified copy source does not exist: ${src.bucket}/${src.key}`);
  checkConditions((h) => header(ctx.req, h), info, 'x-amz-copy-source-');
  let offset = 0; let length = info.length;
  const range = header(ctx.req, 'x-amz-copy-source-range');
  if (range !== undefined) {
    const m = /^bytes=(\d+)-(\d+)$/.exec(range.trim());
    if (!m || Number(m[2]) < Number(m[1])) {
      throw new S3Error('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy');
    }
    if (Number(m[2]) >= info.length) {
      const e = new S3Error('InvalidRange', `The requested range ${range.trim()} is not satisfiable: the source has ${info.length} bytes`);
      e.headers = { 'Content-Range': `bytes */${info.length}` };
      throw e;
    }
    offset = Number(m[1]);
    length = Number(m[2]) - offset + 1;
  }
  for await (const _ of ctx.req) { /* no body */ }
  const body = ctx.fs.readFile(objectPath(src.bucket, src.key), { offset, length, ifFileId: info.fileId }); // the version checked, or 412
  const { md5 } = await store.putPart(id, n, body);
  sendXml(ctx, 200, 'CopyPartResult', { LastModified: isoTime(Date.now()), ETag: `"${md5}"` });
}

export async function listParts(ctx: RequestContext, store: MultipartStore): Promise<void> {
  const id = ctx.query.get('uploadId')!;
  const m = await store.get(id, ctx.bucket, ctx.key);
  const marker = Number(ctx.query.get('part-number-marker') ?? '0') || 0;
  const max = Math.min(1000, Number(ctx.query.get('max-parts') ?? '1000') || 1000);
  const all = (await store.parts(id)).filter((p) => p.number > marker);
  const page = all.slice(0, max);
  const parts = [];
  for (const p of page) {
    const s = await stat(p.file);
    parts.push({ PartNumber: p.number, LastModified: isoTime(s.mtimeMs), ETag: `"${p.md5}"`, Size: s.size });
  }
  const truncated = all.length > max;
  sendXml(ctx, 200, 'ListPartsResult', {
    Bucket: ctx.bucket, Key: ctx.key, UploadId: id,
    Initiator: { ID: m.owner, DisplayName: m.owner }, Owner: { ID: m.owner, DisplayName: m.owner },
    StorageClass: 'STANDARD',
    PartNumberMarker: marker, ...(truncated ? { NextPartNumberMarker: page[page.length - 1]!.number } : {}),
    MaxParts: max, IsTruncated: truncated, Part: parts,
  });
}

export async function listUploads(ctx: RequestContext, store: MultipartStore): Promise<void> {
  await requireBucket(ctx);
  const prefix = ctx.query.get('prefix') ?? '';
  const max = Math.min(1000, Number(ctx.query.get('max-uploads') ?? '1000') || 1000);
  const keyMarker = ctx.query.get('key-marker') ?? '';
  const uploads: Array<{ key: string; id: string; initiated: number }> = [];
  for (const id of await store.list()) {
    const m = await store.meta(id).catch(() => undefined);
    if (!m || m.bucket !== ctx.bucket || !m.key.startsWith(prefix) || (keyMarker && m.key <= keyMarker)) continue;
    uploads.push({ key: m.key, id, initiated: m.initiated });
  }
  uploads.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated - b.initiated));
  const page = uploads.slice(0, max);
  const truncated = uploads.length > max;
  sendXml(ctx, 200, 'ListMultipartUploadsResult', {
    Bucket: ctx.bucket, KeyMarker: keyMarker, UploadIdMarker: '', Prefix: prefix,
    ...(truncated ? { NextKeyMarker: page[page.length - 1]!.key, NextUploadIdMarker: page[page.length - 1]!.id } : {}),
    MaxUploads: max, IsTruncated: truncated,
    Upload: page.map((u) => ({
      Key: u.key, UploadId: u.id, Initiated: isoTime(u.initiated), StorageClass: 'STANDARD',
      Initiator: { ID: ctx.user.accessKeyId, DisplayName: ctx.user.name }, Owner: { ID: ctx.user.accessKeyId, DisplayName: ctx.user.name },
    })),
  });
}

export async function completeUpload(ctx: RequestContext, store: MultipartStore): Promise<void> {
  const id = ctx.query.get('uploadId')!;
  const path = objectPath(ctx.bucket, ctx.key);
  const done = await store.completion(id, ctx.bucket, ctx.key);
  const answer = (etag: string): void => sendXml(ctx, 200, 'CompleteMultipartUploadResult', {
    Location: `/${ctx.bucket}/${ctx.key}`, Bucket: ctx.bucket, Key: ctx.key, ETag: etag,
  });
  if (done) {
    await readSmallBody(ctx);
    answer(done.etag);
    return;
  }
  const m = await store.get(id, ctx.bucket, ctx.key);
  const doc = parseXmlBody(await readSmallBody(ctx), 'CompleteMultipartUpload');
  const wanted = (doc.Part ?? []) as Array<Record<string, unknown>>;
  if (!Array.isArray(wanted) || wanted.length === 0) throw new S3Error('MalformedXML', 'CompleteMultipartUpload must list at least one Part');
  const have = new Map((await store.parts(id)).map((p) => [p.number, p]));
  const chosen: PartFile[] = [];
  let prev = 0;
  for (const w of wanted) {
    const n = Number(w.PartNumber);
    if (!Number.isInteger(n) || n <= prev) throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
    prev = n;
    const etag = String(w.ETag ?? '').replace(/^"|"$/g, '').replace(/&quot;/g, '');
    const p = have.get(n);
    if (!p || (etag !== '' && etag !== p.md5)) throw new S3Error('InvalidPart', `One or more of the specified parts could not be found (part ${n}).`);
    chosen.push(p);
  }
  const sizes: number[] = [];
  for (const p of chosen) sizes.push((await stat(p.file)).size);
  for (let i = 0; i < sizes.length - 1; i++) {
    if (sizes[i]! < MIN_PART_SIZE) throw new S3Error('EntityTooSmall', `Your proposed upload is smaller than the minimum allowed object size (part ${chosen[i]!.number} has ${sizes[i]} bytes; all but the last part need ${MIN_PART_SIZE}).`);
  }
  async function* assembled(): AsyncGenerator<Uint8Array> {
    for (const p of chosen) {
      for await (const c of createReadStream(p.file, { highWaterMark: 1 << 20 })) yield c as Buffer;
    }
  }
  const combined = createHash('md5');
  for (const p of chosen) combined.update(Buffer.from(p.md5, 'hex'));
  const etag = `"${combined.digest('hex')}-${chosen.length}"`;
  await writeObject(ctx.fs, path, assembled(), { ...m.meta, [ETAG_ATTR]: etag }, { writeType: m.writeType });
  await store.completed(id, { bucket: ctx.bucket, key: ctx.key, etag });
  answer(etag);
}

export async function abortUpload(ctx: RequestContext, store: MultipartStore): Promise<void> {
  const id = ctx.query.get('uploadId')!;
  await store.get(id, ctx.bucket, ctx.key);
  await store.remove(id);
  sendEmpty(ctx, 204);
}
