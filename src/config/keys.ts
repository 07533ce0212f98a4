// Configuration keys: their types, defaults and validation, and the named presets of the
// article's three set-ups. The same keys are set on the server (`-D`, config file, preset),
// per mount (`--option`) and per path (`pathConf`); the longest matching path wins.

import { invalidArgument } from '../errors.js';
import { LOAD_TYPES, READ_TYPES, WRITE_TYPES } from '../types.js';
import type { LoadType, ReadType, WriteType } from '../types.js';
import { parseDuration, parseSize } from './units.js';

type Kind = 'duration' | 'size' | 'int' | 'bool' | 'enum' | 'string';

interface KeyDef {
  kind: Kind;
  default: string;
  values?: readonly string[];
  /** Settable per mount / per path (else server-wide only). */
  perPath: boolean;
  doc: string;
}

/** Every configuration key Strata knows, with its default. */
export const KEYS = {
  'metadata.sync.interval': { kind: 'duration', default: '-1', perPath: true, doc: 'Re-check the UFS when the last sync of a path is older than this; -1 never, 0 on every access.' },
  'metadata.load.type': { kind: 'enum', values: LOAD_TYPES, default: 'ONCE', perPath: true, doc: 'Loading of paths not yet in the namespace: NEVER, ONCE (then remembered absent), ALWAYS.' },
  'write.type': { kind: 'enum', values: WRITE_TYPES, default: 'CACHE_THROUGH', perPath: true, doc: 'Default write type.' },
  'read.type': { kind: 'enum', values: READ_TYPES, default: 'CACHE', perPath: true, doc: 'Default read type: CACHE caches cold reads, NO_CACHE does not.' },
  'sync.parallelism': { kind: 'int', default: '16', perPath: false, doc: 'Directories applied at once by a recursive sync.' },
  'sync.prefetch.parallelism': { kind: 'int', default: '32', perPath: false, doc: 'UFS listings prefetched at once while the previous level is applied.' },
  'absent.cache.enabled': { kind: 'bool', default: 'true', perPath: true, doc: 'Remember paths known absent in the UFS (under load type ONCE).' },
  'absent.from.listing': { kind: 'bool', default: 'false', perPath: true, doc: 'Under load type ONCE, a loaded directory listing answers that a child it lacks is absent (no UFS lookup); false: a direct path not in the namespace is looked up in the UFS once.' },
  'absent.cache.ttl': { kind: 'duration', default: '-1', perPath: true, doc: 'How long an absent-path entry is trusted; -1 until invalidated.' },
  'cache.capacity': { kind: 'size', default: '1GB', perPath: false, doc: 'Bytes of block cache on local disk.' },
  'cache.block.size': { kind: 'size', default: '4MB', perPath: false, doc: 'Block size of cached data.' },
  'cache.read.ahead.blocks': { kind: 'int', default: '4', perPath: false, doc: 'Uncached blocks a cold sequential read fetches from the UFS ahead of the one it serves (0: none).' },
  'persist.initial.wait': { kind: 'duration', default: '1s', perPath: true, doc: 'Delay before an ASYNC_THROUGH file is persisted.' },
  'persist.max.interval': { kind: 'duration', default: '5min', perPath: false, doc: 'Longest back-off between persist retries.' },
  'persist.parallelism': { kind: 'int', default: '4', perPath: false, doc: 'Files persisted at once.' },
  'active.sync.interval': { kind: 'duration', default: '30s', perPath: true, doc: 'Reconciliation period of active sync.' },
  'active.sync.batch': { kind: 'int', default: '1000', perPath: false, doc: 'Max events applied in one batch by active sync.' },
  'active.sync.notify.port': { kind: 'int', default: '0', perPath: false, doc: 'Port of the S3 bucket-notification endpoint on 127.0.0.1 (0: any free port).' },
  'activeSync': { kind: 'bool', default: 'false', perPath: true, doc: 'Start active sync on this mount.' },
  'ufs.timeout': { kind: 'duration', default: '30s', perPath: true, doc: 'A UFS call that takes longer fails with UFS_UNAVAILABLE.' },
  'shard.count': { kind: 'int', default: '64', perPath: false, doc: 'Number of subtree shard actors.' },
  'shard.depth': { kind: 'int', default: '2', perPath: false, doc: 'Path depth that names a subtree shard.' },
  'worker.threads': { kind: 'int', default: '2', perPath: false, doc: 'Threads of the actor pool (Piscina).' },
  'protocol.max.frame': { kind: 'size', default: '16MB', perPath: false, doc: 'Largest accepted protocol frame.' },
  'metrics.port': { kind: 'int', default: '-1', perPath: false, doc: 'Port of the Prometheus endpoint (-1: off, 0: any).' },
  's3.gateway.port': { kind: 'int', default: '-1', perPath: false, doc: 'Port of the S3 gateway in the server process (-1: off, 0: any); same host as the protocol port.' },
  's3.gateway.domain': { kind: 'string', default: '', perPath: false, doc: 'Domain of virtual-host style S3 requests (bucket.DOMAIN); empty: path style only.' },
  's3.gateway.multipart.expiry': { kind: 'duration', default: '1d', perPath: false, doc: 'Unfinished S3 multipart uploads older than this are removed with their parts.' },
  's3.gateway.access.log': { kind: 'bool', default: 'false', perPath: false, doc: 'Log one line per S3 request (pino, info level).' },
  's3.gateway.max.requests': { kind: 'int', default: '256', perPath: false, doc: 'S3 requests served at once (a PUT holds up to 1 MiB of its body in memory); beyond: 503 SlowDown.' },
  's3.gateway.max.connections': { kind: 'int', default: '1024', perPath: false, doc: 'Open S3 client connections; a request on one beyond: 503 SlowDown, and the connection closed.' },
  'web.port': { kind: 'int', default: '-1', perPath: false, doc: 'Port of the web console (-1: off, 0: any free port); same address as --host.' },
  'web.sample.interval': { kind: 'duration', default: '2s', perPath: false, doc: 'How often the web console samples the report for its charts.' },
  'web.history': { kind: 'duration', default: '15min', perPath: false, doc: 'How much metrics history the web console keeps.' },
  'web.session.ttl': { kind: 'duration', default: '12h', perPath: false, doc: 'Lifetime of a web console login session.' },
  // Security (docs/security.md).
  'mount.allowed.roots': { kind: 'string', default: '', perPath: false, doc: 'Comma-separated file:///dir and s3://bucket[/prefix][?endpoint=URL] targets that mounts may name, besides the root UFS.' },
  'metrics.host': { kind: 'string', default: '127.0.0.1', perPath: false, doc: 'Interface of the Prometheus endpoint.' },
  'metrics.token': { kind: 'string', default: '', perPath: false, doc: 'Bearer token the Prometheus endpoint requires (empty: none).' },
  'upload.idle.timeout': { kind: 'duration', default: '30s', perPath: false, doc: 'An upload that receives no data for this long is aborted and its lock released.' },
  'connection.max.uploads': { kind: 'int', default: '64', perPath: false, doc: 'Uploads of one connection that run (hold a path lock) at once; more wait their turn.' },
  'server.max.buffered': { kind: 'size', default: '256MB', perPath: false, doc: 'Bytes of incomplete frames and upload data buffered by the server across all connections.' },
  'server.max.connections': { kind: 'int', default: '1024', perPath: false, doc: 'Connections open at once; more are refused.' },
  'server.idle.timeout': { kind: 'duration', default: '30min', perPath: false, doc: 'A connection with no call in flight and no frame for this long is closed.' },
  'path.max.depth': { kind: 'int', default: '512', perPath: false, doc: 'Deepest path accepted (components); deeper is INVALID_PATH.' },
  'sync.list.page.size': { kind: 'int', default: '1000', perPath: false, doc: 'Entries per UFS listing page of a sync (each page is one transaction and one cancellation point).' },
  'server.short.circuit': { kind: 'bool', default: 'true', perPath: false, doc: 'Answer getLocalBlocks to loopback clients: the paths of a cached file\'s block files, which a FUSE daemon on this host then reads itself (if the OS lets its user).' },
} as const satisfies Record<string, KeyDef>;

export type ConfigKey = keyof typeof KEYS;

export function isConfigKey(key: string): key is ConfigKey {
  return Object.hasOwn(KEYS, key);
}

/** Keys that belong to a UFS (credentials, endpoint, ...), passed through to its factory. */
export function isUfsOptionKey(key: string): boolean {
  return /^(s3\.|local\.)/.test(key) ||
    ['endpoint', 'region', 'accessKeyId', 'secretAccessKey', 'sessionToken', 'pathStyle', 'partSize', 'maxAttempts',
      'batchDelete', 'multipartCopyThreshold'].includes(key);
}

/** Check one key=value, throwing INVALID_ARGUMENT naming the key and value. */
export function validateProperty(key: string, value: string, where: 'server' | 'path' = 'server'): void {
  if (!isConfigKey(key)) {
    throw invalidArgument(`unknown configuration key ${JSON.stringify(key)} (known: ${Object.keys(KEYS).join(', ')})`);
  }
  const def: KeyDef = KEYS[key];
  if (where === 'path' && !def.perPath) {
    throw invalidArgument(`configuration key ${key} is server-wide and cannot be set per path`);
  }
  parseValue(key, value);
}

function parseValue(key: ConfigKey, value: string): unknown {
  const def: KeyDef = KEYS[key];
  switch (def.kind) {
    case 'duration': return parseDuration(value, key);
    case 'size': return parseSize(value, key);
    case 'int': {
      if (!/^-?\d+$/.test(value.trim())) throw invalidArgument(`${key}: ${JSON.stringify(value)} is not an integer`);
      return Number(value);
    }
    case 'bool': {
      const v = value.trim().toLowerCase();
      if (v !== 'true' && v !== 'false') throw invalidArgument(`${key}: ${JSON.stringify(value)} is not true or false`);
      return v === 'true';
    }
    case 'enum': {
      const v = value.trim().toUpperCase();
      if (!def.values!.includes(v)) throw invalidArgument(`${key}: ${JSON.stringify(value)} is not one of ${def.values!.join(', ')}`);
      return v;
    }
    default: return value;
  }
}

/** Typed values of the keys. */
export interface ConfigValues {
  'metadata.sync.interval': number;
  'metadata.load.type': LoadType;
  'write.type': WriteType;
  'read.type': ReadType;
  'sync.parallelism': number;
  'sync.prefetch.parallelism': number;
  'absent.cache.enabled': boolean;
  'absent.cache.ttl': number;
  'absent.from.listing': boolean;
  'cache.capacity': number;
  'cache.block.size': number;
  'cache.read.ahead.blocks': number;
  'persist.initial.wait': number;
  'persist.max.interval': number;
  'persist.parallelism': number;
  'active.sync.interval': number;
  'active.sync.batch': number;
  'active.sync.notify.port': number;
  'activeSync': boolean;
  'ufs.timeout': number;
  'shard.count': number;
  'shard.depth': number;
  'worker.threads': number;
  'protocol.max.frame': number;
  'metrics.port': number;
  's3.gateway.port': number;
  's3.gateway.domain': string;
  's3.gateway.multipart.expiry': number;
  's3.gateway.access.log': boolean;
  's3.gateway.max.requests': number;
  's3.gateway.max.connections': number;
  'web.port': number;
  'web.sample.interval': number;
  'web.history': number;
  'web.session.ttl': number;
  'mount.allowed.roots': string;
  'metrics.host': string;
  'metrics.token': string;
  'upload.idle.timeout': number;
  'connection.max.uploads': number;
  'server.max.buffered': number;
  'server.max.connections': number;
  'server.idle.timeout': number;
  'path.max.depth': number;
  'sync.list.page.size': number;
  'server.short.circuit': boolean;
}

/** Parse a key's string value into its typed value. */
export function typedValue<K extends ConfigKey>(key: K, value: string): ConfigValues[K] {
  return parseValue(key, value) as ConfigValues[K];
}

/** The article's three recommended set-ups. */
export const PRESETS: Record<string, Record<string, string>> = {
  /** Every write goes through Strata: the namespace is the truth, never re-check the UFS. */
  'all-through-strata': { 'metadata.sync.interval': '-1', 'metadata.load.type': 'ONCE', 'absent.from.listing': 'true' },
  /** Occasional outside writers: re-check a path when its last sync is a minute old. */
  'mixed': { 'metadata.sync.interval': '1min', 'metadata.load.type': 'ONCE' },
  /** Frequent outside writers: active sync on every mount that supports it. */
  'external-writers': { 'metadata.sync.interval': '-1', 'metadata.load.type': 'ONCE', 'activeSync': 'true', 'absent.cache.enabled': 'false' },
};

/** Server-wide configuration: defaults, then preset, then config file, then -D. */
export class ServerConfig {
  private readonly values = new Map<ConfigKey, string>();
  /** Options that are not Strata keys but UFS settings (`s3.endpoint`, ...). */
  readonly ufsDefaults: Record<string, string> = {};

  constructor(layers: Array<Record<string, string>> = []) {
    for (const layer of layers) {
      for (const [k, v] of Object.entries(layer)) this.set(k, v);
    }
  }

  set(key: string, value: string): void {
    if (isConfigKey(key)) {
      validateProperty(key, value);
      this.values.set(key, value);
      this.typed?.delete(key);
    } else if (isUfsOptionKey(key)) {
      this.ufsDefaults[key] = value;
    } else {
      validateProperty(key, value); // throws with the list of known keys
    }
  }

  /** Where each explicitly set key came from (`preset:NAME`, `file:PATH`, `-D`), for getConf. */
  private readonly sources = new Map<string, string>();

  /** Set every key of one layer, recording `source` as where its values came from. */
  apply(layer: Record<string, string>, source: string): void {
    for (const [k, v] of Object.entries(layer)) {
      this.set(k, v);
      this.sources.set(k, source);
    }
  }

  /** Where the value of `key` came from: its layer's source, `set` when set directly, or `default`. */
  sourceOf(key: string): string {
    return this.sources.get(key) ?? (this.values.has(key as ConfigKey) || key in this.ufsDefaults ? 'set' : 'default');
  }

  raw(key: ConfigKey): string {
    return this.values.get(key) ?? KEYS[key].default;
  }

  /** Typed values already parsed (config reads sit on every call's path). */
  private readonly typed = new Map<ConfigKey, unknown>();

  get<K extends ConfigKey>(key: K): ConfigValues[K] {
    if (this.typed.has(key)) return this.typed.get(key) as ConfigValues[K];
    const v = typedValue(key, this.raw(key));
    this.typed.set(key, v);
    return v;
  }

  /** Explicitly set keys (for the report and for workers). */
  entries(): Record<string, string> {
    return Object.fromEntries(this.values);
  }
}

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

export function presetProperties(name: string): Record<string, string> {
  const p = PRESETS[name];
  if (!p) throw invalidArgument(`unknown preset ${JSON.stringify(name)} (known: ${presetNames().join(', ')})`);
  return p;
}
