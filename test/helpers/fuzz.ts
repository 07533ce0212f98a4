// A bounded protocol fuzzer (seeded, reproducible): connections that send random bytes,
// random msgpack values, valid frames with bytes flipped, truncated frames, oversized length
// prefixes, and — after a valid hello — requests with random ops and arguments. Used by
// test/protocol-fuzz.test.ts and bench/fuzz.ts against a real server process.

import net from 'node:net';
import { encodeFrame } from '../../src/protocol/codec.js';
import { OPS, PROTOCOL_VERSION } from '../../src/protocol/messages.js';

/** xorshift32: a tiny seeded generator (the same seed gives the same frames). */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

const OP_NAMES = Object.keys(OPS);

export interface FuzzStats { frames: number; connections: number; closedByServer: number; answers: number }

/** Run `frames` fuzz frames against `address` over `frames / perConnection` connections, 4 at a time. */
export async function runFuzz(opts: { host: string; port: number; token: string; frames: number; seed?: number; perConnection?: number }): Promise<FuzzStats> {
  const rand = rng(opts.seed ?? 12345);
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
  const [id, secret] = opts.token.split(':');
  const stats: FuzzStats = { frames: 0, connections: 0, closedByServer: 0, answers: 0 };
  const per = opts.perConnection ?? 250;

  const randomValue = (depth = 0): unknown => {
    switch (int(depth > 3 ? 6 : 9)) {
      case 0: return int(1 << 30) - (1 << 29);
      case 1: return rand() < 0.5 ? '/fuzz/' + int(1000) : String.fromCharCode(...Array.from({ length: int(40) }, () => int(0x3000)));
      case 2: return rand() < 0.5;
      case 3: return null;
      case 4: return Buffer.alloc(int(64), int(256));
      case 5: return rand() * 1e9;
      case 6: return Array.from({ length: int(5) }, () => randomValue(depth + 1));
      case 7: return Object.fromEntries(Array.from({ length: int(5) }, () => [pick(['t', 'id', 'op', 'args', 'n', 'chunk', 'recursive', 'x']), randomValue(depth + 1)]));
      default: return { t: pick(['req', 'data', 'end', 'credit', 'cancel', 'hello', 'zzz']), id: int(50), n: int(10), op: pick(OP_NAMES) };
    }
  };
  const randomRequest = (): unknown => {
    const op = pick(OP_NAMES);
    const args = Array.from({ length: int(4) }, () => (rand() < 0.6 ? `/fuzz/${int(20)}` : randomValue(1)));
    return { t: 'req', id: int(200), op, args, ...(rand() < 0.1 ? { progress: true } : {}) };
  };
  const mutate = (frame: Uint8Array): Uint8Array => {
    const b = Buffer.from(frame);
    for (let i = 0, n = 1 + int(3); i < n; i++) b[int(b.length)] = int(256);
    return b;
  };

  const oneConnection = async (): Promise<void> => {
    stats.connections++;
    const sock = net.connect({ host: opts.host, port: opts.port });
    sock.on('error', () => {});
    let serverClosed = false;
    sock.on('data', (d) => { stats.answers += d.length > 0 ? 1 : 0; });
    const closed = new Promise<void>((r) => sock.once('close', () => { serverClosed = true; r(); }));
    await new Promise<void>((r) => { sock.once('connect', () => r()); sock.once('error', () => r()); });
    const mode = int(4); // 0: authenticated requests, 1: hello then garbage, 2: unauthenticated, 3: raw bytes
    if (mode <= 1) sock.write(encodeFrame({ t: 'hello', v: PROTOCOL_VERSION, client: 'fuzz', cred: { id, secret } }));
    else if (mode === 2 && rand() < 0.5) sock.write(encodeFrame({ t: 'hello', v: pick([0, 1, 2, 3]), cred: { id: 'x', secret: 'y' } }));
    for (let i = 0; i < per && !serverClosed && !sock.destroyed; i++) {
      let bytes: Uint8Array;
      const kind = mode === 0 ? (rand() < 0.9 ? 0 : 1 + int(5)) : mode === 3 ? 5 : int(6);
      switch (kind) {
        case 0: bytes = encodeFrame(randomRequest()); break;
        case 1: bytes = mutate(encodeFrame(randomRequest())); break;
        case 2: bytes = encodeFrame(randomValue()); break;
        case 3: { const f = encodeFrame(randomRequest()); bytes = f.subarray(0, int(f.length)); break; }
        case 4: { const h = Buffer.alloc(4); h.writeUInt32BE(rand() < 0.5 ? 0xffffffff : int(1 << 25)); bytes = h; break; }
        default: bytes = Buffer.from(Array.from({ length: 1 + int(200) }, () => int(256)));
      }
      stats.frames++;
      if (!sock.write(bytes)) await new Promise<void>((r) => { sock.once('drain', () => r()); sock.once('close', () => r()); });
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    // Give the server a moment to answer, then leave.
    await Promise.race([closed, new Promise((r) => setTimeout(r, 50))]);
    if (serverClosed) stats.closedByServer++;
    sock.destroy();
  };

  const target = opts.frames;
  const workers = Array.from({ length: 4 }, async () => {
    while (stats.frames < target) await oneConnection();
  });
  await Promise.all(workers);
  return stats;
}
