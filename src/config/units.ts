// Parsing of durations (`250ms`, `5s`, `10min`, `1h`, plain ms, `-1`) and sizes (`64KB`,
// `4MB`, `1GB`, plain bytes). Bad values are refused with INVALID_ARGUMENT naming the value.

import parseDurationLib from 'parse-duration';
import bytes from 'bytes';
import { invalidArgument } from '../errors.js';

/** Milliseconds from a duration string; `-1` means "never". */
export function parseDuration(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && (value >= 0 || value === -1)) return Math.trunc(value);
    throw invalidArgument(`${what}: ${value} is not a duration (use e.g. 250ms, 5s, 10min, 1h, -1)`);
  }
  const s = value.trim();
  if (/^-?\d+$/.test(s)) return parseDuration(Number(s), what);
  const ms = /^\d+(\.\d+)?\s*[a-zA-Zµ]+$/.test(s) ? parseDurationLib(s) : null;
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) {
    throw invalidArgument(`${what}: ${JSON.stringify(value)} is not a duration (use e.g. 250ms, 5s, 10min, 1h, -1)`);
  }
  return Math.round(ms);
}

/** Bytes from a size string. */
export function parseSize(value: string | number, what = 'size'): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw invalidArgument(`${what}: ${value} is not a size (use e.g. 64KB, 4MB, 1GB)`);
  }
  const s = value.trim();
  const n = /^\d+(\.\d+)?\s*([kmgtp]i?b?|b)?$/i.test(s) ? bytes.parse(s.replace(/ib$/i, 'b')) : null;
  if (n === null || !Number.isFinite(n) || n < 0) {
    throw invalidArgument(`${what}: ${JSON.stringify(value)} is not a size (use e.g. 64KB, 4MB, 1GB)`);
  }
  return Math.floor(n);
}

/** Human form of a duration in ms, for listings. */
export function formatDuration(ms: number): string {
  if (ms < 0) return '-1';
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}min`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Human form of a byte count. */
export function formatSize(n: number): string {
  return bytes.format(n, { unitSeparator: '' }) ?? String(n);
}
