// Strata path validation and manipulation. A Strata path is absolute, '/'-separated, with no
// empty, '.' or '..' segments and no NUL; one trailing '/' is tolerated and dropped.
// Everything that takes a path from a client validates it here first.

import { invalidPath } from '../errors.js';

export const ROOT = '/';
/**
 * The longest path in UTF-8 bytes: paths are keys of the metadata store (absent-path
 * entries, path configuration, mounts, sync points), whose key limit is 4026 bytes.
 */
export const MAX_PATH_BYTES = 4000;
const MAX_NAME = 255;
/** Default of `path.max.depth`: the most components a path may have. */
export const DEFAULT_MAX_DEPTH = 512;
/**
 * The most components any path can have whatever `path.max.depth` says: a component takes
 * at least two bytes ('/' and one character) of the MAX_PATH_BYTES a key may hold.
 */
export const HARD_MAX_DEPTH = MAX_PATH_BYTES / 2;

/** Components of a path as a client wrote it ('/' separated, empty segments not counted). */
export function depthOf(path: string): number {
  let depth = 0;
  for (let j = 0; j < path.length; j++) if (path.charCodeAt(j) === 47 /* / */ && j + 1 < path.length && path.charCodeAt(j + 1) !== 47) depth++;
  return depth;
}

/** INVALID_PATH when `path` has more than `max` components (the path.max.depth rule). */
export function checkPathDepth(path: string, max: number, what = 'path'): void {
  if (path.length <= max) return; // shorter than max cannot be deeper
  const depth = depthOf(path);
  if (depth > max) throw invalidPath(path.slice(0, 64) + '…', `${what} of ${depth} components is deeper than path.max.depth (${max})`);
}

/**
 * True when `path` is already normal: '/' then components of 1..255 characters separated by
 * one '/', none '.' or '..', no NUL, no trailing '/', at most `maxDepth` of them. One scan, no
 * allocation: the path every client sends on the hot path (anything else takes the slow path,
 * which normalises or names the fault).
 */
function isNormalPath(path: string, maxDepth: number): boolean {
  const n = path.length;
  if (n < 2 || path.charCodeAt(0) !== 47 /* / */ || path.charCodeAt(n - 1) === 47) return false;
  let depth = 0;
  let start = 1;
  for (let i = 1; i <= n; i++) {
    const c = i < n ? path.charCodeAt(i) : 47;
    if (c === 47) {
      const len = i - start;
      if (len === 0 || len > MAX_NAME) return false;
      if (path.charCodeAt(start) === 46 /* . */ && (len === 1 || (len === 2 && path.charCodeAt(start + 1) === 46))) return false;
      depth++;
      start = i + 1;
    } else if (c === 0) {
      return false;
    }
  }
  return depth <= maxDepth;
}

/**
 * Validate and normalise a client path; throws INVALID_PATH naming the path and the reason.
 * `maxDepth` is the caller's `path.max.depth` (each Coordinator and server passes its own).
 */
export function normalizePath(path: unknown, maxDepth: number = HARD_MAX_DEPTH): string {
  if (typeof path !== 'string') throw invalidPath(String(path), 'a path must be a string');
  if (path.length === 0) throw invalidPath(path, 'the path is empty');
  if (path.length > MAX_PATH_BYTES / 3 && Buffer.byteLength(path) > MAX_PATH_BYTES) {
    throw invalidPath(path.slice(0, 64) + '…', `${Buffer.byteLength(path)} bytes long; the limit is ${MAX_PATH_BYTES} bytes (the metadata store's key size)`);
  }
  if (isNormalPath(path, maxDepth)) return path;
  if (path.includes('\0')) throw invalidPath(path, 'contains a NUL character');
  if (path[0] !== '/') throw invalidPath(path, 'must be absolute (start with /)');
  if (path === '/') return ROOT;
  const body = path.endsWith('/') ? path.slice(1, -1) : path.slice(1);
  const parts = body.split('/');
  if (parts.length > maxDepth) throw invalidPath(path.slice(0, 64) + '…', `${parts.length} components is deeper than path.max.depth (${maxDepth})`);
  for (const p of parts) {
    if (p === '') throw invalidPath(path, 'contains an empty segment (//)');
    if (p === '.' || p === '..') throw invalidPath(path, `contains a '${p}' segment`);
    if (p.length > MAX_NAME) throw invalidPath(path, `a segment is longer than ${MAX_NAME} characters`);
  }
  return '/' + body;
}

/** Components of a normalised path ('/' has none). */
export function pathComponents(path: string): string[] {
  return path === ROOT ? [] : path.slice(1).split('/');
}

export function parentPath(path: string): string {
  if (path === ROOT) return ROOT;
  const i = path.lastIndexOf('/');
  return i === 0 ? ROOT : path.slice(0, i);
}

export function baseName(path: string): string {
  return path === ROOT ? '' : path.slice(path.lastIndexOf('/') + 1);
}

/** Join a directory path and a name (the one path join of Strata paths; a trailing '/' of `dir` is not doubled). */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** True when `path` is `prefix` or below it. */
export function isUnder(path: string, prefix: string): boolean {
  if (prefix === ROOT) return true;
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47 /* / */);
}

/** Path of `path` relative to `prefix` ('' when equal); `path` must be under `prefix`. */
export function relativeTo(path: string, prefix: string): string {
  if (path === prefix) return '';
  return prefix === ROOT ? path.slice(1) : path.slice(prefix.length + 1);
}

/** Ancestors of a path from the root down, excluding the path itself. */
export function ancestors(path: string): string[] {
  const out: string[] = [];
  let p = path;
  while (p !== ROOT) {
    p = parentPath(p);
    out.push(p);
  }
  return out.reverse();
}
