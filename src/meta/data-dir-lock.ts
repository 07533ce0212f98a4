// The exclusive lock on a data directory: one live process (server or embedded Coordinator)
// at a time. The lock is `<data-dir>/strata.lock`, created with O_EXCL and holding the
// owner's pid and process start time; a lock whose owner is dead (kill -9) is taken over.

import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, StrataError } from '../errors.js';

/** What the lock file holds. */
interface LockInfo {
  pid: number;
  /** Start time of the owner process (Linux: field 22 of /proc/PID/stat), to see pid reuse. */
  start?: string;
  since: string;
}

export const LOCK_FILE = 'strata.lock';

/** Directories locked by this process (a second Coordinator in one process is refused too). */
const heldHere = new Set<string>();

/** The kernel's start time of a process, or undefined where /proc is not available. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Is the process that wrote `info` still running? */
function alive(info: LockInfo): boolean {
  if (!Number.isSafeInteger(info.pid) || info.pid <= 0) return false;
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // ESRCH: no such process
  }
  // The pid is in use: by the owner, unless it was reused by a process started later.
  const now = startTimeOf(info.pid);
  return info.start === undefined || now === undefined || now === info.start;
}

function readLock(file: string): LockInfo | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined; // missing, or half-written by an owner killed while creating it
  }
}

/** A held data-directory lock. */
export class DataDirLock {
  private released = false;

  private constructor(readonly dir: string, readonly file: string) {}

  /**
   * Take the lock on `dir` (an absolute, existing directory) or throw FAILED_PRECONDITION
   * naming the pid that holds it. A stale lock (its owner died) is replaced.
   */
  static acquire(dir: string): DataDirLock {
    const file = join(dir, LOCK_FILE);
    const held = (info: LockInfo | undefined) => new StrataError(ErrorCode.FAILED_PRECONDITION,
      `the data directory ${dir} is in use by another Strata process (pid ${info?.pid ?? 'unknown'}, since ${info?.since ?? 'unknown'}); ` +
      `stop it or use another --data-dir (lock file ${file})`);
    if (heldHere.has(dir)) throw held({ pid: process.pid, since: 'now', start: undefined });
    const mine: LockInfo = { pid: process.pid, start: startTimeOf(process.pid), since: new Date().toISOString() };
    for (let attempt = 0; attempt < 5; attempt++) {
      let fd: number;
      try {
        fd = openSync(file, 'wx', 0o644);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new StrataError(ErrorCode.FAILED_PRECONDITION, `cannot create the lock file ${file}: ${(err as Error).message}`, { cause: err });
        }
        const info = readLock(file);
        if (info && alive(info)) throw held(info);
        if (!info) {
          // Unreadable: an owner killed between create and write, or one writing right now.
          // Only an old unreadable file is stale; give a writer a moment.
          if (attempt < 2) { sleepSync(50); continue; }
        }
        // Stale: move it aside under a unique name (only one of several racing openers
        // succeeds), then create ours.
        const aside = `${file}.stale-${process.pid}-${attempt}`;
        try {
          renameSync(file, aside);
        } catch { continue; /* another opener took it over first: retry */ }
        const moved = readLock(aside);
        if (moved && (moved.pid !== info?.pid || moved.since !== info?.since) && alive(moved)) {
          // A racing opener had just replaced the stale lock with its live one: put it back.
          try { linkSync(aside, file); } catch { /* a third opener got in: it holds the lock */ }
          unlinkSync(aside);
          throw held(moved);
        }
        unlinkSync(aside);
        continue;
      }
      try {
        writeSync(fd, JSON.stringify(mine) + '\n');
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      heldHere.add(dir);
      return new DataDirLock(dir, file);
    }
    throw held(readLock(file));
  }

  /** Release the lock (idempotent). Only removes the file while it is still ours. */
  release(): void {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.dir);
    if (readLock(this.file)?.pid === process.pid) {
      try { unlinkSync(this.file); } catch { /* already gone */ }
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
