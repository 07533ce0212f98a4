// Real path of a deep local path in time linear in its depth. realpath(3) checks each
// component with a readlink of the whole prefix (quadratic in depth: 1.2 s for 1,600
// levels); opening the path once with O_PATH and reading /proc/self/fd/N (the kernel's
// name of what was opened, every symlink resolved) gives the same answer in two calls.

import { closeSync, openSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import * as fsp from 'node:fs/promises';

/** Linux O_PATH: a descriptor that only names a file (no read permission needed). */
const O_PATH = 0o10000000; // (libuv adds O_CLOEXEC itself)
/** Paths with fewer components go to realpath(3), which is as fast for them. */
const LINEAR_FROM_COMPONENTS = 24;
const HAVE_PROC_FD = process.platform === 'linux' && (() => {
  try {
    return statSync('/proc/self/fd').isDirectory();
  } catch {
    return false;
  }
})();

function components(p: string): number {
  let n = 0;
  for (let i = 0; i < p.length; i++) if (p.charCodeAt(i) === 47 /* / */) n++;
  return n;
}

/**
 * `fs.promises.realpath(p)`, linear in the depth of `p` where /proc/self/fd exists (Linux).
 * Errors are the same as realpath's (ENOENT, ENOTDIR, ELOOP, EACCES).
 */
export async function realPath(p: string): Promise<string> {
  if (!HAVE_PROC_FD || components(p) < LINEAR_FROM_COMPONENTS) return fsp.realpath(p);
  const fh = await fsp.open(p, O_PATH);
  try {
    const real = await fsp.readlink(`/proc/self/fd/${fh.fd}`);
    // Removed between the open and the readlink: the kernel appends " (deleted)".
    if (real.endsWith(' (deleted)') || real[0] !== '/') return await fsp.realpath(p);
    return real;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** `realPath`, synchronously (for the listing walk on a worker thread). */
export function realPathSync(p: string): string {
  if (!HAVE_PROC_FD || components(p) < LINEAR_FROM_COMPONENTS) return realpathSync.native(p);
  return realPathByOpenSync(p);
}

/**
 * The real path of `p` by opening it (O_PATH) and reading the kernel's name of what was
 * opened, whatever its length: for paths through `/proc/self/fd/N/...`, which realpath(3)
 * would expand to the directory's absolute path and check component by component. Linux only.
 */
export function realPathByOpenSync(p: string): string {
  const fd = openSync(p, O_PATH);
  try {
    const real = readlinkSync(`/proc/self/fd/${fd}`);
    if (real.endsWith(' (deleted)') || real[0] !== '/') return realpathSync.native(p);
    return real;
  } finally {
    closeSync(fd);
  }
}
