// Change watchers: the sources of active sync. A watcher reports UFS changes under one
// directory as events (paths relative to the mount's UFS root), says when its stream is
// established, when events may have been lost (overflow, process death), and when it can
// only degrade to periodic reconciliation (watch limit). Local mounts use inotify through
// Debian's `inotifywait` (which, unlike Node's fs.watch, sees files created inside a
// directory that was just created); other UFSs are reconciled by periodic listing.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join, relative, sep } from 'node:path';

export type ChangeKind = 'create' | 'modify' | 'delete' | 'moveFrom' | 'moveTo' | 'attrib';

export interface ChangeEvent {
  /** UFS-relative path of the entry that changed. */
  path: string;
  kind: ChangeKind;
  isDir: boolean;
  /** When the watcher learnt of it. */
  timeMs: number;
}

export interface WatchCallbacks {
  onReady(): void;
  onEvents(events: ChangeEvent[]): void;
  /** Events may have been lost: the owner must fully resync. */
  onLost(reason: string): void;
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
  readonly kind: string;
  /** Its events are only a hint: the owner must also reconcile periodically (S3). */
  readonly reconcile?: boolean;
  start(): void;
  stop(): Promise<void>;
}

const TEMP = /(^|\/)\.strata-tmp-/;

/** The kernel's inotify queue length (events beyond it are dropped with IN_Q_OVERFLOW). */
function maxQueuedEvents(): number {
  try {
    return Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8').trim()) || 16384;
  } catch {
    return 16384;
  }
}

/** inotify through `inotifywait -m -r`, NUL-separated records `EVENTS\tPATH`. */
export class InotifyWatcher implements ChangeWatcher {
  readonly kind = 'inotify';
  private proc: ChildProcess | undefined;
  private stopped = false;
  private buf = '';
  /**
   * inotifywait 3.22 never prints Q_OVERFLOW (measured: 30,000 creates behind a stalled pipe
   * give 20,272 records and no overflow line). A burst of a quarter of the kernel queue
   * within one second may have overflowed it: once the burst has ended, report a loss.
   */
  private readonly burstLimit = Math.max(256, Math.floor(maxQueuedEvents() / 4));
  private windowStart = 0;
  private windowCount = 0;
  private overflowSuspected = false;
  private quietTimer: NodeJS.Timeout | undefined;

  /**
   * @param ufsRoot absolute directory of the mount's UFS root
   * @param dir UFS-relative directory to watch ('' = the root)
   */
  constructor(private readonly ufsRoot: string, private readonly dir: string, private readonly cb: WatchCallbacks) {}

  static fromUri(uri: string, dir: string, cb: WatchCallbacks): InotifyWatcher {
    return new InotifyWatcher(fileURLToPath(uri), dir, cb);
  }

  start(): void {
    const target = this.dir ? join(this.ufsRoot, ...this.dir.split('/')) : this.ufsRoot;
    const proc = spawn('inotifywait', [
      '-m', '-r', '--format', '%e\t%w%f%0', '--no-newline',
      '-e', 'create,delete,modify,attrib,close_write,moved_from,moved_to,delete_self,move_self',
      target,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    let stderr = '';
    proc.on('error', (err) => {
      if (!this.stopped) this.cb.onDegraded(`cannot run inotifywait (install inotify-tools): ${err.message}`);
    });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (stderr.includes('Watches established.')) {
        stderr = '';
        this.cb.onReady();
      } else if (/upper limit on inotify watches|Failed to watch|No space left on device/i.test(stderr)) {
        const why = stderr.trim().split('\n').pop() ?? 'watch limit';
        stderr = '';
        this.cb.onDegraded(`inotify: ${why} (raise fs.inotify.max_user_watches)`);
      }
    });
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => this.parse(d, target));
    proc.on('exit', (code, signal) => {
      if (this.stopped) return;
      this.cb.onLost(`inotifywait exited (${signal ?? code})`);
    });
  }

  private parse(data: string, target: string): void {
    this.buf += data;
    const records = this.buf.split('\0');
    this.buf = records.pop() ?? '';
    const now = Date.now();
    const events: ChangeEvent[] = [];
    for (const rec of records) {
      const tab = rec.indexOf('\t');
      if (tab < 0) continue;
      const flags = rec.slice(0, tab).split(',');
      const abs = rec.slice(tab + 1);
      if (flags.includes('Q_OVERFLOW')) {
        this.cb.onLost('inotify queue overflow');
        continue;
      }
      const rel = relative(this.ufsRoot, abs).split(sep).join('/');
      if (rel.startsWith('..') || TEMP.test(rel)) continue;
      if (flags.includes('DELETE_SELF') || flags.includes('MOVE_SELF')) {
        if (abs.replace(/\/$/, '') === target) this.cb.onLost('the watched directory itself was removed or moved');
        continue;
      }
      const isDir = flags.includes('ISDIR');
      const kind: ChangeKind | undefined =
        flags.includes('CREATE') ? 'create'
          : flags.includes('DELETE') ? 'delete'
            : flags.includes('MOVED_FROM') ? 'moveFrom'
              : flags.includes('MOVED_TO') ? 'moveTo'
                : flags.includes('CLOSE_WRITE') || flags.includes('MODIFY') ? 'modify'
                  : flags.includes('ATTRIB') ? 'attrib' : undefined;
      if (kind) events.push({ path: rel, kind, isDir, timeMs: now });
    }
    if (events.length) this.cb.onEvents(events);
    this.watchBurst(now, records.length);
  }

  private watchBurst(now: number, n: number): void {
    if (now - this.windowStart > 1000) { this.windowStart = now; this.windowCount = 0; }
    this.windowCount += n;
    if (this.windowCount >= this.burstLimit) this.overflowSuspected = true;
    if (!this.overflowSuspected) return;
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => {
      this.overflowSuspected = false;
      if (!this.stopped) this.cb.onLost(`possible inotify queue overflow (a burst of over ${this.burstLimit} events in a second)`);
    }, 250);
    this.quietTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.quietTimer);
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
      setTimeout(() => { p.kill('SIGKILL'); resolve(); }, 2000).unref();
    });
  }
}

/**
 * For UFSs without a change stream: no events, only the periodic reconciliation that the
 * manager runs for every sync point. Ready at once.
 */
export class PollingWatcher implements ChangeWatcher {
  readonly kind = 'poll';
  constructor(private readonly cb: WatchCallbacks) {}
  start(): void {
    this.cb.onReady();
  }
  async stop(): Promise<void> {}
}
