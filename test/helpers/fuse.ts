// FUSE test fixtures: whether this machine can mount (when it cannot, the FUSE tests say why
// and count as skipped), a shell runner that never blocks the event loop (the mount may be
// served by this very process), and an in-process mount of a Coordinator that is always
// unmounted in teardown (fusermount3 -u -z as a last resort) so that nothing is left behind.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forceUnmount, fuseAvailable } from '../../src/fuse/binding.js';
import { mountStrata } from '../../src/fuse/mount.js';
import type { StrataFuseMount } from '../../src/fuse/mount.js';
import type { FileSystem } from '../../src/fs.js';
import { openEnv } from './fixture.js';
import type { Env } from './fixture.js';

/** Why FUSE tests cannot run here, or undefined when they can. */
export function fuseSkipReason(): string | undefined {
  const a = fuseAvailable();
  return a.ok ? undefined : a.why;
}

export interface ShResult { code: number; stdout: string; stderr: string }

/** Run `bash -c script` asynchronously (bounded by timeoutMs). */
export function sh(script: string, opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ShResult> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], {
      cwd: opts.cwd, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20,
      env: { ...process.env, ...opts.env },
    }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Run and fail with its output unless it exits 0; resolves to stdout. */
export async function shOk(script: string, opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await sh(script, opts);
  if (r.code !== 0) throw new Error(`\`${script}\` exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

export interface FuseEnv {
  env: Env;
  dir: string;
  mount: StrataFuseMount;
  /** Mount another view (e.g. a second FUSE mount of the same namespace). */
  mountMore(opts: { fs?: FileSystem; root?: string; readOnly?: boolean; options?: string[] }): Promise<{ dir: string; mount: StrataFuseMount }>;
  dispose(): Promise<void>;
}

/** A Coordinator on temp dirs, mounted at a temp directory in this process. */
export async function openFuseEnv(settings: Record<string, string> = {}, options: string[] = []): Promise<FuseEnv> {
  const env = await openEnv(settings);
  const mounts: Array<{ dir: string; mount: StrataFuseMount }> = [];
  const more = async (o: { fs?: FileSystem; root?: string; readOnly?: boolean; options?: string[] }) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-fuse-mnt-'));
    const mount = await mountStrata({
      fs: o.fs ?? env.fs, mountpoint: dir, root: o.root, readOnly: o.readOnly, options: o.options ?? options,
      syncIntervalMs: env.config.get('metadata.sync.interval'), stagingDir: join(env.dataDir, 'fuse-staging'),
      // The Coordinator is in this process: whole cached files are read from its block files.
      ...(o.fs ? {} : { localBlocks: env.fs.blocks }),
    });
    const m = { dir, mount };
    mounts.push(m);
    return m;
  };
  const first = await more({});
  return {
    env, dir: first.dir, mount: first.mount, mountMore: more,
    async dispose() {
      for (const m of mounts.reverse()) {
        await Promise.race([m.mount.unmount(), new Promise((r) => setTimeout(r, 20_000))]).catch(() => undefined);
        await forceUnmount(m.dir).catch(() => undefined);
        await rm(m.dir, { recursive: true, force: true }).catch(() => undefined);
      }
      await env.dispose();
    },
  };
}
