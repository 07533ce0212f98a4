// A data source read by a shard message without holding its mailbox slot while it waits:
// each pull from the source (an upload's next chunk from the network) runs under
// `slot.idle`, so an upload whose client stalls occupies no slot of its shard.

import type { DataSource } from '../fs.js';
import type { ActorSlot } from './shard-actor.js';

/** `data`, with every wait for its next chunk made idle on `slot` (bytes in memory pass as they are). */
export function idleWhileWaiting(data: DataSource, slot: ActorSlot): DataSource {
  if (data instanceof Uint8Array || !(Symbol.asyncIterator in data)) return data;
  const source = data;
  return {
    async *[Symbol.asyncIterator]() {
      const it = source[Symbol.asyncIterator]();
      let done = false;
      try {
        for (;;) {
          const r = await slot.idle(it.next());
          if (r.done) { done = true; return; }
          yield r.value;
        }
      } finally {
        if (!done) await it.return?.();
      }
    },
  };
}
