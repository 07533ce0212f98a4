// Login sessions of the web console: a random session id (the HttpOnly cookie) bound to one
// user's access key id, a per-session CSRF token that every POST must echo in a header, an
// absolute expiry, and a bounded table (the oldest session goes first when it is full).

import { randomBytes } from 'node:crypto';

/** One logged-in browser. */
export interface Session {
  id: string;
  accessKeyId: string;
  csrfToken: string;
  createdMs: number;
  expiresMs: number;
}

/** The cookie that carries the session id. */
export const SESSION_COOKIE = 'strata_session';
/** The header that carries the CSRF token on every POST. */
export const CSRF_HEADER = 'x-csrf-token';

/** Constant-time comparison of secrets (the one in src/auth/users.ts). */
export { sameSecret } from '../auth/users.js';

/** Sessions in memory; a restart of the server logs everyone out. */
export class SessionStore {
  private readonly byId = new Map<string, Session>();

  constructor(private readonly opts: { ttlMs: number; max?: number; now?: () => number }) {}

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  /** A new session for `accessKeyId` (256-bit random id and CSRF token). */
  create(accessKeyId: string): Session {
    const max = this.opts.max ?? 1000;
    this.sweep();
    while (this.byId.size >= max) {
      const oldest = this.byId.keys().next().value as string;
      this.byId.delete(oldest);
    }
    const t = this.now();
    const s: Session = {
      id: randomBytes(32).toString('base64url'),
      accessKeyId,
      csrfToken: randomBytes(32).toString('base64url'),
      createdMs: t,
      expiresMs: t + this.opts.ttlMs,
    };
    this.byId.set(s.id, s);
    return s;
  }

  /** The live session with this id, or undefined (unknown or expired: then dropped). */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    if (s.expiresMs <= this.now()) {
      this.byId.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Drop expired sessions (sessions are inserted in expiry order, so stop at the first live one). */
  sweep(): void {
    const t = this.now();
    for (const [id, s] of this.byId) {
      if (s.expiresMs > t) break;
      this.byId.delete(id);
    }
  }
}

/** Parse a Cookie header into name → value. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const k = part.slice(0, eq).trim();
    if (k in out) continue;
    try {
      out[k] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // A malformed cookie value is ignored, as if absent.
    }
  }
  return out;
}
