// Differential POSIX conformance: the cases of bench/fuse-conformance.py (pjdfstest's
// categories for the FUSE issue's operations) run inside a Strata mount (an in-process
// Coordinator on a local UFS directory, as `strata fuse mount --embedded`) and inside an
// `rclone mount` of the same directory, side by side; prints each mount's pass rate per
// category and every failure. Run as root: node --import tsx bench/fuse-conformance.ts
// [--json FILE] [--strata-only]. Every mount is unmounted at the end, also on failure.

import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ServerConfig } from '../src/config/keys.js';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { forceUnmount } from '../src/fuse/binding.js';
import { mountStrata } from '../src/fuse/mount.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined;
const strataOnly = process.argv.includes('--strata-only');

interface Result { id: string; category: string; ok: boolean; why: string }

function runCases(dir: string): Promise<Result[]> {
  return new Promise((resolve, reject) => {
    // Asynchronous: the Strata mount is served by this very process.
    execFile('python3', [join(HERE, 'fuse-conformance.py'), dir], { timeout: 600_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
      if (err && !lines.length) return reject(new Error(`cases in ${dir} failed: ${err.message}\n${stderr}`));
      resolve(lines.map((l) => JSON.parse(l) as Result));
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

function summary(name: string, rs: Result[]): string[] {
  const cats = [...new Set(rs.map((r) => r.category))];
  const pass = rs.filter((r) => r.ok).length;
  return [
    `${name}: ${pass}/${rs.length} passed (${((100 * pass) / Math.max(1, rs.length)).toFixed(0)}%)`,
    '  ' + cats.map((c) => {
      const of = rs.filter((r) => r.category === c);
      return `${c} ${of.filter((r) => r.ok).length}/${of.length}`;
    }).join(' · '),
  ];
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (cases switch to nobody with setpriv)');
  const base = await mkdtemp(join(tmpdir(), 'strata-fuse-conf-'));
  const data = join(base, 'data');
  const ufs = join(base, 'ufs');
  const mS = join(base, 'strata');
  const mR = join(base, 'rclone');
  for (const d of [data, ufs, mS, mR]) await mkdir(d, { recursive: true });
  await chmod(base, 0o755); // nobody must reach the mounts (mkdtemp makes 0700)
  const config = new ServerConfig([{ 'mount.allowed.roots': pathToFileURL(base).href }]);
  const coordinator = await Coordinator.open({ dataDir: data, rootUfs: pathToFileURL(ufs).href, config });
  let rclone: ChildProcess | undefined;
  let strata: Awaited<ReturnType<typeof mountStrata>> | undefined;
  try {
    strata = await mountStrata({
      fs: coordinator, mountpoint: mS, syncIntervalMs: config.get('metadata.sync.interval'),
      stagingDir: join(data, 'fuse-staging'), localBlocks: coordinator.blocks, source: 'strata-conformance',
    });
    await mkdir(join(mS, 'run'));
    const s = await runCases(join(mS, 'run'));
    let r: Result[] = [];
    if (!strataOnly) {
      await mkdir(join(ufs, 'rclone-run'));
      rclone = spawn('rclone', ['mount', ufs, mR, '--config', '/dev/null', '--allow-other', '--default-permissions',
        '--vfs-cache-mode', 'writes', '--cache-dir', join(base, 'rclone-cache')], { stdio: 'ignore', env: { ...process.env, AWS_CA_BUNDLE: '' } });
      await waitMounted(mR);
      r = await runCases(join(mR, 'rclone-run'));
    }
    const version = strataOnly ? '' : spawnSync('rclone', ['version'], { encoding: 'utf8' }).stdout.split('\n')[0];
    const lines = [
      `FUSE conformance ${new Date().toISOString()} · load ${spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.trim()}`,
      ...summary('strata mount', s),
      ...(strataOnly ? [] : summary(`rclone mount (${version}, --vfs-cache-mode writes --default-permissions)`, r)),
      '', '| case | category | strata | rclone |', '|---|---|---|---|',
      ...s.map((x) => {
        const y = r.find((q) => q.id === x.id);
        return `| ${x.id} | ${x.category} | ${x.ok ? 'pass' : `FAIL: ${x.why}`} | ${y ? (y.ok ? 'pass' : `FAIL: ${y.why}`) : '—'} |`;
      }),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    if (jsonOut) await writeFile(jsonOut, JSON.stringify({ strata: s, rclone: r }, null, 2));
  } finally {
    await strata?.unmount().catch(() => undefined);
    if (rclone) {
      spawnSync('fusermount3', ['-u', '-z', mR]);
      rclone.kill('SIGTERM');
    }
    await forceUnmount(mS).catch(() => undefined);
    await coordinator.close();
    await new Promise((r) => setTimeout(r, 500));
    if (rclone && rclone.exitCode === null) rclone.kill('SIGKILL');
    await rm(base, { recursive: true, force: true });
  }
}

await main();
