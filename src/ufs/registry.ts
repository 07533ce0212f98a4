// Which Ufs implementation serves which URI scheme. A new UFS (hdfs://, gs://) is a new
// folder plus one line here; nothing else in Strata changes.

import { invalidArgument } from '../errors.js';
import type { Ufs, UfsFactory } from './ufs.js';
import { createLocalUfs } from './local/local-ufs.js';
import { createS3Ufs } from './s3/s3-ufs.js';

const FACTORIES: Record<string, UfsFactory> = {
  file: createLocalUfs,
  s3: createS3Ufs,
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
  const factory = FACTORIES[scheme];
  if (!factory) throw invalidArgument(`unsupported UFS scheme ${scheme}:// (supported: ${Object.keys(FACTORIES).join(', ')})`);
  return factory(uri, options);
}
