// The server's effective configuration as `getConf` reports it: every Strata key with its
// value and where it came from (default, preset, file, -D), plus the UFS defaults
// (`s3.*`) that were set; secrets are redacted, so the answer is safe for any user.

import { ErrorCode, StrataError } from '../errors.js';
import type { ConfEntry } from '../types.js';
import { KEYS, isConfigKey } from './keys.js';
import type { ConfigKey, ServerConfig } from './keys.js';
import { redactOptions } from './redact.js';

/** The entries of `config` (all, or the one `key`); NOT_FOUND names an unknown key. */
export function describeConfig(config: ServerConfig, key?: string): ConfEntry[] {
  const out: ConfEntry[] = [];
  for (const k of Object.keys(KEYS) as ConfigKey[]) {
    // Server keys can hold secrets too (metrics.token): redacted like every option listing.
    const raw = config.raw(k);
    const value = raw === '' ? raw : redactOptions({ [k]: raw })[k]!;
    out.push({ key: k, value, source: config.sourceOf(k), description: KEYS[k].doc });
  }
  for (const [k, v] of Object.entries(redactOptions(config.ufsDefaults))) {
    out.push({ key: k, value: v, source: config.sourceOf(k) });
  }
  if (key === undefined) return out;
  const hit = out.filter((e) => e.key === key);
  if (hit.length > 0) return hit;
  throw new StrataError(ErrorCode.NOT_FOUND, isConfigKey(key)
    ? `configuration key ${key} is not set`
    : `${JSON.stringify(key)} is not a configuration key of this server (see \`strata fs getConf\` for the list)`);
}
