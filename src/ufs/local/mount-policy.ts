// `file:///dir` entries of mount.allowed.roots: a local target is allowed when its real path
// (symlinks resolved) lies under a listed directory and it neither lies in nor contains the
// server's data directory (unless a listed root itself is inside the data directory).

import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, StrataError } from '../../errors.js';
import type { MountTargetPolicy } from '../mount-target.js';

/** The real path of `p`: symlinks of its longest existing ancestor resolved, the rest appended. */
export function realPathOf(p: string): string {
  let cur = resolve(p);
  const rest: string[] = [];
  for (let i = 0; i < 4096; i++) {
    try {
      return join(realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = dirname(cur);
      if (parent === cur) break;
      rest.push(basename(cur));
      cur = parent;
    }
  }
  return resolve(p);
}

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

function pathOf(uri: string, what: string): string {
  try {
    return fileURLToPath(uri);
  } catch (err) {
    throw new StrataError(ErrorCode.INVALID_ARGUMENT, `${what}: ${JSON.stringify(uri)} is not a file:/// URI`, { cause: err });
  }
}

export const localMountPolicy: MountTargetPolicy<string> = {
  entryForm: 'file:///dir',
  parseRoot: (entry, where) => realPathOf(pathOf(entry, where)),
  check(uri, _options, dirs, ctx) {
    const real = realPathOf(pathOf(uri, 'UFS URI'));
    const dataDir = ctx.dataDir;
    if (inside(real, dataDir) && !dirs.some((d) => inside(d, dataDir) && inside(real, d)) || inside(dataDir, real)) {
      throw new StrataError(ErrorCode.PERMISSION_DENIED, `mounting ${uri} is not allowed: it reaches the server's data directory (${dataDir})`);
    }
    if (!dirs.some((d) => inside(real, d))) {
      throw new StrataError(ErrorCode.PERMISSION_DENIED, `mounting ${uri} is not allowed: ${real} is not under mount.allowed.roots (${dirs.join(', ') || 'none'})`);
    }
  },
};
