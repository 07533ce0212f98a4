// Object listings of the S3 gateway in S3's order: UTF-8 byte order of the whole key. A
// directory's children come from the namespace in name order, but a subdirectory `d` owns
// the keys `d/…`, which sort after sibling names such as `d-x` or `d.x`: the walk holds each
// subdirectory back until the listing passes `d/` (a merge), and starts every directory at
// its position with `startAfter`, so a page costs what it returns plus a few lookups.

import type { FileSystem } from '../../fs.js';
import type { FileInfo } from '../../types.js';
import { MARKER_ATTR } from './context.js';
import { joinPath } from '../../meta/path.js';

/** Compare two strings in UTF-8 byte order (S3's key order). */
export function compareKeys(a: string, b: string): number {
  // UTF-16 order equals UTF-8 byte order except around surrogates; check the cheap case first.
  if (/^[\x00-\ud7ff]*$/.test(a) && /^[\x00-\ud7ff]*$/.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** One entry of a listing: an object (file or directory marker) or a common prefix. */
export interface ListEntry {
  key: string;
  info?: FileInfo;
  isPrefix?: boolean;
}

/** Where a listing starts: keys after `key` (exclusive) or from `key` (inclusive). */
export interface Bound { key: string; inclusive: boolean }

const after = (k: string, b: Bound | undefined): boolean => {
  if (!b) return true;
  const c = compareKeys(k, b.key);
  return c > 0 || (c === 0 && b.inclusive);
};

async function lookup(fs: FileSystem, path: string): Promise<FileInfo | undefined> {
  try {
    return await fs.getStatus(path);
  } catch {
    return undefined;
  }
}


/** The fewest entries one namespace page asks for (when keys are skipped, a few round trips more are cheaper than big pages). */
const MIN_PAGE = 32;
/** The most entries one namespace page asks for (the coordinator's cap). */
const MAX_PAGE = 1000;

/**
 * Entries of the directory `dirPath` (whose keys start with `dirKey`) in key order, from
 * `bound` on. `recursive` expands subdirectories (an empty one is its marker `d/`);
 * otherwise a subdirectory is the common prefix `d/`. `want()` says how many more entries
 * the consumer needs: each namespace page asks for that many (32 to 1,000), so a listing
 * page of 1,000 keys reads 1,000 + a few entries, not two full pages.
 */
export async function* walk(fs: FileSystem, dirPath: string, dirKey: string, bound: Bound | undefined,
  recursive: boolean, want: () => number): AsyncGenerator<ListEntry> {
  let rel: Bound | undefined;
  if (bound && bound.key.startsWith(dirKey)) rel = { key: bound.key.slice(dirKey.length), inclusive: bound.inclusive };
  else if (bound && compareKeys(bound.key, dirKey) > 0) return; // the whole directory is before the bound
  // Subdirectories waiting for their place `name/` in the merge, kept sorted.
  const pending: FileInfo[] = [];
  const hold = (d: FileInfo): void => {
    const k = d.name + '/';
    let i = pending.length;
    while (i > 0 && compareKeys(pending[i - 1]!.name + '/', k) > 0) i--;
    pending.splice(i, 0, d);
  };
  async function* emitDir(d: FileInfo, inner: Bound | undefined): AsyncGenerator<ListEntry> {
    const key = dirKey + d.name + '/';
    if (!recursive) {
      if (after(key, bound)) yield { key, isPrefix: true, info: d };
      return;
    }
    // An explicit marker lists before its keys; an empty directory lists as its marker.
    const marked = !!d.xattr?.[MARKER_ATTR];
    if (marked && after(key, bound)) yield { key, info: d };
    let n = 0;
    for await (const e of walk(fs, d.path, key, inner, true, want)) { n++; yield e; }
    if (n === 0 && !marked && after(key, bound)) yield { key, info: d };
  }
  let startName: string | undefined;
  if (rel && rel.key !== '') {
    const slash = rel.key.indexOf('/');
    const c = slash < 0 ? rel.key : rel.key.slice(0, slash);
    // Directories whose name is a prefix of `c` followed by a character below '/' own keys
    // (`n/…`) after the bound although their names sort before it.
    for (let i = 1; i < c.length; i++) {
      if (c.charCodeAt(i) >= 0x2f) continue;
      const st = await lookup(fs, joinPath(dirPath, c.slice(0, i)));
      if (st?.type === 'directory') hold(st);
    }
    const own = await lookup(fs, joinPath(dirPath, c));
    if (slash >= 0) {
      if (own?.type === 'directory') yield* emitDir(own, bound);
      startName = c + '/'; // names between c and c/ (c-x, c.x) sort before the bound
    } else {
      if (own?.type === 'directory') hold(own);
      else if (own && own.node === undefined && rel.inclusive) yield { key: dirKey + c, info: own };
      startName = c;
    }
  }
  // One namespace page at a time, each sized by what the consumer still wants: the listing
  // stream is closed after its first page (nothing is read ahead that the S3 page does not return).
  let from = startName;
  for (;;) {
    const size = Math.max(MIN_PAGE, Math.min(MAX_PAGE, want()));
    let page: FileInfo[] = [];
    for await (const p of fs.listStatus(dirPath, { ...(from !== undefined ? { startAfter: from } : {}), pageSize: size })) { page = p; break; }
    for (const child of page) {
      if (child.node !== undefined) continue; // a special file is no object (statObject)
      const key = child.type === 'directory' ? child.name + '/' : child.name;
      while (pending.length && compareKeys(pending[0]!.name + '/', key) < 0) yield* emitDir(pending.shift()!, undefined);
      if (child.type === 'directory') hold(child);
      else if (after(dirKey + child.name, bound)) yield { key: dirKey + child.name, info: child };
    }
    if (page.length < size) break;
    from = page[page.length - 1]!.name;
  }
  while (pending.length) yield* emitDir(pending.shift()!, undefined);
}

export interface ListParams {
  /** Namespace path of the bucket (`/data`). */
  bucketPath: string;
  prefix: string;
  delimiter: string;
  /** Keys after this one (marker, start-after, continuation token). */
  startAfter?: string;
  maxKeys: number;
}

export interface ListPage {
  contents: ListEntry[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned (the next marker / continuation). */
  last?: string;
}

/** One page of a bucket listing in S3's semantics (prefix, delimiter, marker, max-keys). */
export async function listObjects(fs: FileSystem, p: ListParams): Promise<ListPage> {
  const out: ListPage = { contents: [], commonPrefixes: [], isTruncated: false };
  if (p.maxKeys <= 0) return out;
  const slash = p.prefix.lastIndexOf('/');
  const dirKey = slash < 0 ? '' : p.prefix.slice(0, slash + 1);
  // A prefix with empty, '.' or '..' segments names no directory.
  const segs = dirKey ? dirKey.slice(0, -1).split('/') : [];
  if (segs.some((s) => s === '' || s === '.' || s === '..')) return out;
  const dirPath = segs.length ? `${p.bucketPath}/${segs.join('/')}` : p.bucketPath;
  const dir = await lookup(fs, dirPath);
  if (dir?.type !== 'directory') return out;
  let bound: Bound = { key: p.prefix, inclusive: true };
  if (p.startAfter !== undefined && compareKeys(p.startAfter, p.prefix) >= 0) bound = { key: p.startAfter, inclusive: false };
  const slashMode = p.delimiter === '/';
  let lastPrefix: string | undefined;
  let n = 0;
  if (dirKey !== '' && dirKey === p.prefix && after(dirKey, bound)) {
    // The prefix names a directory: its marker (explicit, or an empty directory) lists first.
    let empty = true;
    if (!dir.xattr?.[MARKER_ATTR]) for await (const page of fs.listStatus(dirPath, { pageSize: 1 })) { if (page.length) { empty = false; break; } }
    if (empty) {
      out.contents.push({ key: dirKey, info: dir });
      out.last = dirKey;
      n++;
    }
  }
  // One entry past max-keys tells whether the page is truncated.
  for await (const e of walk(fs, dirPath, dirKey, bound, !slashMode, () => p.maxKeys + 1 - n)) {
    if (!e.key.startsWith(p.prefix)) {
      if (compareKeys(e.key, p.prefix) > 0) break;
      continue;
    }
    let entry = e;
    if (p.delimiter && !slashMode && !e.isPrefix) {
      const i = e.key.indexOf(p.delimiter, p.prefix.length);
      if (i >= 0) {
        const cp = e.key.slice(0, i + p.delimiter.length);
        if (cp === lastPrefix || (p.startAfter !== undefined && compareKeys(cp, p.startAfter) <= 0)) continue;
        entry = { key: cp, isPrefix: true };
      }
    }
    if (n === p.maxKeys) {
      out.isTruncated = true;
      break;
    }
    n++;
    if (entry.isPrefix) {
      out.commonPrefixes.push(entry.key);
      lastPrefix = entry.key;
    } else {
      out.contents.push(entry);
    }
    out.last = entry.key;
  }
  return out;
}
