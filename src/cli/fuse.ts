// `strata fuse mount|unmount`: the POSIX mount daemon. Foreground by default (SIGTERM/SIGINT
// unmount cleanly, an outside `fusermount3 -u` ends it too); `--background` starts the same
// command detached and returns once the mount answers. Prints exactly one line when mounted:
// `strata fuse mounted SOURCE at DIR`.

import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ErrorCode, StrataError, toStrataError } from '../errors.js';
import type { FileSystem } from '../fs.js';
import { DEFAULT_ADDRESS, connectionError, parseAddress } from './context.js';
import { printError, usageError } from './format.js';
import { buildServerConfig } from './server.js';

interface MountCliOptions {
  address: string;
  token?: string;
  root: string;
  readOnly: boolean;
  option: string[];
  background: boolean;
  embedded: boolean;
  dataDir?: string;
  preset?: string;
  config?: string;
  define: string[];
  logFile?: string;
}

const CHILD_ENV = 'STRATA_FUSE_DAEMON';

/** The sync interval that applies to `root` as far as a client can tell (pathConf, then mount options). */
async function clientSyncInterval(fs: FileSystem, root: string): Promise<number | undefined> {
  const { parseDuration } = await import('../config/units.js');
  const under = (p: string): boolean => p === '/' || root === p || root.startsWith(p + '/');
  const pick = (entries: Array<{ path: string; props: Record<string, string> }>): number | undefined => {
    const hit = entries.filter((e) => under(e.path) && e.props['metadata.sync.interval'] !== undefined)
      .sort((a, b) => b.path.length - a.path.length)[0];
    return hit ? parseDuration(hit.props['metadata.sync.interval']!) : undefined;
  };
  try {
    const fromConf = pick((await fs.listPathConf()).map((e) => ({ path: e.path, props: e.properties })));
    if (fromConf !== undefined) return fromConf;
  } catch {
    // pathConf is an admin call: a user's mount goes on with the mount table
  }
  try {
    return pick((await fs.getMountTable()).map((m) => ({ path: m.path, props: m.options })));
  } catch {
    return undefined;
  }
}

async function runMount(mountpoint: string, opts: MountCliOptions): Promise<void> {
  if (opts.background && !process.env[CHILD_ENV]) return startBackground(mountpoint, opts);
  const { fuseAvailable } = await import('../fuse/binding.js');
  const ok = fuseAvailable();
  if (!ok.ok) throw new StrataError(ErrorCode.FAILED_PRECONDITION, `cannot mount: ${ok.why}`);
  const { logger } = await import('../log.js');
  const { mountStrata } = await import('../fuse/mount.js');
  const stop = stopSignal();
  let fs: FileSystem;
  let source: string;
  let syncIntervalMs: number | undefined;
  let stagingDir: string | undefined;
  let localBlocks: import('../fuse/strata-fuse.js').LocalBlockFiles | undefined;
  if (opts.embedded) {
    if (!opts.dataDir) throw usageError('--embedded needs --data-dir DIR');
    const { Coordinator } = await import('../coordinator/coordinator.js');
    const config = await buildServerConfig({ preset: opts.preset, config: opts.config, define: opts.define });
    const dataDir = resolve(opts.dataDir);
    const coordinator = await Coordinator.open({ dataDir, config, logger });
    fs = coordinator;
    source = `embedded:${dataDir}`;
    syncIntervalMs = config.get('metadata.sync.interval');
    stagingDir = join(dataDir, 'fuse-staging');
    localBlocks = coordinator.blocks;
  } else {
    const target = parseAddress(opts.address);
    const { StrataClient } = await import('../client/tcp-client.js');
    try {
      fs = await StrataClient.connect(target, { clientName: `strata-fuse/${process.pid}`, ...(opts.token ? { token: opts.token } : {}) });
    } catch (err) {
      throw connectionError(err, opts.address);
    }
    source = opts.address;
    syncIntervalMs = await clientSyncInterval(fs, opts.root);
  }
  let mount: Awaited<ReturnType<typeof mountStrata>>;
  try {
    mount = await mountStrata({
      fs, mountpoint, root: opts.root, readOnly: opts.readOnly, options: opts.option,
      syncIntervalMs, stagingDir, localBlocks, source: `strata:${source}${opts.root === '/' ? '' : opts.root}`, log: logger,
    });
  } catch (err) {
    await fs.close().catch(() => undefined);
    throw err;
  }
  const dir = resolve(mountpoint);
  process.stdout.write(`strata fuse mounted ${source}${opts.root === '/' ? '/' : opts.root} at ${dir}\n`);
  // An outside `fusermount3 -u DIR` (or `strata fuse unmount DIR`) ends the daemon too.
  const watch = setInterval(() => {
    if (!isMounted(dir)) stop.request('unmounted');
  }, 1000);
  const why = await stop.promise;
  clearInterval(watch);
  logger.info({ mountpoint: dir, why }, 'unmounting');
  const watchdog = setTimeout(() => {
    printError(toStrataError(new Error('unmount took longer than 60s; exiting')), false);
    process.exit(1);
  }, 60_000);
  watchdog.unref();
  await mount.unmount();
  await fs.close().catch(() => undefined);
  clearTimeout(watchdog);
}

/** True while `dir` is a mount point in this mount namespace. */
function isMounted(dir: string): boolean {
  try {
    const esc = dir.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
    return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === esc);
  } catch {
    return true;
  }
}

function stopSignal(): { promise: Promise<string>; request(why: string): void } {
  let requested = false;
  let resolveStop!: (s: string) => void;
  const promise = new Promise<string>((r) => { resolveStop = r; });
  const request = (why: string): void => {
    if (requested) return;
    requested = true;
    resolveStop(why);
  };
  const handler = (signal: NodeJS.Signals): void => {
    if (requested) {
      printError(toStrataError(new Error(`second ${signal} while unmounting; exiting now`)), false);
      process.exit(1);
    }
    request(signal);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  process.on('SIGHUP', handler);
  return { promise, request };
}

/** Start this command detached; resolve when its "mounted" line appears (its log goes to a file). */
async function startBackground(mountpoint: string, opts: MountCliOptions): Promise<void> {
  const logFile = resolve(opts.logFile ?? join(tmpdir(), `strata-fuse-${basename(resolve(mountpoint)) || 'root'}.log`));
  const argv = process.argv.slice(1).filter((a) => a !== '--background');
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...process.execArgv, ...argv], {
    detached: true,
    stdio: ['ignore', 'pipe', log],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  const line = await new Promise<string>((resolveLine, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new StrataError(ErrorCode.TIMEOUT, `the mount daemon did not answer within 60 s (log: ${logFile})`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /^strata fuse mounted .*$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveLine(m[0]);
      }
    });
    child.once('exit', async (code) => {
      clearTimeout(timer);
      const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).slice(-5).join('\n');
      reject(new StrataError(ErrorCode.INTERNAL, `the mount daemon exited (${code}) before mounting:\n${tail}`));
    });
  });
  child.stdout!.destroy();
  child.unref();
  process.stdout.write(`${line} (pid ${child.pid}, log ${logFile})\n`);
}

async function runUnmount(mountpoint: string, opts: { lazy: boolean }): Promise<void> {
  const dir = resolve(mountpoint);
  const { execFile } = await import('node:child_process');
  const run = (cmd: string, args: string[]) => new Promise<string | undefined>((r) => {
    execFile(cmd, args, (err, _o, stderr) => r(err ? (stderr || err.message).trim() : undefined));
  });
  const flags = opts.lazy ? ['-u', '-z'] : ['-u'];
  let err = await run('fusermount3', [...flags, dir]);
  if (err !== undefined && /not found|ENOENT/.test(err)) err = await run('fusermount', [...flags, dir]);
  if (err !== undefined) {
    const busy = /busy/i.test(err);
    throw new StrataError(busy ? ErrorCode.FAILED_PRECONDITION : ErrorCode.INVALID_ARGUMENT,
      `cannot unmount ${dir}: ${err}${busy ? ' (files are open; --lazy detaches now and unmounts when they close)' : ''}`);
  }
}

/** The `fuse` command group. */
export function fuseCommand(): Command {
  const fuse = new Command('fuse').description('mount the Strata namespace as a local directory (FUSE)');
  fuse.command('mount')
    .description('mount the namespace (or --root subtree) at MOUNTPOINT; runs until unmounted or signalled')
    .argument('<mountpoint>', 'an existing empty directory')
    .addOption(new Option('--address <host:port>', 'address of the strata server').env('STRATA_ADDRESS').default(DEFAULT_ADDRESS))
    .addOption(new Option('--token <accessKeyId:secret>', 'credential of the user the mount acts as').env('STRATA_TOKEN'))
    .option('--root <path>', 'Strata path shown at the mount point', '/')
    .option('--read-only', 'refuse every change (EROFS)', false)
    .option('-o, --option <key=value>', 'mount option (repeatable): fuse.attr.timeout, fuse.entry.timeout, fuse.default.uid, ' +
      'fuse.default.gid, fuse.write.buffer, fuse.staging.dir, fuse.op.timeout, write.type, read.type, or a libfuse option',
    (v: string, prev: string[] = []) => [...prev, v], [] as string[])
    .option('--background', 'detach once the mount answers (log to --log-file)', false)
    .option('--log-file <file>', 'log of a --background daemon (default /tmp/strata-fuse-NAME.log)')
    .option('--embedded', 'run a Coordinator in this process on --data-dir instead of connecting to a server', false)
    .option('--data-dir <dir>', 'data directory of --embedded')
    .addOption(new Option('--preset <name>', 'with --embedded: a recommended set-up'))
    .option('--config <file>', 'with --embedded: configuration file')
    .option('-D, --define <key=value>', 'with --embedded: a configuration key (repeatable)', (v: string, prev: string[] = []) => [...prev, v], [] as string[])
    .addHelpText('after', '\nExamples:\n  $ strata fuse mount /mnt/strata --address 127.0.0.1:19998\n' +
      '  $ strata fuse mount /mnt/data --root /data --read-only --background\n' +
      '  $ strata fuse mount /mnt/strata --embedded --data-dir ./strata-data -o write.type=MUST_CACHE\n' +
      '\nSee docs/fuse.md for the semantics and the errno table.')
    .action(async (mountpoint: string, opts: MountCliOptions) => {
      await runMount(mountpoint, opts);
    });
  fuse.command('unmount')
    .alias('umount')
    .description('unmount a strata FUSE mount (the daemon then exits)')
    .argument('<mountpoint>')
    .option('-z, --lazy', 'detach now even when files are open', false)
    .action(async (mountpoint: string, opts: { lazy: boolean }) => {
      await runUnmount(mountpoint, opts);
    });
  return fuse;
}
