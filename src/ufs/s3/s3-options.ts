// Settings of an S3 mount: the `s3://bucket/prefix` URI, the mount options (plain or `s3.`
// prefixed), and the standard AWS environment variables as fall-back. Also owns redaction:
// secrets given as options never leave this process in a listing or a log line.

import { redactUrl } from '../../config/redact.js';
import { invalidArgument } from '../../errors.js';
import { parseDuration, parseSize } from '../../config/units.js';

/** Smallest part S3 accepts in a multipart upload (except the last part). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Largest part S3 accepts. */
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
/** Default part size of multipart uploads. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** Default time limit of one S3 call (mount option `ufs.timeout`). */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Everything an S3Ufs needs, resolved from URI, options and environment. */
export interface S3Settings {
  bucket: string;
  /** Key prefix of the mount root: '' or 'some/prefix/' (always ending in '/'). */
  prefix: string;
  /** Custom endpoint (radosgw, MinIO...); undefined for AWS itself. */
  endpoint?: string;
  region: string;
  /** Path-style addressing (http://host/bucket/key); default true when an endpoint is set. */
  pathStyle: boolean;
  /** Static credentials; undefined lets the SDK's default provider chain look. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  partSize: number;
  maxAttempts: number;
  /** Time limit of one S3 call (all its retries) in ms; 0 = none. */
  timeoutMs: number;
  /** Delete many keys with DeleteObjects (false: parallel DeleteObject, see docs/s3.md). */
  batchDelete: boolean;
  /** Objects at least this large are copied (rename) with multipart UploadPartCopy. */
  multipartCopyThreshold: number;
}

/** Option names an S3 mount understands (each also accepted as `s3.<name>`). */
export const S3_OPTION_NAMES = [
  'endpoint', 'region', 'accessKeyId', 'secretAccessKey', 'sessionToken', 'pathStyle',
  'partSize', 'maxAttempts', 'batchDelete', 'multipartCopyThreshold',
] as const;

/** Parse `s3://bucket/prefix` into bucket and normalised key prefix ('' or 'a/b/'). */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/?#]*)(\/[^?#]*)?$/i.exec(uri);
  if (!m) throw invalidArgument(`S3 UFS URI must look like s3://bucket/prefix, got ${JSON.stringify(uri)}`);
  const bucket = m[1]!;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    throw invalidArgument(`S3 UFS URI ${JSON.stringify(uri)}: ${JSON.stringify(bucket)} is not a valid bucket name (3-63 of a-z 0-9 . -)`);
  }
  let raw = (m[2] ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
  try {
    raw = decodeURIComponent(raw);
  } catch {
    throw invalidArgument(`S3 UFS URI ${JSON.stringify(uri)}: malformed percent-encoding in the prefix`);
  }
  if (raw !== '') {
    for (const seg of raw.split('/')) {
      if (seg === '' || seg === '.' || seg === '..') {
        throw invalidArgument(`S3 UFS URI ${JSON.stringify(uri)}: the prefix must not contain empty, '.' or '..' segments`);
      }
    }
  }
  return { bucket, prefix: raw === '' ? '' : `${raw}/` };
}

/** Resolve the settings of a mount; INVALID_ARGUMENT naming the bad option. */
export function resolveS3Settings(uri: string, options: Record<string, string> = {}, env: NodeJS.ProcessEnv = process.env): S3Settings {
  const { bucket, prefix } = parseS3Uri(uri);
  const opt = (name: string): string | undefined => {
    const v = options[name] ?? options[`s3.${name}`];
    return v === undefined || v === '' ? undefined : v;
  };

  const endpoint = opt('endpoint') ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL) ?? nonEmpty(env.S3_ENDPOINT);
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw invalidArgument(`S3 option endpoint: ${JSON.stringify(redactUrl(endpoint))} is not a URL (use e.g. http://127.0.0.1:7480)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw invalidArgument(`S3 option endpoint: ${JSON.stringify(redactUrl(endpoint))} must be an http:// or https:// URL`);
    }
  }
  const region = opt('region') ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1';
  const pathStyle = parseBool('pathStyle', opt('pathStyle'), endpoint !== undefined);
  const batchDelete = parseBool('batchDelete', opt('batchDelete'), true);

  let credentials: S3Settings['credentials'];
  const accessKeyId = opt('accessKeyId');
  const secretAccessKey = opt('secretAccessKey');
  if (accessKeyId !== undefined || secretAccessKey !== undefined) {
    if (accessKeyId === undefined || secretAccessKey === undefined) {
      throw invalidArgument('S3 options accessKeyId and secretAccessKey must be given together');
    }
    credentials = { accessKeyId, secretAccessKey, ...(opt('sessionToken') ? { sessionToken: opt('sessionToken')! } : {}) };
  } else if (nonEmpty(env.AWS_ACCESS_KEY_ID) && nonEmpty(env.AWS_SECRET_ACCESS_KEY)) {
    credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
      ...(nonEmpty(env.AWS_SESSION_TOKEN) ? { sessionToken: env.AWS_SESSION_TOKEN! } : {}),
    };
  }

  const partSize = parseSize(opt('partSize') ?? DEFAULT_PART_SIZE, 'S3 option partSize');
  if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw invalidArgument(`S3 option partSize: ${opt('partSize')} must be between 5MB and 5GB`);
  }
  const multipartCopyThreshold = parseSize(opt('multipartCopyThreshold') ?? MAX_PART_SIZE, 'S3 option multipartCopyThreshold');
  if (multipartCopyThreshold < MIN_PART_SIZE || multipartCopyThreshold > MAX_PART_SIZE) {
    throw invalidArgument(`S3 option multipartCopyThreshold: ${opt('multipartCopyThreshold')} must be between 5MB and 5GB`);
  }
  const maxAttemptsRaw = opt('maxAttempts') ?? '3';
  if (!/^\d+$/.test(maxAttemptsRaw.trim()) || Number(maxAttemptsRaw) < 1 || Number(maxAttemptsRaw) > 20) {
    throw invalidArgument(`S3 option maxAttempts: ${JSON.stringify(maxAttemptsRaw)} must be an integer from 1 to 20`);
  }
  const timeoutRaw = options['ufs.timeout'];
  const timeout = timeoutRaw === undefined || timeoutRaw === '' ? DEFAULT_TIMEOUT_MS : parseDuration(timeoutRaw, 'ufs.timeout');

  return {
    bucket,
    prefix,
    ...(endpoint !== undefined ? { endpoint } : {}),
    region,
    pathStyle,
    ...(credentials ? { credentials } : {}),
    partSize,
    maxAttempts: Number(maxAttemptsRaw),
    timeoutMs: timeout < 0 ? 0 : timeout,
    batchDelete,
    multipartCopyThreshold,
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function parseBool(name: string, value: string | undefined, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalidArgument(`S3 option ${name}: ${JSON.stringify(value)} is not true or false`);
}
