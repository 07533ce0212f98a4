// TTL: a file or directory with a time-to-live (counted from its creation) is freed or
// deleted when it expires. Expiries are indexed in the 'ttl' table by [expiry ms, inode
// id], so each check reads only what has expired, never the namespace.

import type { Logger } from '../log.js';
import type { InodeRecord } from '../meta/inode.js';
import type { MetaStore, MetaTxn } from '../meta/meta-store.js';
import type { Metrics } from '../metrics/metrics.js';
import type { TtlAction } from '../types.js';
import { InodeTree } from '../meta/inode-tree.js';
import { TtlIndex } from '../meta/ttl-index.js';

export interface TtlTarget {
  /** The current path of an inode, or undefined when it is gone. */
  pathOf(inodeId: number): string | undefined;
  free(path: string): Promise<unknown>;
  delete(path: string): Promise<unknown>;
}

export class TtlChecker {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();

  constructor(private readonly store: MetaStore, private readonly target: TtlTarget, private readonly metrics: Metrics,
    private readonly log: Logger, private readonly periodMs = 1000) {}

  /** In a transaction that sets an inode's TTL: move its index entry. */
  static index(tx: MetaTxn, before: InodeRecord | undefined, after: InodeRecord): void {
    TtlIndex.move(tx, before, after);
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.periodMs);
    this.timer.unref();
  }

  /** Act on every expired entry (also called by tests). */
  async check(now = Date.now()): Promise<number> {
    if (this.running || this.stopped) return 0;
    this.running = true;
    let done!: () => void;
    this.idle = new Promise((r) => { done = r; });
    let acted = 0;
    try {
      // In pages of 1000, each starting after the previous one: entries that keep failing
      // (e.g. TTL free of unpersisted files) must not hide the ones behind them.
      let start: [number, number] | undefined;
      for (let page = 0; page < 100; page++) {
        const due: Array<[number, number]> = [];
        for (const key of TtlIndex.due(this.store, now, start, 1000)) due.push(key);
        if (due.length === 0) break;
        const last = due[due.length - 1]!;
        start = [last[0], last[1] + 1];
        for (const key of due) {
          if (this.stopped) return acted;
          const inode = InodeTree.get(this.store, key[1]);
          const path = inode ? this.target.pathOf(inode.id) : undefined;
          const action: TtlAction | undefined = inode && inode.ttlMs >= 0 && inode.createdMs + inode.ttlMs === key[0] ? inode.ttlAction : undefined;
          try {
            if (path && action === 'delete') await this.target.delete(path);
            else if (path && action === 'free') await this.target.free(path);
            if (action) { acted++; this.metrics.inc('cache', action === 'delete' ? 'ttlDeleted' : 'ttlFreed'); }
            await this.store.transact((tx) => TtlIndex.del(tx, key));
          } catch (err) {
            // Leave the entry: the next check tries again (e.g. an unpersisted file cannot be freed yet).
            this.log.warn({ path, action, err: (err as Error).message }, 'TTL action failed; will retry');
          }
        }
        if (due.length < 1000) break;
      }
    } finally {
      this.running = false;
      done();
    }
    return acted;
  }

  /** Stop checking; resolves once a check in progress has finished its current entry. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    return this.idle;
  }
}
