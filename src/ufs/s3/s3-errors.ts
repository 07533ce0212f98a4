// Translation of S3 SDK and network failures into StrataErrors with stable codes. The
// original error is kept as `cause`; messages name the operation and the s3:// path, never a
// credential (the SDK's own messages carry none, and endpoints are shown without user-info).

import { ErrorCode, StrataError } from '../../errors.js';

/** Longest object key S3 accepts, in UTF-8 bytes. */
export const MAX_S3_KEY_BYTES = 1024;

/** What went wrong in one S3 call, as far as the SDK or Node tells. */
interface SdkErrorLike {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET', 'EPROTO',
]);
const DENIED_NAMES = new Set([
  'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden', 'InvalidToken',
  'ExpiredToken', 'TokenRefreshRequired', 'AllAccessDisabled', 'CredentialsProviderError',
  'AccountProblem', 'InvalidSecurity', 'RequestTimeTooSkewed',
]);
const NOT_FOUND_NAMES = new Set(['NoSuchKey', 'NoSuchBucket', 'NotFound', 'NoSuchUpload']);
const UNAVAILABLE_NAMES = new Set([
  'TimeoutError', 'RequestTimeout', 'SlowDown', 'ServiceUnavailable', 'InternalError',
  'Throttling', 'ThrottlingException', 'NetworkingError',
]);

/** HTTP status of an SDK error, when the server answered at all. */
export function httpStatus(err: unknown): number | undefined {
  const e = err as SdkErrorLike | null;
  return e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
}

/** The S3 error code (`NoSuchKey`, `SlowDown`...) or Node error code of a failure. */
export function s3ErrorName(err: unknown): string {
  const e = err as SdkErrorLike | null;
  if (!e || typeof e !== 'object') return String(err);
  return e.Code ?? (typeof e.code === 'string' ? e.code : undefined) ?? e.name ?? 'Error';
}

/** Walk `cause` links looking for a Node network error code. */
function networkCode(err: unknown): string | undefined {
  for (let e = err as (SdkErrorLike & { cause?: unknown }) | null, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  }
  return undefined;
}

/**
 * Map any failure of an S3 call to a StrataError.
 * @param what   operation and object, e.g. `read s3://bucket/key`
 * @param on412  code for HTTP 412 (ALREADY_EXISTS for If-None-Match writes)
 */
export function mapS3Error(err: unknown, what: string, endpoint: string, on412: ErrorCode = ErrorCode.FAILED_PRECONDITION): StrataError {
  if (err instanceof StrataError) return err;
  const status = httpStatus(err);
  const name = s3ErrorName(err);
  const net = networkCode(err);
  const detail = (err as SdkErrorLike | null)?.message;
  const reason = (text: string): string => `${what}: ${text}`;

  if (name === 'AbortError') {
    return new StrataError(ErrorCode.CANCELLED, reason('aborted'), { cause: err });
  }
  if (net !== undefined || name === 'TimeoutError' || (status === undefined && UNAVAILABLE_NAMES.has(name))) {
    return new StrataError(ErrorCode.UFS_UNAVAILABLE, reason(`S3 endpoint ${endpoint} unreachable (${net ?? name}${detail && !detail.includes(net ?? '\0') ? `: ${detail}` : ''})`), { cause: err });
  }
  if (name === 'CredentialsProviderError') {
    return new StrataError(ErrorCode.PERMISSION_DENIED, reason('no S3 credentials (set accessKeyId/secretAccessKey mount options or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)'), { cause: err });
  }
  if (status === 403 || DENIED_NAMES.has(name)) {
    return new StrataError(ErrorCode.PERMISSION_DENIED, reason(`access denied by S3 (${name}${status ? `, HTTP ${status}` : ''}); check the credentials and the bucket policy`), { cause: err });
  }
  if (name === 'NoSuchBucket') {
    return new StrataError(ErrorCode.NOT_FOUND, reason(`the bucket does not exist at ${endpoint}`), { cause: err });
  }
  if (status === 404 || NOT_FOUND_NAMES.has(name)) {
    return new StrataError(ErrorCode.NOT_FOUND, reason(`does not exist (${name})`), { cause: err });
  }
  if (name === 'KeyTooLongError' || name === 'KeyTooLong') {
    return new StrataError(ErrorCode.INVALID_PATH, reason(`the key is longer than S3 allows (${MAX_S3_KEY_BYTES} bytes)`), { cause: err });
  }
  if (status === 412 || name === 'PreconditionFailed') {
    return new StrataError(on412, reason(on412 === ErrorCode.ALREADY_EXISTS ? 'already exists' : 'precondition failed (the object changed)'), { cause: err });
  }
  if ((status !== undefined && status >= 500) || UNAVAILABLE_NAMES.has(name)) {
    return new StrataError(ErrorCode.UFS_UNAVAILABLE, reason(`S3 server error ${name}${status ? ` (HTTP ${status})` : ''}`), { cause: err });
  }
  if (status !== undefined && status >= 400) {
    return new StrataError(ErrorCode.BAD_REQUEST, reason(`refused by S3: ${name} (HTTP ${status})${detail && detail !== 'UnknownError' && detail !== name ? `: ${detail}` : ''}`), { cause: err });
  }
  return new StrataError(ErrorCode.UFS_UNAVAILABLE, reason(`S3 call failed: ${name}${detail && detail !== name ? `: ${detail}` : ''}`), { cause: err });
}
