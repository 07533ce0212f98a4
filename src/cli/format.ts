// Output of the `strata` command line: human tables and `--json` objects on stdout, written
// with back-pressure so that long listings and file contents stream; and the one error
// format (`strata: CODE: message` on stderr, `{"error":{code,message}}` on stdout with --json).

import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { ErrorCode, StrataError, toStrataError } from '../errors.js';
import { formatSize } from '../config/units.js';
import type { FileInfo, MountInfo, Report } from '../types.js';

/** Exit codes of the command line. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const usageErrors = new WeakSet<object>();

/** Mark an error as a usage error (bad option or argument): the command exits with 2. */
export function usage(err: unknown): StrataError {
  const e = toStrataError(err, ErrorCode.INVALID_ARGUMENT);
  usageErrors.add(e);
  return e;
}

/** A usage error with code INVALID_ARGUMENT. */
export function usageError(message: string): StrataError {
  return usage(new StrataError(ErrorCode.INVALID_ARGUMENT, message));
}

/** Exit code for an error: 2 for usage errors, 1 otherwise. */
export function exitCodeFor(err: unknown): number {
  return typeof err === 'object' && err !== null && usageErrors.has(err) ? EXIT_USAGE : EXIT_FAILURE;
}

/** Write a chunk, waiting for 'drain' when the stream's buffer is full. */
export async function writeTo(stream: Writable, data: string | Uint8Array): Promise<void> {
  if (!stream.write(data)) await once(stream, 'drain');
}

/** Print an error the one way the CLI prints errors. */
export function printError(err: unknown, json: boolean): StrataError {
  const e = toStrataError(err);
  process.stderr.write(`strata: ${e.code}: ${e.message}\n`);
  if (json) process.stdout.write(JSON.stringify({ error: { code: e.code, message: e.message } }) + '\n');
  return e;
}

/** The fields of a file object in `--json` output, exactly as SPEC lists them. */
export function fileInfoJson(f: FileInfo): Record<string, unknown> {
  return {
    path: f.path,
    name: f.name,
    type: f.type,
    length: f.length,
    mtimeMs: f.mtimeMs,
    fileId: f.fileId,
    persistenceState: f.persistenceState,
    cachedBytes: f.cachedBytes,
    pinned: f.pinned,
    mountPoint: f.mountPoint,
    ufsPath: f.ufsPath,
    // Special files (createNode) and directories' subdirectory counts, when there are.
    ...(f.node !== undefined ? { node: f.node } : {}),
    ...(f.target !== undefined ? { target: f.target } : {}),
    ...(f.rdev !== undefined ? { rdev: f.rdev } : {}),
    ...(f.subdirs !== undefined ? { subdirs: f.subdirs } : {}),
  };
}

/** The fields of a mount row in `--json` output. */
export function mountJson(m: MountInfo): Record<string, unknown> {
  return { path: m.path, ufsUri: m.ufsUri, readOnly: m.readOnly, options: m.options };
}

/**
 * Streams a JSON array item by item: `[`, items separated by commas, `]`. The output is one
 * valid JSON document even for a million entries, without holding them in memory.
 */
export class JsonArrayWriter {
  private first = true;

  constructor(private readonly out: Writable = process.stdout) {}

  async item(value: unknown): Promise<void> {
    const prefix = this.first ? '[\n' : ',\n';
    this.first = false;
    await writeTo(this.out, prefix + JSON.stringify(value));
  }

  async end(): Promise<void> {
    await writeTo(this.out, this.first ? '[]\n' : '\n]\n');
  }
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** `YYYY-MM-DD HH:mm:ss` in local time. */
export function formatDate(ms: number): string {
  const d = new Date(ms);
  if (!Number.isFinite(d.getTime())) return '-';
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** The `ls -l` letter of each kind of special file. */
const NODE_LETTER: Readonly<Record<string, string>> = { symlink: 'l', fifo: 'p', socket: 's', char: 'c', block: 'b' };

/** `drwxr-xr-x` / `-rw-r--r--` (`l`, `p`, `s`, `c`, `b` for special files) from the type and mode bits. */
export function formatMode(f: Pick<FileInfo, 'type' | 'mode' | 'node'>): string {
  const mode = f.mode ?? (f.type === 'directory' ? 0o755 : 0o644);
  const bits = 'rwxrwxrwx';
  let s = f.type === 'directory' ? 'd' : f.node ? NODE_LETTER[f.node] ?? '-' : '-';
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits[i] : '-';
  return s;
}

/** Percentage of a file held in the cache, `DIR` for directories. */
export function cachedPercent(f: Pick<FileInfo, 'type' | 'length' | 'cachedBytes'>): string {
  if (f.type === 'directory') return 'DIR';
  if (f.length === 0) return '100%';
  return `${Math.floor((100 * f.cachedBytes) / f.length)}%`;
}

/**
 * One line of `ls`, in the spirit of Alluxio's: mode, size, persistence state, modification
 * date, share of the file in the cache, path.
 */
export function formatLsLine(f: FileInfo, opts: { human?: boolean } = {}): string {
  const size = opts.human ? formatSize(f.length) : String(f.length);
  return `${formatMode(f)}  ${size.padStart(12)}  ${f.persistenceState.padEnd(15)}  ` +
    `${formatDate(f.mtimeMs)}  ${cachedPercent(f).padStart(4)}  ${f.path}${f.target !== undefined ? ` -> ${f.target}` : ''}`;
}

/** `key: value` lines of a file's status, every field it carries. */
export function formatStat(f: FileInfo): string {
  const rows: Array<[string, unknown]> = [
    ['path', f.path], ['name', f.name], ['type', f.type], ['length', `${f.length} (${formatSize(f.length)})`],
    ['mtime', `${formatDate(f.mtimeMs)} (${f.mtimeMs})`], ['fileId', f.fileId],
    ['persistenceState', f.persistenceState], ['cachedBytes', `${f.cachedBytes} (${cachedPercent(f)})`],
    ['pinned', f.pinned], ['mountPoint', f.mountPoint], ['ufsPath', f.ufsPath],
  ];
  if (f.isMountPoint) rows.push(['isMountPoint', true]);
  if (f.node !== undefined) rows.push(['node', f.target !== undefined ? `${f.node} -> ${f.target}` : f.rdev !== undefined ? `${f.node} ${f.rdev}` : f.node]);
  if (f.mode !== undefined) rows.push(['mode', `${formatMode(f)} (${f.mode.toString(8)})`]);
  if (f.ttlMs !== undefined && f.ttlMs >= 0) rows.push(['ttl', `${f.ttlMs}ms (${f.ttlAction ?? 'delete'})`]);
  if (f.persistAttempts) rows.push(['persistAttempts', f.persistAttempts]);
  if (f.lastPersistError) rows.push(['lastPersistError', f.lastPersistError]);
  return rows.map(([k, v]) => `${(k + ':').padEnd(18)} ${String(v)}`).join('\n') + '\n';
}

/** Rows of aligned columns. */
export function formatTable(rows: string[][], gap = 3): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length); });
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + gap))).join('').trimEnd()).join('\n') + '\n';
}

/** Alluxio-style mount row: `URI  on  PATH  (readOnly=…, options)`. */
export function formatMounts(mounts: MountInfo[]): string {
  if (mounts.length === 0) return '';
  return formatTable(mounts.map((m) => {
    const opts = Object.entries(m.options).map(([k, v]) => `${k}=${v}`).join(', ');
    return [m.ufsUri, 'on', m.path, `(${m.readOnly ? 'readOnly' : 'readWrite'}${opts ? ', ' + opts : ''})`];
  }));
}

function section(title: string, entries: Array<[string, string]>): string {
  if (entries.length === 0) return `${title}\n  (none)\n`;
  const w = Math.max(...entries.map(([k]) => k.length));
  return `${title}\n` + entries.map(([k, v]) => `  ${k.padEnd(w)}   ${v}`).join('\n') + '\n';
}

function counters(r: Record<string, number>, sizeKeys: RegExp = /bytes/i): Array<[string, string]> {
  return Object.entries(r)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => [k, sizeKeys.test(k) ? `${v} (${formatSize(v)})` : String(v)]);
}

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400); const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60); const sec = s % 60;
  return (d ? `${d}d` : '') + (d || h ? `${h}h` : '') + (d || h || m ? `${m}m` : '') + `${sec}s`;
}

/** The human form of `fsadmin report`. */
/** One recent loadMetadata / checkConsistency run as a report row. */
function formatRun(run: NonNullable<Report['recentRuns']>[number]): [string, string] {
  const what = `${run.op}${run.recursive ? ' -R' : ''} ${run.path}`;
  const when = new Date(run.startedMs).toISOString();
  if (run.finishedMs === undefined) return [what, `running since ${when}`];
  const took = `${((run.finishedMs - run.startedMs) / 1000).toFixed(1)} s`;
  if (run.error) return [what, `${when}, ${took}: ${run.error.code}: ${run.error.message}`];
  const counts = Object.entries(run.result ?? {}).map(([k, v]) => `${k} ${v}`).join(', ');
  return [what, `${when}, ${took}: ${counts}`];
}

export function formatReport(r: Report): string {
  const c = r.cache;
  const pct = c.capacityBytes > 0 ? ` (${((100 * c.usedBytes) / c.capacityBytes).toFixed(1)}%)` : '';
  const ufsTotal = Object.entries(r.ufsCalls).filter(([k]) => !/bytes$/i.test(k)).reduce((a, [, v]) => a + v, 0);
  const parts = [
    `Strata ${r.server.version}, started ${r.server.startedAt}, up ${formatUptime(r.server.uptimeMs)}\n`,
    section('Namespace', [['inodes', String(r.namespace.inodes)], ['mounts', String(r.namespace.mounts)]]),
    section('Cache', [
      ['used / capacity', `${formatSize(c.usedBytes)} / ${formatSize(c.capacityBytes)}${pct}`],
      ['hits', String(c.hits)],
      ['misses', String(c.misses)],
      ['hit ratio', `${(100 * (Number.isFinite(c.hitRatio) ? c.hitRatio : 0)).toFixed(1)}%`],
      ['evicted', formatSize(c.evictedBytes)],
      ...Object.entries(c.bytesByState ?? {}).map(([k, v]): [string, string] => [`bytes ${k}`, formatSize(v)]),
    ]),
    section(`UFS calls (total ${ufsTotal})`, counters(r.ufsCalls)),
    section('Metadata sync', counters(r.sync)),
    section('Persist queue', counters(r.persist)),
    section('Active sync', counters(r.activeSync)),
    ...(r.intents ? [section('Interrupted operations (intents)', counters(r.intents))] : []),
    section('Operations', counters(r.ops)),
    ...(r.gateway && Object.keys(r.gateway).length ? [section('S3 gateway', counters(r.gateway))] : []),
    ...(r.recentRuns?.length ? [section('Recent syncs and checks', r.recentRuns.map(formatRun))] : []),
  ];
  return parts.join('\n');
}
