// A shard actor: the mailbox of one inode-subtree shard. Messages (mutations and syncs of
// paths in the shard) run in arrival order, at most `concurrency` at once, each after
// taking its path locks; same-path messages therefore apply in mailbox order
// (linearizable), while disjoint paths proceed together. Its state is in LMDB.

import type { LockRequest, PathLocks } from './path-locks.js';

/**
 * What a running message may do with its mailbox slot: `idle(wait)` gives the slot back
 * while `wait` is pending (an upload waiting for its client's next chunk) and takes it back,
 * without queueing, when `wait` settles. The message keeps its path locks throughout.
 */
export interface ActorSlot {
  idle<T>(wait: Promise<T>): Promise<T>;
}

interface Envelope {
  locks: LockRequest[];
  run: (slot: ActorSlot) => Promise<unknown>;
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
  tell<T>(locks: LockRequest[], run: (slot: ActorSlot) => Promise<T>): Promise<T> {
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
    let counted = true;
    let ended = false;
    const slot: ActorSlot = {
      idle: async <T>(wait: Promise<T>): Promise<T> => {
        if (!counted) return wait;
        counted = false;
        this.running--;
        this.drain();
        try {
          return await wait;
        } finally {
          // Back without queueing (it holds locks others may wait for): the count may exceed
          // `concurrency` by the messages that came back from idling. A wait that settles
          // after its message ended counts nothing.
          if (!ended) {
            counted = true;
            this.running++;
          }
        }
      },
    };
    try {
      env.resolve(await env.run(slot));
    } catch (err) {
      env.reject(err);
    } finally {
      ended = true;
      release?.();
      if (counted) this.running--;
      this.handled++;
      this.drain();
    }
  }
}
