// One error class for everything Strata refuses or fails at. The `code` is stable and
// survives the wire: the TCP client rethrows a StrataError with the same code and message
// that the server raised. Causes (UFS, S3, file-system errors) are kept in `cause`.

/** Stable error codes, the public contract of every failure. */
export const ErrorCode = {
  NOT_FOUND: 'NOT_FOUND',
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  INVALID_PATH: 'INVALID_PATH',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  READ_ONLY: 'READ_ONLY',
  MOUNT_CONFLICT: 'MOUNT_CONFLICT',
  UFS_UNAVAILABLE: 'UFS_UNAVAILABLE',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  BAD_REQUEST: 'BAD_REQUEST',
  NOT_A_DIRECTORY: 'NOT_A_DIRECTORY',
  IS_A_DIRECTORY: 'IS_A_DIRECTORY',
  DIRECTORY_NOT_EMPTY: 'DIRECTORY_NOT_EMPTY',
  RESOURCE_EXHAUSTED: 'RESOURCE_EXHAUSTED',
  FAILED_PRECONDITION: 'FAILED_PRECONDITION',
  TIMEOUT: 'TIMEOUT',
  CANCELLED: 'CANCELLED',
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  CONNECTION_CLOSED: 'CONNECTION_CLOSED',
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/** True when `code` is one of the stable codes above. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && KNOWN_CODES.has(code);
}

/** The one error class of Strata: a stable `code`, a message naming what was wrong. */
export class StrataError extends Error {
  override readonly name = 'StrataError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** The shape carried on the wire and printed by `--json`. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Wrap any thrown value as a StrataError, keeping StrataErrors as they are. */
export function toStrataError(err: unknown, fallback: ErrorCode = ErrorCode.INTERNAL): StrataError {
  if (err instanceof StrataError) return err;
  if (err && typeof err === 'object' && isErrorCode((err as { code?: unknown }).code) &&
      typeof (err as { message?: unknown }).message === 'string') {
    // A StrataError that crossed a thread boundary (structured clone drops the prototype).
    const e = err as { code: ErrorCode; message: string };
    return new StrataError(e.code, e.message, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  // A full disk is a resource limit wherever it is met (cache, metadata store, local UFS).
  const sys = (err as { code?: unknown } | null)?.code;
  if (sys === 'ENOSPC' || sys === 'EDQUOT' || /\bENOSPC\b|no space left on device/i.test(message)) {
    return new StrataError(ErrorCode.RESOURCE_EXHAUSTED, `disk full: ${message}`, { cause: err });
  }
  return new StrataError(fallback, message, { cause: err });
}

/**
 * The form in which an error crosses a worker thread. Structured clone keeps only the
 * message and stack of an Error (its code would be lost and every failure would arrive as
 * INTERNAL), so a plain object; `toStrataError` turns it back into a StrataError.
 */
export function toThreadError(err: unknown): { name: 'StrataError'; code: ErrorCode; message: string } {
  const e = toStrataError(err);
  return { name: 'StrataError', code: e.code, message: e.message };
}

export const notFound = (path: string, what = 'path'): StrataError =>
  new StrataError(ErrorCode.NOT_FOUND, `${what} does not exist: ${path}`);
/**
 * NOT_FOUND for a miss that is an answer, not a fault (a status lookup or `exists` of an
 * absent path): the same error without a stack trace, whose capture is most of the cost of
 * such an answer. Use `notFound` where the miss is a failure worth a trace.
 */
export function absentPath(path: string, what = 'path'): StrataError {
  return withoutStack(() => notFound(path, what));
}

/** An error made by `make` without a stack trace (for expected answers: see `absentPath`). */
export function withoutStack<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
export const alreadyExists = (path: string): StrataError =>
  new StrataError(ErrorCode.ALREADY_EXISTS, `path already exists: ${path}`);
export const invalidPath = (path: string, why: string): StrataError =>
  new StrataError(ErrorCode.INVALID_PATH, `invalid path ${JSON.stringify(path)}: ${why}`);
export const invalidArgument = (message: string): StrataError =>
  new StrataError(ErrorCode.INVALID_ARGUMENT, message);
export const readOnly = (path: string, mountPoint: string): StrataError =>
  new StrataError(ErrorCode.READ_ONLY, `${path} is under the read-only mount ${mountPoint}`);
export const mountConflict = (message: string): StrataError =>
  new StrataError(ErrorCode.MOUNT_CONFLICT, message);
export const notADirectory = (path: string): StrataError =>
  new StrataError(ErrorCode.NOT_A_DIRECTORY, `not a directory: ${path}`);
export const isADirectory = (path: string): StrataError =>
  new StrataError(ErrorCode.IS_A_DIRECTORY, `is a directory: ${path}`);
export const directoryNotEmpty = (path: string): StrataError =>
  new StrataError(ErrorCode.DIRECTORY_NOT_EMPTY, `directory not empty (use recursive): ${path}`);
