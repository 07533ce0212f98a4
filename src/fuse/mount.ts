// A FUSE mount of a Strata namespace: turns mount options (`-o key=value`) into libfuse
// options and StrataFuse settings, cleans a stale mount left by a killed daemon, mounts,
// and unmounts cleanly (open writers committed first). Used by `strata fuse mount` and tests.

import { readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDuration, parseSize } from '../config/units.js';
import { invalidArgument } from '../errors.js';
import type { FileSystem } from '../fs.js';
import { logger as defaultLogger } from '../log.js';
import type { Logger } from '../log.js';
import { normalizePath } from '../meta/path.js';
import { READ_TYPES, WRITE_TYPES } from '../types.js';
import type { CreateFileOptions, ReadOptions, ReadType, WriteType } from '../types.js';
import { forceUnmount, mountFuse } from './binding.js';
import type { FuseMount } from './binding.js';
import { errnoOf } from './errno.js';
import { StrataFuse } from './strata-fuse.js';
import type { LocalBlockFiles } from './strata-fuse.js';
import { ShortCircuitReads } from './short-circuit.js';
import type { LocalBlocksLookup } from './short-circuit.js';

/** Strata's own mount options (`-o key=value`); anything else goes to libfuse as it is. */
export const FUSE_KEYS = {
  'fuse.attr.timeout': 'kernel attribute cache time (duration; default from the sync interval)',
  'fuse.entry.timeout': 'kernel name lookup cache time (duration; default from the sync interval)',
  'fuse.default.uid': 'owner of entries whose inode has none (default: the mounting user)',
  'fuse.default.gid': 'group of entries whose inode has none (default: the mounting group)',
  'fuse.write.buffer': 'sequential bytes kept in memory before a write streams to the server (default 4MB)',
  'fuse.staging.dir': 'directory of staged random writes (default: DATA_DIR/fuse-staging or a temp dir)',
  'fuse.op.timeout': 'longest a FUSE call may take before it fails with ETIMEDOUT (default 5min; 0 none)',
  'fuse.read.ahead': 'kernel read-ahead of the mount (size; default 4MB, set through /sys/class/bdi when mounted by root; 0 leaves the kernel\'s 128KB)',
  'fuse.short.circuit': 'over TCP to a server on this host: read cached files from the server\'s block files directly (true/false; default true)',
  'fuse.xattrs': 'serve extended attributes (user.strata.*); false: none, the kernel stops asking after the first (ls -l then costs no xattr round trips; default true)',
  'write.type': 'write type of files written through the mount (default: the path\'s)',
  'read.type': 'read type of reads through the mount (default: the path\'s)',
} as const;

/** Default kernel read-ahead of a mount (bytes; `fuse.read.ahead`). */
export const DEFAULT_READ_AHEAD = 4 << 20;

/** Longest kernel cache time derived from a sync interval of -1 (never re-check): rclone's dir-cache-time. */
const LONG_TIMEOUT_MS = 300_000;

export interface FuseMountRequest {
  fs: FileSystem;
  mountpoint: string;
  /** Strata path shown at the mount point (default /). */
  root?: string;
  readOnly?: boolean;
  /** `-o` entries: `key=value` or bare flags. */
  options?: string[];
  /** The sync interval of the root path (ms), when known: sets the default kernel timeouts. */
  syncIntervalMs?: number;
  /** Default staging directory (the embedded data directory's, else a temp dir). */
  stagingDir?: string;
  /** Shown as the file-system name (`df`, /proc/mounts). */
  source?: string;
  log?: Logger;
  /** The block cache's files when it is in this process (embedded): whole cached files are read from them directly. */
  localBlocks?: LocalBlockFiles;
}

export interface StrataFuseMount {
  readonly mountpoint: string;
  readonly handlers: StrataFuse;
  /** Commit open writers, unmount, stop. Idempotent. */
  unmount(): Promise<void>;
}

/** Kernel cache time (ms) for a sync interval: 0 → 0, -1 → long, d → d (capped). */
export function timeoutForInterval(intervalMs: number | undefined): number {
  if (intervalMs === undefined || intervalMs < 0) return LONG_TIMEOUT_MS;
  return Math.min(intervalMs, LONG_TIMEOUT_MS);
}

/** Split `-o` entries into Strata's keys and libfuse's options. */
export function parseMountOptions(entries: readonly string[]): { strata: Record<string, string>; fuse: string[] } {
  const strata: Record<string, string> = {};
  const fuse: string[] = [];
  for (const raw of entries.flatMap((e) => e.split(','))) {
    const e = raw.trim();
    if (!e) continue;
    const eq = e.indexOf('=');
    const key = eq < 0 ? e : e.slice(0, eq);
    if (key in FUSE_KEYS) {
      if (eq < 0) throw invalidArgument(`-o ${key} needs a value (${key}=…)`);
      strata[key] = e.slice(eq + 1);
    } else if (key.startsWith('fuse.')) {
      throw invalidArgument(`unknown mount option ${key} (known: ${Object.keys(FUSE_KEYS).join(', ')})`);
    } else {
      if (!/^[a-z_][a-z0-9_]*(=[^,]*)?$/i.test(e)) throw invalidArgument(`bad FUSE mount option ${JSON.stringify(e)}`);
      fuse.push(e);
    }
  }
  return { strata, fuse };
}

function intOption(strata: Record<string, string>, key: string, fallback: number): number {
  const v = strata[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument(`-o ${key} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * The kernel gives a FUSE mount 128 KB of read-ahead (libfuse 2.9 cannot ask for more), so a
 * sequential reader has one or two 128 KB requests in flight; root may raise it per mount in
 * /sys/class/bdi/MAJOR:MINOR/read_ahead_kb, which keeps more requests in flight at once.
 */
async function setReadAhead(mountpoint: string, bytes: number, log: Logger): Promise<void> {
  try {
    // The device number from mountinfo, not stat(): a stat would put the root's attributes in
    // the kernel's cache, and a killed daemon's mount would then not say ENOTCONN at once.
    const line = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((l) => l.split(' ')[4] === mountpoint);
    const dev = line?.split(' ')[2];
    if (!dev || !/^\d+:\d+$/.test(dev)) throw new Error(`${mountpoint} not in /proc/self/mountinfo`);
    await writeFile(`/sys/class/bdi/${dev}/read_ahead_kb`, String(Math.max(4, Math.round(bytes / 1024))));
  } catch (err) {
    log.debug({ err: (err as Error).message, mountpoint }, 'could not set the read-ahead of the mount (kept the kernel default)');
  }
}

/** Is `dir` a mount whose daemon is gone ("Transport endpoint is not connected")? */
export async function isStaleMount(dir: string): Promise<boolean> {
  try {
    await stat(dir);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOTCONN';
  }
}

/** Mount `fs` at `mountpoint` and resolve once the kernel answers on it. */
export async function mountStrata(req: FuseMountRequest): Promise<StrataFuseMount> {
  const log = req.log ?? defaultLogger;
  const mountpoint = resolve(req.mountpoint);
  const root = normalizePath(req.root ?? '/');
  const { strata, fuse } = parseMountOptions(req.options ?? []);
  const dur = (key: string, fallback: number): number => (strata[key] !== undefined ? parseDuration(strata[key]!, key) : fallback);
  const cacheMs = timeoutForInterval(req.syncIntervalMs);
  const attrMs = dur('fuse.attr.timeout', cacheMs);
  const entryMs = dur('fuse.entry.timeout', cacheMs);
  const opTimeout = dur('fuse.op.timeout', 5 * 60_000);
  const writeType = strata['write.type']?.toUpperCase();
  const readType = strata['read.type']?.toUpperCase();
  if (writeType !== undefined && !(WRITE_TYPES as readonly string[]).includes(writeType)) throw invalidArgument(`-o write.type must be one of ${WRITE_TYPES.join(', ')}`);
  if (readType !== undefined && !(READ_TYPES as readonly string[]).includes(readType)) throw invalidArgument(`-o read.type must be one of ${READ_TYPES.join(', ')}`);
  const writeOptions: CreateFileOptions = writeType ? { writeType: writeType as WriteType } : {};
  const readOptions: ReadOptions = readType ? { readType: readType as ReadType } : {};
  const uid = intOption(strata, 'fuse.default.uid', process.getuid?.() ?? 0);
  const gid = intOption(strata, 'fuse.default.gid', process.getgid?.() ?? 0);
  const stagingBase = strata['fuse.staging.dir'] ?? req.stagingDir ?? tmpdir();
  const stagingDir = join(stagingBase, `strata-fuse-${process.pid}-${Date.now().toString(36)}`);
  const sc = strata['fuse.short.circuit'] ?? 'true';
  if (sc !== 'true' && sc !== 'false') throw invalidArgument(`-o fuse.short.circuit must be true or false, got ${JSON.stringify(sc)}`);
  // A TCP client (StrataClient) can ask its server for block files; the server answers only loopback peers.
  const lookupFn = (req.fs as { getLocalBlocks?: unknown }).getLocalBlocks;
  const shortCircuit = sc === 'true' && !req.localBlocks && typeof lookupFn === 'function'
    ? new ShortCircuitReads(((p: string) => lookupFn.call(req.fs, p)) as LocalBlocksLookup, log)
    : undefined;
  const xattrs = strata['fuse.xattrs'] ?? 'true';
  if (xattrs !== 'true' && xattrs !== 'false') throw invalidArgument(`-o fuse.xattrs must be true or false, got ${JSON.stringify(xattrs)}`);
  const handlers = new StrataFuse({
    fs: req.fs, root, readOnly: !!req.readOnly, defaultUid: uid, defaultGid: gid,
    attrTimeoutMs: attrMs, stagingDir,
    writeBufferBytes: strata['fuse.write.buffer'] !== undefined ? parseSize(strata['fuse.write.buffer'], 'fuse.write.buffer') : 4 << 20,
    writeOptions, readOptions, log, ...(req.localBlocks ? { localBlocks: req.localBlocks } : {}),
    ...(shortCircuit ? { shortCircuit } : {}),
  });
  // A stat of the root first: a wrong --root fails here, not as EIO in the mount.
  const top = await req.fs.getStatus(root);
  if (top.type !== 'directory') throw invalidArgument(`--root ${root} is a file, not a directory`);
  if (await isStaleMount(mountpoint)) {
    log.warn({ mountpoint }, 'cleaning a stale FUSE mount left by a daemon that is gone');
    if (!(await forceUnmount(mountpoint))) throw invalidArgument(`${mountpoint} is a stale mount that could not be unmounted (fusermount3 -u -z ${mountpoint})`);
  }
  const st = await stat(mountpoint).catch((err: NodeJS.ErrnoException) => {
    throw invalidArgument(`mount point ${mountpoint}: ${err.code === 'ENOENT' ? 'no such directory' : err.message}`);
  });
  if (!st.isDirectory()) throw invalidArgument(`mount point ${mountpoint} is not a directory`);
  await handlers.start();
  const asRoot = (process.getuid?.() ?? 1) === 0;
  const secs = (ms: number): string => String(Math.round(ms) / 1000);
  const options = [
    `fsname=${(req.source ?? 'strata').replace(/[,\s]/g, '_')}`, 'subtype=strata',
    'default_permissions', ...(asRoot ? ['allow_other'] : []),
    'big_writes', 'max_write=1048576', 'max_read=1048576', 'atomic_o_trunc', 'auto_cache',
    `attr_timeout=${secs(attrMs)}`, `entry_timeout=${secs(entryMs)}`, 'negative_timeout=0',
    ...(req.readOnly ? ['ro'] : []),
    ...fuse,
  ];
  let mount: FuseMount;
  try {
    mount = await mountFuse(mountpoint, handlers, {
      options,
      errnoOf: (err) => errnoOf(err, log),
      timeoutMs: opTimeout > 0 ? opTimeout : false,
      xattrs: xattrs === 'true',
    });
  } catch (err) {
    await handlers.stop().catch(() => undefined);
    throw err;
  }
  // 4 MiB: with 1 MiB requests (FUSE_MAX_PAGES) a sequential reader keeps several in flight,
  // served on libfuse's threads at once, as 1 MiB did with 128 KiB requests.
  const readAhead = strata['fuse.read.ahead'] !== undefined ? parseSize(strata['fuse.read.ahead'], 'fuse.read.ahead') : DEFAULT_READ_AHEAD;
  if (readAhead > 0 && asRoot) await setReadAhead(mountpoint, readAhead, log);
  let stopping: Promise<void> | undefined;
  return {
    mountpoint,
    handlers,
    unmount() {
      stopping ??= (async () => {
        await handlers.stop().catch((err) => log.warn({ err }, 'committing open files at unmount failed'));
        try {
          await mount.unmount();
        } catch (err) {
          log.debug({ err: (err as Error).message, mountpoint }, 'unmount failed (already unmounted?); unmounting lazily');
          await forceUnmount(mountpoint);
        }
      })();
      return stopping;
    },
  };
}
