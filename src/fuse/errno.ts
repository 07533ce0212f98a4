// The one table from Strata's error codes to the errno a FUSE call answers with. Anything
// not in the table (and any non-Strata error) is EIO, with a log line so that it is seen.

import { ErrorCode, StrataError } from '../errors.js';
import type { Logger } from '../log.js';
import { E, FuseErrno } from './binding.js';

/** Longest path component (bytes) most Linux file systems accept. */
export const NAME_MAX = 255;

/** Strata error code → errno (positive). Codes not listed map to EIO and are logged. */
export const ERRNO_OF_CODE: Readonly<Partial<Record<ErrorCode, number>>> = {
  [ErrorCode.NOT_FOUND]: E.ENOENT,
  [ErrorCode.ALREADY_EXISTS]: E.EEXIST,
  [ErrorCode.NOT_A_DIRECTORY]: E.ENOTDIR,
  [ErrorCode.IS_A_DIRECTORY]: E.EISDIR,
  [ErrorCode.DIRECTORY_NOT_EMPTY]: E.ENOTEMPTY,
  [ErrorCode.READ_ONLY]: E.EROFS,
  [ErrorCode.PERMISSION_DENIED]: E.EACCES,
  [ErrorCode.INVALID_PATH]: E.EINVAL, // ENAMETOOLONG when a component is too long, see errnoOf
  [ErrorCode.INVALID_ARGUMENT]: E.EINVAL,
  [ErrorCode.RESOURCE_EXHAUSTED]: E.ENOSPC,
  [ErrorCode.UFS_UNAVAILABLE]: E.EIO,
  [ErrorCode.MOUNT_CONFLICT]: E.EBUSY,
  [ErrorCode.TIMEOUT]: E.ETIMEDOUT,
  [ErrorCode.CANCELLED]: E.EINTR,
  [ErrorCode.CONNECTION_CLOSED]: E.EIO,
};

/** Codes that are expected answers (ENOENT of a lookup, EEXIST of O_EXCL): never logged. */
const QUIET = new Set<ErrorCode>([
  ErrorCode.NOT_FOUND, ErrorCode.ALREADY_EXISTS, ErrorCode.NOT_A_DIRECTORY, ErrorCode.IS_A_DIRECTORY,
  ErrorCode.DIRECTORY_NOT_EMPTY, ErrorCode.READ_ONLY, ErrorCode.PERMISSION_DENIED, ErrorCode.INVALID_PATH,
]);

/** True when a path component is longer than NAME_MAX bytes. */
export function nameTooLong(path: string): boolean {
  return path.split('/').some((c) => Buffer.byteLength(c) > NAME_MAX);
}

/**
 * The errno for any error a handler hit: FuseErrno keeps its errno, StrataError goes
 * through the table, anything else (and unlisted codes) is EIO and is logged on `log`.
 */
export function errnoOf(err: unknown, log?: Logger, path?: string): number {
  if (err instanceof FuseErrno) return err.errno;
  if (err instanceof StrataError) {
    if (err.code === ErrorCode.INVALID_PATH && path !== undefined && nameTooLong(path)) return E.ENAMETOOLONG;
    const errno = ERRNO_OF_CODE[err.code];
    if (errno === undefined || !QUIET.has(err.code)) {
      log?.warn({ err: err.toJSON(), path }, errno === undefined ? 'FUSE call failed (EIO)' : 'FUSE call failed');
    }
    return errno ?? E.EIO;
  }
  const sys = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof sys === 'string' && sys in E && sys !== 'EIO') return E[sys as keyof typeof E];
  log?.warn({ err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err), path }, 'FUSE call failed (EIO)');
  return E.EIO;
}
