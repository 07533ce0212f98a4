// Fine-grained path locks for mutations, held in the coordinator's memory (see
// docs/architecture.md for why not in LMDB). A lock is shared or exclusive, on one path or
// on its whole subtree. Two requests conflict only when their paths are equal or one covers
// the other by a subtree lock, so operations on disjoint paths never wait for each other.
// Waiters are served in arrival order among those that conflict (no starvation of writers).

import { isUnder } from '../meta/path.js';

export interface LockRequest {
  path: string;
  exclusive: boolean;
  /** Cover every path below too (recursive delete, rename of a directory). */
  subtree?: boolean;
}

interface Held extends LockRequest {
  id: number;
}

interface Waiter {
  id: number;
  requests: LockRequest[];
  resolve: (release: () => void) => void;
}

function conflicts(a: LockRequest, b: LockRequest): boolean {
  if (!a.exclusive && !b.exclusive) return false;
  if (a.path === b.path) return true;
  if (a.subtree && isUnder(b.path, a.path)) return true;
  if (b.subtree && isUnder(a.path, b.path)) return true;
  return false;
}

/**
 * The lock table. Held locks are indexed by their top-level path component so a check only
 * scans locks that could overlap; a subtree lock on '/' is kept aside and checked always.
 */
export class PathLocks {
  private nextId = 1;
  private readonly held = new Map<string, Held[]>();
  private readonly waiters: Waiter[] = [];

  private bucket(path: string): string {
    const i = path.indexOf('/', 1);
    return i < 0 ? path : path.slice(0, i);
  }

  private heldConflicts(req: LockRequest): boolean {
    const candidates = req.path === '/' ? [...this.held.values()].flat() : [...(this.held.get(this.bucket(req.path)) ?? []), ...(this.held.get('/') ?? [])];
    return candidates.some((h) => conflicts(h, req));
  }

  private canGrant(requests: LockRequest[], before: number): boolean {
    for (const r of requests) {
      if (this.heldConflicts(r)) return false;
      // FIFO: an earlier waiter that conflicts goes first.
      for (let i = 0; i < before; i++) {
        if (this.waiters[i]!.requests.some((w) => conflicts(w, r))) return false;
      }
    }
    return true;
  }

  private grant(id: number, requests: LockRequest[]): () => void {
    for (const r of requests) {
      const b = this.bucket(r.path);
      let list = this.held.get(b);
      if (!list) this.held.set(b, (list = []));
      list.push({ ...r, id });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const r of requests) {
        const b = this.bucket(r.path);
        const list = this.held.get(b);
        if (!list) continue; // an earlier request of the same grant shared this bucket
        const kept = list.filter((h) => h.id !== id);
        if (kept.length) this.held.set(b, kept);
        else this.held.delete(b);
      }
      this.wake();
    };
  }

  private wake(): void {
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (this.canGrant(w.requests, i)) {
        this.waiters.splice(i, 1);
        i--;
        w.resolve(this.grant(w.id, w.requests));
      }
    }
  }

  /** Acquire all requested locks atomically; resolves with the release function. */
  acquire(requests: LockRequest[]): Promise<() => void> {
    const id = this.nextId++;
    if (this.canGrant(requests, this.waiters.length)) return Promise.resolve(this.grant(id, requests));
    return new Promise((resolve) => this.waiters.push({ id, requests, resolve }));
  }

  /** Locks currently held (for tests and the report). */
  get size(): number {
    let n = 0;
    for (const l of this.held.values()) n += l.length;
    return n;
  }
}
