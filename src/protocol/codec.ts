// The frame codec: a 4-byte big-endian length prefix followed by one msgpack body. Pure —
// bytes in, messages out, no sockets — so it is tested on byte arrays alone. The decoder
// accepts chunks split or coalesced anywhere, never buffers more than one frame beyond the
// configured maximum, copies only frames that straddle chunks, and refuses oversized,
// malformed or invalid frames with StrataError(BAD_REQUEST).

import { Packr, Unpackr, RESERVE_START_SPACE } from 'msgpackr';
import { ErrorCode, StrataError } from '../errors.js';
import { parseMessage, type Message } from './messages.js';

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;
/** Default largest accepted frame body (16 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** msgpackr options shared by both ends: plain msgpack maps (no records), so any msgpack peer interoperates. */
const PACK_OPTIONS = { useRecords: false, variableMapSize: true, moreTypes: false } as const;
const UNPACK_OPTIONS = { useRecords: false, mapsAsObjects: true, int64AsType: 'number', structuredClone: false } as const;

/** The encoder shared by this process (encoding never depends on peer input). */
const sharedPackr = new Packr(PACK_OPTIONS);

/**
 * Encode one message as a frame (length prefix + msgpack body). The result may be a view
 * into a larger buffer that is never rewritten: callers may keep it.
 */
export function encodeFrame(msg: unknown): Uint8Array {
  const frame = sharedPackr.pack(msg, RESERVE_START_SPACE | FRAME_HEADER_BYTES) as Uint8Array;
  const len = frame.length - FRAME_HEADER_BYTES;
  frame[0] = len >>> 24;
  frame[1] = (len >>> 16) & 0xff;
  frame[2] = (len >>> 8) & 0xff;
  frame[3] = len & 0xff;
  return frame;
}

/**
 * The fields an answer may carry that `encodeAnswerFrame` writes itself: FileInfo's, in the
 * order FileInfoMapper writes them (any other key, or a value that is not a string, number or
 * boolean, takes msgpackr's path).
 */
const ANSWER_KEYS: readonly string[] = ['path', 'name', 'type', 'length', 'mtimeMs', 'ctimeMs', 'atimeMs', 'fileId', 'persistenceState',
  'cachedBytes', 'pinned', 'mountPoint', 'ufsPath', 'mode', 'ttlMs', 'ttlAction', 'isMountPoint', 'uid', 'gid',
  'persistAttempts', 'lastPersistError', 'ufsEtag'];
/** Each key's msgpack bytes (fixstr), written by copy. */
const ANSWER_KEY_BYTES: readonly Uint8Array[] = ANSWER_KEYS.map((k) => Uint8Array.from(sharedPackr.pack(k) as Uint8Array));
const KEY_BYTES: ReadonlyMap<string, Uint8Array> = new Map(ANSWER_KEYS.map((k, i) => [k, ANSWER_KEY_BYTES[i]!]));
/** `{t: 'res', id: ` as msgpack: fixmap of 3, "t", "res", "id". */
const RES_HEAD = Uint8Array.of(0x83, 0xa1, 0x74, 0xa3, 0x72, 0x65, 0x73, 0xa2, 0x69, 0x64);
const OK_KEY = Uint8Array.of(0xa2, 0x6f, 0x6b); // "ok"

/** Frames are cut from one slab at a time (as msgpackr does): a frame handed out is never rewritten. */
const SLAB_BYTES = 64 * 1024;
/** A frame starts in a slab with at least this much room (key bytes and fixed-size values fit many times over). */
const SLAB_RESERVE = 4096;
let slab = new Uint8Array(SLAB_BYTES);
let slabView = new DataView(slab.buffer);
let slabPos = 0;

/**
 * Encode `{t: 'res', id, ok}` as a frame: the same bytes as `encodeFrame` (msgpackr's choices:
 * a fixmap up to 15 keys else map16, the smallest integer type up to 32 bits else float64, the
 * shortest string header, U+FFFD for a lone surrogate), written without msgpackr's generic
 * walk when `ok` is a flat answer of known keys (a FileInfo, the hot case: getStatus). Any
 * other answer is encoded by `encodeFrame`.
 */
export function encodeAnswerFrame(id: number, ok: unknown): Uint8Array {
  const frame = ok !== null && typeof ok === 'object' ? encodeFlatAnswer(id, ok as Record<string, unknown>) : undefined;
  return frame ?? encodeFrame({ t: 'res', id, ok });
}

/** A fresh slab when what is left of the current one could not hold a frame being written. */
function reserveSlab(): void {
  if (slab.length - slabPos < SLAB_RESERVE) {
    slab = new Uint8Array(SLAB_BYTES);
    slabView = new DataView(slab.buffer);
    slabPos = 0;
  }
}

/** The frame written into the slab from `start` to `p`: its length header set, the slab moved past it. */
function closeSlabFrame(start: number, p: number): Uint8Array {
  const len = p - start - FRAME_HEADER_BYTES;
  slab[start] = len >>> 24; slab[start + 1] = (len >>> 16) & 0xff; slab[start + 2] = (len >>> 8) & 0xff; slab[start + 3] = len & 0xff;
  slabPos = p;
  return slab.subarray(start, p);
}

function encodeFlatAnswer(id: number, ok: Record<string, unknown>): Uint8Array | undefined {
  if (Object.getPrototypeOf(ok) !== Object.prototype) return undefined;
  const keys = Object.keys(ok);
  const n = keys.length;
  if (n >= 0x10000) return undefined;
  reserveSlab();
  const buf = slab;
  const end = buf.length;
  const start = slabPos;
  let p = start + FRAME_HEADER_BYTES;
  for (let j = 0; j < RES_HEAD.length; j++) buf[p++] = RES_HEAD[j]!;
  p = writeNumber(buf, p, id);
  buf[p++] = 0xa2; buf[p++] = 0x6f; buf[p++] = 0x6b; // "ok"
  if (n < 0x10) {
    buf[p++] = 0x80 | n;
  } else {
    buf[p++] = 0xde; buf[p++] = n >> 8; buf[p++] = n & 0xff;
  }
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    // The keys in ANSWER_KEYS order (a FileInfo's own) are found without a map lookup.
    const kb = ANSWER_KEYS[i] === k ? ANSWER_KEY_BYTES[i]! : KEY_BYTES.get(k);
    if (kb === undefined) return undefined;
    const v = ok[k];
    if (typeof v === 'string') {
      if (p + kb.length + 5 + v.length * 3 > end) return undefined; // (rare: msgpackr takes it)
      for (let j = 0; j < kb.length; j++) buf[p++] = kb[j]!;
      p = writeString(buf, p, v);
    } else if (typeof v === 'number') {
      for (let j = 0; j < kb.length; j++) buf[p++] = kb[j]!;
      p = writeNumber(buf, p, v);
    } else if (typeof v === 'boolean') {
      for (let j = 0; j < kb.length; j++) buf[p++] = kb[j]!;
      buf[p++] = v ? 0xc3 : 0xc2;
    } else {
      return undefined;
    }
  }
  return closeSlabFrame(start, p);
}

/**
 * Encode `{t: 'req', id, op, args}` as a frame: the same bytes as `encodeFrame`, written
 * straight into the slab when `args` are up to 15 strings, numbers or booleans (a getStatus:
 * `[path]`); any other request is encoded by `encodeFrame`.
 */
export function encodeRequestFrame(id: number, op: string, args: readonly unknown[]): Uint8Array {
  return encodeFlatRequest(id, op, args) ?? encodeFrame({ t: 'req', id, op, args });
}

function encodeFlatRequest(id: number, op: string, args: readonly unknown[]): Uint8Array | undefined {
  const n = args.length;
  if (n > 15 || op.length > 31) return undefined;
  reserveSlab();
  const buf = slab;
  const end = buf.length;
  const start = slabPos;
  let p = start + FRAME_HEADER_BYTES;
  for (let j = 0; j < REQ_HEAD.length; j++) buf[p++] = REQ_HEAD[j]!;
  p = writeNumber(buf, p, id);
  buf[p++] = 0xa2; buf[p++] = 0x6f; buf[p++] = 0x70; // "op"
  p = writeString(buf, p, op);
  for (let j = 0; j < ARGS_KEY.length; j++) buf[p++] = ARGS_KEY[j]!;
  buf[p++] = 0x90 | n;
  for (let i = 0; i < n; i++) {
    const v = args[i];
    if (typeof v === 'string') {
      if (p + 5 + v.length * 3 > end) return undefined; // (rare: msgpackr takes it)
      p = writeString(buf, p, v);
    } else if (typeof v === 'number') {
      p = writeNumber(buf, p, v);
    } else if (typeof v === 'boolean') {
      buf[p++] = v ? 0xc3 : 0xc2;
    } else {
      return undefined;
    }
  }
  return closeSlabFrame(start, p);
}

/** A number as msgpackr writes it (useRecords false, no float32). */
function writeNumber(buf: Uint8Array, p: number, v: number): number {
  if (v >>> 0 === v) {
    if (v < 0x80) {
      buf[p++] = v;
    } else if (v < 0x100) {
      buf[p++] = 0xcc; buf[p++] = v;
    } else if (v < 0x10000) {
      buf[p++] = 0xcd; buf[p++] = v >> 8; buf[p++] = v & 0xff;
    } else {
      buf[p++] = 0xce; slabView.setUint32(p, v); p += 4;
    }
  } else if (v >> 0 === v) {
    if (v >= -0x20) {
      buf[p++] = 0x100 + v;
    } else if (v >= -0x80) {
      buf[p++] = 0xd0; buf[p++] = v + 0x100;
    } else if (v >= -0x8000) {
      buf[p++] = 0xd1; slabView.setInt16(p, v); p += 2;
    } else {
      buf[p++] = 0xd2; slabView.setInt32(p, v); p += 4;
    }
  } else {
    buf[p++] = 0xcb; slabView.setFloat64(p, v); p += 8;
  }
  return p;
}

/** A string as msgpackr writes it: UTF-8 (a lone surrogate as U+FFFD) after the shortest header. */
function writeString(buf: Uint8Array, p: number, v: string): number {
  const n = v.length;
  const head = n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  let q = p + head;
  for (let i = 0; i < n; i++) {
    let c = v.charCodeAt(i);
    if (c < 0x80) {
      buf[q++] = c;
    } else if (c < 0x800) {
      buf[q++] = (c >> 6) | 0xc0; buf[q++] = (c & 0x3f) | 0x80;
    } else if ((c & 0xfc00) === 0xd800 && (v.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c & 0x03ff) << 10) + (v.charCodeAt(++i) & 0x03ff);
      buf[q++] = (c >> 18) | 0xf0; buf[q++] = ((c >> 12) & 0x3f) | 0x80; buf[q++] = ((c >> 6) & 0x3f) | 0x80; buf[q++] = (c & 0x3f) | 0x80;
    } else if ((c & 0xf800) === 0xd800) {
      buf[q++] = 0xef; buf[q++] = 0xbf; buf[q++] = 0xbd;
    } else {
      buf[q++] = (c >> 12) | 0xe0; buf[q++] = ((c >> 6) & 0x3f) | 0x80; buf[q++] = (c & 0x3f) | 0x80;
    }
  }
  const len = q - p - head;
  const need = len < 0x20 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
  if (need !== head) buf.copyWithin(p + need, p + head, q);
  if (need === 1) {
    buf[p] = 0xa0 | len;
  } else if (need === 2) {
    buf[p] = 0xd9; buf[p + 1] = len;
  } else if (need === 3) {
    buf[p] = 0xda; buf[p + 1] = len >> 8; buf[p + 2] = len & 0xff;
  } else {
    buf[p] = 0xdb; slabView.setUint32(p + 1, len);
  }
  return p + need + len;
}

/** Returned by `readFlatValue` for bytes it leaves to msgpackr. */
const NOT_FLAT = Symbol('not flat');
/** Where `readFlatValue` stopped (one decode runs at a time: no reentrancy). */
let readPos = 0;
/** Scratch for float64 values (big-endian on the wire). */
const f64Bytes = new Uint8Array(8);
const f64View = new DataView(f64Bytes.buffer);
/** Buffer's native latin-1 decoder, on any Uint8Array. */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

/**
 * Decode the frame body `buf[start, end)` when it is `{t: 'res', id, ok}` with `ok` a scalar or
 * a flat map of `ANSWER_KEYS` (a FileInfo: the answer of getStatus and most unary calls), as
 * `encodeAnswerFrame` writes it: the same message msgpackr's unpack gives, without its generic
 * walk or a subarray per frame. Anything else — another shape, another key, a nested value, a
 * non-ASCII string, a 64-bit or float32 number, bytes left over or missing — returns undefined,
 * and the caller decodes the body with msgpackr (which then accepts or refuses it as before).
 */
export function decodeAnswerFrame(buf: Uint8Array, start: number, end: number): { t: 'res'; id: number; ok: unknown } | undefined {
  if (end - start < RES_HEAD.length + 5) return undefined;
  let p = start;
  for (let j = 0; j < RES_HEAD.length; j++) if (buf[p++] !== RES_HEAD[j]) return undefined;
  readPos = p;
  const id = readFlatValue(buf, end);
  if (typeof id !== 'number') return undefined;
  p = readPos;
  if (end - p < 4 || buf[p] !== 0xa2 || buf[p + 1] !== 0x6f || buf[p + 2] !== 0x6b) return undefined;
  p += 3;
  const b = buf[p]!;
  let ok: unknown;
  if ((b & 0xf0) === 0x80 || b === 0xde) {
    let n: number;
    if (b === 0xde) {
      if (end - p < 3) return undefined;
      n = (buf[p + 1]! << 8) | buf[p + 2]!;
      p += 3;
    } else {
      n = b & 0x0f;
      p++;
    }
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      // A key: one of ANSWER_KEYS (fixstr), at its own place first.
      let kb: Uint8Array | undefined = ANSWER_KEY_BYTES[i];
      let k: string | undefined = ANSWER_KEYS[i];
      if (kb === undefined || !bytesAt(buf, p, end, kb)) {
        k = undefined;
        for (let j = 0; j < ANSWER_KEY_BYTES.length; j++) {
          if (bytesAt(buf, p, end, ANSWER_KEY_BYTES[j]!)) {
            kb = ANSWER_KEY_BYTES[j]!;
            k = ANSWER_KEYS[j];
            break;
          }
        }
        if (k === undefined) return undefined;
      }
      readPos = p + kb!.length;
      const v = readFlatValue(buf, end);
      if (v === NOT_FLAT) return undefined;
      o[k!] = v;
      p = readPos;
    }
    ok = o;
  } else {
    readPos = p;
    ok = readFlatValue(buf, end);
    if (ok === NOT_FLAT) return undefined;
    p = readPos;
  }
  if (p !== end) return undefined;
  return { t: 'res', id, ok };
}

/** `{t: 'req', id: ` as msgpack: fixmap of 4, "t", "req", "id". */
const REQ_HEAD = Uint8Array.of(0x84, 0xa1, 0x74, 0xa3, 0x72, 0x65, 0x71, 0xa2, 0x69, 0x64);
const OP_KEY = Uint8Array.of(0xa2, 0x6f, 0x70); // "op"
const ARGS_KEY = Uint8Array.of(0xa4, 0x61, 0x72, 0x67, 0x73); // "args"

/**
 * Decode the frame body `buf[start, end)` when it is `{t: 'req', id, op, args}` (keys in that
 * order, as the client writes them) with `args` up to 15 scalars (a getStatus: `[path]`): the
 * same message msgpackr's unpack gives. Anything else returns undefined and is left to msgpackr
 * (as `decodeAnswerFrame`); the message is validated by the caller either way.
 */
export function decodeRequestFrame(buf: Uint8Array, start: number, end: number): { t: 'req'; id: number; op: string; args: unknown[] } | undefined {
  if (end - start < REQ_HEAD.length + 12) return undefined;
  let p = start;
  for (let j = 0; j < REQ_HEAD.length; j++) if (buf[p++] !== REQ_HEAD[j]) return undefined;
  readPos = p;
  const id = readFlatValue(buf, end);
  if (typeof id !== 'number' || !bytesAt(buf, readPos, end, OP_KEY)) return undefined;
  readPos += OP_KEY.length;
  const op = readFlatValue(buf, end);
  if (typeof op !== 'string' || !bytesAt(buf, readPos, end, ARGS_KEY)) return undefined;
  p = readPos + ARGS_KEY.length;
  if (p >= end || (buf[p]! & 0xf0) !== 0x90) return undefined;
  const n = buf[p]! & 0x0f;
  readPos = p + 1;
  const args = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const v = readFlatValue(buf, end);
    if (v === NOT_FLAT) return undefined;
    args[i] = v;
  }
  if (readPos !== end) return undefined;
  return { t: 'req', id, op, args };
}

/** True when `bytes` are found at `buf[p]` (before `end`). */
function bytesAt(buf: Uint8Array, p: number, end: number, bytes: Uint8Array): boolean {
  if (end - p < bytes.length) return false;
  for (let j = 0; j < bytes.length; j++) if (buf[p + j] !== bytes[j]) return false;
  return true;
}

/**
 * One scalar at `readPos` as msgpackr reads it (nil, booleans, integers up to 32 bits, float64,
 * ASCII strings up to str16), `readPos` moved past it; NOT_FLAT for anything else or a value
 * cut short by `end`.
 */
function readFlatValue(buf: Uint8Array, end: number): unknown {
  let p = readPos;
  if (p >= end) return NOT_FLAT;
  const b = buf[p++]!;
  let v: unknown;
  let len = -1;
  if (b < 0x80) {
    v = b;
  } else if (b >= 0xe0) {
    v = b - 0x100;
  } else if ((b & 0xe0) === 0xa0) {
    len = b & 0x1f;
  } else {
    switch (b) {
      case 0xc0: v = null; break;
      case 0xc2: v = false; break;
      case 0xc3: v = true; break;
      case 0xcc: if (end - p < 1) return NOT_FLAT; v = buf[p]; p += 1; break;
      case 0xcd: if (end - p < 2) return NOT_FLAT; v = (buf[p]! << 8) | buf[p + 1]!; p += 2; break;
      case 0xce:
        if (end - p < 4) return NOT_FLAT;
        v = ((buf[p]! << 24) >>> 0) + (buf[p + 1]! << 16) + (buf[p + 2]! << 8) + buf[p + 3]!; p += 4; break;
      case 0xd0: if (end - p < 1) return NOT_FLAT; v = (buf[p]! << 24) >> 24; p += 1; break;
      case 0xd1: if (end - p < 2) return NOT_FLAT; v = (((buf[p]! << 8) | buf[p + 1]!) << 16) >> 16; p += 2; break;
      case 0xd2:
        if (end - p < 4) return NOT_FLAT;
        v = (buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!; p += 4; break;
      case 0xcb:
        if (end - p < 8) return NOT_FLAT;
        for (let j = 0; j < 8; j++) f64Bytes[j] = buf[p + j]!;
        v = f64View.getFloat64(0); p += 8; break;
      case 0xd9: if (end - p < 1) return NOT_FLAT; len = buf[p]!; p += 1; break;
      case 0xda: if (end - p < 2) return NOT_FLAT; len = (buf[p]! << 8) | buf[p + 1]!; p += 2; break;
      default: return NOT_FLAT;
    }
  }
  if (len >= 0) {
    if (end - p < len) return NOT_FLAT;
    for (let j = 0; j < len; j++) if (buf[p + j]! >= 0x80) return NOT_FLAT; // (beyond ASCII: msgpackr's decoder decides)
    if (len < 8) {
      let s = '';
      for (let j = 0; j < len; j++) s += String.fromCharCode(buf[p + j]!);
      v = s;
    } else {
      v = latin1Slice.call(buf, p, p + len); // ASCII: latin-1 and UTF-8 agree; one flat string
    }
    p += len;
  }
  readPos = p;
  return v;
}

const DATA_KEY_T = [0xa1, 0x74, 0xa4, 0x64, 0x61, 0x74, 0x61]; // "t": "data"
const DATA_KEY_ID = [0xa2, 0x69, 0x64]; // "id"
const DATA_KEY_CHUNK = [0xa5, 0x63, 0x68, 0x75, 0x6e, 0x6b]; // "chunk"

/**
 * Encode the frame `{t: 'data', id, chunk}` for binary `chunk` without copying it: returns
 * the frame head (prefix and msgpack up to the bin32 header); the chunk bytes follow it on
 * the wire as they are. The receiver decodes it as an ordinary msgpack map.
 */
export function encodeDataFrameHead(id: number, chunkBytes: number): Uint8Array {
  const head = new Uint8Array(40);
  let p = FRAME_HEADER_BYTES;
  head[p++] = 0x83; // fixmap of 3
  head.set(DATA_KEY_T, p); p += DATA_KEY_T.length;
  head.set(DATA_KEY_ID, p); p += DATA_KEY_ID.length;
  if (id < 0x80) {
    head[p++] = id;
  } else if (id <= 0xffffffff) {
    head[p++] = 0xce;
    new DataView(head.buffer).setUint32(p, id); p += 4;
  } else {
    head[p++] = 0xcf;
    const dv = new DataView(head.buffer);
    dv.setUint32(p, Math.floor(id / 0x100000000)); dv.setUint32(p + 4, id >>> 0); p += 8;
  }
  head.set(DATA_KEY_CHUNK, p); p += DATA_KEY_CHUNK.length;
  head[p++] = 0xc6; // bin32
  const dv = new DataView(head.buffer);
  dv.setUint32(p, chunkBytes); p += 4;
  dv.setUint32(0, p - FRAME_HEADER_BYTES + chunkBytes);
  return head.subarray(0, p);
}

export interface FrameDecoderOptions<T> {
  /** Largest accepted frame body in bytes (default 16 MiB). */
  maxFrameBytes?: number;
  /** Turns a decoded body into a message or throws StrataError(BAD_REQUEST) (default: parseMessage). */
  validate?: (body: unknown) => T;
  /**
   * A decoder for the commonest frames that reads the body in place (`decodeAnswerFrame`):
   * returns the decoded body, or undefined to leave the body to msgpackr. Its result is
   * validated like msgpackr's.
   */
  fast?: (buf: Uint8Array, start: number, end: number) => unknown;
}

/**
 * Incremental frame decoder. Push socket chunks in; complete frames come out in order.
 * After it has thrown once the decoder is poisoned: every later push throws the same error
 * (the connection must be closed — there is no way to resynchronise a length-prefixed stream).
 */
export class FrameDecoder<T = Message> {
  readonly maxFrameBytes: number;
  private readonly validate: (body: unknown) => T;
  private readonly fast: ((buf: Uint8Array, start: number, end: number) => unknown) | undefined;
  /** One unpacker per decoder: hostile input can never touch another connection's state. */
  private readonly unpackr = new Unpackr(UNPACK_OPTIONS);
  /** Unconsumed chunks; the first is consumed from `head`. */
  private chunks: Uint8Array[] = [];
  private head = 0;
  private bufferedBytes = 0;
  /** Body length of the frame being assembled, or -1 while its prefix is not read yet. */
  private need = -1;
  private failure: StrataError | undefined;

  constructor(opts: FrameDecoderOptions<T> = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.validate = opts.validate ?? (parseMessage as unknown as (body: unknown) => T);
    this.fast = opts.fast;
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.bufferedBytes;
  }

  /** True when no partial frame is pending (a clean place for the peer to close). */
  get idle(): boolean {
    return this.bufferedBytes === 0 && this.need < 0;
  }

  /**
   * Feed bytes; `emit` is called for each complete frame, in order. Frames completed before
   * a bad one are emitted before the error is thrown.
   * @throws StrataError(BAD_REQUEST) on an oversized, malformed or invalid frame.
   */
  push(chunk: Uint8Array, emit: (msg: T) => void): void {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    try {
      this.pushInner(chunk, emit);
    } catch (err) {
      this.failure = err instanceof StrataError ? err
        : new StrataError(ErrorCode.BAD_REQUEST, `bad frame: ${(err as Error).message}`, { cause: err });
      this.chunks = [];
      this.bufferedBytes = 0;
      throw this.failure;
    }
  }

  /** Feed bytes and return the complete frames (convenience over `push`). */
  decode(chunk: Uint8Array): T[] {
    const out: T[] = [];
    this.push(chunk, (m) => out.push(m));
    return out;
  }

  private pushInner(chunk: Uint8Array, emit: (msg: T) => void): void {
    // Fast path: nothing pending, walk the chunk in place without copying.
    if (this.bufferedBytes === 0 && this.need < 0) {
      let pos = 0;
      const end = chunk.length;
      while (end - pos >= FRAME_HEADER_BYTES) {
        const len = this.readLength(chunk, pos);
        if (end - pos - FRAME_HEADER_BYTES < len) break;
        pos += FRAME_HEADER_BYTES;
        emit(this.decodeBody(chunk, pos, pos + len));
        pos += len;
      }
      if (pos === end) return;
      this.chunks.push(pos === 0 ? chunk : chunk.subarray(pos));
      this.bufferedBytes = end - pos;
      this.head = 0;
      this.need = -1;
      this.drain(emit);
      return;
    }
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    this.drain(emit);
  }

  /** Emit every complete frame held in `chunks`. */
  private drain(emit: (msg: T) => void): void {
    for (;;) {
      if (this.need < 0) {
        if (this.bufferedBytes < FRAME_HEADER_BYTES) return;
        const header = this.take(FRAME_HEADER_BYTES);
        this.need = this.readLength(header, 0);
      }
      if (this.bufferedBytes < this.need) return;
      const len = this.need;
      this.need = -1;
      const body = this.take(len);
      emit(this.decodeBody(body, 0, len));
      if (this.bufferedBytes === 0) return;
      // Once the rest fits in the first chunk, go back to walking it without copies.
      if (this.chunks.length === 1) {
        const rest = this.chunks[0]!.subarray(this.head);
        this.chunks = [];
        this.bufferedBytes = 0;
        this.head = 0;
        this.pushInner(rest, emit);
        return;
      }
    }
  }

  /** Remove `n` bytes from the front; a view when they lie in one chunk, else one copy. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    const avail = first.length - this.head;
    if (avail >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      this.bufferedBytes -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length - this.head, n - filled);
      out.set(c.subarray(this.head, this.head + k), filled);
      filled += k;
      this.head += k;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.bufferedBytes -= n;
    return out;
  }

  private readLength(buf: Uint8Array, pos: number): number {
    const len = ((buf[pos]! << 24) >>> 0) + (buf[pos + 1]! << 16) + (buf[pos + 2]! << 8) + buf[pos + 3]!;
    if (len > this.maxFrameBytes) {
      throw new StrataError(ErrorCode.BAD_REQUEST,
        `frame of ${len} bytes exceeds the maximum of ${this.maxFrameBytes} bytes`);
    }
    if (len === 0) throw new StrataError(ErrorCode.BAD_REQUEST, 'empty frame');
    return len;
  }

  private decodeBody(buf: Uint8Array, start: number, end: number): T {
    let body: unknown = this.fast?.(buf, start, end);
    if (body !== undefined) return this.validate(body);
    try {
      body = this.unpackr.unpack(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
    } catch (err) {
      throw new StrataError(ErrorCode.BAD_REQUEST, `malformed msgpack frame: ${(err as Error).message}`, { cause: err });
    }
    return this.validate(body);
  }
}
