// The change watcher of the local UFS (LocalUfs.watcher): inotify through Debian's
// `inotifywait` (which, unlike Node's fs.watch, sees files created inside a directory that
// was just created). Reports changes under one directory as events relative to the UFS root,
// a loss on overflow or on the death of inotifywait (with `restart`), and degrades when the
// kernel's watch limit is reached. Temp files of in-flight writes are never reported.
// One created file costs two events (create, close_write), not three: writes are not events.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { join, relative, sep } from 'node:path';

import type { ChangeEvent, ChangeKind, ChangeWatcher, WatchCallbacks } from '../change-watcher.js';

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
   * @param hiddenPrefix names starting with it (temp files of in-flight writes) are not reported
   */
  constructor(private readonly ufsRoot: string, private readonly dir: string, private readonly cb: WatchCallbacks,
    private readonly hiddenPrefix?: string) {}

  start(): void {
    const target = this.dir ? join(this.ufsRoot, ...this.dir.split('/')) : this.ufsRoot;
    const proc = spawn('inotifywait', [
      '-m', '-r', '--format', '%e\t%w%f%0', '--no-newline',
      // Not `modify`: it fires on every write(2) (a 1 GB copy: thousands of events, each a
      // status call); a file's content is final at close_write. A file written in place
      // through a descriptor that stays open is seen at its close (or by reconciliation).
      '-e', 'create,delete,attrib,close_write,moved_from,moved_to,delete_self,move_self',
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
      this.cb.onLost(`inotifywait exited (${signal ?? code})`, { restart: true });
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
      if (rel.startsWith('..') || this.hidden(rel)) continue;
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

  private hidden(rel: string): boolean {
    const h = this.hiddenPrefix;
    return h !== undefined && (rel.startsWith(h) || rel.includes(`/${h}`));
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
