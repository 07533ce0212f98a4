// The messages of Strata's wire protocol (version 3: listStatus pages as columns; since 2 the hello carries a credential), the table of remote operations and
// the validators that turn an untrusted decoded msgpack value into a typed message. Every
// frame a peer sends goes through `parseClientMessage` / `parseServerMessage`; anything
// that does not fit is refused with StrataError(BAD_REQUEST). See docs/protocol.md.

import { ErrorCode, StrataError, isErrorCode, toStrataError } from '../errors.js';

/** The protocol version spoken by this build; the hello handshake must match it exactly. */
export const PROTOCOL_VERSION = 3;

/** Default TCP port of `strata server`. */
export const DEFAULT_PORT = 19998;

/**
 * How an operation moves data:
 * - `unary`: one `req`, one `res` carrying the result;
 * - `pages`: server streams `data` frames whose `chunk` is a columnar FileInfo page (src/protocol/page-codec.ts; credit paced), then `res`;
 * - `bytes`: server streams `data` frames whose `chunk` is a Uint8Array (credit paced), then `res`;
 * - `upload`: client streams `data` frames of bytes (server credits) then `end`; the server answers `res`.
 */
export type OpKind = 'unary' | 'pages' | 'bytes' | 'upload';

/**
 * The type of one positional argument, checked on the server before the call:
 * `string`, `number`, `boolean`, `record` (object of string values), `options` (optional
 * plain object), `string?` (optional string), `data` (the writeFile data slot, sent as nil).
 */
export type ArgKind = 'string' | 'number' | 'boolean' | 'record' | 'options' | 'string?' | 'data';

export interface OpSpec {
  readonly kind: OpKind;
  readonly args: readonly ArgKind[];
  /** Index of the options argument that may carry `onProgress` (progress frames). */
  readonly progressArg?: number;
}

/** Every remote operation: the FileSystem method names, their argument shapes and kinds. */
export const OPS = {
  getStatus: { kind: 'unary', args: ['string', 'options'] },
  exists: { kind: 'unary', args: ['string', 'options'] },
  listStatus: { kind: 'pages', args: ['string', 'options'] },
  createDirectory: { kind: 'unary', args: ['string', 'options'] },
  createNode: { kind: 'unary', args: ['string', 'options'] },
  writeFile: { kind: 'upload', args: ['string', 'data', 'options'], progressArg: 2 },
  readFile: { kind: 'bytes', args: ['string', 'options'] },
  delete: { kind: 'unary', args: ['string', 'options'] },
  rename: { kind: 'unary', args: ['string', 'string', 'options'] },
  mount: { kind: 'unary', args: ['string', 'string', 'options'] },
  unmount: { kind: 'unary', args: ['string'] },
  getMountTable: { kind: 'unary', args: [] },
  loadMetadata: { kind: 'unary', args: ['string', 'options'], progressArg: 1 },
  checkConsistency: { kind: 'unary', args: ['string', 'options'] },
  needsSync: { kind: 'unary', args: ['string'] },
  load: { kind: 'unary', args: ['string', 'options'], progressArg: 1 },
  free: { kind: 'unary', args: ['string', 'options'] },
  persist: { kind: 'unary', args: ['string', 'options'] },
  setPinned: { kind: 'unary', args: ['string', 'boolean', 'options'] },
  setTtl: { kind: 'unary', args: ['string', 'number', 'string?'] },
  setXattr: { kind: 'unary', args: ['string', 'record'] },
  startSync: { kind: 'unary', args: ['string'] },
  stopSync: { kind: 'unary', args: ['string'] },
  getSyncPathList: { kind: 'unary', args: [] },
  setPathConf: { kind: 'unary', args: ['string', 'record'] },
  listPathConf: { kind: 'unary', args: [] },
  removePathConf: { kind: 'unary', args: ['string'] },
  getReport: { kind: 'unary', args: [] },
  setAttributes: { kind: 'unary', args: ['string', 'options'] },
  getConf: { kind: 'unary', args: ['string?'] },
  /** Short-circuit reads: the block files of a file cached whole, to loopback clients only (not a FileSystem method). */
  getLocalBlocks: { kind: 'unary', args: ['string'] },
} as const satisfies Record<string, OpSpec>;

export type OpName = keyof typeof OPS;

const OP_TABLE: ReadonlyMap<string, OpSpec> = new Map(Object.entries(OPS));

/** Longest op name accepted in a frame. */
export const MAX_OP_NAME = 64;

/** True when `op` names a known operation. */
export function isOpName(op: string): op is OpName {
  return OP_TABLE.has(op);
}

/** The spec of `op`, or undefined when it is not a known operation. */
export function opSpec(op: string): OpSpec | undefined {
  return OP_TABLE.get(op);
}

/** An error as carried on the wire. */
export interface WireError {
  code: string;
  message: string;
}

// ---- client -> server -------------------------------------------------------------------

/** The credential of a hello: an access key id and its secret (see src/auth/users.ts). */
export interface HelloCredential { id: string; secret: string }
/** First frame of a client: the protocol version it speaks, a free-form client name and its credential. */
export interface ClientHello { t: 'hello'; v: number; client?: string; cred?: HelloCredential }
/** A call: `op` is a FileSystem method name, `args` its positional arguments. */
export interface RequestMsg { t: 'req'; id: number; op: string; args: unknown[]; progress?: boolean }
/** Upload stream chunk (writeFile), only within the credits granted by the server. */
export interface ClientData { t: 'data'; id: number; chunk: Uint8Array }
/**
 * Upload stream end: no more data for this id. `xattr` (writeFile) replaces the options'
 * xattr before the commit: values a writer learns from the data (a digest) are stored with it.
 */
export interface EndMsg { t: 'end'; id: number; xattr?: Record<string, string> }
/** Flow control: the receiver of a stream allows `n` more data frames. */
export interface CreditMsg { t: 'credit'; id: number; n: number }
/** Abandon a call or stream; the server stops work and answers `res` with CANCELLED. */
export interface CancelMsg { t: 'cancel'; id: number }

export type ClientMessage = ClientHello | RequestMsg | ClientData | EndMsg | CreditMsg | CancelMsg;

// ---- server -> client -------------------------------------------------------------------

/** The server's answer to hello: its version and name, and the user the connection acts as. */
export interface ServerHello { t: 'hello'; v: number; server: string; user?: string; role?: string }
/** The one terminal frame of every request: a result (`ok`, absent for void) or `err`. */
export interface ResponseMsg { t: 'res'; id: number; ok?: unknown; err?: WireError }
/** Download stream chunk: bytes (readFile) or a FileInfo[] page (listStatus). */
export interface ServerData { t: 'data'; id: number; chunk: unknown }
/** Progress of a long call (loadMetadata, load, writeFile). */
export interface ProgressMsg { t: 'progress'; id: number; p: Record<string, unknown> }
/** A connection-level error (bad version, bad frame); the server closes right after. */
export interface ConnectionErrorMsg { t: 'error'; err: WireError }

export type ServerMessage = ServerHello | ResponseMsg | ServerData | CreditMsg | ProgressMsg | ConnectionErrorMsg;

export type Message = ClientMessage | ServerMessage;

// ---- validation -------------------------------------------------------------------------

/** Longest access key id or secret accepted in a hello. */
export const MAX_CREDENTIAL_CHARS = 256;

/** Largest credit grant accepted in one frame. */
export const MAX_CREDIT = 1 << 20;

/**
 * Data frames a client may send on an upload before any `credit` arrives: a small file
 * travels as `req` + `data` + `end` in one write, answered in one round trip. The server's
 * first `credit` grants its window minus these.
 */
export const INITIAL_UPLOAD_CREDIT = 2;

function bad(message: string): StrataError {
  return new StrataError(ErrorCode.BAD_REQUEST, message);
}

/** True for a plain object (not an array, buffer, Map, Error or other class instance). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function checkId(m: Record<string, unknown>): number {
  const id = m.id;
  if (!isId(id)) throw bad(`frame ${String(m.t)}: id must be a non-negative safe integer`);
  return id;
}

function checkCredit(m: Record<string, unknown>): void {
  const n = m.n;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > MAX_CREDIT) {
    throw bad(`frame credit: n must be an integer in 1..${MAX_CREDIT}`);
  }
}

function checkWireError(e: unknown, t: string): void {
  if (!isPlainObject(e) || typeof e.code !== 'string' || typeof e.message !== 'string') {
    throw bad(`frame ${t}: err must be {code, message}`);
  }
}

function frameObject(v: unknown): Record<string, unknown> & { t: string } {
  if (!isPlainObject(v)) throw bad('frame body is not a msgpack map');
  if (typeof v.t !== 'string') throw bad('frame has no type field t');
  return v as Record<string, unknown> & { t: string };
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

/** Validate a frame sent by a client. Throws StrataError(BAD_REQUEST) on anything unexpected. */
export function parseClientMessage(v: unknown): ClientMessage {
  const m = frameObject(v);
  switch (m.t) {
    case 'req': {
      checkId(m);
      // An unknown op name is not a framing error: the server answers it with BAD_REQUEST
      // on that id and keeps the connection (see isOpName).
      if (typeof m.op !== 'string' || m.op.length === 0 || m.op.length > MAX_OP_NAME) {
        throw bad('req: op must be a non-empty string');
      }
      if (!Array.isArray(m.args)) throw bad(`req ${m.op}: args must be an array`);
      if (m.progress !== undefined && typeof m.progress !== 'boolean') throw bad('req: progress must be a boolean');
      return m as unknown as RequestMsg;
    }
    case 'data':
      checkId(m);
      if (!isBytes(m.chunk)) throw bad('frame data: chunk must be binary');
      return m as unknown as ClientData;
    case 'credit':
      checkId(m);
      checkCredit(m);
      return m as unknown as CreditMsg;
    case 'end':
    case 'cancel':
      checkId(m);
      if (m.t === 'end' && m.xattr !== undefined && (!isPlainObject(m.xattr) || Object.values(m.xattr).some((v) => typeof v !== 'string'))) {
        throw bad('frame end: xattr must be a map of strings');
      }
      return m as unknown as EndMsg | CancelMsg;
    case 'hello':
      if (typeof m.v !== 'number') throw bad('frame hello: v must be a number');
      if (m.client !== undefined && typeof m.client !== 'string') throw bad('frame hello: client must be a string');
      if (m.cred !== undefined && m.cred !== null) {
        const c = m.cred as Record<string, unknown>;
        if (!isPlainObject(c) || typeof c.id !== 'string' || typeof c.secret !== 'string' ||
            c.id.length > MAX_CREDENTIAL_CHARS || c.secret.length > MAX_CREDENTIAL_CHARS) {
          throw bad(`frame hello: cred must be {id, secret}, strings of at most ${MAX_CREDENTIAL_CHARS} characters`);
        }
      }
      return m as unknown as ClientHello;
    default:
      throw bad(`unknown frame type ${JSON.stringify(m.t.slice(0, 32))}`);
  }
}

/** Validate a frame sent by a server. Throws StrataError(BAD_REQUEST) on anything unexpected. */
export function parseServerMessage(v: unknown): ServerMessage {
  const m = frameObject(v);
  switch (m.t) {
    case 'res':
      checkId(m);
      if (m.err !== undefined && m.err !== null) checkWireError(m.err, 'res');
      return m as unknown as ResponseMsg;
    case 'data':
      checkId(m);
      return m as unknown as ServerData;
    case 'credit':
      checkId(m);
      checkCredit(m);
      return m as unknown as CreditMsg;
    case 'progress':
      checkId(m);
      if (!isPlainObject(m.p)) throw bad('frame progress: p must be a map');
      return m as unknown as ProgressMsg;
    case 'hello':
      if (typeof m.v !== 'number') throw bad('frame hello: v must be a number');
      return m as unknown as ServerHello;
    case 'error':
      checkWireError(m.err, 'error');
      return m as unknown as ConnectionErrorMsg;
    default:
      throw bad(`unknown frame type ${JSON.stringify(m.t.slice(0, 32))}`);
  }
}

/** Validate a frame from either side (used by tools and tests). */
export function parseMessage(v: unknown): Message {
  const m = frameObject(v);
  if (m.t === 'res' || m.t === 'progress' || m.t === 'error') return parseServerMessage(m);
  return m.t === 'hello' && typeof m.server === 'string' ? parseServerMessage(m) : parseClientMessage(m);
}

/**
 * Check and normalise the positional arguments of `op` (nil optional arguments become
 * undefined; options objects are shallow-copied so the server may add `onProgress`).
 * Throws StrataError(BAD_REQUEST) naming the first argument that does not fit.
 */
export function checkArgs(op: OpName, args: unknown[]): unknown[] {
  const spec: OpSpec = OPS[op];
  if (args.length > spec.args.length) {
    throw bad(`${op}: expected at most ${spec.args.length} arguments, got ${args.length}`);
  }
  const out = new Array<unknown>(args.length);
  for (let i = 0; i < args.length; i++) {
    const kind = spec.args[i]!;
    let a = args[i];
    if (a === null) a = undefined;
    switch (kind) {
      case 'string':
        if (typeof a !== 'string') throw bad(`${op}: argument ${i + 1} must be a string`);
        break;
      case 'number':
        if (typeof a !== 'number' || Number.isNaN(a)) throw bad(`${op}: argument ${i + 1} must be a number`);
        break;
      case 'boolean':
        if (typeof a !== 'boolean') throw bad(`${op}: argument ${i + 1} must be a boolean`);
        break;
      case 'string?':
        if (a !== undefined && typeof a !== 'string') throw bad(`${op}: argument ${i + 1} must be a string`);
        break;
      case 'record':
        if (!isPlainObject(a) || !Object.values(a).every((x) => typeof x === 'string')) {
          throw bad(`${op}: argument ${i + 1} must be an object of string values`);
        }
        break;
      case 'options':
        if (a !== undefined) {
          if (!isPlainObject(a)) throw bad(`${op}: argument ${i + 1} must be an options object`);
          a = { ...a };
          delete (a as Record<string, unknown>).onProgress;
          delete (a as Record<string, unknown>).signal; // set by the server, never by a peer
        }
        break;
      case 'data':
        a = undefined;
        break;
    }
    out[i] = a;
  }
  // Required arguments (not optional kinds) must be present.
  for (let i = args.length; i < spec.args.length; i++) {
    const kind = spec.args[i]!;
    if (kind !== 'options' && kind !== 'string?' && kind !== 'data') {
      throw bad(`${op}: missing argument ${i + 1} (${kind})`);
    }
  }
  return out;
}

/**
 * The wire form of any thrown value: what `toStrataError` makes of it (StrataErrors and
 * errors that crossed a thread keep their code; a full disk is RESOURCE_EXHAUSTED; anything
 * else is INTERNAL), as code and message.
 */
export function toWireError(err: unknown): WireError {
  return toStrataError(err).toJSON();
}

/** Rebuild the StrataError a peer sent: same code and message; unknown codes become INTERNAL. */
export function fromWireError(err: WireError): StrataError {
  if (isErrorCode(err.code)) return new StrataError(err.code, err.message);
  return new StrataError(ErrorCode.INTERNAL, `${err.code}: ${err.message}`);
}

/** The answer of `getLocalBlocks` (null on the wire when the file is not cached whole in block files). */
export interface LocalBlocksResult {
  /** Content id of the version the block files hold. */
  fileId: number;
  length: number;
  /** The block files in file order: local paths on the server's host and their sizes. */
  blocks: Array<{ path: string; size: number }>;
}

/** Check a decoded `getLocalBlocks` answer; BAD_REQUEST when it does not fit. */
export function parseLocalBlocks(v: unknown): LocalBlocksResult | null {
  if (v === null || v === undefined) return null;
  const o = v as Partial<LocalBlocksResult>;
  const num = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!isPlainObject(v) || !num(o.fileId) || !num(o.length) || !Array.isArray(o.blocks)) throw bad('getLocalBlocks: malformed answer');
  let total = 0;
  for (const b of o.blocks as unknown[]) {
    const e = b as { path?: unknown; size?: unknown };
    if (!isPlainObject(b) || typeof e.path !== 'string' || !e.path.startsWith('/') || !num(e.size) || e.size === 0) throw bad('getLocalBlocks: malformed block entry');
    total += e.size;
  }
  if (total !== o.length) throw bad(`getLocalBlocks: block sizes add up to ${total}, not ${o.length}`);
  return { fileId: o.fileId, length: o.length, blocks: o.blocks as LocalBlocksResult['blocks'] };
}
