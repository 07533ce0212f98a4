// The S3 UFS (`s3://bucket/prefix`) through @aws-sdk/client-s3, for AWS and S3-compatible
// servers (Ceph RADOS Gateway, MinIO...). Directories are '/'-delimited key prefixes plus
// zero-byte `dir/` marker objects (so empty directories survive); listings page through any
// number of keys without holding them; writes are one PUT or a multipart upload that is
// aborted on any failure; rename is copy + delete and NOT atomic (see docs/s3.md).

import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from './sdk.js';
import { readListWithLightParser } from './list-xml.js';
import type { CompletedPart, ListObjectsV2CommandInput, ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';

import { ErrorCode, StrataError, invalidArgument, invalidPath } from '../../errors.js';
import type { ChangeWatcher, UfsWatchOptions } from '../change-watcher.js';
import type { Ufs, UfsListOptions, UfsReadOptions, UfsStatus, UfsWriteOptions } from '../ufs.js';
import { DIR_CONTENT_HASH, UfsChangedError, checkUfsPath, throwIfAborted, ufsParent as parentOf } from '../ufs.js';
import { S3NotifyWatcher } from './s3-notify.js';
import { MAX_S3_KEY_BYTES, httpStatus, mapS3Error, s3ErrorName } from './s3-errors.js';
import { redactUrl } from '../../config/redact.js';
import { resolveS3Settings } from './s3-options.js';
import { bucketHasNotification } from './notified-buckets.js';
import type { S3Settings } from './s3-options.js';

export { redactOptions } from '../../config/redact.js';

// The SDK release is pinned (3.1169.0, see docs/s3.md); its notice about future releases
// needing Node 22 is noise for Strata's users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Any command of the S3 client (outputs are typed at each call site). */
type SdkCommand = { readonly input: unknown; resolveMiddleware: unknown };

export { DIR_CONTENT_HASH };
/** Metadata fingerprint of every entry: S3 has no mode bits. */
export const S3_META_HASH = 's3';
/** Keys per ListObjectsV2 page (the S3 maximum). */
export const LIST_PAGE_KEYS = 1000;
/** Parts of one multipart upload in flight at once. */
export const UPLOAD_CONCURRENCY = 4;
/** Single-object S3 calls (copy, delete) in flight at once for a directory. */
export const OBJECT_CONCURRENCY = 16;

/**
 * UfsFactory for `s3://bucket/prefix`. Options (each also as `s3.<name>`): endpoint, region,
 * accessKeyId, secretAccessKey, sessionToken, pathStyle, partSize, maxAttempts, batchDelete,
 * multipartCopyThreshold, and `ufs.timeout`; the AWS environment variables fill the gaps.
 */
export function createS3Ufs(uri: string, options: Record<string, string> = {}): Ufs {
  return new S3Ufs(uri, options);
}

/**
 * Fingerprint of an object's content: its size and ETag. Last-Modified is left out: a
 * server-side copy (how a rename is done on an object store) gives the same bytes a new
 * Last-Modified, and the fingerprint must not call a renamed file changed. Only an object
 * listed without an ETag falls back to Last-Modified (whole seconds, as HEAD gives it).
 */
export function s3ContentHash(length: number, etag: string, mtimeMs: number): string {
  return etag ? `s3:${length}:${etag}` : `s3:${length}::${mtimeMs}`;
}

/** The length and ETag inside an s3ContentHash; undefined for another UFS's fingerprint. */
export function parseS3ContentHash(hash: string): { length: number; etag: string } | undefined {
  const m = /^s3:(\d+):([^:]*)(?::(-?\d+))?$/.exec(hash);
  return m ? { length: Number(m[1]), etag: m[2]! } : undefined;
}

/** One S3 bucket prefix served through the Ufs interface. */
export class S3Ufs implements Ufs {
  /** A recursive listing is one ListObjectsV2 stream in key order: recursive syncs use it. */
  readonly flatListing = true;
  readonly scheme = 's3';
  readonly uri: string;
  readonly settings: Readonly<S3Settings>;
  private sdkClient: S3Client | undefined;
  private readonly endpointLabel: string;

  constructor(uri: string, options: Record<string, string> = {}) {
    this.settings = resolveS3Settings(uri, options);
    const s = this.settings;
    this.uri = `s3://${s.bucket}${s.prefix === '' ? '' : `/${s.prefix.slice(0, -1)}`}`;
    this.endpointLabel = s.endpoint ? redactUrl(s.endpoint) : `AWS S3 (${s.region})`;
  }

  /**
   * The SDK client, made on first use: building an S3Ufs (to read its URI or capabilities,
   * as crash recovery does for every mount) neither loads the AWS SDK nor opens sockets.
   */
  get client(): S3Client {
    if (this.sdkClient) return this.sdkClient;
    const s = this.settings;
    const timeout = s.timeoutMs > 0 ? s.timeoutMs : 0;
    this.sdkClient = new (s3Sdk().S3Client)({
      region: s.region,
      ...(s.endpoint ? { endpoint: s.endpoint } : {}),
      forcePathStyle: s.pathStyle,
      ...(s.credentials ? { credentials: s.credentials } : {}),
      maxAttempts: s.maxAttempts,
      // radosgw answers 411 to the default checksummed streaming bodies.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: timeout > 0 ? Math.min(timeout, 10_000) : 10_000,
        requestTimeout: timeout,
        throwOnRequestTimeout: timeout > 0,
        // Also bounds a response body that stalls mid-stream (idle socket).
        ...(timeout > 0 ? { socketTimeout: timeout } : {}),
        httpAgent: { keepAlive: true, maxSockets: 64 },
        httpsAgent: { keepAlive: true, maxSockets: 64 },
      },
    });
    return this.sdkClient;
  }

  // ---------------------------------------------------------------- read side

  /**
   * Status of `path`: a file when the object `path` exists (HEAD), else a directory when the
   * marker `path/` or any key under `path/` exists, else null. The root is always a directory.
   */
  async getStatus(path: string, options: { signal?: AbortSignal } = {}): Promise<UfsStatus | null> {
    checkPath(path);
    if (path === '') return dirStatus('', 0);
    const [file, dir] = await Promise.all([
      this.headOrNull(path, options.signal),
      this.dirProbe(path, options.signal),
    ]);
    if (file) return file;
    return dir;
  }

  /**
   * Entries of the directory `path`, one page per ListObjectsV2 page (the next page is
   * fetched while the caller handles the current one). Non-recursive: '/'-delimited, sorted by
   * name. Recursive: every key below, names relative to `path`, intermediate directories
   * synthesised when first seen (parents before children), memory O(depth).
   * NOT_FOUND when nothing exists under `path`; NOT_A_DIRECTORY when it is a file.
   */
  async *list(path: string, options: UfsListOptions = {}): AsyncGenerator<UfsStatus[]> {
    checkPath(path);
    const pageSize = options.pageSize ?? LIST_PAGE_KEYS;
    if (!Number.isInteger(pageSize) || pageSize < 1) throw invalidArgument(`pageSize must be a positive integer, got ${pageSize}`);
    const { signal, recursive = false } = options;
    const dirPrefix = this.dirKey(path);
    const open: string[] = []; // recursive: directories of the previous key, outermost first
    let first = true;
    for await (const page of this.listPages(dirPrefix, recursive ? undefined : '/', Math.min(pageSize, LIST_PAGE_KEYS), signal, `list ${this.display(path)}`)) {
      if (first) {
        first = false;
        if (path !== '' && (page.KeyCount ?? 0) === 0 && !page.Contents?.length && !page.CommonPrefixes?.length) {
          const file = await this.headOrNull(path, signal);
          if (file) throw new StrataError(ErrorCode.NOT_A_DIRECTORY, `not a directory: ${this.display(path)}`);
          throw new StrataError(ErrorCode.NOT_FOUND, `path does not exist: ${this.display(path)}`);
        }
      }
      const entries = recursive ? this.recursiveEntries(page, dirPrefix, open) : this.childEntries(page, dirPrefix);
      if (entries.length > 0) yield entries;
      throwIfAborted(signal, path);
    }
  }

  /** Bytes of a file by ranged GET, streamed as the server sends them. */
  async *read(path: string, options: UfsReadOptions = {}): AsyncGenerator<Uint8Array> {
    checkPath(path);
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument(`read offset must be a non-negative integer, got ${offset}`);
    const length = options.length;
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
      throw invalidArgument(`read length must be a non-negative integer, got ${length}`);
    }
    if (path === '') throw new StrataError(ErrorCode.IS_A_DIRECTORY, `is a directory: ${this.uri}`);
    const signal = options.signal;
    throwIfAborted(signal, path);
    const range = offset > 0 || length !== undefined ? `bytes=${offset}-${length !== undefined ? offset + length - 1 : ''}` : undefined;
    if (length === 0) {
      // Nothing to read, but the file must exist.
      if (!(await this.headOrNull(path, signal))) throw await this.missingFileError(path, signal);
      return;
    }
    // The version the caller knows: If-Match on its ETag (a replaced object answers 412),
    // and the object's total size from Content-Range / Content-Length compared as well.
    const expected = options.fingerprint !== undefined ? parseS3ContentHash(options.fingerprint) : undefined;
    let body: AsyncIterable<Uint8Array> & { destroy?: () => void };
    try {
      const out = await this.send<{ Body?: unknown; ContentRange?: string; ContentLength?: number; ETag?: string }>(new (s3Sdk().GetObjectCommand)({
        Bucket: this.settings.bucket, Key: this.key(path), ...(range ? { Range: range } : {}),
        ...(expected?.etag ? { IfMatch: `"${expected.etag}"` } : {}),
      }), signal);
      body = out.Body as unknown as typeof body;
      if (expected) {
        const total = out.ContentRange ? Number(/\/(\d+)$/.exec(out.ContentRange)?.[1] ?? NaN) : range ? NaN : out.ContentLength;
        const tag = out.ETag?.replace(/^"|"$/g, '');
        if ((total !== undefined && Number.isFinite(total) && total !== expected.length) || (tag && expected.etag && tag !== expected.etag)) {
          (body as { destroy?: () => void } | undefined)?.destroy?.();
          throw new UfsChangedError(`read ${this.display(path)}: the object`);
        }
      }
    } catch (err) {
      if (err instanceof UfsChangedError) throw err;
      const status = httpStatus(err);
      if (expected && (status === 412 || s3ErrorName(err) === 'PreconditionFailed')) {
        throw new UfsChangedError(`read ${this.display(path)}: the object`, { cause: err });
      }
      if (status === 416 || s3ErrorName(err) === 'InvalidRange') {
        // Reading at or past the end: nothing (the object exists, or S3 would say 404).
        return;
      }
      if (status === 404 || s3ErrorName(err) === 'NoSuchKey') throw await this.missingFileError(path, signal, err);
      throw this.mapError(err, 'read', path);
    }
    if (!body) return;
    let done = false;
    try {
      for await (const chunk of body) {
        throwIfAborted(signal, path);
        yield chunk;
      }
      done = true;
    } catch (err) {
      throw this.mapError(err, 'read', path);
    } finally {
      if (!done) body.destroy?.();
    }
  }

  // ---------------------------------------------------------------- write side

  /**
   * Write an object from a stream. A body shorter than `partSize` is one PutObject; a larger
   * one a multipart upload with a few parts in flight, aborted on any failure so no parts are
   * left behind. `overwrite: false` is If-None-Match: * (412 -> ALREADY_EXISTS). Readers see
   * the old object or the new one, never a part. Returns the status from a HEAD of the result.
   */
  async write(path: string, data: AsyncIterable<Uint8Array>, options: UfsWriteOptions = {}): Promise<UfsStatus> {
    checkPath(path);
    if (path === '') throw new StrataError(ErrorCode.IS_A_DIRECTORY, `cannot write the UFS root ${this.uri}`);
    const overwrite = options.overwrite ?? true;
    const recursive = options.recursive ?? true;
    const signal = options.signal;
    throwIfAborted(signal, path);

    // Checks (and the caller's beforePlace) run while the first part is read from the caller;
    // no request that could create the object is sent before they are done.
    const checks = Promise.all([this.writeChecks(path, overwrite, recursive, signal), options.beforePlace?.()]);
    checks.catch(() => undefined);
    const reader = new PartReader(data[Symbol.asyncIterator](), this.settings.partSize);
    try {
      const first = await reader.next();
      await checks;
      throwIfAborted(signal, path);
      if (first === null || first.length < this.settings.partSize) {
        const body = first ?? Buffer.alloc(0);
        try {
          await this.send(new (s3Sdk().PutObjectCommand)({
            Bucket: this.settings.bucket, Key: this.key(path), Body: body, ContentLength: body.length,
            ...(overwrite ? {} : { IfNoneMatch: '*' }),
          }), signal);
        } catch (err) {
          throw this.mapError(err, 'write', path, ErrorCode.ALREADY_EXISTS);
        }
      } else {
        await this.multipartUpload(path, first, reader, overwrite, signal);
      }
    } catch (err) {
      if (err instanceof SourceError) throw err.original;
      throw err;
    } finally {
      await reader.close();
    }
    const st = await this.headOrNull(path, signal);
    if (!st) throw new StrataError(ErrorCode.UFS_UNAVAILABLE, `write ${this.display(path)}: the object is missing right after it was written`);
    await options.afterPlace?.(st);
    return st;
  }

  /**
   * Create a directory marker `path/`. Without `recursive` the parent must exist and the
   * directory must not (ALREADY_EXISTS); with it, an existing directory is fine (parents are
   * implied by the marker's key). A file at `path` is ALREADY_EXISTS / NOT_A_DIRECTORY.
   */
  async mkdir(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    checkPath(path);
    const recursive = options.recursive ?? false;
    if (path === '') {
      if (recursive) return;
      throw new StrataError(ErrorCode.ALREADY_EXISTS, `path already exists: ${this.uri}`);
    }
    const parent = parentOf(path);
    const [st, parentSt] = await Promise.all([
      this.getStatus(path),
      recursive || parent === '' ? Promise.resolve(null) : this.getStatus(parent),
    ]);
    if (st) {
      if (st.type === 'directory' && recursive) return;
      if (st.type === 'file' && recursive) throw new StrataError(ErrorCode.NOT_A_DIRECTORY, `exists and is not a directory: ${this.display(path)}`);
      throw new StrataError(ErrorCode.ALREADY_EXISTS, `path already exists: ${this.display(path)}`);
    }
    if (!recursive && parent !== '') {
      if (!parentSt) throw new StrataError(ErrorCode.NOT_FOUND, `parent directory does not exist: ${this.display(parent)}`);
      if (parentSt.type !== 'directory') throw new StrataError(ErrorCode.NOT_A_DIRECTORY, `parent is not a directory: ${this.display(parent)}`);
    }
    await this.putMarker(path);
  }

  /**
   * Delete a file, or a directory (its marker and, with `recursive`, every key below it, in
   * DeleteObjects batches of 1000 or parallel DeleteObject when `batchDelete=false`).
   * Missing is not an error; a non-empty directory without `recursive` is DIRECTORY_NOT_EMPTY.
   * The parent directory keeps existing (a marker is written if it was only implied).
   */
  async delete(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    checkPath(path);
    if (path === '') throw invalidPath(path, `the root of ${this.uri} cannot be deleted`);
    const st = await this.getStatus(path);
    if (!st) return;
    if (st.type === 'file') {
      try {
        await this.send(new (s3Sdk().DeleteObjectCommand)({ Bucket: this.settings.bucket, Key: this.key(path) }));
      } catch (err) {
        throw this.mapError(err, 'delete', path);
      }
    } else {
      const dirPrefix = this.dirKey(path);
      if (!options.recursive) {
        const out = await this.listOnce(dirPrefix, 2, 'delete', path);
        if ((out.Contents ?? []).some((o) => o.Key !== dirPrefix)) {
          throw new StrataError(ErrorCode.DIRECTORY_NOT_EMPTY, `directory not empty (use recursive): ${this.display(path)}`);
        }
        await this.deleteKeys([dirPrefix], path);
      } else {
        for await (const page of this.listPages(dirPrefix, undefined, LIST_PAGE_KEYS, undefined, `delete ${this.display(path)}`)) {
          const keys = (page.Contents ?? []).map((o) => o.Key!).filter((k) => k !== undefined);
          if (keys.length > 0) await this.deleteKeys(keys, path);
        }
      }
    }
    await this.keepParent(path);
  }

  /**
   * Rename by copy + delete (NOT atomic; see docs/s3.md). A directory is every key under
   * its prefix: all are copied first, then the sources deleted, so a failed copy leaves the
   * source whole (and the partial copy is removed on a best-effort basis). ALREADY_EXISTS
   * when `dst` exists, NOT_FOUND when `src` does not.
   */
  async rename(src: string, dst: string): Promise<void> {
    checkPath(src);
    checkPath(dst);
    if (src === '' || dst === '') throw invalidPath(src === '' ? src : dst, `the root of ${this.uri} cannot be renamed`);
    if (dst === src) throw new StrataError(ErrorCode.ALREADY_EXISTS, `path already exists: ${this.display(dst)}`);
    if (dst.startsWith(`${src}/`)) throw invalidPath(dst, `cannot move ${src} into itself`);
    const [st, dstSt] = await Promise.all([this.getStatus(src), this.getStatus(dst)]);
    if (!st) throw new StrataError(ErrorCode.NOT_FOUND, `path does not exist: ${this.display(src)}`);
    if (dstSt) throw new StrataError(ErrorCode.ALREADY_EXISTS, `path already exists: ${this.display(dst)}`);
    const what = `rename ${this.display(src)} -> ${this.display(dst)}`;
    if (st.type === 'file') {
      await this.copyObject(this.key(src), this.key(dst), st.length, what);
      try {
        await this.send(new (s3Sdk().DeleteObjectCommand)({ Bucket: this.settings.bucket, Key: this.key(src) }));
      } catch (err) {
        throw mapS3Error(err, what, this.endpointLabel);
      }
    } else {
      const from = this.dirKey(src);
      const to = this.dirKey(dst);
      const limit = pLimit(OBJECT_CONCURRENCY);
      try {
        for await (const page of this.listPages(from, undefined, LIST_PAGE_KEYS, undefined, what)) {
          await Promise.all((page.Contents ?? []).map((o) =>
            limit(() => this.copyObject(o.Key!, to + o.Key!.slice(from.length), o.Size ?? 0, what))));
        }
      } catch (err) {
        await this.removePrefixQuietly(to);
        throw err;
      }
      for await (const page of this.listPages(from, undefined, LIST_PAGE_KEYS, undefined, what)) {
        const keys = (page.Contents ?? []).map((o) => o.Key!);
        if (keys.length > 0) await this.deleteKeys(keys, src);
      }
    }
    await this.keepParent(src);
  }

  /** The object key of `path` fits S3's limit (1024 bytes with the mount's prefix). */
  validatePath(path: string): void {
    checkPath(path);
    const bytes = Buffer.byteLength(this.key(path)) + 1; // + the '/' of a directory marker
    if (bytes > MAX_S3_KEY_BYTES) throw invalidPath(path, `its S3 key would be ${bytes} bytes, longer than the ${MAX_S3_KEY_BYTES} S3 allows`);
  }

  /** The bucket exists and the credentials may use it: NOT_FOUND / PERMISSION_DENIED / UFS_UNAVAILABLE. */
  async check(): Promise<void> {
    try {
      await this.send(new (s3Sdk().HeadBucketCommand)({ Bucket: this.settings.bucket }));
    } catch (err) {
      const status = httpStatus(err);
      if (status === 404 || s3ErrorName(err) === 'NoSuchBucket' || s3ErrorName(err) === 'NotFound') {
        throw new StrataError(ErrorCode.NOT_FOUND, `bucket ${this.settings.bucket} does not exist at ${this.endpointLabel}`, { cause: err });
      }
      throw this.mapError(err, 'check', '');
    }
  }

  /**
   * Capability: bucket notifications (radosgw topics pushing to an endpoint inside Strata) as
   * a hint of changes under `dir`; the owner keeps reconciling by listing (`reconcile`).
   * Falls back to listing only (kind 'poll') where the server has no notifications.
   */
  watcher(options: UfsWatchOptions): ChangeWatcher {
    return new S3NotifyWatcher({
      settings: this.settings, dir: options.dir, syncPoint: options.label, cb: options.cb,
      log: options.log, port: options.port ?? 0, ...(options.count ? { count: options.count } : {}),
    });
  }

  async close(): Promise<void> {
    this.sdkClient?.destroy();
    this.sdkClient = undefined;
  }

  // ---------------------------------------------------------------- internals

  /** One SDK call bounded by `ufs.timeout` (all retries included) and the caller's signal. */
  private async send<T = unknown>(command: SdkCommand, signal?: AbortSignal): Promise<T> {
    const ctl = new AbortController();
    const timeoutMs = this.settings.timeoutMs;
    let timedOut = false;
    const timer = timeoutMs > 0 ? setTimeout(() => { timedOut = true; ctl.abort(); }, timeoutMs) : undefined;
    const onAbort = (): void => ctl.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return (await this.client.send(command as never, { abortSignal: ctl.signal })) as T;
    } catch (err) {
      if (timedOut) {
        throw new StrataError(ErrorCode.UFS_UNAVAILABLE, `S3 endpoint ${this.endpointLabel} did not answer within ${timeoutMs}ms (ufs.timeout)`, { cause: err });
      }
      if (signal?.aborted) {
        const reason: unknown = signal.reason;
        if (reason instanceof StrataError) throw reason;
        throw new StrataError(ErrorCode.CANCELLED, `S3 call aborted`, { cause: reason ?? err });
      }
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private key(path: string): string {
    return this.settings.prefix + path;
  }

  private dirKey(path: string): string {
    return path === '' ? this.settings.prefix : `${this.settings.prefix}${path}/`;
  }

  private display(path: string): string {
    return path === '' ? this.uri : `${this.uri}/${path}`;
  }

  private mapError(err: unknown, op: string, path: string, on412?: ErrorCode): StrataError {
    return mapS3Error(err, `${op} ${this.display(path)}`, this.endpointLabel, on412);
  }

  /** HEAD of the object `path` as a file status; null on 404. */
  private async headOrNull(path: string, signal?: AbortSignal): Promise<UfsStatus | null> {
    try {
      const out = await this.send<{ ContentLength?: number; ETag?: string; LastModified?: Date }>(
        new (s3Sdk().HeadObjectCommand)({ Bucket: this.settings.bucket, Key: this.key(path) }), signal);
      return fileStatus(baseName(path), out.ContentLength ?? 0, out.ETag, out.LastModified);
    } catch (err) {
      if (httpStatus(err) === 404 && s3ErrorName(err) !== 'NoSuchBucket') return null;
      throw this.mapError(err, 'getStatus', path);
    }
  }

  /** Directory status of `path` when its marker or any key below exists; null otherwise. */
  private async dirProbe(path: string, signal?: AbortSignal): Promise<UfsStatus | null> {
    const dirPrefix = this.dirKey(path);
    const out = await this.listOnce(dirPrefix, 1, 'getStatus', path, signal);
    const first = out.Contents?.[0];
    if (!first && !out.CommonPrefixes?.length) return null;
    // The marker sorts before every key below it, so it is the first key when it exists.
    return dirStatus(baseName(path), first?.Key === dirPrefix ? secondsMs(first.LastModified) : 0);
  }

  private async listOnce(prefix: string, maxKeys: number, op: string, path: string, signal?: AbortSignal): Promise<ListObjectsV2CommandOutput> {
    try {
      return await this.sendList({ Bucket: this.settings.bucket, Prefix: prefix, MaxKeys: maxKeys }, signal);
    } catch (err) {
      throw this.mapError(err, op, path);
    }
  }

  /** One ListObjectsV2 call, its page read by the light reader (src/ufs/s3/list-xml.ts). */
  private async sendList(input: ListObjectsV2CommandInput, signal?: AbortSignal): Promise<ListObjectsV2CommandOutput> {
    const command = new (s3Sdk().ListObjectsV2Command)(input);
    const page = readListWithLightParser(command);
    const out = await this.send<ListObjectsV2CommandOutput>(command, signal);
    const read = page();
    return read ? { ...out, ...read } : out;
  }

  /** ListObjectsV2 pages of `prefix`, the next one requested before the current is yielded. */
  private async *listPages(prefix: string, delimiter: string | undefined, maxKeys: number, signal: AbortSignal | undefined, what: string): AsyncGenerator<ListObjectsV2CommandOutput> {
    const fetch = (token: string | undefined, startAfter: string | undefined): Promise<ListObjectsV2CommandOutput> => {
      const p = this.sendList({
        Bucket: this.settings.bucket, Prefix: prefix, MaxKeys: maxKeys,
        ...(delimiter ? { Delimiter: delimiter } : {}),
        ...(token ? { ContinuationToken: token } : {}),
        ...(startAfter ? { StartAfter: startAfter } : {}),
      }, signal).catch((err: unknown) => { throw mapS3Error(err, what, this.endpointLabel); });
      // A prefetched page may fail while the consumer is busy: handled here, rethrown when awaited.
      p.catch(() => undefined);
      return p;
    };
    // A consumer that stops early simply drops the prefetched page.
    let next: Promise<ListObjectsV2CommandOutput> | undefined = fetch(undefined, undefined);
    while (next) {
      const page: ListObjectsV2CommandOutput = await next;
      next = undefined;
      if (page.IsTruncated) {
        const last = lastKeyOf(page);
        if (page.NextContinuationToken) next = fetch(page.NextContinuationToken, undefined);
        else if (last) next = fetch(undefined, last);
        else throw new StrataError(ErrorCode.UFS_UNAVAILABLE, `${what}: the S3 server returned a truncated listing without a continuation token`);
      }
      yield page;
    }
  }

  /** Direct children from a delimited page, sorted by name; the listed directory's marker skipped. */
  private childEntries(page: ListObjectsV2CommandOutput, dirPrefix: string): UfsStatus[] {
    const out: UfsStatus[] = [];
    for (const cp of page.CommonPrefixes ?? []) {
      const name = (cp.Prefix ?? '').slice(dirPrefix.length, -1);
      if (validName(name)) out.push(dirStatus(name, 0));
    }
    for (const o of page.Contents ?? []) {
      const key = o.Key ?? '';
      if (key === dirPrefix) continue;
      const name = key.slice(dirPrefix.length);
      if (!validName(name)) continue;
      out.push(fileStatus(name, o.Size ?? 0, o.ETag, o.LastModified));
    }
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return out;
  }

  /**
   * Entries from an undelimited page. Keys arrive sorted, and all keys below a directory are
   * contiguous, so a directory is new exactly when it is not on the previous key's chain
   * (`open`): it is emitted there, before its first child, and never again.
   */
  private recursiveEntries(page: ListObjectsV2CommandOutput, dirPrefix: string, open: string[]): UfsStatus[] {
    const out: UfsStatus[] = [];
    for (const o of page.Contents ?? []) {
      const rel = (o.Key ?? '').slice(dirPrefix.length);
      if (rel === '') continue; // the listed directory's own marker
      // The usual key: a file in the directory of the previous key (or at the top), whose
      // directories are already open (and were checked when opened): only its name to check.
      const slash = rel.lastIndexOf('/');
      if (slash < rel.length - 1) {
        const parent = open.length > 0 ? open[open.length - 1]! : undefined;
        if (slash < 0 ? open.length === 0 : parent !== undefined && slash === parent.length && rel.startsWith(parent)) {
          if (validName(rel.slice(slash + 1))) out.push(fileStatus(rel, o.Size ?? 0, o.ETag, o.LastModified));
          continue;
        }
      }
      const isMarker = rel.endsWith('/');
      const relPath = isMarker ? rel.slice(0, -1) : rel;
      const segs = relPath.split('/');
      if (segs.some((s) => !validName(s))) continue;
      const dirs = isMarker ? segs.length : segs.length - 1;
      for (let i = 0; i < dirs; i++) {
        const dir = i === 0 ? segs[0]! : `${open[i - 1]}/${segs[i]}`;
        if (open[i] === dir) continue;
        open.length = i;
        open.push(dir);
        out.push(dirStatus(dir, isMarker && i === dirs - 1 ? secondsMs(o.LastModified) : 0));
      }
      open.length = dirs;
      if (!isMarker) out.push(fileStatus(relPath, o.Size ?? 0, o.ETag, o.LastModified));
    }
    return out;
  }

  private async putMarker(path: string): Promise<void> {
    try {
      await this.send(new (s3Sdk().PutObjectCommand)({ Bucket: this.settings.bucket, Key: this.dirKey(path), Body: Buffer.alloc(0), ContentLength: 0 }));
    } catch (err) {
      throw this.mapError(err, 'mkdir', path);
    }
  }

  /** After removing `path`, keep its parent directory alive with a marker if nothing else does. */
  private async keepParent(path: string): Promise<void> {
    const parent = parentOf(path);
    if (parent === '') return;
    const out = await this.listOnce(this.dirKey(parent), 1, 'delete', path);
    if (!out.Contents?.length && !out.CommonPrefixes?.length) await this.putMarker(parent);
  }

  /** Checks before a write: not a directory, parent present (non-recursive), not present (no overwrite). */
  private async writeChecks(path: string, overwrite: boolean, recursive: boolean, signal?: AbortSignal): Promise<void> {
    const parent = parentOf(path);
    const [dir, parentSt, existing] = await Promise.all([
      this.dirProbe(path, signal),
      !recursive && parent !== '' ? this.getStatus(parent, signal ? { signal } : {}) : Promise.resolve(undefined),
      overwrite ? Promise.resolve(null) : this.headOrNull(path, signal),
    ]);
    if (dir) throw new StrataError(ErrorCode.IS_A_DIRECTORY, `is a directory: ${this.display(path)}`);
    if (parentSt === null) throw new StrataError(ErrorCode.NOT_FOUND, `parent directory does not exist: ${this.display(parent)}`);
    if (parentSt && parentSt.type !== 'directory') throw new StrataError(ErrorCode.NOT_A_DIRECTORY, `parent is not a directory: ${this.display(parent)}`);
    if (existing) throw new StrataError(ErrorCode.ALREADY_EXISTS, `path already exists: ${this.display(path)}`);
  }

  /** Multipart upload of `first` and the rest of `reader`; aborted on any failure. */
  private async multipartUpload(path: string, first: Buffer, reader: PartReader, overwrite: boolean, signal?: AbortSignal): Promise<void> {
    const Bucket = this.settings.bucket;
    const Key = this.key(path);
    let uploadId: string;
    try {
      const out = await this.send<{ UploadId?: string }>(new (s3Sdk().CreateMultipartUploadCommand)({ Bucket, Key }), signal);
      if (!out.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
      uploadId = out.UploadId;
    } catch (err) {
      throw this.mapError(err, 'write', path);
    }
    const parts: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    try {
      let part: Buffer | null = first;
      for (let n = 1; part !== null; n++) {
        if (n > 10_000) throw invalidArgument(`write ${this.display(path)}: more than 10,000 parts; raise the partSize option`);
        const partNumber = n;
        const body: Buffer = part;
        const p: Promise<void> = this.send<{ ETag?: string }>(new (s3Sdk().UploadPartCommand)({ Bucket, Key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }), signal)
          .then((out) => { parts[partNumber - 1] = { ETag: out.ETag, PartNumber: partNumber }; }, (err: unknown) => { failure ??= err; })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
        while (inFlight.size >= UPLOAD_CONCURRENCY && failure === undefined) await Promise.race(inFlight);
        if (failure !== undefined) throw failure;
        throwIfAborted(signal, path);
        part = await reader.next();
      }
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure;
      if (!overwrite && (await this.headOrNull(path, signal))) {
        throw new StrataError(ErrorCode.ALREADY_EXISTS, `path already exists: ${this.display(path)}`);
      }
      await this.send(new (s3Sdk().CompleteMultipartUploadCommand)({
        Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts },
        ...(overwrite ? {} : { IfNoneMatch: '*' }),
      }), signal);
    } catch (err) {
      failure ??= err;
      await Promise.allSettled(inFlight);
      await this.send(new (s3Sdk().AbortMultipartUploadCommand)({ Bucket, Key, UploadId: uploadId })).catch(() => undefined);
      if (err instanceof SourceError) throw err;
      throw this.mapError(err, 'write', path, ErrorCode.ALREADY_EXISTS);
    }
  }

  /** Server-side copy of one object; multipart UploadPartCopy from `multipartCopyThreshold` on. */
  private async copyObject(fromKey: string, toKey: string, size: number, what: string): Promise<void> {
    const Bucket = this.settings.bucket;
    const CopySource = `${Bucket}/${fromKey.split('/').map(encodeURIComponent).join('/')}`;
    try {
      if (size < this.settings.multipartCopyThreshold) {
        await this.send(new (s3Sdk().CopyObjectCommand)({ Bucket, Key: toKey, CopySource }));
        return;
      }
      const { UploadId } = await this.send<{ UploadId?: string }>(new (s3Sdk().CreateMultipartUploadCommand)({ Bucket, Key: toKey }));
      if (!UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
      try {
        const partSize = this.settings.partSize;
        const limit = pLimit(UPLOAD_CONCURRENCY);
        const count = Math.ceil(size / partSize);
        const parts = await Promise.all(Array.from({ length: count }, (_, i) => limit(async (): Promise<CompletedPart> => {
          const start = i * partSize;
          const end = Math.min(size, start + partSize) - 1;
          const out = await this.send<{ CopyPartResult?: { ETag?: string } }>(new (s3Sdk().UploadPartCopyCommand)({
            Bucket, Key: toKey, UploadId, PartNumber: i + 1, CopySource, CopySourceRange: `bytes=${start}-${end}`,
          }));
          return { ETag: out.CopyPartResult?.ETag, PartNumber: i + 1 };
        })));
        await this.send(new (s3Sdk().CompleteMultipartUploadCommand)({ Bucket, Key: toKey, UploadId, MultipartUpload: { Parts: parts } }));
      } catch (err) {
        await this.send(new (s3Sdk().AbortMultipartUploadCommand)({ Bucket, Key: toKey, UploadId })).catch(() => undefined);
        throw err;
      }
    } catch (err) {
      throw mapS3Error(err, what, this.endpointLabel);
    }
  }

  /** Delete keys: DeleteObjects batches of 1000, or parallel DeleteObject (`batchDelete=false`). */
  private async deleteKeys(keys: string[], path: string): Promise<void> {
    const Bucket = this.settings.bucket;
    try {
      // DeleteObjects crashes radosgw (beast) on a bucket with a notification: see docs/s3.md.
      if (!this.settings.batchDelete || bucketHasNotification(this.settings.endpoint, Bucket)) {
        const limit = pLimit(OBJECT_CONCURRENCY);
        await Promise.all(keys.map((Key) => limit(() => this.send(new (s3Sdk().DeleteObjectCommand)({ Bucket, Key })))));
        return;
      }
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000);
        const out = await this.send<{ Errors?: Array<{ Key?: string; Code?: string; Message?: string }> }>(
          new (s3Sdk().DeleteObjectsCommand)({ Bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
        const errors = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (errors.length > 0) {
          const e = errors[0]!;
          const fake = Object.assign(new Error(e.Message ?? e.Code ?? 'DeleteObjects failed'), { name: e.Code ?? 'Error', Code: e.Code });
          throw new StrataError(mapS3Error(fake, 'x', this.endpointLabel).code,
            `delete ${this.display(path)}: ${errors.length} of ${batch.length} keys not deleted (first: ${e.Key}: ${e.Code})`, { cause: fake });
        }
      }
    } catch (err) {
      throw this.mapError(err, 'delete', path);
    }
  }

  /** Best-effort removal of every key under `prefix` (cleanup after a failed directory copy). */
  private async removePrefixQuietly(prefix: string): Promise<void> {
    try {
      for await (const page of this.listPages(prefix, undefined, LIST_PAGE_KEYS, undefined, 'cleanup')) {
        const keys = (page.Contents ?? []).map((o) => o.Key!);
        if (keys.length > 0) await this.deleteKeys(keys, prefix);
      }
    } catch {
      // The original failure is what the caller needs to see.
    }
  }

  /** NOT_FOUND for a missing object, IS_A_DIRECTORY when `path` is a directory. */
  private async missingFileError(path: string, signal?: AbortSignal, cause?: unknown): Promise<StrataError> {
    const dir = await this.dirProbe(path, signal).catch(() => null);
    if (dir) return new StrataError(ErrorCode.IS_A_DIRECTORY, `is a directory: ${this.display(path)}`, { cause });
    return new StrataError(ErrorCode.NOT_FOUND, `path does not exist: ${this.display(path)}`, { cause });
  }
}

/** A failure of the caller's data stream (not of S3): rethrown to the caller as it was. */
class SourceError extends Error {
  constructor(readonly original: unknown) {
    super('write source failed', { cause: original });
  }
}

/**
 * Cuts a stream of chunks into parts of exactly `size` bytes (the last may be shorter),
 * holding at most one part plus one chunk.
 */
export class PartReader {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private ended = false;
  private started = false;

  constructor(private readonly it: AsyncIterator<Uint8Array>, private readonly size: number) {}

  /** The next part; an empty Buffer for an empty stream's first call; null when exhausted. */
  async next(): Promise<Buffer | null> {
    while (!this.ended && this.pendingBytes < this.size) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await this.it.next();
      } catch (err) {
        this.ended = true;
        throw new SourceError(err);
      }
      if (r.done) {
        this.ended = true;
        break;
      }
      if (r.value.byteLength > 0) {
        this.pending.push(r.value);
        this.pendingBytes += r.value.byteLength;
      }
    }
    const firstCall = !this.started;
    this.started = true;
    if (this.pendingBytes === 0) return firstCall ? Buffer.alloc(0) : null;
    const all = Buffer.concat(this.pending, this.pendingBytes);
    if (all.length <= this.size) {
      this.pending = [];
      this.pendingBytes = 0;
      return all;
    }
    const rest = all.subarray(this.size);
    this.pending = [rest];
    this.pendingBytes = rest.length;
    return all.subarray(0, this.size);
  }

  /** Stop the source when the write ends early. */
  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.it.return?.().catch(() => undefined);
    }
  }
}

// ------------------------------------------------------------------ helpers

function fileStatus(name: string, length: number, etag: string | undefined, lastModified: Date | undefined): UfsStatus {
  const mtimeMs = secondsMs(lastModified);
  const tag = unquote(etag ?? '');
  return {
    name,
    type: 'file',
    length,
    mtimeMs,
    ...(tag ? { etag: tag } : {}),
    contentHash: s3ContentHash(length, tag, mtimeMs),
    metaHash: S3_META_HASH,
  };
}

/** An ETag without its surrounding quotes (one listed per key: no regex for the usual shape). */
function unquote(etag: string): string {
  const n = etag.length;
  if (n >= 2 && etag.charCodeAt(0) === 0x22 && etag.charCodeAt(n - 1) === 0x22) return etag.slice(1, -1);
  return etag.replace(/^"|"$/g, '');
}

function dirStatus(name: string, mtimeMs: number): UfsStatus {
  return { name, type: 'directory', length: 0, mtimeMs, contentHash: DIR_CONTENT_HASH, metaHash: S3_META_HASH };
}

/** Last-Modified in ms, cut to whole seconds: HEAD gives seconds, listings milliseconds. */
function secondsMs(d: Date | undefined): number {
  return d ? Math.floor(d.getTime() / 1000) * 1000 : 0;
}

function lastKeyOf(page: ListObjectsV2CommandOutput): string | undefined {
  const k = page.Contents?.at(-1)?.Key;
  const p = page.CommonPrefixes?.at(-1)?.Prefix;
  if (k === undefined) return p;
  if (p === undefined) return k;
  return k > p ? k : p;
}

function validName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/');
}

function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

/** Validate a UFS-relative path: '' or 'a/b'; no '.', '..', empty segments or NUL. */
function checkPath(path: string): void {
  checkUfsPath(path);
  if (Buffer.byteLength(path) > 1000) throw invalidPath(path, 'longer than S3 keys allow');
}
