// Reusable buffers for hot reads: the data path reads cached block files into them, and a
// consumer that knows when it is done with a chunk (the TCP server, once the socket has
// written it) gives it back. A chunk never given back is simply garbage collected, so every
// other consumer (library mode, the gateway) is safe without knowing about the pool.

/** Size of a pooled buffer: the default read chunk (a chunk of another size is not pooled). */
export const READ_BUFFER_BYTES = 1 << 20;
/** Free buffers kept (the rest of a burst is left to the garbage collector). */
const MAX_FREE = 32;

const free: ArrayBuffer[] = [];
/** Pooled buffers handed out and not given back yet (a second release is ignored). */
const lent = new WeakSet<ArrayBuffer>();
/** Every buffer this pool made. */
const ours = new WeakSet<ArrayBuffer>();

/** A buffer of READ_BUFFER_BYTES from the pool (or a new one). */
export function acquireReadBuffer(): Buffer {
  const ab = free.pop() ?? new ArrayBuffer(READ_BUFFER_BYTES);
  ours.add(ab);
  lent.add(ab);
  return Buffer.from(ab, 0, READ_BUFFER_BYTES);
}

/** True when `chunk` is a view of a pooled buffer that is lent out. */
export function isPooledChunk(chunk: Uint8Array): boolean {
  return lent.has(chunk.buffer as ArrayBuffer);
}

/**
 * Give back the buffer behind `chunk`: the caller guarantees nothing reads it any more
 * (every view of it is dead). Chunks not from the pool, or given back already, are ignored.
 */
export function releaseReadBuffer(chunk: Uint8Array): void {
  const ab = chunk.buffer as ArrayBuffer;
  if (!ours.has(ab) || !lent.delete(ab)) return;
  if (free.length < MAX_FREE) free.push(ab);
}

/** Buffers waiting in the pool (tests). */
export function freeReadBuffers(): number {
  return free.length;
}
