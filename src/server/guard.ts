// Small defences shared by Strata's network endpoints: which host names are loopback (an
// unauthenticated or metrics endpoint may only bind there), and a rate limit for log lines
// about refused or failed connections (one line per reason per window, with a count).

import net from 'node:net';

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^::ffff:127\./.test(h) || /^0*:0*:0*:0*:0*:0*:0*:0*1$/.test(h);
  return false;
}

/**
 * Admits one log line per reason per `windowMs`. `admit(reason)` returns 0 when the line
 * should be dropped, else how many events of that reason it stands for (1 + those dropped).
 */
export class LogLimiter {
  private readonly seen = new Map<string, { since: number; dropped: number }>();

  constructor(private readonly windowMs = 5000, private readonly maxReasons = 256) {}

  admit(reason: string, now = Date.now()): number {
    const s = this.seen.get(reason);
    if (s && now - s.since < this.windowMs) {
      s.dropped++;
      return 0;
    }
    if (!s && this.seen.size >= this.maxReasons) this.seen.clear();
    const n = 1 + (s?.dropped ?? 0);
    this.seen.set(reason, { since: now, dropped: 0 });
    return n;
  }
}

/** Something the budget can let read again. */
export interface Pausable { resumeFrom(why: 'budget'): void }

/**
 * The server-wide budget of bytes buffered for incomplete frames and upload data. Holders
 * that were paused for it resume once the total is back under 3/4 of the maximum.
 */
export class BufferBudget {
  total = 0;
  readonly paused = new Set<Pausable>();

  constructor(readonly max: number) {}

  change(delta: number): void {
    this.total += delta;
    if (delta < 0 && this.paused.size > 0 && this.total <= this.max * 0.75) {
      for (const p of [...this.paused]) p.resumeFrom('budget');
    }
  }
}
