// A shard actor: the mailbox of one inode-subtree shard. Messages (mutations and syncs of
// paths in the shard) run in arrival order, at most `concurrency` at once, each after
// taking its path locks; same-path messages therefore apply in mailbox order
// (linearizable), while disjoint paths proceed together. Its state is in LMDB.

import type { LockRequest, PathLocks } from './path-locks.js';

interface Envelope {
  locks: LockRequest[];
  run: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class ShardActor {
  private readonly mailbox: Envelope[] = [];
  private running = 0;
  /** Messages handled since start (for the report). */
  handled = 0;

  constructor(readonly id: number, private readonly locks: PathLocks, private readonly concurrency: number) {}

  get queued(): number {
    return this.mailbox.length;
  }

  /** Deliver a message; resolves with its result once it ran. */
  tell<T>(locks: LockRequest[], run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.mailbox.push({ locks, run, resolve: resolve as (v: unknown) => void, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.running < this.concurrency && this.mailbox.length > 0) {
      const env = this.mailbox.shift()!;
      this.running++;
      void this.process(env);
    }
  }

  private async process(env: Envelope): Promise<void> {
    // Locks are requested in mailbox order, so same-path messages keep their order.
    const release = env.locks.length ? await this.locks.acquire(env.locks) : undefined;
    try {
      env.resolve(await env.run());
    } catch (err) {
      env.reject(err);
    } finally {
      release?.();
      this.running--;
      this.handled++;
      this.drain();
    }
  }
}
