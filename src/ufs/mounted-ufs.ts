// Ufs instances for mounts: one raw client per mount (reused across calls), wrapped per use
// with call counting and the mount's timeout. Shared by the coordinator and the actor
// workers, each of which holds its own cache.

import type { MountRecord } from '../meta/mount-table.js';
import { parseDuration } from '../config/units.js';
import { InstrumentedUfs } from './instrumented.js';
import type { UfsCallCounter } from './instrumented.js';
import { createUfs } from './registry.js';
import type { Ufs } from './ufs.js';

/** The UFS call timeout of a mount: its `ufs.timeout` option, else the server's. */
export function ufsTimeoutMs(options: Record<string, string>, defaultMs: number): number {
  const t = options['ufs.timeout'];
  return t !== undefined ? parseDuration(t, 'ufs.timeout') : defaultMs;
}

export class MountedUfsCache {
  private readonly raw = new Map<number, { key: string; ufs: Ufs }>();

  /**
   * @param ufsDefaults server-wide UFS options (`-D s3.*`), under the mount's own options
   * @param defaultTimeoutMs the server's `ufs.timeout`
   */
  constructor(private readonly ufsDefaults: Record<string, string>, private readonly defaultTimeoutMs: number) {}

  /** Options the UFS factory sees for a mount. */
  optionsOf(mount: MountRecord): Record<string, string> {
    return { ...this.ufsDefaults, ...mount.options };
  }

  /** The raw Ufs of a mount (created on first use, replaced if the mount changed). */
  rawUfs(mount: MountRecord): Ufs {
    const key = `${mount.ufsUri}\0${JSON.stringify(mount.options)}`;
    const hit = this.raw.get(mount.mountId);
    if (hit && hit.key === key) return hit.ufs;
    if (hit) void hit.ufs.close().catch(() => undefined);
    const ufs = createUfs(mount.ufsUri, this.optionsOf(mount));
    this.raw.set(mount.mountId, { key, ufs });
    return ufs;
  }

  /** The mount's Ufs with counting into `count` and the mount's timeout. */
  get(mount: MountRecord, count: UfsCallCounter): Ufs {
    return new InstrumentedUfs(this.rawUfs(mount), { count, timeoutMs: ufsTimeoutMs(mount.options, this.defaultTimeoutMs) });
  }

  /** Forget a mount's client (unmount). */
  async drop(mountId: number): Promise<void> {
    const hit = this.raw.get(mountId);
    this.raw.delete(mountId);
    await hit?.ufs.close();
  }

  async closeAll(): Promise<void> {
    const all = [...this.raw.values()];
    this.raw.clear();
    await Promise.all(all.map((h) => h.ufs.close().catch(() => undefined)));
  }
}
