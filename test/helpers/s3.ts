// A real S3 server (Ceph RADOS Gateway) for tests: `ensureS3Server()` starts it once through
// scripts/s3-server.sh (which takes a lock file), so test files running in parallel share one server,
// and `freshBucket()` gives each test its own bucket. Reusable by any suite parameterised by
// UFS (local or S3): `s3UfsFor(bucket)` builds the mounted UFS the same way a mount would.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  ListMultipartUploadsCommand,
  AbortMultipartUploadCommand,
  S3Client,
} from '@aws-sdk/client-s3';

import { S3Ufs } from '../../src/ufs/s3/s3-ufs.js';
export { readAll } from './assert.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = `${ROOT}scripts/s3-server.sh`;

export interface S3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

let server: Promise<S3Server> | undefined;

/**
 * The endpoint and keys of the test S3 server, starting it (install included) if it does not
 * run yet. Concurrent callers in other processes wait on a flock and then reuse it.
 */
export function ensureS3Server(): Promise<S3Server> {
  server ??= (async () => {
    const t0 = Date.now();
    // The script serialises concurrent starts itself (flock on $STRATA_S3_DIR.lock).
    const { stdout } = await run(SCRIPT, ['start'], { timeout: 900_000, maxBuffer: 16 * 1024 * 1024 })
      .catch((err: { stderr?: string; message: string }) => {
        throw new Error(`scripts/s3-server.sh start failed: ${err.message}\n${err.stderr ?? ''}`);
      });
    const env: Record<string, string> = {};
    for (const m of stdout.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]!] = m[2]!;
    if (!env.S3_ENDPOINT || !env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
      throw new Error(`scripts/s3-server.sh start printed no endpoint:\n${stdout}`);
    }
    if (process.env.STRATA_TEST_VERBOSE) process.stderr.write(`s3 server ready in ${Date.now() - t0}ms\n`);
    return {
      endpoint: env.S3_ENDPOINT,
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      region: env.AWS_REGION ?? 'us-east-1',
    };
  })();
  return server;
}

/** Mount options for the test server (what `strata fs mount --option` would pass). */
export function s3Options(s: S3Server, extra: Record<string, string> = {}): Record<string, string> {
  return {
    endpoint: s.endpoint,
    region: s.region,
    accessKeyId: s.accessKeyId,
    secretAccessKey: s.secretAccessKey,
    pathStyle: 'true',
    ...extra,
  };
}

/** A plain SDK client on the test server, for setting up and inspecting buckets behind the UFS. */
export function s3Client(s: S3Server): S3Client {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export interface FreshBucket {
  server: S3Server;
  bucket: string;
  client: S3Client;
  /** An S3Ufs on `s3://bucket/<prefix>` with the test server's options plus `extra`. */
  ufs(prefix?: string, extra?: Record<string, string>): S3Ufs;
  /** Every key in the bucket (for assertions on what the UFS really wrote). */
  keys(): Promise<string[]>;
  /** Empty and delete the bucket, abort its uploads, close clients made by `ufs()`. */
  cleanup(): Promise<void>;
}

/** A new, empty bucket named `<name>-<random>` (lower-cased, valid S3 name). */
export async function freshBucket(name = 'test'): Promise<FreshBucket> {
  const srv = await ensureS3Server();
  const base = name.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'test';
  const bucket = `${base}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const client = s3Client(srv);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const made: S3Ufs[] = [];
  const keys = async (): Promise<string[]> => {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) out.push(o.Key!);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  };
  return {
    server: srv,
    bucket,
    client,
    ufs(prefix = '', extra = {}) {
      const u = new S3Ufs(`s3://${bucket}${prefix ? `/${prefix}` : ''}`, s3Options(srv, extra));
      made.push(u);
      return u;
    },
    keys,
    async cleanup() {
      try {
        const ups = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
        for (const u of ups.Uploads ?? []) {
          await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! }));
        }
        for (let all = await keys(); all.length > 0; all = await keys()) {
          for (let i = 0; i < all.length; i += 1000) {
            await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: all.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }));
          }
        }
        await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      } finally {
        for (const u of made) await u.close();
        client.destroy();
      }
    },
  };
}

/** An async iterable of the given chunks (strings or bytes), for `Ufs.write`. */
export async function* chunksOf(...parts: Array<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}

/** All bytes of an async iterable. */
