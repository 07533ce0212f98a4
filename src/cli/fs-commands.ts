// `strata fs <command>`: the Alluxio-style file system shell over the TCP client. Every
// command takes the per-call options; listings and file data stream page by page and chunk
// by chunk (back-pressured), so `ls -R` of a million entries or `cat` of a large file never
// sits in memory. Human output by default, `--json` objects with the SPEC's fields.

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, opendir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'commander';
import { ErrorCode, StrataError } from '../errors.js';
import type { FileSystem } from '../fs.js';
import { joinPath } from '../meta/path.js';
import { formatDuration, formatSize, parseDuration, parseSize } from '../config/units.js';
import type { CacheOpResult, FileInfo, TtlAction } from '../types.js';
import {
  JsonArrayWriter, fileInfoJson, formatLsLine, formatMounts, formatStat, formatTable, mountJson,
  usage, usageError, writeTo,
} from './format.js';
import { addCallOptions, addClientOptions, addGroupCallOptions, clientAction, commonOf } from './context.js';
import type { ClientContext } from './context.js';
import { createProgress } from './progress.js';
import {
  addMoreFsCommands, copyFromStdin, copyToStdout, followFile, openLocalForWrite, applyHelpLayout,
} from './fs-more.js';

const out = (s: string): Promise<void> => writeTo(process.stdout, s);
const printJson = (v: unknown): Promise<void> => out(JSON.stringify(v) + '\n');

/** Print a confirmation: the human line, or the JSON object. */
async function done(ctx: ClientContext, human: string, json: unknown = { ok: true }): Promise<void> {
  await (ctx.json ? printJson(json) : out(human + '\n'));
}

async function statOrNull(fs: FileSystem, path: string, ctx: ClientContext): Promise<FileInfo | null> {
  try {
    return await fs.getStatus(path, commonOf(ctx.call));
  } catch (err) {
    if (err instanceof StrataError && err.code === ErrorCode.NOT_FOUND) return null;
    throw err;
  }
}

function parseSizeArg(value: string, flag: string): number {
  try {
    return parseSize(value, flag);
  } catch (err) {
    throw usage(err);
  }
}

// ---- listing -----------------------------------------------------------------------------

async function ls(ctx: ClientContext, path = '/'): Promise<void> {
  const fs = await ctx.fs();
  const options = { ...commonOf(ctx.call), recursive: Boolean(ctx.opts.recursive) };
  if (ctx.opts.forceSync) options.syncIntervalMs = 0;
  const human = Boolean(ctx.opts.humanReadable);
  const line = (f: FileInfo): string => formatLsLine(f, { human });
  if (ctx.opts.directory) { // -d: the directory itself, not its entries
    const info = await fs.getStatus(path, options);
    return ctx.json ? printJson([fileInfoJson(info)]) : out(line(info) + '\n');
  }
  const json = ctx.json ? new JsonArrayWriter() : null;
  for await (const page of fs.listStatus(path, options)) {
    if (json) {
      for (const f of page) await json.item(fileInfoJson(f));
    } else if (page.length > 0) {
      await out(page.map(line).join('\n') + '\n');
    }
  }
  await json?.end();
}

async function statCmd(ctx: ClientContext, path: string): Promise<void> {
  const info = await (await ctx.fs()).getStatus(path, commonOf(ctx.call));
  await (ctx.json ? printJson(fileInfoJson(info)) : out(formatStat(info)));
}

/** Sum of lengths and cached bytes of the files at or under a path, streamed. */
async function walkSizes(fs: FileSystem, ctx: ClientContext, path: string,
  onFile?: (f: FileInfo) => Promise<void>): Promise<{ files: number; directories: number; bytes: number; cachedBytes: number }> {
  const acc = { files: 0, directories: 0, bytes: 0, cachedBytes: 0 };
  const root = await fs.getStatus(path, commonOf(ctx.call));
  const add = async (f: FileInfo): Promise<void> => {
    if (f.type === 'directory') {
      acc.directories++;
      return;
    }
    acc.files++;
    acc.bytes += f.length;
    acc.cachedBytes += f.cachedBytes;
    await onFile?.(f);
  };
  await add(root);
  if (root.type === 'directory') {
    for await (const page of fs.listStatus(path, { ...commonOf(ctx.call), recursive: true })) {
      for (const f of page) await add(f);
    }
  }
  return acc;
}

const inCache = (cached: number, length: number): string =>
  `${cached} (${length > 0 ? Math.floor((100 * cached) / length) : 100}%)`;

async function du(ctx: ClientContext, path: string): Promise<void> {
  const fs = await ctx.fs();
  const summary = Boolean(ctx.opts.summarize);
  const human = Boolean(ctx.opts.humanReadable);
  const size = (n: number): string => (human ? formatSize(n) : String(n));
  const cachedCol = (cached: number, length: number): string => (human
    ? `${formatSize(cached)} (${length > 0 ? Math.floor((100 * cached) / length) : 100}%)` : inCache(cached, length));
  const json = ctx.json && !summary ? new JsonArrayWriter() : null;
  const row = (length: number | string, cached: string, p: string): string =>
    `${String(length).padEnd(15)} ${cached.padEnd(18)} ${p}\n`;
  if (!ctx.json) await out(row('File Size', 'In Cache', 'Path'));
  const total = await walkSizes(fs, ctx, path, summary ? undefined : async (f) => {
    if (json) await json.item({ path: f.path, length: f.length, cachedBytes: f.cachedBytes });
    else await out(row(size(f.length), cachedCol(f.cachedBytes, f.length), f.path));
  });
  if (json) await json.end();
  else if (ctx.json) await printJson({ path, length: total.bytes, cachedBytes: total.cachedBytes });
  else if (summary) await out(row(size(total.bytes), cachedCol(total.cachedBytes, total.bytes), path));
}

async function count(ctx: ClientContext, path: string): Promise<void> {
  const t = await walkSizes(await ctx.fs(), ctx, path);
  if (ctx.json) return printJson({ files: t.files, directories: t.directories, bytes: t.bytes });
  await out(formatTable([['File Count', 'Folder Count', 'Folder Size'], [String(t.files), String(t.directories), String(t.bytes)]]));
}

async function testCmd(ctx: ClientContext, path: string): Promise<void> {
  const o = ctx.opts;
  const flags = ['exists', 'directory', 'file', 'zero', 'nonEmpty'].filter((k) => o[k]);
  if (flags.length !== 1) throw usageError('test: give exactly one of -e, -d, -f, -z, -s');
  const info = await statOrNull(await ctx.fs(), path, ctx);
  const ok = info !== null && (
    o.exists ? true
      : o.directory ? info.type === 'directory'
        : o.file ? info.type === 'file'
          : o.zero ? info.type === 'file' && info.length === 0
            : info.length > 0);
  if (!ok) process.exitCode = 1;
}

// ---- data --------------------------------------------------------------------------------

async function streamOut(src: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of src) await writeTo(process.stdout, chunk);
}

async function cat(ctx: ClientContext, path: string): Promise<void> {
  const fs = await ctx.fs();
  await streamOut(fs.readFile(path, { ...commonOf(ctx.call), ...readTypeOf(ctx) }));
}

function readTypeOf(ctx: ClientContext): { readType?: NonNullable<ClientContext['call']['readType']> } {
  return ctx.call.readType ? { readType: ctx.call.readType } : {};
}

function writeTypeOf(ctx: ClientContext): { writeType?: NonNullable<ClientContext['call']['writeType']> } {
  return ctx.call.writeType ? { writeType: ctx.call.writeType } : {};
}

async function headTail(which: 'head' | 'tail', ctx: ClientContext, path: string): Promise<void> {
  const n = parseSizeArg(String(ctx.opts.bytes ?? '1KB'), '-c');
  const fs = await ctx.fs();
  const base = { ...commonOf(ctx.call), ...readTypeOf(ctx) };
  if (which === 'tail' && ctx.opts.follow) return followFile(ctx, fs, path, n);
  if (n === 0) return;
  await streamOut(fs.readFile(path, which === 'head' ? { ...base, offset: 0, length: n } : { ...base, tail: n }));
}

async function touch(ctx: ClientContext, path: string): Promise<void> {
  const info = await (await ctx.fs()).writeFile(path, new Uint8Array(0), { ...commonOf(ctx.call), ...writeTypeOf(ctx) });
  await done(ctx, `${path} has been created`, fileInfoJson(info));
}

async function mkdirCmd(ctx: ClientContext, path: string): Promise<void> {
  const p = Boolean(ctx.opts.parents);
  const fs = await ctx.fs();
  // -p of an existing directory succeeds, but says so instead of claiming to create it.
  const before = p ? await statOrNull(fs, path, ctx) : null;
  const info = await fs.createDirectory(path, {
    ...commonOf(ctx.call), ...writeTypeOf(ctx), recursive: p, allowExists: p,
  });
  const created = !(before?.type === 'directory');
  await done(ctx, created ? `Successfully created directory ${info.path}` : `Directory ${info.path} already exists`,
    { ...fileInfoJson(info), created });
}

async function rmCmd(ctx: ClientContext, path: string): Promise<void> {
  await (await ctx.fs()).delete(path, {
    ...commonOf(ctx.call), recursive: Boolean(ctx.opts.recursive || ctx.opts.r), strataOnly: Boolean(ctx.opts.strataOnly),
  });
  await done(ctx, `${path} has been removed`);
}

async function mv(ctx: ClientContext, src: string, dst: string): Promise<void> {
  const fs = await ctx.fs();
  // `mv F DIR` moves F into DIR: name the path it ends up at.
  const dstInfo = await statOrNull(fs, dst, ctx);
  const srcName = src.replace(/\/+$/, '').split('/').pop() ?? '';
  const final = dstInfo?.type === 'directory' ? joinPath(dstInfo.path, srcName) : dst;
  await fs.rename(src, dst, commonOf(ctx.call));
  await done(ctx, `Renamed ${src} to ${final}`, { ok: true, path: final });
}

/** Local files and directories under `root`, parents before children. */
async function* walkLocal(root: string): AsyncGenerator<{ path: string; rel: string; dir: boolean; size: number }> {
  const queue: string[] = [''];
  for (let rel = queue.shift(); rel !== undefined; rel = queue.shift()) {
    const dirPath = rel ? join(root, rel) : root;
    for await (const d of await opendir(dirPath)) {
      const childRel = rel ? `${rel}/${d.name}` : d.name;
      const full = join(root, childRel);
      const s = await stat(full); // follows symbolic links, like cp -L
      if (s.isDirectory()) {
        yield { path: full, rel: childRel, dir: true, size: 0 };
        queue.push(childRel);
      } else if (s.isFile()) {
        yield { path: full, rel: childRel, dir: false, size: s.size };
      }
    }
  }
}

async function* counted(src: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const c of src) {
    onBytes(c.byteLength);
    yield c;
  }
}

async function copyFromLocal(ctx: ClientContext, local: string, path: string): Promise<void> {
  if (local === '-') return copyFromStdin(ctx, path);
  const src = resolve(local);
  const s = await stat(src).catch((err: NodeJS.ErrnoException) => {
    throw new StrataError(ErrorCode.NOT_FOUND, `local path ${src} cannot be read: ${err.code ?? err.message}`, { cause: err });
  });
  const fs = await ctx.fs();
  const existing = await statOrNull(fs, path, ctx);
  const target = existing?.type === 'directory' ? joinPath(path, basename(src)) : path;
  const opts = { ...commonOf(ctx.call), ...writeTypeOf(ctx), recursive: true, overwrite: Boolean(ctx.opts.overwrite) };
  let files = 0;
  let bytes = 0;
  if (s.isDirectory()) {
    const entries: Array<{ path: string; rel: string; dir: boolean; size: number }> = [];
    for await (const e of walkLocal(src)) entries.push(e);
    const bar = createProgress(`copy ${basename(src)}`, 'bytes', entries.reduce((a, e) => a + e.size, 0));
    await fs.createDirectory(target, { ...commonOf(ctx.call), ...writeTypeOf(ctx), recursive: true, allowExists: true });
    for (const e of entries.filter((x) => x.dir)) {
      await fs.createDirectory(joinPath(target, e.rel), { ...commonOf(ctx.call), ...writeTypeOf(ctx), recursive: true, allowExists: true });
    }
    const { default: pLimit } = await import('p-limit');
    const limit = pLimit(4);
    try {
      await Promise.all(entries.filter((x) => !x.dir).map((e) => limit(async () => {
        await fs.writeFile(joinPath(target, e.rel), counted(createReadStream(e.path), (n) => bar.add(n)), opts);
        files++;
        bytes += e.size;
      })));
    } finally {
      bar.stop();
    }
  } else if (s.isFile()) {
    const bar = createProgress(`copy ${basename(src)}`, 'bytes', s.size);
    try {
      await fs.writeFile(target, counted(createReadStream(src), (n) => bar.add(n)), opts);
    } finally {
      bar.stop();
    }
    files = 1;
    bytes = s.size;
  } else {
    throw usageError(`copyFromLocal: ${src} is neither a file nor a directory`);
  }
  await done(ctx, `Copied file://${src} to ${target} (${files} file${files === 1 ? '' : 's'}, ${formatSize(bytes)})`,
    { path: target, files, bytes });
}

async function downloadFile(fs: FileSystem, ctx: ClientContext, path: string, local: string, onBytes: (n: number) => void): Promise<void> {
  const sink = await openLocalForWrite(local, Boolean(ctx.opts.overwrite));
  try {
    await pipeline(counted(fs.readFile(path, { ...commonOf(ctx.call), ...readTypeOf(ctx) }), onBytes), sink);
  } catch (err) {
    await rm(local, { force: true }).catch(() => {});
    throw localFsError(err, local);
  }
}

/** A failure of the local side of a copy as a StrataError with the code that tells the truth. */
function localFsError(err: unknown, local: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const mapped = ({ ENOENT: ErrorCode.NOT_FOUND, ENOTDIR: ErrorCode.NOT_A_DIRECTORY, EISDIR: ErrorCode.IS_A_DIRECTORY,
    EACCES: ErrorCode.PERMISSION_DENIED, EPERM: ErrorCode.PERMISSION_DENIED, EEXIST: ErrorCode.ALREADY_EXISTS } as Record<string, ErrorCode>)[String(code)];
  if (!mapped || err instanceof StrataError) return err;
  const what = code === 'ENOENT' ? `local directory does not exist: ${dirname(local)}` : `local path ${local}: ${(err as Error).message}`;
  return new StrataError(mapped, what, { cause: err });
}

async function copyToLocal(ctx: ClientContext, path: string, local: string): Promise<void> {
  if (local === '-') return copyToStdout(ctx, path);
  const fs = await ctx.fs();
  const info = await fs.getStatus(path, commonOf(ctx.call));
  const dst = resolve(local);
  const dstStat = await stat(dst).catch(() => null);
  const target = dstStat?.isDirectory() ? join(dst, info.name || 'root') : dst;
  let files = 0;
  let bytes = 0;
  const bar = createProgress(`copy ${info.name || '/'}`, 'bytes', info.type === 'file' ? info.length : undefined);
  try {
    if (info.type === 'file') {
      await downloadFile(fs, ctx, path, target, (n) => bar.add(n));
      files = 1;
      bytes = info.length;
    } else {
      await mkdir(target, { recursive: true });
      const prefix = info.path === '/' ? '/' : info.path + '/';
      const { default: pLimit } = await import('p-limit');
      const limit = pLimit(4);
      for await (const page of fs.listStatus(path, { ...commonOf(ctx.call), recursive: true })) {
        const jobs: Array<Promise<void>> = [];
        for (const f of page) {
          const rel = f.path.startsWith(prefix) ? f.path.slice(prefix.length) : f.name;
          const localPath = join(target, ...rel.split('/'));
          if (f.type === 'directory') {
            await mkdir(localPath, { recursive: true });
          } else {
            jobs.push(limit(async () => {
              await downloadFile(fs, ctx, f.path, localPath, (n) => bar.add(n));
              files++;
              bytes += f.length;
            }));
          }
        }
        await Promise.all(jobs);
      }
    }
  } finally {
    bar.stop();
  }
  await done(ctx, `Copied ${path} to file://${target} (${files} file${files === 1 ? '' : 's'}, ${formatSize(bytes)})`,
    { path: target, files, bytes });
}

// ---- mounts ------------------------------------------------------------------------------

function parseKeyValues(list: unknown, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of (list as string[] | undefined) ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw usageError(`${flag}: ${JSON.stringify(kv)} is not key=value`);
    out[kv.slice(0, i).trim()] = kv.slice(i + 1);
  }
  return out;
}

async function mount(ctx: ClientContext, path?: string, uri?: string): Promise<void> {
  const fs = await ctx.fs();
  if (path === undefined) {
    const mounts = await fs.getMountTable();
    return ctx.json ? printJson(mounts.map(mountJson)) : out(formatMounts(mounts));
  }
  if (uri === undefined) throw usageError('mount: give both PATH and URI (or nothing to list the mounts)');
  const options = parseKeyValues(ctx.opts.option, '--option');
  await fs.mount(path, uri, { readOnly: Boolean(ctx.opts.readonly), options });
  await done(ctx, `Mounted ${uri} at ${path}`);
}

async function unmount(ctx: ClientContext, path: string): Promise<void> {
  await (await ctx.fs()).unmount(path);
  await done(ctx, `Unmounted ${path}`);
}

// ---- cache and persistence ---------------------------------------------------------------

/** What free kept and why (one line per listed file, and how many more). */
function keptSummary(r: CacheOpResult): string {
  if (!r.keptFiles) return '';
  const listed = r.kept ?? [];
  const more = r.keptFiles - listed.length;
  return `\nkept ${r.keptFiles} file${r.keptFiles === 1 ? '' : 's'} (${formatSize(r.keptBytes ?? 0)}) whose data cannot be freed:` +
    listed.map((k) => `\n  ${k.path}: ${k.reason}`).join('') + (more > 0 ? `\n  ... and ${more} more` : '');
}

const opSummary = (r: CacheOpResult): string => `${r.files} file${r.files === 1 ? '' : 's'}, ${formatSize(r.bytes)}`;

async function load(ctx: ClientContext, path: string): Promise<void> {
  const bar = createProgress(`load ${path}`, 'bytes');
  let r: CacheOpResult;
  try {
    r = await (await ctx.fs()).load(path, { ...commonOf(ctx.call), recursive: true, onProgress: (p) => bar.update(p) });
  } finally {
    bar.stop();
  }
  await done(ctx, `${path} loaded into the cache (${opSummary(r)})`, r);
}

async function cacheOp(ctx: ClientContext, path: string, op: 'free' | 'persist' | 'pin' | 'unpin'): Promise<void> {
  const fs = await ctx.fs();
  const o = { ...commonOf(ctx.call), recursive: true };
  const r = op === 'free' ? await fs.free(path, o)
    : op === 'persist' ? await fs.persist(path, o)
      : await fs.setPinned(path, op === 'pin', o);
  const verb = { free: 'freed from the cache', persist: 'persisted', pin: 'pinned', unpin: 'unpinned' }[op];
  await done(ctx, `${path} was ${verb} (${opSummary(r)})${keptSummary(r)}`, r);
}

async function setTtl(ctx: ClientContext, path: string, duration: string): Promise<void> {
  let ms: number;
  try {
    ms = parseDuration(duration, 'setTtl');
  } catch (err) {
    throw usage(err);
  }
  const action = String(ctx.opts.action ?? 'delete').toLowerCase();
  if (action !== 'free' && action !== 'delete') throw usageError(`--action: ${JSON.stringify(ctx.opts.action)} is not free or delete`);
  await (await ctx.fs()).setTtl(path, ms, action as TtlAction);
  await done(ctx, ms < 0 ? `TTL of ${path} cleared` : `TTL of ${path} set to ${formatDuration(ms)} (action: ${action})`,
    { path, ttlMs: ms, action });
}

// ---- metadata sync -----------------------------------------------------------------------

async function loadMetadata(ctx: ClientContext, path: string): Promise<void> {
  const bar = createProgress(`sync ${path}`, 'items');
  let r;
  try {
    r = await (await ctx.fs()).loadMetadata(path, {
      ...commonOf(ctx.call), recursive: Boolean(ctx.opts.recursive), onProgress: (p) => bar.update(p),
    });
  } finally {
    bar.stop();
  }
  const { created, updated, deleted, unchanged, failed } = r;
  await printJson({ created, updated, deleted, unchanged, failed });
}

async function checkConsistency(ctx: ClientContext, path: string): Promise<void> {
  const r = await (await ctx.fs()).checkConsistency(path, {
    ...commonOf(ctx.call), recursive: ctx.opts.recursive !== false, repair: Boolean(ctx.opts.repair),
  });
  // Exit 1 when anything was inconsistent (also when repaired: it was found), 0 when clean.
  if (r.inconsistent.length > 0) process.exitCode = 1;
  if (ctx.json) return printJson(r);
  if (r.inconsistent.length === 0) return out(`${path} is consistent with the under storage\n`);
  const only = new Set(r.ufsOnly ?? []);
  const gone = new Set(r.deleted ?? []);
  const kindOf = (p: string): string => (only.has(p) ? 'only in the UFS' : gone.has(p) ? 'missing in the UFS' : 'changed in the UFS');
  await out(`${path} has ${r.inconsistent.length} inconsistent path${r.inconsistent.length === 1 ? '' : 's'}:\n` +
    r.inconsistent.map((p) => `  ${p} (${kindOf(p)})\n`).join('') + (ctx.opts.repair ? `repaired ${r.repaired}\n` : ''));
}

async function syncOp(ctx: ClientContext, path: string, op: 'needsSync' | 'startSync' | 'stopSync'): Promise<void> {
  const fs = await ctx.fs();
  await (op === 'needsSync' ? fs.needsSync(path) : op === 'startSync' ? fs.startSync(path) : fs.stopSync(path));
  const msg = { needsSync: `${path} will be synced on its next access`, startSync: `Started active sync on ${path}`, stopSync: `Stopped active sync on ${path}` }[op];
  await done(ctx, msg);
}

async function getSyncPathList(ctx: ClientContext): Promise<void> {
  const list = await (await ctx.fs()).getSyncPathList();
  if (ctx.json) return printJson(list);
  if (list.length === 0) return out('No active sync points\n');
  await out(formatTable([['Path', 'State', 'Events', 'Last event', 'Message'],
    ...list.map((s) => [s.path, s.degradedAtMs ? `${s.state} since ${new Date(s.degradedAtMs).toISOString()}` : s.state, String(s.eventsApplied), s.lastEventMs ? new Date(s.lastEventMs).toISOString() : '-', s.message ?? ''])]));
}

// ---- wiring ------------------------------------------------------------------------------

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** The `fs` command group with all its subcommands. */
export function fsCommand(): Command {
  const fs = addGroupCallOptions(addClientOptions(new Command('fs'))
    .description('file system commands against a running strata server')
    .showHelpAfterError(false));
  const sub = (spec: string, description: string): Command => addCallOptions(fs.command(spec).description(description));

  sub('ls [path]', 'list a directory (or a file) — mode, size, persistence state, date, cached share, path')
    .option('-R, --recursive', 'list the whole subtree, depth first')
    .option('-f, --force-sync', 'sync with the under storage first (sync interval 0)')
    .option('-d, --directory', 'list the directory itself, not its entries')
    .option('-h, --human-readable', 'sizes as 1.5KB, 4MB, 2GB')
    .addHelpText('after', '\nExample:\n  $ strata fs ls -R /data')
    .action(clientAction(ls));
  sub('stat <path>', 'status of one path').addHelpText('after', '\nExample:\n  $ strata fs stat --json /data/a.csv').action(clientAction(statCmd));
  sub('cat <path>', 'write a file to stdout').action(clientAction(cat));
  for (const which of ['head', 'tail'] as const) {
    sub(`${which} <path>`, `print the ${which === 'head' ? 'first' : 'last'} bytes of a file (default 1KB)`)
      .option('-c, --bytes <size>', 'how many bytes (64, 4KB, 1MB)', '1KB')
      .action(clientAction((ctx, p) => headTail(which, ctx, p!)));
    if (which === 'tail') {
      fs.commands.at(-1)!
        .option('-f, --follow', 'keep printing what is appended (polls the file; Ctrl-C ends)')
        .option('-s, --sleep-interval <duration>', 'with -f: time between polls', '1s');
    }
  }
  sub('test <path>', 'test a path: exit 0 when true, 1 when false, no output')
    .option('-e, --exists', 'the path exists')
    .option('-d, --directory', 'the path is a directory')
    .option('-f, --file', 'the path is a file')
    .option('-z, --zero', 'the path is a file of length zero')
    .option('-s, --non-empty', 'the path is a non-empty file or directory')
    .action(clientAction(testCmd));
  sub('touch <path>', 'create an empty file').action(clientAction(touch));
  sub('mkdir <path>', 'create a directory')
    .option('-p, --parents', 'create missing parents; no error if it exists')
    .action(clientAction(mkdirCmd));
  sub('rm <path>', 'remove a file or directory')
    .option('-R, --recursive', 'remove a directory and everything under it')
    .option('-r', 'same as -R')
    .option('--strata-only', 'remove from Strata only, leave the under storage alone')
    .action(clientAction(rmCmd));
  sub('mv <src> <dst>', 'rename a file or directory').action(clientAction(mv));
  sub('copyFromLocal <local> <path>', 'copy a local file or directory into Strata (`-` reads stdin; streams; progress on a terminal)')
    .option('-f, --overwrite', 'replace existing files')
    .action(clientAction(copyFromLocal));
  sub('copyToLocal <path> <local>', 'copy a Strata file or directory to local disk (`-` writes stdout; streams; progress on a terminal)')
    .option('-f, --overwrite', 'replace existing local files (refused otherwise)')
    .action(clientAction(copyToLocal));
  sub('du <path>', 'sizes and cached bytes of the files under a path')
    .option('-s, --summarize', 'one total for the path')
    .option('-h, --human-readable', 'sizes as 1.5KB, 4MB, 2GB')
    .action(clientAction(du));
  sub('count <path>', 'number of files, directories and bytes under a path').action(clientAction(count));
  sub('mount [path] [uri]', 'mount an under storage at a path; without arguments list the mounts')
    .option('--readonly', 'refuse writes under this mount')
    .option('--option <key=value>', 'mount option (repeatable): credentials, endpoint, region, config keys', collect, [])
    .addHelpText('after', '\nExamples:\n  $ strata fs mount /local file:///srv/data\n  $ strata fs mount --readonly --option s3.endpoint=http://127.0.0.1:9000 /s3 s3://bucket/prefix')
    .action(clientAction(mount));
  sub('unmount <path>', 'remove a mount').action(clientAction(unmount));
  sub('load <path>', 'cache the data of a file or subtree (progress on a terminal)')
    .option('-R, --recursive', 'accepted for compatibility; directories are always loaded whole')
    .action(clientAction(load));
  for (const op of ['free', 'persist', 'pin', 'unpin'] as const) {
    const what = { free: 'drop the cached data of persisted files', persist: 'write files to the under storage now', pin: 'keep files in the cache', unpin: 'let pinned files be evicted again' }[op];
    sub(`${op} <path>`, `${what} (a directory: its whole subtree)`).action(clientAction((ctx, p) => cacheOp(ctx, p!, op)));
  }
  sub('setTtl <path> <duration>', 'set a time to live (-1 clears it)')
    .addOption(new Option('--action <action>', 'what happens on expiry').choices(['free', 'delete']).default('delete'))
    .action(clientAction(setTtl));
  sub('loadMetadata <path>', 'sync metadata from the under storage now; prints {created, updated, deleted, unchanged, failed}')
    .option('-R, --recursive', 'the whole subtree')
    .action(clientAction(loadMetadata));
  // Alluxio's spelling: the whole subtree is checked, and -r repairs.
  sub('checkConsistency <path>', 'compare Strata with the under storage (the whole subtree)')
    .option('-r, --repair', 'repair what differs (reload it from the under storage)')
    .option('-R, --recursive', 'the whole subtree (the default; kept for scripts that pass it)')
    .option('--no-recursive', 'only the path and, for a directory, its direct entries')
    .action(clientAction(checkConsistency));
  for (const op of ['needsSync', 'startSync', 'stopSync'] as const) {
    const what = { needsSync: 'forget when a path was synced: its next access syncs it', startSync: 'start active sync (change notifications) on a path', stopSync: 'stop active sync on a path' }[op];
    sub(`${op} <path>`, what).action(clientAction((ctx, p) => syncOp(ctx, p!, op)));
  }
  sub('getSyncPathList', 'list the active sync points').action(clientAction(getSyncPathList));
  addMoreFsCommands(fs, sub);
  applyHelpLayout(fs);
  return fs;
}
