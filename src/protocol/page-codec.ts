// The columnar form of a listStatus page on the wire (protocol version 3): names as one
// array, numbers as little-endian Float64 columns (a constant column is one number), path,
// mount point and UFS prefix once per distinct value. Pure; decodes into the very FileInfo
// objects the sender had (any entry the columns cannot carry travels whole). docs/protocol.md.

import { ErrorCode, StrataError } from '../errors.js';
import { PERSISTENCE_STATES } from '../types.js';
import type { FileInfo } from '../types.js';

/** The format tag of a columnar page (`f` field); other values are refused. */
export const PAGE_FORMAT = 1;

/** A number column: one number when every entry has it, else `8 × n` bytes of little-endian float64 (NaN: absent). */
export type NumberColumn = number | Uint8Array;

/** A listStatus page as columns (the `chunk` of a listStatus `data` frame). */
export interface ColumnarPage {
  f: typeof PAGE_FORMAT;
  /** Entries. */
  n: number;
  /** Names, one per entry (`path` = path prefix + name, `ufsPath` = UFS prefix + name). */
  names: string[];
  /** Distinct path prefixes, mount points and UFS prefixes, and one index column each (uint16 LE; 0xffff: in `x`). */
  pp: string[]; pi: Uint8Array;
  mp: string[]; mi: Uint8Array;
  up: string[]; ui: Uint8Array;
  /** Per entry: bit 0 directory, bit 1 pinned, bit 2 mount point, bits 3–4 ttlAction (0 absent, 1 free, 2 delete), bits 5–7 persistence state + 1 (0: in `x`). */
  fl: Uint8Array;
  len: NumberColumn; mt: NumberColumn; fid: NumberColumn; cb: NumberColumn; ttl: NumberColumn; mode: NumberColumn;
  /**
   * Access and status-change times (NaN: absent); `'mt'`: the same as `mt` for every entry (the
   * usual case, a third of the page's bytes saved). Absent columns (pages of older servers): no
   * entry has them.
   */
  at?: TimeColumn; ct?: TimeColumn;
  /** Entries that need more than the columns: `[index, fields]` (added to the decoded entry) or `[index, entry, 1]` (the whole entry). */
  x: Array<[number, Record<string, unknown>] | [number, Record<string, unknown>, 1]>;
}

/** A time column: its numbers, or `'mt'` when it equals the modification-time column entry by entry. */
export type TimeColumn = NumberColumn | 'mt';

/** `values` as a time column beside the modification times `mt` of the same entries. */
export function timeColumn(values: Float64Array, mt: Float64Array): TimeColumn {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== mt[i] && !(Number.isNaN(v) && Number.isNaN(mt[i]!))) return numberColumn(values);
  }
  return 'mt';
}

/** A prefix index meaning "not in the dictionary" (the entry's field is in `x`). */
export const NO_INDEX = 0xffff;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Persistence state to its 1-based code in bits 5–7 of `fl`. */
export const PS_INDEX: ReadonlyMap<string, number> = new Map(PERSISTENCE_STATES.map((s, i) => [s, i + 1]));

/**
 * The capability of a FileSystem (the Coordinator) to list straight into columnar pages:
 * `fs[LIST_COLUMNS](path, options)` has listStatus's arguments, checks and order and yields
 * pages that decode (decodePage) to what listStatus yields. The TCP server uses it when present.
 */
export const LIST_COLUMNS: unique symbol = Symbol.for('strata.listStatusColumns');

/** A FileSystem with the LIST_COLUMNS capability. */
export interface ColumnLister {
  [LIST_COLUMNS](path: string, options?: Record<string, unknown>): AsyncIterable<ColumnarPage>;
}

/** The LIST_COLUMNS method of `fs`, when it has one. */
export function columnLister(fs: object): ColumnLister[typeof LIST_COLUMNS] | undefined {
  const f = (fs as Partial<ColumnLister>)[LIST_COLUMNS];
  return typeof f === 'function' ? f : undefined;
}

/** The FileInfo fields the columns carry (anything else goes to `x`). */
const COLUMN_KEYS = new Set(['path', 'name', 'type', 'length', 'mtimeMs', 'fileId', 'persistenceState', 'cachedBytes',
  'pinned', 'mountPoint', 'ufsPath', 'mode', 'ttlMs', 'ttlAction', 'isMountPoint', 'atimeMs', 'ctimeMs']);

/** The bytes of a typed array (a view, no copy). */
export function bytesOf(a: Float64Array | Uint16Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A column of one number when all are equal (and present), else the bytes of the column. */
export function numberColumn(values: Float64Array): NumberColumn {
  const first = values[0];
  if (first !== undefined && !Number.isNaN(first)) {
    let same = true;
    for (let i = 1; i < values.length; i++) if (values[i] !== first) { same = false; break; }
    if (same) return first;
  }
  if (!LITTLE_ENDIAN) {
    const dv = new DataView(new ArrayBuffer(values.length * 8));
    for (let i = 0; i < values.length; i++) dv.setFloat64(i * 8, values[i]!, true);
    return new Uint8Array(dv.buffer);
  }
  return bytesOf(values);
}

/**
 * The distinct prefixes of one column of a page (path, mount point or UFS prefix) and the
 * index of each entry's. Entries of one directory share the last prefix: checked without
 * slicing a string or hashing it.
 */
class PrefixDict {
  readonly list: string[] = [];
  private readonly map = new Map<string, number>();
  private last = '';
  private lastIndex = -1;

  /** Index of the prefix `whole` has before `name` (`whole` itself when `name` is ''), or NO_INDEX. */
  indexOf(whole: string, name: string): number {
    const plen = whole.length - name.length;
    if (plen < 0) return NO_INDEX;
    const last = this.last;
    if (this.lastIndex >= 0 && last.length === plen && whole.startsWith(last) && whole.endsWith(name)) return this.lastIndex;
    if (!whole.endsWith(name)) return NO_INDEX;
    const prefix = whole.slice(0, plen);
    let i = this.map.get(prefix);
    if (i === undefined) {
      i = this.list.length;
      if (i >= NO_INDEX) return NO_INDEX;
      this.list.push(prefix);
      this.map.set(prefix, i);
    }
    this.last = prefix;
    this.lastIndex = i;
    return i;
  }
}

const isNum = (v: unknown): v is number => typeof v === 'number';

/** The columns of an n-entry page, to be filled (the numeric ones views of one buffer). */
export function newColumns(n: number): {
  names: string[]; pi: Uint16Array; mi: Uint16Array; ui: Uint16Array; fl: Uint8Array; nums: Float64Array;
  len: Float64Array; mt: Float64Array; fid: Float64Array; cb: Float64Array; ttl: Float64Array; mode: Float64Array;
  at: Float64Array; ct: Float64Array;
} {
  const nums = new Float64Array(n * 8);
  return {
    names: new Array<string>(n), pi: new Uint16Array(n), mi: new Uint16Array(n), ui: new Uint16Array(n), fl: new Uint8Array(n), nums,
    len: nums.subarray(0, n), mt: nums.subarray(n, 2 * n), fid: nums.subarray(2 * n, 3 * n),
    cb: nums.subarray(3 * n, 4 * n), ttl: nums.subarray(4 * n, 5 * n), mode: nums.subarray(5 * n, 6 * n),
    at: nums.subarray(6 * n, 7 * n), ct: nums.subarray(7 * n, 8 * n),
  };
}

/** Encode a page of FileInfo as columns. Every entry decodes back to an equal object. */
export function encodePage(page: readonly FileInfo[]): ColumnarPage {
  const n = page.length;
  const pp = new PrefixDict(); const mp = new PrefixDict(); const up = new PrefixDict();
  const { names, pi, mi, ui, fl, nums, len, mt, fid, cb, ttl, mode, at, ct } = newColumns(n);
  const x: ColumnarPage['x'] = [];
  for (let i = 0; i < n; i++) {
    const e = page[i] as FileInfo & Record<string, unknown>;
    const name = e.name;
    const ps = PS_INDEX.get(e.persistenceState);
    // The columns carry an entry whose required fields have the expected types; any other goes whole.
    if (typeof name !== 'string' || typeof e.path !== 'string' || (e.type !== 'file' && e.type !== 'directory') || !isNum(e.length) || !isNum(e.mtimeMs) ||
        !isNum(e.fileId) || !isNum(e.cachedBytes) || typeof e.pinned !== 'boolean' || typeof e.mountPoint !== 'string' ||
        typeof e.ufsPath !== 'string' || ps === undefined || (e.mode !== undefined && !isNum(e.mode)) ||
        (e.ttlMs !== undefined && !isNum(e.ttlMs)) || (e.isMountPoint !== undefined && e.isMountPoint !== true) ||
        (e.atimeMs !== undefined && (!isNum(e.atimeMs) || Number.isNaN(e.atimeMs))) ||
        (e.ctimeMs !== undefined && (!isNum(e.ctimeMs) || Number.isNaN(e.ctimeMs))) ||
        (e.ttlAction !== undefined && e.ttlAction !== 'free' && e.ttlAction !== 'delete') ||
        Number.isNaN(e.length) || Number.isNaN(e.mtimeMs) || Number.isNaN(e.fileId) || Number.isNaN(e.cachedBytes) ||
        Number.isNaN(e.mode) || Number.isNaN(e.ttlMs)) {
      names[i] = '';
      pi[i] = NO_INDEX; mi[i] = NO_INDEX; ui[i] = NO_INDEX;
      len[i] = NaN; mt[i] = NaN; fid[i] = NaN; cb[i] = NaN; ttl[i] = NaN; mode[i] = NaN; at[i] = NaN; ct[i] = NaN;
      x.push([i, { ...e }, 1]);
      continue;
    }
    names[i] = name;
    pi[i] = pp.indexOf(e.path, name);
    mi[i] = mp.indexOf(e.mountPoint, '');
    ui[i] = up.indexOf(e.ufsPath, name);
    fl[i] = (e.type === 'directory' ? 1 : 0) | (e.pinned ? 2 : 0) | (e.isMountPoint ? 4 : 0) |
      ((e.ttlAction === undefined ? 0 : e.ttlAction === 'free' ? 1 : 2) << 3) | (ps << 5);
    len[i] = e.length; mt[i] = e.mtimeMs; fid[i] = e.fileId; cb[i] = e.cachedBytes;
    ttl[i] = e.ttlMs ?? NaN; mode[i] = e.mode ?? NaN; at[i] = e.atimeMs ?? NaN; ct[i] = e.ctimeMs ?? NaN;
    let extra: Record<string, unknown> | undefined;
    if (pi[i] === NO_INDEX) (extra ??= {}).path = e.path;
    if (mi[i] === NO_INDEX) (extra ??= {}).mountPoint = e.mountPoint;
    if (ui[i] === NO_INDEX) (extra ??= {}).ufsPath = e.ufsPath;
    // Any field beyond the columns' (counted first: the common entry has none).
    let keys = 0;
    for (const _ in e) keys++;
    if (keys !== 11 + (e.mode !== undefined ? 1 : 0) + (e.ttlMs !== undefined ? 1 : 0) + (e.ttlAction !== undefined ? 1 : 0) + (e.isMountPoint !== undefined ? 1 : 0) +
        (e.atimeMs !== undefined ? 1 : 0) + (e.ctimeMs !== undefined ? 1 : 0)) {
      for (const k in e) {
        if (!COLUMN_KEYS.has(k) && e[k] !== undefined) (extra ??= {})[k] = e[k];
      }
    }
    if (extra) x.push([i, extra]);
  }
  return {
    f: PAGE_FORMAT, n, names, pp: pp.list, pi: bytesOf(pi), mp: mp.list, mi: bytesOf(mi), up: up.list, ui: bytesOf(ui), fl,
    len: numberColumn(len), mt: numberColumn(mt), fid: numberColumn(fid), cb: numberColumn(cb), ttl: numberColumn(ttl), mode: numberColumn(mode),
    at: timeColumn(at, mt), ct: timeColumn(ct, mt),
    x,
  };
}

function bad(message: string): StrataError {
  return new StrataError(ErrorCode.BAD_REQUEST, `listStatus page: ${message}`);
}

/** A float64 column of `n` entries as an array (a constant column filled with its number). */
function readNumbers(col: unknown, n: number, what: string): Float64Array {
  if (typeof col === 'number') return new Float64Array(n).fill(col);
  if (!(col instanceof Uint8Array) || col.length !== n * 8) throw bad(`column ${what} must be a number or ${n * 8} bytes`);
  if (LITTLE_ENDIAN) {
    // The bytes are a view into the frame at any offset: copy when not 8-byte aligned.
    return col.byteOffset % 8 === 0 ? new Float64Array(col.buffer, col.byteOffset, n) : new Float64Array(Uint8Array.prototype.slice.call(col).buffer) /* Buffer#slice would not copy */;
  }
  const dv = new DataView(col.buffer, col.byteOffset, col.byteLength);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
  return out;
}

/** A uint16 index column of `n` entries as an array, and its dictionary. */
function readIndexes(col: unknown, n: number, dict: unknown, what: string): { idx: Uint16Array; dict: string[] } {
  if (!Array.isArray(dict) || !dict.every((s) => typeof s === 'string')) throw bad(`${what} prefixes must be strings`);
  if (!(col instanceof Uint8Array) || col.length !== n * 2) throw bad(`column ${what} must be ${n * 2} bytes`);
  if (LITTLE_ENDIAN && col.byteOffset % 2 === 0) return { idx: new Uint16Array(col.buffer, col.byteOffset, n), dict: dict as string[] };
  const dv = new DataView(col.buffer, col.byteOffset, col.byteLength);
  const idx = new Uint16Array(n);
  for (let i = 0; i < n; i++) idx[i] = dv.getUint16(i * 2, true);
  return { idx, dict: dict as string[] };
}

/**
 * Decode a columnar page into FileInfo objects (what the server's FileSystem produced).
 * @throws StrataError(BAD_REQUEST) when the value is not a well-formed page.
 */
export function decodePage(v: unknown): FileInfo[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad('not a map');
  const p = v as Record<string, unknown>;
  if (p.f !== PAGE_FORMAT) throw bad(`unknown format ${String(p.f)}`);
  const n = p.n;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > 1 << 20) throw bad('n must be a count');
  const names = p.names;
  if (!Array.isArray(names) || names.length !== n) throw bad(`names must be ${n} strings`);
  const fl = p.fl;
  if (!(fl instanceof Uint8Array) || fl.length !== n) throw bad(`column fl must be ${n} bytes`);
  const path = readIndexes(p.pi, n, p.pp, 'path');
  const mount = readIndexes(p.mi, n, p.mp, 'mount');
  const ufs = readIndexes(p.ui, n, p.up, 'ufs');
  const len = readNumbers(p.len, n, 'len'); const mt = readNumbers(p.mt, n, 'mt'); const fid = readNumbers(p.fid, n, 'fid');
  const cb = readNumbers(p.cb, n, 'cb'); const ttl = readNumbers(p.ttl, n, 'ttl'); const mode = readNumbers(p.mode, n, 'mode');
  const at = p.at === undefined ? undefined : p.at === 'mt' ? mt : readNumbers(p.at, n, 'at');
  const ct = p.ct === undefined ? undefined : p.ct === 'mt' ? mt : readNumbers(p.ct, n, 'ct');
  const x = p.x;
  if (!Array.isArray(x)) throw bad('x must be an array');
  const extras = new Map<number, { fields: Record<string, unknown>; whole: boolean }>();
  for (const e of x) {
    if (!Array.isArray(e) || typeof e[0] !== 'number' || e[0] < 0 || e[0] >= n || e[1] === null || typeof e[1] !== 'object') {
      throw bad('x entries must be [index, fields]');
    }
    extras.set(e[0], { fields: e[1] as Record<string, unknown>, whole: e[2] === 1 });
  }
  const out = new Array<FileInfo>(n);
  const pIdx = path.idx; const mIdx = mount.idx; const uIdx = ufs.idx;
  const pDict = path.dict; const mDict = mount.dict; const uDict = ufs.dict;
  const anyExtra = extras.size > 0;
  for (let i = 0; i < n; i++) {
    const extra = anyExtra ? extras.get(i) : undefined;
    if (extra?.whole) {
      out[i] = extra.fields as unknown as FileInfo;
      continue;
    }
    const name = names[i];
    const f = fl[i]!;
    const ps = PERSISTENCE_STATES[(f >> 5) - 1];
    if (typeof name !== 'string' || ps === undefined) throw bad(`entry ${i} has no name or persistence state`);
    const pix = pIdx[i]!; const mix = mIdx[i]!; const uix = uIdx[i]!;
    if ((pix !== NO_INDEX && pix >= pDict.length) || (mix !== NO_INDEX && mix >= mDict.length) ||
        (uix !== NO_INDEX && uix >= uDict.length)) throw bad(`entry ${i} names a prefix that is not in the page`);
    const info: FileInfo = {
      path: pix === NO_INDEX ? '' : pDict[pix]! + name,
      name,
      type: f & 1 ? 'directory' : 'file',
      length: len[i]!,
      mtimeMs: mt[i]!,
      fileId: fid[i]!,
      persistenceState: ps,
      cachedBytes: cb[i]!,
      pinned: (f & 2) !== 0,
      mountPoint: mix === NO_INDEX ? '' : mDict[mix]!,
      ufsPath: uix === NO_INDEX ? '' : uDict[uix]! + name,
    };
    const m = mode[i]!;
    if (!Number.isNaN(m)) info.mode = m;
    const c = ct ? ct[i]! : NaN;
    if (!Number.isNaN(c)) info.ctimeMs = c;
    const a = at ? at[i]! : NaN;
    if (!Number.isNaN(a)) info.atimeMs = a;
    const t = ttl[i]!;
    if (!Number.isNaN(t)) info.ttlMs = t;
    const ta = (f >> 3) & 3;
    if (ta !== 0) info.ttlAction = ta === 1 ? 'free' : 'delete';
    if (f & 4) info.isMountPoint = true;
    if (extra) {
      const fields = extra.fields;
      for (const k of Object.keys(fields)) if (k !== '__proto__') (info as unknown as Record<string, unknown>)[k] = fields[k];
    }
    out[i] = info;
  }
  return out;
}
