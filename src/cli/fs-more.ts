// More `strata fs` commands with Alluxio/Hadoop spelling — `cp [-R]` inside the namespace,
// `rmdir`, `ln -s` (a symbolic link: a namespace-only inode), `getConf [KEY]` — and the stream ends of the others: `copyFromLocal - PATH`
// (stdin), `copyToLocal PATH -` (stdout), `tail -f` (polls the file's length), local files
// opened without clobbering unless `-f`. Also the help layout every `fs` command shares:
// its own options, then the per-call options, then one example.

import { open } from 'node:fs/promises';
import type { Command, Option } from 'commander';
import { ErrorCode, StrataError } from '../errors.js';
import type { FileSystem } from '../fs.js';
import { formatSize, parseDuration } from '../config/units.js';
import type { ConfEntry, FileInfo } from '../types.js';
import { formatTable, usage, usageError, writeTo } from './format.js';
import { clientAction, commonOf } from './context.js';
import type { ClientContext } from './context.js';
import { createProgress } from './progress.js';
import { joinPath } from '../meta/path.js';

const out = (s: string): Promise<void> => writeTo(process.stdout, s);
const printJson = (v: unknown): Promise<void> => out(JSON.stringify(v) + '\n');

async function done(ctx: ClientContext, human: string, json: unknown): Promise<void> {
  await (ctx.json ? printJson(json) : out(human + '\n'));
}

const baseOf = (p: string): string => p.replace(/\/+$/, '').split('/').pop() ?? '';

function readOpts(ctx: ClientContext): Record<string, unknown> {
  return { ...commonOf(ctx.call), ...(ctx.call.readType ? { readType: ctx.call.readType } : {}) };
}

function writeOpts(ctx: ClientContext): Record<string, unknown> {
  return { ...commonOf(ctx.call), ...(ctx.call.writeType ? { writeType: ctx.call.writeType } : {}) };
}

async function statOrNull(fs: FileSystem, path: string, ctx: ClientContext): Promise<FileInfo | null> {
  try {
    return await fs.getStatus(path, commonOf(ctx.call));
  } catch (err) {
    if (err instanceof StrataError && err.code === ErrorCode.NOT_FOUND) return null;
    throw err;
  }
}

async function* counted(src: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const c of src) {
    onBytes(c.byteLength);
    yield c;
  }
}

// ---- local ends --------------------------------------------------------------------------

/**
 * Open a local file for a download: refuses an existing file with ALREADY_EXISTS unless
 * `overwrite`; a missing parent directory is NOT_FOUND. Returns a writable stream.
 */
export async function openLocalForWrite(local: string, overwrite: boolean): Promise<NodeJS.WritableStream> {
  try {
    const handle = await open(local, overwrite ? 'w' : 'wx');
    return handle.createWriteStream();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new StrataError(ErrorCode.ALREADY_EXISTS, `local file ${local} exists (use -f to overwrite it)`, { cause: err });
    if (code === 'ENOENT') throw new StrataError(ErrorCode.NOT_FOUND, `local directory of ${local} does not exist`, { cause: err });
    if (code === 'EISDIR') throw new StrataError(ErrorCode.IS_A_DIRECTORY, `local path ${local} is a directory`, { cause: err });
    throw err;
  }
}

/** `copyFromLocal - PATH`: the bytes of stdin become the file PATH. */
export async function copyFromStdin(ctx: ClientContext, path: string): Promise<void> {
  const fs = await ctx.fs();
  const existing = await statOrNull(fs, path, ctx);
  if (existing?.type === 'directory') throw usageError(`copyFromLocal -: ${path} is a directory; give the file path to write`);
  let bytes = 0;
  const bar = createProgress(`copy stdin`, 'bytes');
  let info: FileInfo;
  try {
    info = await fs.writeFile(path, counted(process.stdin, (n) => { bytes += n; bar.add(n); }),
      { ...writeOpts(ctx), recursive: true, overwrite: Boolean(ctx.opts.overwrite) });
  } finally {
    bar.stop();
  }
  await done(ctx, `Copied stdin to ${info.path} (${formatSize(bytes)})`, { path: info.path, files: 1, bytes });
}

/** `copyToLocal PATH -`: the file's bytes on stdout (nothing else is printed there). */
export async function copyToStdout(ctx: ClientContext, path: string): Promise<void> {
  const fs = await ctx.fs();
  const info = await fs.getStatus(path, commonOf(ctx.call));
  if (info.type !== 'file') throw new StrataError(ErrorCode.IS_A_DIRECTORY, `copyToLocal ${path} -: only a file can be written to stdout`);
  for await (const chunk of fs.readFile(path, readOpts(ctx))) await writeTo(process.stdout, chunk);
}

// ---- tail -f -----------------------------------------------------------------------------

/** Print the last `n` bytes, then what is appended, polling the length every `-s` interval. */
export async function followFile(ctx: ClientContext, fs: FileSystem, path: string, n: number): Promise<void> {
  let sleepMs: number;
  try {
    sleepMs = parseDuration(String(ctx.opts.sleepInterval ?? '1s'), '--sleep-interval');
  } catch (err) {
    throw usage(err);
  }
  if (sleepMs <= 0) throw usageError('--sleep-interval must be positive');
  let info = await fs.getStatus(path, commonOf(ctx.call));
  if (info.type !== 'file') throw new StrataError(ErrorCode.IS_A_DIRECTORY, `tail -f: ${path} is a directory`);
  let offset = Math.max(0, info.length - n);
  let stopped = false;
  const stop = (): void => { stopped = true; };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for (;;) {
      if (info.length < offset) {
        process.stderr.write(`strata: tail: ${path} was truncated; following from its start\n`);
        offset = 0;
      }
      if (info.length > offset) {
        for await (const chunk of fs.readFile(path, { ...readOpts(ctx), offset, length: info.length - offset })) {
          await writeTo(process.stdout, chunk);
          offset += chunk.byteLength;
        }
      }
      if (stopped) return;
      await new Promise((r) => setTimeout(r, sleepMs));
      if (stopped) return;
      info = await fs.getStatus(path, commonOf(ctx.call));
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

// ---- cp ----------------------------------------------------------------------------------

/** `cp [-R] [-f] SRC DST` inside the namespace (data streams through this client). */
async function cp(ctx: ClientContext, src: string, dst: string): Promise<void> {
  const fs = await ctx.fs();
  const s = await fs.getStatus(src, commonOf(ctx.call));
  const recursive = Boolean(ctx.opts.recursive || ctx.opts.r);
  if (s.type === 'directory' && !recursive) throw new StrataError(ErrorCode.IS_A_DIRECTORY, `cp: ${s.path} is a directory (use -R to copy it)`);
  const d = await statOrNull(fs, dst, ctx);
  const target = d?.type === 'directory' ? joinPath(d.path, baseOf(s.path) || 'root') : dst.replace(/\/+$/, '') || '/';
  const prefix = s.path === '/' ? '/' : `${s.path}/`;
  if (target === s.path || target.startsWith(prefix)) throw new StrataError(ErrorCode.INVALID_PATH, `cp: cannot copy ${s.path} into itself (${target})`);
  const opts = { ...writeOpts(ctx), recursive: true, overwrite: Boolean(ctx.opts.overwrite) };
  let files = 0;
  let bytes = 0;
  const bar = createProgress(`cp ${baseOf(s.path) || '/'}`, 'bytes', s.type === 'file' ? s.length : undefined);
  const copyOne = async (from: FileInfo, to: string): Promise<void> => {
    await fs.writeFile(to, counted(fs.readFile(from.path, readOpts(ctx)), (n) => bar.add(n)), opts);
    files++;
    bytes += from.length;
  };
  try {
    if (s.type === 'file') {
      await copyOne(s, target);
    } else {
      await fs.createDirectory(target, { ...writeOpts(ctx), recursive: true, allowExists: true });
      const { default: pLimit } = await import('p-limit');
      const limit = pLimit(4);
      for await (const page of fs.listStatus(s.path, { ...commonOf(ctx.call), recursive: true })) {
        const jobs: Array<Promise<void>> = [];
        for (const f of page) {
          const to = joinPath(target, f.path.slice(prefix.length));
          if (f.type === 'directory') await fs.createDirectory(to, { ...writeOpts(ctx), recursive: true, allowExists: true });
          else jobs.push(limit(() => copyOne(f, to)));
        }
        await Promise.all(jobs);
      }
    }
  } finally {
    bar.stop();
  }
  await done(ctx, `Copied ${s.path} to ${target} (${files} file${files === 1 ? '' : 's'}, ${formatSize(bytes)})`,
    { path: target, files, bytes });
}

// ---- rmdir, getConf ----------------------------------------------------------------------

async function rmdir(ctx: ClientContext, path: string): Promise<void> {
  const fs = await ctx.fs();
  const info = await fs.getStatus(path, commonOf(ctx.call));
  if (info.type !== 'directory') throw new StrataError(ErrorCode.NOT_A_DIRECTORY, `rmdir: ${info.path} is not a directory (use rm)`);
  await fs.delete(path, { ...commonOf(ctx.call), recursive: false }); // DIRECTORY_NOT_EMPTY when it has entries
  await done(ctx, `${info.path} has been removed`, { ok: true, path: info.path });
}

async function ln(ctx: ClientContext, target: string, path: string): Promise<void> {
  if (!ctx.opts.symbolic) throw new StrataError(ErrorCode.INVALID_ARGUMENT, 'ln: hard links are not supported; ln -s makes a symbolic link');
  const fs = await ctx.fs();
  const info = await fs.createNode(path, { ...commonOf(ctx.call), kind: 'symlink', target });
  await done(ctx, `${info.path} -> ${target}`, info);
}

async function getConf(ctx: ClientContext, key?: string): Promise<void> {
  const entries: ConfEntry[] = await (await ctx.fs()).getConf(key);
  if (ctx.json) return printJson(key === undefined ? entries : entries[0]);
  if (key !== undefined) return out(`${entries[0]?.value ?? ''}\n`); // like `alluxio getConf KEY`: the value alone
  await out(formatTable([['Key', 'Value', 'Source'], ...entries.map((e) => [e.key, e.value, e.source])]));
}

/** Add cp, rmdir and getConf to the `fs` group (`sub` adds a command with the per-call options). */
export function addMoreFsCommands(fs: Command, sub: (spec: string, description: string) => Command): void {
  sub('cp <src> <dst>', 'copy a file (or with -R a directory) inside the namespace; DST may be an existing directory')
    .option('-R, --recursive', 'copy a directory and everything under it')
    .option('-r', 'same as -R')
    .option('-f, --overwrite', 'replace existing files')
    .action(clientAction(cp));
  sub('rmdir <path>', 'remove an empty directory').action(clientAction(rmdir));
  sub('ln <target> <path>', 'make PATH a symbolic link to TARGET (kept in the namespace only, never persisted to the UFS; Strata never resolves it)')
    .option('-s, --symbolic', 'a symbolic link (required: there are no hard links)')
    .action(clientAction(ln));
  sub('getConf [key]', "the server's effective configuration and where each value came from (default, preset, file, -D); secrets redacted")
    .action(clientAction(getConf));
  void fs;
}

// ---- help layout -------------------------------------------------------------------------

const EXAMPLES: Record<string, string> = {
  cat: 'strata fs cat /data/a.csv',
  head: 'strata fs head -c 4KB /logs/app.log',
  tail: 'strata fs tail -f /logs/app.log',
  test: 'strata fs test -d /data && echo directory',
  touch: 'strata fs touch /data/_SUCCESS',
  mkdir: 'strata fs mkdir -p /data/2026/12',
  ln: 'strata fs ln -s 2026/12 /data/latest',
  rm: 'strata fs rm -r /data/tmp',
  mv: 'strata fs mv /data/a.csv /archive/',
  copyFromLocal: 'strata fs copyFromLocal -f --write-type CACHE_THROUGH ./a.csv /data/a.csv    (or: gzip -c x | strata fs copyFromLocal - /data/x.gz)',
  copyToLocal: 'strata fs copyToLocal /data/a.csv ./a.csv    (or: strata fs copyToLocal /data/x.gz - | gunzip)',
  du: 'strata fs du -s -h /data',
  count: 'strata fs count /data',
  unmount: 'strata fs unmount /s3',
  load: 'strata fs load /data/hot',
  free: 'strata fs free /data/cold',
  persist: 'strata fs persist /data/new',
  pin: 'strata fs pin /data/hot',
  unpin: 'strata fs unpin /data/hot',
  setTtl: 'strata fs setTtl --action free /data/tmp 1h',
  loadMetadata: 'strata fs loadMetadata -R --sync-interval 0 /s3',
  checkConsistency: 'strata fs checkConsistency -r /s3   # -r repairs, as in Alluxio',
  needsSync: 'strata fs needsSync /s3/table',
  startSync: 'strata fs startSync /local',
  stopSync: 'strata fs stopSync /local',
  getSyncPathList: 'strata fs getSyncPathList',
  cp: 'strata fs cp -R /data/in /data/backup',
  rmdir: 'strata fs rmdir /data/empty',
  getConf: 'strata fs getConf metadata.sync.interval',
};

/**
 * Help groups in order of appearance, except that a command's own `Options:` (which hold
 * `--help` even when it has no other option) always come first. For `configureHelp`.
 */
export function ownOptionsFirst<T>(unsorted: T[], visible: T[], getGroup: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of [...unsorted, ...visible]) if (!groups.has(getGroup(item))) groups.set(getGroup(item), []);
  for (const item of visible) groups.get(getGroup(item))!.push(item);
  const own = groups.get('Options:');
  if (!own) return groups;
  groups.delete('Options:');
  return new Map([['Options:', own], ...groups]);
}

/**
 * Give every `fs` command one example after its options (commands that already carry one
 * keep theirs). The per-call options are in their own help group (see addCallOptions).
 */
export function applyHelpLayout(fs: Command): void {
  fs.addHelpText('after', '\nPer-call options (--sync-interval, --load-type, --write-type, --read-type) go before or after the\n' +
    'command name. Help is --help only: -h means human-readable sizes (ls -h, du -h). See `strata fs <command> --help`.');
  for (const c of fs.commands) {
    // The command's own options first, the per-call ones after (help lists groups in order).
    const own = c.options.filter((o) => o.helpGroupHeading === undefined);
    const rest = c.options.filter((o) => o.helpGroupHeading !== undefined);
    (c.options as Option[]).splice(0, c.options.length, ...own, ...rest);
    const example = EXAMPLES[c.name()];
    if (example) c.addHelpText('after', `\nExample:\n  $ ${example}`);
  }
}
