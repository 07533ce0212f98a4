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

/** The proper ancestors of a normalized path, nearest first ('/' last; none for '/'). */
function forEachAncestor(path: string, fn: (ancestor: string) => boolean | void): boolean {
  if (path === '/') return false;
  for (let i = path.lastIndexOf('/'); ; i = path.lastIndexOf('/', i - 1)) {
    if (fn(i === 0 ? '/' : path.slice(0, i)) === true) return true;
    if (i === 0) return false;
  }
}

/** Held locks of one kind at or below one path: all of them, and the exclusive ones. */
interface Count { all: number; exclusive: number }

/** Whether held locks counted by `c` conflict with a request (exclusive: with any of them). */
function blocks(c: Count | undefined, exclusive: boolean): boolean {
  return c !== undefined && (exclusive ? c.all > 0 : c.exclusive > 0);
}

function add(m: Map<string, Count>, key: string, exclusive: boolean, by: 1 | -1): void {
  let c = m.get(key);
  if (!c) m.set(key, (c = { all: 0, exclusive: 0 }));
  c.all += by;
  if (exclusive) c.exclusive += by;
  if (c.all === 0) m.delete(key);
}

/**
 * The lock table, kept as counts so that a request costs what its path's depth costs,
 * whatever else is held (10,000 writers in one directory share its lock in O(1) each): held
 * locks counted by exact path, subtree locks counted by path (found by walking the request's
 * ancestors), and per path the count of held locks strictly below it (what a subtree request
 * must not cover). Waiters are checked in arrival order.
 */
export class PathLocks {
  private nextId = 1;
  private readonly at = new Map<string, Count>();
  private readonly subtreesAt = new Map<string, Count>();
  private readonly below = new Map<string, Count>();
  private readonly waiters: Waiter[] = [];
  private count = 0;

  private heldConflicts(req: LockRequest): boolean {
    // Same path: shared with shared is the only pair that does not conflict.
    if (blocks(this.at.get(req.path), req.exclusive)) return true;
    // A subtree lock on an ancestor covers the path.
    if (this.subtreesAt.size && forEachAncestor(req.path, (a) => blocks(this.subtreesAt.get(a), req.exclusive))) return true;
    // A subtree request covers every held lock below its path.
    return !!req.subtree && blocks(this.below.get(req.path), req.exclusive);
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

  private hold(requests: LockRequest[], by: 1 | -1): void {
    for (const r of requests) {
      add(this.at, r.path, r.exclusive, by);
      if (r.subtree) add(this.subtreesAt, r.path, r.exclusive, by);
      forEachAncestor(r.path, (a) => add(this.below, a, r.exclusive, by));
      this.count += by;
    }
  }

  private grant(requests: LockRequest[]): () => void {
    this.hold(requests, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.hold(requests, -1);
      this.wake();
    };
  }

  private wake(): void {
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (this.canGrant(w.requests, i)) {
        this.waiters.splice(i, 1);
        i--;
        w.resolve(this.grant(w.requests));
      }
    }
  }

  /** Acquire all requested locks atomically; resolves with the release function. */
  acquire(requests: LockRequest[]): Promise<() => void> {
    const id = this.nextId++;
    if (this.canGrant(requests, this.waiters.length)) return Promise.resolve(this.grant(requests));
    return new Promise((resolve) => this.waiters.push({ id, requests, resolve }));
  }

  /** Locks currently held (for tests and the report). */
  get size(): number {
    return this.count;
  }

  /** Requests waiting (for tests and the report). */
  get waiting(): number {
    return this.waiters.length;
  }
}
