// Figure 8: rclone, a peer, listing the same local tree (`rclone lsjson -R --files-only`),
// timed in the same run as Strata's cold sync. Installed with apt-get when missing.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { ratio } from './lib/report.js';
import type { Row } from './lib/report.js';
import type { Tree } from './lib/tree.js';

function haveRclone(): boolean {
  return spawnSync('rclone', ['version'], { stdio: 'ignore' }).status === 0;
}

/** Make sure rclone exists (apt-get install as root); returns a reason when it cannot. */
export function ensureRclone(log: (s: string) => void): string | undefined {
  if (haveRclone()) return undefined;
  if (process.getuid?.() !== 0) return 'rclone is not installed and the bench is not root (apt-get install rclone)';
  log('installing rclone with apt-get (once)');
  try {
    execFileSync('apt-get', ['install', '-y', 'rclone'], { stdio: 'ignore', timeout: 180_000 });
  } catch {
    try {
      execFileSync('apt-get', ['update'], { stdio: 'ignore', timeout: 180_000 });
      execFileSync('apt-get', ['install', '-y', 'rclone'], { stdio: 'ignore', timeout: 180_000 });
    } catch (err) {
      return `apt-get install rclone failed: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  return haveRclone() ? undefined : 'rclone still missing after apt-get';
}

/**
 * Time one `rclone lsjson -R --files-only TARGET` (extra flags and environment as given),
 * counting the files it lists from the streamed JSON without holding it.
 */
export async function rcloneLsjson(target: string, opts: { extra?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<{ ms: number; files: number }> {
  const t0 = performance.now();
  let files = 0;
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const p = spawn('rclone', ['lsjson', '-R', '--files-only', '--config', '/dev/null', ...(opts.extra ?? []), target],
      { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    p.stdout.on('data', (b: Buffer) => {
      const str = tail + b.toString('latin1');
      let i = -1;
      while ((i = str.indexOf('"Path":', i + 1)) !== -1) files++;
      tail = str.slice(-6); // shorter than the needle: a match split across chunks is counted once
    });
    p.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`rclone exited with ${code}: ${err.split('\n').slice(-3).join(' ')}`))));
  });
  return { ms: performance.now() - t0, files };
}

export async function rcloneRows(tree: Tree, strataColdMs: number | undefined, log: (s: string) => void): Promise<Row[]> {
  const why = ensureRclone(log);
  if (why) {
    return [{ fig: '8', name: 'rclone lsjson -R --files-only (local tree)', value: null, unit: 'files/s', limitName: '—', limit: null, ratio: null, note: `skipped: ${why}` }];
  }
  const version = execFileSync('rclone', ['version'], { encoding: 'utf8' }).split('\n')[0];
  let best = await rcloneLsjson(tree.dir);
  const again = await rcloneLsjson(tree.dir);
  if (again.ms < best.ms) best = again;
  log(`rclone: ${best.files} files in ${best.ms.toFixed(0)} ms`);
  const rcloneRate = best.files / (best.ms / 1000);
  const rows: Row[] = [{
    fig: '8', name: `rclone lsjson -R --files-only, same tree (${version})`, value: rcloneRate, unit: 'files/s',
    limitName: '— (peer)', limit: null, ratio: null, note: `${(best.ms / 1000).toFixed(2)} s for ${best.files.toLocaleString('en-US')} files (best of 2)`,
    extra: { ms: best.ms, files: best.files, version },
  }];
  if (strataColdMs !== undefined) {
    const strataRate = tree.files / (strataColdMs / 1000);
    rows.push({
      fig: '8', name: 'Strata cold sync vs rclone listing (files/s)', value: strataRate, unit: 'files/s',
      limitName: 'rclone lsjson -R', limit: rcloneRate, ratio: ratio(strataRate, rcloneRate),
      note: 'Strata also stores every inode in LMDB; rclone only prints',
    });
  }
  return rows;
}
