// The fall-back watcher of active sync, for a UFS without the change-watcher capability
// (or whose watcher could not be built): no events, only the periodic reconciliation that
// the manager runs for every sync point. Ready at once.

import type { ChangeWatcher, WatchCallbacks } from '../ufs/change-watcher.js';

export class PollingWatcher implements ChangeWatcher {
  readonly kind = 'poll';
  constructor(private readonly cb: WatchCallbacks) {}
  start(): void {
    this.cb.onReady();
  }
  async stop(): Promise<void> {}
}
