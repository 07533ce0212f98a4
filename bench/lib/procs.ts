// The child processes and FUSE mounts of a bench run (servers, daemons, rclone), started with a
// readiness pattern and all stopped at the end; and a shell step timed in wall-clock time.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';

/** Run `script` with bash; its wall time and standard output (throws on a non-zero exit). */
export function sh(script: string, timeoutMs = 600_000): { ms: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`\`${script}\` failed (${r.status}): ${r.stderr}`);
  return { ms: performance.now() - t0, out: r.stdout };
}

export class BenchProcs {
  readonly procs: ChildProcess[] = [];
  readonly mounts: string[] = [];

  /** Spawn and resolve once `ready` matches its output (with the first group, or the match). */
  start(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ p: ChildProcess; m: string }> {
    const p = spawn(args[0]!, args.slice(1), { env: { ...process.env, STRATA_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.push(p);
    let out = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${args.join(' ')}: not ready in 120 s\n${out}`)), 120_000);
      const on = (d: Buffer): void => {
        out += d;
        const m = ready.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve({ p, m: m[1] ?? m[0] });
        }
      };
      p.stdout!.on('data', on);
      p.stderr!.on('data', on);
      p.once('exit', (c) => reject(new Error(`${args.join(' ')} exited ${c}\n${out}`)));
    });
  }

  /** Unmount every mount (lazily), stop every process (TERM, then KILL), remove `base`. */
  async stopAll(base: string): Promise<void> {
    for (const m of this.mounts) spawnSync('fusermount3', ['-u', '-z', m]);
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGKILL');
    await rm(base, { recursive: true, force: true });
  }
}
