// The two kinds of under file system a behaviour suite runs over: 'local' (a temp directory,
// mounted as file:///…) and 's3' (a fresh bucket on the real radosgw that ensureS3Server()
// starts, mounted as s3://bucket/prefix). Each gives the URI and options to mount it, and
// OUT-OF-BAND helpers that act on the storage directly, as another program would (never
// through Strata): put, read, delete, mkdir, list, exists, and a metadata-only change where
// the UFS has one (S3 has no mode bits: `chmod` is null there and such cases are skipped).

import { chmod, mkdir, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand,
} from '@aws-sdk/client-s3';
import { fileUri, tempDir } from './fixture.js';
import { freshBucket, s3Options } from './s3.js';

export type UfsKindName = 'local' | 's3';
export const UFS_KINDS: UfsKindName[] = ['local', 's3'];

export interface UfsKind {
  readonly name: UfsKindName;
  /** URI to mount (file:///tmp/… or s3://bucket/prefix). */
  readonly mountUri: string;
  /** Mount options (credentials and endpoint for S3, `extra` merged in). */
  mountOptions(extra?: Record<string, string>): Record<string, string>;
  /** Write a whole file (parents implied). Local: bumps mtime past the old one so a same-size rewrite is a visible change. */
  putFile(rel: string, bytes: Uint8Array | string): Promise<void>;
  /** Bytes of a file, or null when absent. */
  readFile(rel: string): Promise<Buffer | null>;
  /** Delete a file (missing is fine). */
  deleteFile(rel: string): Promise<void>;
  /** Create a directory (S3: the zero-byte marker `rel/`). */
  mkdir(rel: string): Promise<void>;
  /** Names directly below a directory ('' = the mount root), sorted. */
  list(relDir: string): Promise<string[]>;
  /** True when a file or directory exists at rel (S3: the object, its marker, or keys below). */
  exists(rel: string): Promise<boolean>;
  /** Metadata-only change (mode bits), or null where the UFS has no such thing (S3). */
  readonly chmod: ((rel: string, mode: number) => Promise<void>) | null;
  /** S3 only: the object's ETag (multipart uploads have the form "…-N"). */
  etag?(rel: string): Promise<string | undefined>;
  /** Remove everything this kind created. */
  dispose(): Promise<void>;
}

/** Run `fn` over `items` with at most `n` in flight. */
export async function parallel<T>(items: T[], n: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

const bytesOf = (b: Uint8Array | string): Buffer => (typeof b === 'string' ? Buffer.from(b) : Buffer.from(b));

async function localKind(): Promise<UfsKind> {
  const root = await tempDir('strata-ufs-kind-');
  const abs = (rel: string) => join(root, rel);
  return {
    name: 'local',
    mountUri: fileUri(root),
    mountOptions: (extra = {}) => ({ ...extra }),
    async putFile(rel, bytes) {
      const p = abs(rel);
      await mkdir(dirname(p), { recursive: true });
      const old = await stat(p).catch(() => null);
      await writeFile(p, bytesOf(bytes));
      if (old) {
        // An outside writer's rewrite within the same mtime tick would be invisible to any
        // size+mtime fingerprint; move the clock on as a real later write would.
        const t = new Date(Math.max(Date.now(), old.mtimeMs + 2000));
        await utimes(p, t, t);
      }
    },
    readFile: (rel) => readFile(abs(rel)).catch(() => null),
    deleteFile: (rel) => rm(abs(rel), { force: true }),
    async mkdir(rel) { await mkdir(abs(rel), { recursive: true }); },
    async list(relDir) { return (await readdir(abs(relDir))).sort(); },
    exists: async (rel) => !!(await stat(abs(rel)).catch(() => null)),
    chmod: (rel, mode) => chmod(abs(rel), mode),
    async dispose() { await rm(root, { recursive: true, force: true }); },
  };
}

async function s3Kind(prefix: string): Promise<UfsKind> {
  const b = await freshBucket('ufs-kind');
  const { client, bucket } = b;
  const key = (rel: string) => (rel ? `${prefix}/${rel}` : prefix);
  return {
    name: 's3',
    mountUri: `s3://${bucket}/${prefix}`,
    mountOptions: (extra = {}) => s3Options(b.server, extra),
    async putFile(rel, bytes) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key(rel), Body: bytesOf(bytes) }));
    },
    async readFile(rel) {
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key(rel) }));
        return Buffer.from(await r.Body!.transformToByteArray());
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
        throw err;
      }
    },
    async deleteFile(rel) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(rel) }));
    },
    async mkdir(rel) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${key(rel)}/`, Body: Buffer.alloc(0) }));
    },
    async list(relDir) {
      const pre = `${key(relDir)}/`;
      const out = new Set<string>();
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: pre, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }));
        for (const o of page.Contents ?? []) if (o.Key !== pre) out.add(o.Key!.slice(pre.length));
        for (const p of page.CommonPrefixes ?? []) out.add(p.Prefix!.slice(pre.length, -1));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return [...out].sort();
    },
    async exists(rel) {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key(rel) })).then(() => true, () => false);
      if (head) return true;
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${key(rel)}/`, MaxKeys: 1 }));
      return (page.KeyCount ?? 0) > 0;
    },
    chmod: null,
    async etag(rel) {
      return (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key(rel) }))).ETag;
    },
    dispose: () => b.cleanup(),
  };
}

/** A fresh UFS of the given kind (S3: its own bucket, keys under `prefix`). */
export function openUfsKind(name: UfsKindName, prefix = 'mnt/root'): Promise<UfsKind> {
  return name === 'local' ? localKind() : s3Kind(prefix);
}
