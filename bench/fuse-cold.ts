// Cold sequential read through FUSE: a file Strata has never cached, read with `dd bs=1M` through
// an embedded Strata mount (an in-process Coordinator over a local UFS directory, as `strata fuse
// mount --embedded`) with the cold read-ahead (`cache.read.ahead.blocks=4`) and without it (0),
// beside `rclone mount --vfs-cache-mode off` of the same directory. The files of all rounds are
// written into the UFS directory first; each round reads its own file through the three mounts
// in a rotating order (A/B interleaved; the UFS file is in the OS page cache for all three
// alike), then frees it from both Strata caches. Prints MB/s per round and the ratios per round with the load average. Run as
// root: node --import tsx bench/fuse-cold.ts [--mb 256] [--rounds 5] [--json FILE].
// Every mount is unmounted at the end, also on failure.

import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ServerConfig } from '../src/config/keys.js';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { forceUnmount } from '../src/fuse/binding.js';
import { mountStrata } from '../src/fuse/mount.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const MB = arg('mb', 256);
const ROUNDS = arg('rounds', 5);
const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined;
const log = (m: string): void => { process.stderr.write(`[fuse-cold] ${m}\n`); };
const load = (): string => spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ');

/** Time `dd` of a whole file into /dev/null (asynchronous: one mount is served by this process). */
function ddMs(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    execFile('dd', [`if=${path}`, 'of=/dev/null', 'bs=1M'], { timeout: 600_000 }, (err, _out, stderr) => {
      if (err) reject(new Error(`dd ${path}: ${err.message}\n${stderr}`));
      else resolve(performance.now() - t0);
    });
  });
}

async function waitMounted(dir: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (spawnSync('mountpoint', ['-q', dir]).status === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${dir} did not get mounted`);
}

/** A file of `mb` MiB of random bytes (written in 8 MiB pieces). */
async function makeFile(path: string, mb: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const piece = randomBytes(8 << 20);
    for (let done = 0; done < mb; done += 8) await fh.write(piece, 0, Math.min(8, mb - done) << 20);
  } finally {
    await fh.close();
  }
}

interface Side { name: string; dir: string; coordinator?: Coordinator }

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (rclone --allow-other, the mount read-ahead setting)');
  const base = await mkdtemp(join(tmpdir(), 'strata-fuse-cold-'));
  await chmod(base, 0o755);
  const ufs = join(base, 'ufs');
  await mkdir(ufs);
  // Every round's file exists before the mounts list the directory (rclone keeps listings 5 min).
  for (let r = 0; r < ROUNDS; r++) await makeFile(join(ufs, `cold-${r}.bin`), MB);
  const sides: Side[] = [];
  const unmounts: Array<() => Promise<void>> = [];
  let rclone: ChildProcess | undefined;
  try {
    for (const [name, depth] of [['strata', 4], ['strata-no-ahead', 0]] as const) {
      const data = join(base, `data-${name}`);
      const dir = join(base, name);
      await mkdir(data);
      await mkdir(dir);
      const config = new ServerConfig([{
        'mount.allowed.roots': pathToFileURL(base).href, 'cache.capacity': `${Math.max(1024, MB * 4)}MB`, 'cache.read.ahead.blocks': String(depth),
      }]);
      const coordinator = await Coordinator.open({ dataDir: data, rootUfs: pathToFileURL(ufs).href, config });
      const m = await mountStrata({
        fs: coordinator, mountpoint: dir, syncIntervalMs: config.get('metadata.sync.interval'),
        stagingDir: join(data, 'fuse-staging'), localBlocks: coordinator.blocks, source: `fuse-cold-${name}`,
      });
      unmounts.push(async () => {
        await m.unmount().catch(() => undefined);
        await forceUnmount(dir).catch(() => undefined);
        await coordinator.close();
      });
      sides.push({ name, dir, coordinator });
    }
    const rdir = join(base, 'rclone');
    await mkdir(rdir);
    rclone = spawn('rclone', ['mount', ufs, rdir, '--config', '/dev/null', '--allow-other', '--vfs-cache-mode', 'off'], { stdio: 'ignore' });
    await waitMounted(rdir);
    sides.push({ name: 'rclone', dir: rdir });
    const version = spawnSync('rclone', ['version'], { encoding: 'utf8' }).stdout.split('\n')[0];
    log(`${MB} MiB per file, ${ROUNDS} rounds; rclone: ${version}; load ${load()}`);
    const rounds: Array<Record<string, number> & { load: string }> = [];
    for (let r = 0; r < ROUNDS; r++) {
      const name = `cold-${r}.bin`;
      const order = sides.map((_, i) => sides[(i + r) % sides.length]!);
      const row: Record<string, number> & { load: string } = { load: load() } as Record<string, number> & { load: string };
      for (const s of order) {
        const ms = await ddMs(join(s.dir, name));
        row[s.name] = MB / (ms / 1000);
      }
      // Both Strata caches drop the file: every round is cold (and the disk stays bounded).
      for (const s of sides) await s.coordinator?.free(`/${name}`).catch(() => undefined);
      await rm(join(ufs, name), { force: true });
      rounds.push(row);
      log(`round ${r + 1} (${order.map((s) => s.name).join(', ')}): ` +
        sides.map((s) => `${s.name} ${row[s.name]!.toFixed(0)} MB/s`).join(' · ') +
        ` · strata/rclone ${(row.strata! / row.rclone!).toFixed(2)}× · no-ahead/rclone ${(row['strata-no-ahead']! / row.rclone!).toFixed(2)}× · load ${row.load}`);
    }
    const ratios = (a: string, b: string): string => {
      const v = rounds.map((x) => x[a]! / x[b]!).sort((p, q) => p - q);
      return `${v[0]!.toFixed(2)}–${v[v.length - 1]!.toFixed(2)}× (median ${v[Math.floor(v.length / 2)]!.toFixed(2)}×)`;
    };
    const lines = [
      `FUSE cold sequential read, ${MB} MiB files, dd bs=1M, ${ROUNDS} rounds interleaved · ${new Date().toISOString()}`,
      `strata (read-ahead 4) / rclone --vfs-cache-mode off: ${ratios('strata', 'rclone')}`,
      `strata (no read-ahead) / rclone: ${ratios('strata-no-ahead', 'rclone')}`,
      `strata read-ahead / no read-ahead: ${ratios('strata', 'strata-no-ahead')}`,
      `load per round: ${rounds.map((x) => x.load).join(' | ')}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    if (jsonOut) await writeFile(jsonOut, JSON.stringify({ mb: MB, rclone: version, rounds }, null, 2));
  } finally {
    for (const u of unmounts) await u().catch(() => undefined);
    if (rclone) {
      spawnSync('fusermount3', ['-u', '-z', join(base, 'rclone')]);
      rclone.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      if (rclone.exitCode === null) rclone.kill('SIGKILL');
    }
    await rm(base, { recursive: true, force: true });
  }
}

await main();
