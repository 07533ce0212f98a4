// Validation of per-call option objects, one table per options type, applied at the
// coordinator's entry points: every client (TCP, gateway, FUSE, library mode) gets the same
// checks. An ill-typed or unknown value is refused with BAD_REQUEST naming the option and
// the value; absent (undefined or null) means "not given". Keys a table does not list are
// ignored (newer clients may send more), except that the known ones must be right.

import { ErrorCode, StrataError, invalidArgument } from '../errors.js';
import { LOAD_TYPES, NODE_KINDS, READ_TYPES, WRITE_TYPES } from '../types.js';
import type { CreateNodeOptions, SetAttributesOptions } from '../types.js';

/** Checks one value; returns a description of what was expected when it is wrong. */
type Check = (v: unknown) => string | undefined;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'true or false');
const oneOf = (values: readonly string[]): Check => (v) => (typeof v === 'string' && values.includes(v) ? undefined : `one of ${values.join(', ')}`);
/** An integer in [min, max]. */
const int = (min: number, max = Number.MAX_SAFE_INTEGER): Check => (v) =>
  (isInt(v) && v >= min && v <= max ? undefined : `an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}`);
/** A duration in ms: -1 (never / none) or a non-negative integer. */
const durationMs: Check = (v) => (isInt(v) && v >= -1 ? undefined : 'a duration in ms (a non-negative integer, or -1)');
const str: Check = (v) => (typeof v === 'string' ? undefined : 'a string');
const stringRecord: Check = (v) =>
  (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string') ? undefined : 'an object of string values');
/** The progress listener the TCP server attaches (or a library caller passes). */
const listener: Check = (v) => (typeof v === 'function' ? undefined : 'a function');

type Table = Readonly<Record<string, Check>>;

const COMMON: Table = { syncIntervalMs: durationMs, loadType: oneOf(LOAD_TYPES) };
const PROGRESS: Table = { onProgress: listener };

/** Largest block size a write may ask for (a block is read and written whole). */
export const MAX_BLOCK_SIZE = 1 << 30;

/** One validation table per options type of the FileSystem interface. */
export const OPTION_TABLES = {
  getStatus: COMMON,
  listStatus: { ...COMMON, recursive: bool, pageSize: int(1) },
  createDirectory: { ...COMMON, recursive: bool, writeType: oneOf(WRITE_TYPES), allowExists: bool },
  writeFile: {
    ...COMMON, ...PROGRESS, writeType: oneOf(WRITE_TYPES), overwrite: bool, recursive: bool,
    blockSize: int(1, MAX_BLOCK_SIZE), ttlMs: durationMs, ttlAction: oneOf(['free', 'delete']), ifFileId: int(0),
  },
  readFile: { ...COMMON, readType: oneOf(READ_TYPES), offset: int(0), length: int(0), tail: int(0), chunkSize: int(1), ifFileId: int(0) },
  delete: { ...COMMON, recursive: bool, strataOnly: bool },
  rename: COMMON,
  mount: { readOnly: bool, options: stringRecord },
  loadMetadata: { ...COMMON, ...PROGRESS, recursive: bool },
  checkConsistency: { ...COMMON, recursive: bool, repair: bool },
  cacheOp: { ...COMMON, ...PROGRESS, recursive: bool },
  createNode: {
    ...COMMON, kind: oneOf(NODE_KINDS), target: str, rdev: int(0, 0xffffffff),
    mode: int(0, 0o7777), uid: int(0, 0xffffffff), gid: int(0, 0xffffffff),
  },
} as const satisfies Record<string, Table>;

export type OptionsKind = keyof typeof OPTION_TABLES;

/** Show a refused value the way a user typed it (NaN and functions included), bounded. */
function show(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return 'a function';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * Check the options object of one call against its table; throws BAD_REQUEST naming the
 * call, the option and the value (e.g. `writeFile option writeType: "BOGUS" is not one of ...`).
 */
export function validateOptions(kind: OptionsKind, options: unknown, call: string = kind): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new StrataError(ErrorCode.BAD_REQUEST, `${call} options must be an object, got ${show(options)}`);
  }
  const table: Table = OPTION_TABLES[kind];
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || value === null) continue;
    const check = Object.hasOwn(table, key) ? table[key] : undefined;
    if (!check) continue;
    const expected = check(value);
    if (expected !== undefined) {
      throw new StrataError(ErrorCode.BAD_REQUEST, `${call} option ${key}: ${show(value)} is not ${expected}`);
    }
  }
}

/** Check the attributes of setAttributes: mode, uid and gid integers in range, mtimeMs and atimeMs numbers (INVALID_ARGUMENT). */
export function validateAttributes(a: SetAttributesOptions): void {
  const intIn = (name: string, v: unknown, max: number): void => {
    if (v !== undefined && (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > max)) {
      throw invalidArgument(`${name} must be an integer between 0 and ${max}, got ${String(v)}`);
    }
  };
  intIn('mode', a.mode, 0o7777);
  intIn('uid', a.uid, 0xffffffff);
  intIn('gid', a.gid, 0xffffffff);
  if (a.mtimeMs !== undefined && !Number.isFinite(a.mtimeMs)) throw invalidArgument(`mtimeMs must be a number, got ${String(a.mtimeMs)}`);
  if (a.atimeMs !== undefined && !Number.isFinite(a.atimeMs)) throw invalidArgument(`atimeMs must be a number, got ${String(a.atimeMs)}`);
}

/** Longest symbolic-link target (bytes): Linux's PATH_MAX less its terminating NUL. */
export const MAX_LINK_TARGET_BYTES = 4095;

/**
 * Check the options of createNode: the table's types (BAD_REQUEST), a kind, a target for a
 * symbolic link only (1 to 4,095 bytes, no NUL: INVALID_ARGUMENT), a device number for a
 * device only.
 */
export function validateNode(options: CreateNodeOptions): void {
  validateOptions('createNode', options);
  if (options === undefined || options === null || options.kind === undefined || options.kind === null) {
    throw new StrataError(ErrorCode.BAD_REQUEST, `createNode option kind is required (one of ${NODE_KINDS.join(', ')})`);
  }
  const { kind, target, rdev } = options;
  if (kind === 'symlink') {
    if (typeof target !== 'string' || target.length === 0) throw invalidArgument('a symbolic link needs a target (a non-empty string)');
    if (target.includes('\u0000')) throw invalidArgument('a symbolic link target may not contain NUL');
    const bytes = Buffer.byteLength(target);
    if (bytes > MAX_LINK_TARGET_BYTES) throw invalidArgument(`a symbolic link target is at most ${MAX_LINK_TARGET_BYTES} bytes, got ${bytes}`);
  } else if (target !== undefined && target !== null) {
    throw new StrataError(ErrorCode.BAD_REQUEST, `createNode option target is for symbolic links only, not a ${kind}`);
  }
  if (rdev !== undefined && rdev !== null && kind !== 'char' && kind !== 'block') {
    throw new StrataError(ErrorCode.BAD_REQUEST, `createNode option rdev is for char and block devices only, not a ${kind}`);
  }
}
