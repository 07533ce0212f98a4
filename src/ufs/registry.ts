// Which Ufs implementation serves which URI scheme, and which policy says what its mount
// targets may reach (mount.allowed.roots). A new UFS (hdfs://, gs://) is a new folder plus
// its lines here; nothing else in Strata changes.

import { invalidArgument } from '../errors.js';
import type { Ufs, UfsFactory } from './ufs.js';
import type { MountTargetPolicy } from './mount-target.js';
import { createLocalUfs } from './local/local-ufs.js';
import { localMountPolicy } from './local/mount-policy.js';
import { createS3Ufs } from './s3/s3-ufs.js';
import { s3MountPolicy } from './s3/mount-policy.js';

const FACTORIES: Record<string, UfsFactory> = {
  file: createLocalUfs,
  s3: createS3Ufs,
};

const MOUNT_POLICIES: Record<string, MountTargetPolicy<any>> = {
  file: localMountPolicy,
  s3: s3MountPolicy,
};

/** The scheme of a UFS URI ('file', 's3', ...), refusing malformed URIs. */
export function ufsScheme(uri: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri);
  if (!m) throw invalidArgument(`UFS URI ${JSON.stringify(uri)} has no scheme (use file:///abs/path or s3://bucket/prefix)`);
  return m[1]!.toLowerCase();
}

/** Create the Ufs for a URI with the mount's options. */
export function createUfs(uri: string, options: Record<string, string> = {}): Ufs {
  const scheme = ufsScheme(uri);
  const factory = Object.hasOwn(FACTORIES, scheme) ? FACTORIES[scheme] : undefined;
  if (!factory) throw invalidArgument(`unsupported UFS scheme ${scheme}:// (supported: ${Object.keys(FACTORIES).join(', ')})`);
  return factory(uri, options);
}

/** The mount.allowed.roots policy of a scheme (undefined: its targets can never be mounted). */
export function mountTargetPolicy(scheme: string): MountTargetPolicy | undefined {
  return Object.hasOwn(MOUNT_POLICIES, scheme) ? MOUNT_POLICIES[scheme] : undefined;
}

/** The schemes that have a mount policy, for messages. */
export function mountTargetForms(): string[] {
  return Object.values(MOUNT_POLICIES).map((p) => p.entryForm);
}
