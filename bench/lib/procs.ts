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

/**
 * A python loop that stats `files` files of a tree `MOUNT/tree/dD/fI` (`per` per directory)
 * and prints its own time in ms: the interpreter's start (over a second on a loaded machine)
 * is no part of the figure.
 */
export function pyStatLoop(mount: string, files: number, per: number): string {
  return `python3 -c "
import os,time
t=time.perf_counter()
for d in range(${Math.ceil(files / per)}):
    for i in range(${per}):
        if d*${per}+i >= ${files}: break
        os.stat('${mount}/tree/d%d/f%d' % (d, i))
print((time.perf_counter()-t)*1000)"`;
}

/** A python loop that creates `n` files of 4 KiB in `mount/dir` (made first), timed the same way. */
export function pyCreateLoop(mount: string, dir: string, n: number): string {
  return `mkdir -p ${mount}/${dir} && python3 -c "
import os,time
b = os.urandom(4096)
t=time.perf_counter()
for i in range(${n}):
    with open('${mount}/${dir}/f%d' % i, 'wb') as f: f.write(b)
print((time.perf_counter()-t)*1000)
"`;
}
