// A raw protocol socket for tests: frames sent and received by hand (no StrataClient), so a
// test can act as a hostile or broken peer. `frame(pred)` waits for a matching frame or fails
// when the connection closes first.

import net from 'node:net';
import { FrameDecoder, encodeFrame } from '../../src/protocol/codec.js';
import { parseServerMessage, type ServerMessage } from '../../src/protocol/messages.js';

export interface RawSocket {
  sock: net.Socket;
  frames: ServerMessage[];
  closed: Promise<void>;
  send(msg: unknown): void;
  frame(pred: (m: ServerMessage) => boolean): Promise<ServerMessage>;
  /** The `err` of the connection-level error frame received, if any. */
  error(): { code: string; message: string } | undefined;
}

/** Connect to `address` (`host:port` or {host, port}) and decode what the server sends. */
export async function rawConnect(address: string | { host: string; port: number }): Promise<RawSocket> {
  const a = typeof address === 'string'
    ? { host: address.slice(0, address.lastIndexOf(':')), port: Number(address.slice(address.lastIndexOf(':') + 1)) }
    : address;
  const sock = net.connect({ host: a.host, port: a.port });
  await new Promise<void>((resolve, reject) => { sock.once('connect', () => resolve()); sock.once('error', reject); });
  const dec = new FrameDecoder<ServerMessage>({ validate: parseServerMessage });
  const frames: ServerMessage[] = [];
  const waiters: (() => void)[] = [];
  sock.on('data', (c) => {
    try { dec.push(c, (m) => frames.push(m)); } catch { sock.destroy(); }
    waiters.splice(0).forEach((w) => w());
  });
  sock.on('error', () => {});
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  return {
    sock, frames, closed,
    send(msg) { if (!sock.destroyed) sock.write(encodeFrame(msg)); },
    async frame(pred) {
      for (;;) {
        const f = frames.find(pred);
        if (f) return f;
        if (sock.destroyed) throw new Error('closed before the frame arrived');
        await Promise.race([new Promise<void>((r) => waiters.push(r)), closed]);
      }
    },
    error() {
      const f = frames.find((m) => m.t === 'error') as { err: { code: string; message: string } } | undefined;
      return f?.err;
    },
  };
}

/** Wait for `p` at most `ms` (a bound on a hang, not a timing assertion). */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}
