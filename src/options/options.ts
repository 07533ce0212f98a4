// Resolution of the effective options of one call (Alluxio's per-call contexts): a value
// given with the call wins; else the longest matching path among per-path configuration
// and mount options; else the server's configuration.

import { typedValue } from '../config/keys.js';
import type { ConfigKey, ConfigValues, ServerConfig } from '../config/keys.js';
import type { MountTable } from '../meta/mount-table.js';
import type { PathConf } from '../meta/path-conf.js';
import type { LoadType, ReadType, WriteType } from '../types.js';

export class OptionResolver {
  constructor(private readonly config: ServerConfig, private readonly mounts: MountTable, private readonly pathConf: PathConf) {}

  /** Effective value of `key` for `path`. */
  get<K extends ConfigKey>(path: string, key: K): ConfigValues[K] {
    const pc = this.pathConf.lookup(path, key);
    const { mount } = this.mounts.resolve(path);
    const mv = mount.options[key];
    if (pc && (mv === undefined || pc.depth >= mount.path.length)) return typedValue(key, pc.value);
    if (mv !== undefined) return typedValue(key, mv);
    return this.config.get(key);
  }

  syncInterval(path: string, call?: number): number {
    return call ?? this.get(path, 'metadata.sync.interval');
  }

  loadType(path: string, call?: LoadType): LoadType {
    return call ?? this.get(path, 'metadata.load.type');
  }

  writeType(path: string, call?: WriteType): WriteType {
    return call ?? this.get(path, 'write.type');
  }

  readType(path: string, call?: ReadType): ReadType {
    return call ?? this.get(path, 'read.type');
  }
}
