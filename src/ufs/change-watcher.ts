// The change-watcher capability of a UFS: what a watcher reports (changes made outside
// Strata under one directory, paths relative to the UFS root) and how it tells its owner that
// its stream is established, may have lost events, or cannot watch at all. Implementations
// live with their UFS (local/inotify-watcher.ts, s3/s3-notify.ts); the owner is active sync.

import type { Logger } from '../log.js';

export type ChangeKind = 'create' | 'modify' | 'delete' | 'moveFrom' | 'moveTo' | 'attrib';

export interface ChangeEvent {
  /** UFS-relative path of the entry that changed. */
  path: string;
  kind: ChangeKind;
  isDir: boolean;
  /** When the watcher learnt of it (or when the UFS says the change happened). */
  timeMs: number;
}

export interface WatchCallbacks {
  onReady(): void;
  onEvents(events: ChangeEvent[]): void;
  /**
   * Events may have been lost: the owner must fully resync. With `restart`, the watcher
   * itself has ended (its process died) and the owner should start a new one.
   */
  onLost(reason: string, options?: { restart?: boolean }): void;
  /** The watcher cannot watch (e.g. inotify watch limit): fall back to interval sync. */
  onDegraded(reason: string): void;
  /** Something the sync point's listing should show (e.g. a fall-back to listing only). */
  onNotice?(message: string): void;
  /** Watching is set up but not yet known to deliver events (why, in words). */
  onWarming?(reason: string): void;
  /** The first event arrived: the watcher delivers (ends warming up). */
  onDelivering?(): void;
}

export interface ChangeWatcher {
  /** What delivers the events ('inotify', 's3-notify', 'poll' ...). */
  readonly kind: string;
  /** Its events are only a hint: the owner must also reconcile periodically (S3). */
  readonly reconcile?: boolean;
  start(): void;
  stop(): Promise<void>;
}

/** What `Ufs.watcher` is given: one options object. */
export interface UfsWatchOptions {
  /** UFS-relative directory to watch ('' = the UFS root). */
  dir: string;
  cb: WatchCallbacks;
  /** Names the watch in logs and in names the UFS may create (the Strata path of the sync point). */
  label: string;
  log: Logger;
  /** Counter sink for watcher-specific counts (duplicates, stale events ...). */
  count?: (name: string, n?: number) => void;
  /** Port on 127.0.0.1 for a watcher that receives pushes (S3 notifications); 0 = any free port. */
  port?: number;
}
