// What a mount may reach: the admin's list `mount.allowed.roots` plus the root UFS. The list
// is split by URI scheme and each entry handed to its scheme's policy (src/ufs/*/mount-policy.ts,
// registered in src/ufs/registry.ts): local directories are compared after resolving symlinks
// and never reach the data directory; S3 targets must match a listed bucket, prefix and
// endpoint. A scheme without a policy, or without an entry, can never be mounted.

import { ErrorCode, StrataError, invalidArgument } from '../errors.js';
import { redactUrl } from '../config/redact.js';
import { realPathOf } from '../ufs/local/mount-policy.js';
import type { MountTargetContext } from '../ufs/mount-target.js';
import { mountTargetForms, mountTargetPolicy, ufsScheme } from '../ufs/registry.js';

export { realPathOf };

export interface AllowedRootsOptions {
  /** The `mount.allowed.roots` value: comma-separated entries ('' = the root UFS only). */
  list: string;
  /** The server's data directory: never mountable. */
  dataDir: string;
  /** URI of the root mount: always allowed. */
  rootUfs: string;
  /** Server-wide UFS options (`-D s3.*`): they define the default S3 endpoint. */
  ufsDefaults: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

function schemeOf(uri: string): string | undefined {
  try {
    return ufsScheme(uri);
  } catch {
    return undefined;
  }
}

/** The checked form of `mount.allowed.roots`. */
export class AllowedRoots {
  /** Parsed entries by scheme. */
  private readonly roots = new Map<string, unknown[]>();
  private readonly ctx: MountTargetContext;

  constructor(opts: AllowedRootsOptions) {
    this.ctx = { dataDir: realPathOf(opts.dataDir), ufsDefaults: opts.ufsDefaults, env: opts.env ?? process.env };
    const entries = opts.list.split(',').map((e) => e.trim()).filter(Boolean);
    for (const e of [opts.rootUfs, ...entries]) this.add(e, e === opts.rootUfs && !entries.includes(e));
  }

  private add(entry: string, isRoot: boolean): void {
    const where = isRoot ? 'root UFS' : 'mount.allowed.roots';
    const scheme = schemeOf(entry);
    const policy = scheme === undefined ? undefined : mountTargetPolicy(scheme);
    if (!policy) {
      if (isRoot) return; // a root UFS of another kind is served, but allows nothing else
      throw invalidArgument(`${where}: ${JSON.stringify(redactUrl(entry))} must be one of ${mountTargetForms().join(', ')}`);
    }
    const list = this.roots.get(scheme!) ?? [];
    list.push(policy.parseRoot(entry, where, this.ctx));
    this.roots.set(scheme!, list);
  }

  /**
   * Throw PERMISSION_DENIED unless a mount of `uri` with the UFS options `options` (server
   * defaults already merged in) stays within the list and away from the data directory.
   */
  check(uri: string, options: Record<string, string>): void {
    const scheme = schemeOf(uri);
    const policy = scheme === undefined ? undefined : mountTargetPolicy(scheme);
    if (!policy) {
      throw new StrataError(ErrorCode.PERMISSION_DENIED, `mounting ${redactUrl(uri)} is not allowed: only ${mountTargetForms().join(' and ')} targets on mount.allowed.roots may be mounted`);
    }
    policy.check(uri, options, this.roots.get(scheme!) ?? [], this.ctx);
  }
}
