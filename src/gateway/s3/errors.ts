// S3 errors of the gateway: one S3Error class (S3's code, HTTP status, message) and the one
// table that maps Strata's stable codes onto S3's, so every handler answers the same way.

import { ErrorCode, StrataError, toStrataError } from '../../errors.js';

/** HTTP status of each S3 error code the gateway answers with. */
export const S3_STATUS: Record<string, number> = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyExists: 409,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  InsufficientStorage: 507,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidURI: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotImplemented: 501,
  NotModified: 304,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  XAmzContentSHA256Mismatch: 400,
};

/** An error answered to the S3 client as `<Error><Code>…</Code>…</Error>`. */
export class S3Error extends Error {
  override readonly name = 'S3Error';
  readonly status: number;
  /** Extra response headers (Retry-After, ETag on 304). */
  headers: Record<string, string> = {};

  constructor(readonly code: string, message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = options?.status ?? S3_STATUS[code] ?? 400;
  }
}

/**
 * Map any thrown value to an S3Error. `missing` names what a NOT_FOUND means here
 * (NoSuchKey for object calls, NoSuchBucket for bucket calls).
 */
export function toS3Error(err: unknown, missing: 'NoSuchKey' | 'NoSuchBucket' = 'NoSuchKey'): S3Error {
  if (err instanceof S3Error) return err;
  const e: StrataError = toStrataError(err);
  const wrap = (code: string, status?: number): S3Error => new S3Error(code, e.message, { status, cause: e });
  switch (e.code) {
    case ErrorCode.NOT_FOUND: return wrap(missing);
    case ErrorCode.PERMISSION_DENIED: return wrap('AccessDenied');
    case ErrorCode.READ_ONLY: return wrap('AccessDenied');
    case ErrorCode.UFS_UNAVAILABLE:
    case ErrorCode.TIMEOUT:
    case ErrorCode.CONNECTION_CLOSED: {
      const s = wrap('ServiceUnavailable');
      s.headers['Retry-After'] = '5';
      return s;
    }
    case ErrorCode.RESOURCE_EXHAUSTED:
      return /space|capacity|cache|disk|full/i.test(e.message) ? wrap('InsufficientStorage') : wrap('SlowDown');
    case ErrorCode.BAD_REQUEST:
    case ErrorCode.INVALID_ARGUMENT:
    case ErrorCode.INVALID_PATH: return wrap('InvalidArgument');
    case ErrorCode.ALREADY_EXISTS: return wrap('PreconditionFailed');
    case ErrorCode.IS_A_DIRECTORY: return wrap(missing);
    case ErrorCode.NOT_A_DIRECTORY: return wrap('InvalidArgument');
    case ErrorCode.DIRECTORY_NOT_EMPTY: return wrap('BucketNotEmpty');
    case ErrorCode.MOUNT_CONFLICT: return wrap('InvalidRequest');
    case ErrorCode.FAILED_PRECONDITION: return wrap('PreconditionFailed');
    default: return wrap('InternalError', 500);
  }
}
