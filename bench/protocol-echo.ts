// The physical limit for metadata ops over TCP: a plain msgpack echo with the same framing
// (4-byte length + msgpack body) and the same write coalescing as Strata's protocol, but no
// handshake, validation, dispatch or FileSystem. Two modes on one server:
// - echo: `{id, p}` comes back as it was sent (a payload of N bytes each way);
// - request/answer: `{t: 'req', id, op, args}` is answered `{t: 'res', id, ok}` with the value
//   registered for `op` (`{t: 'answer', op, ok}`), so a request and its answer have the same
//   bytes as Strata's (a getStatus request of a path, answered by a FileInfo). This is the
//   honest reference of a call: one decode of the request, one encode of the answer.

import net from 'node:net';
import { Packr, Unpackr } from 'msgpackr';

const packr = new Packr({ useRecords: false, variableMapSize: true });

/** One frame of the protocol's framing: 4-byte big-endian length, then the msgpack body. */
export function frame(msg: unknown): Buffer {
  const body = packr.pack(msg);
  const out = Buffer.allocUnsafe(body.length + 4);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** Calls `onMessage` for each complete frame of the chunks pushed in. */
function frameReader(onMessage: (m: unknown) => void): (chunk: Buffer) => void {
  const unpackr = new Unpackr({ useRecords: false });
  let pending: Buffer | undefined;
  return (chunk) => {
    let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    let pos = 0;
    while (buf.length - pos >= 4) {
      const len = buf.readUInt32BE(pos);
      if (buf.length - pos - 4 < len) break;
      onMessage(unpackr.unpack(buf.subarray(pos + 4, pos + 4 + len)));
      pos += 4 + len;
    }
    pending = pos === buf.length ? undefined : buf.subarray(pos);
    buf = undefined as unknown as Buffer;
  };
}

/** Writes frames queued in one tick as one buffer. */
function batcher(socket: net.Socket): (msg: unknown) => void {
  let parts: Buffer[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const p = parts;
    parts = [];
    if (!socket.destroyed) socket.write(p.length === 1 ? p[0]! : Buffer.concat(p));
  };
  return (msg) => {
    parts.push(frame(msg));
    if (!scheduled) {
      scheduled = true;
      process.nextTick(flush);
    }
  };
}

/** Start an echo server: every frame is decoded and answered (echo, or the answer registered for its op). */
export async function startEchoServer(opts: { host?: string; port?: number } = {}): Promise<{
  host: string; port: number; close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const send = batcher(socket);
    // The answers this connection registered.
    const answers = new Map<string, unknown>();
    socket.on('data', frameReader((m) => {
      const r = m as { t?: string; id?: number; op?: string; ok?: unknown };
      if (r.t === 'req') send({ t: 'res', id: r.id, ok: answers.get(r.op!) });
      else if (r.t === 'answer') answers.set(r.op!, r.ok);
      else send(m);
    }));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const a = server.address() as net.AddressInfo;
  return {
    host: a.address,
    port: a.port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}

/** A pipelined echo client: `echo(payload)` resolves with the payload sent back. */
export interface EchoClient {
  echo<T>(payload: T): Promise<T>;
  /** From now on, the server answers every request of `op` with `ok` (sent once, no answer). */
  setAnswer(op: string, ok: unknown): void;
  /**
   * A request of the same shape as a StrataClient call (`{t: 'req', id, op, args}`), answered
   * with the value set for `op`: the same bytes each way as Strata's call of `op`.
   */
  request<T>(op: string, args: unknown[]): Promise<T>;
  close(): void;
}

/** Connect to an echo server. Requests carry an id so many can be in flight. */
export async function connectEcho(address: { host: string; port: number }): Promise<EchoClient> {
  const socket = net.connect({ host: address.host, port: address.port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const pending = new Map<number, (v: unknown) => void>();
  let nextId = 1;
  const send = batcher(socket);
  socket.on('data', frameReader((m) => {
    const { id, p, t, ok } = m as { id: number; p?: unknown; t?: string; ok?: unknown };
    const r = pending.get(id);
    pending.delete(id);
    r?.(t === 'res' ? ok : p);
  }));
  return {
    echo<T>(payload: T): Promise<T> {
      return new Promise<T>((resolve) => {
        const id = nextId++;
        pending.set(id, resolve as (v: unknown) => void);
        send({ id, p: payload });
      });
    },
    setAnswer(op: string, ok: unknown): void {
      send({ t: 'answer', op, ok });
    },
    request<T>(op: string, args: unknown[]): Promise<T> {
      return new Promise<T>((resolve) => {
        const id = nextId++;
        pending.set(id, resolve as (v: unknown) => void);
        send({ t: 'req', id, op, args });
      });
    },
    close() {
      socket.destroy();
    },
  };
}

/**
 * The physical limit of a hot read over TCP: a plain `net` server that streams the file a
 * client names (one line: `<path>\n`) with fs reads of `chunkBytes` and socket writes that
 * respect back-pressure, then closes. No framing, no credit, no FileSystem.
 */
export async function startStreamServer(opts: { host?: string; port?: number; chunkBytes?: number } = {}): Promise<{
  host: string; port: number; close(): Promise<void>;
}> {
  const { open } = await import('node:fs/promises');
  const chunk = opts.chunkBytes ?? 1 << 20;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let line = '';
    const onData = (b: Buffer): void => {
      line += b.toString('utf8');
      const nl = line.indexOf('\n');
      if (nl < 0) return;
      socket.off('data', onData);
      void (async () => {
        const fh = await open(line.slice(0, nl), 'r');
        try {
          for (;;) {
            const buf = Buffer.allocUnsafe(chunk); // socket.write keeps it until written
            const { bytesRead } = await fh.read(buf, 0, chunk, null);
            if (bytesRead === 0) break;
            if (!socket.write(bytesRead === chunk ? buf : buf.subarray(0, bytesRead))) {
              await new Promise<void>((resolve) => socket.once('drain', resolve));
            }
          }
        } finally {
          await fh.close();
        }
        socket.end();
      })().catch(() => socket.destroy());
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const a = server.address() as net.AddressInfo;
  return {
    host: a.address,
    port: a.port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}

/** Read a file from a stream server to nowhere; resolves with the bytes received. */
export function readFromStreamServer(address: { host: string; port: number }, path: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const socket = net.connect({ host: address.host, port: address.port, noDelay: true });
    let n = 0;
    socket.on('connect', () => socket.write(`${path}\n`));
    socket.on('data', (b: Buffer) => { n += b.length; });
    socket.on('error', reject);
    socket.on('close', () => resolve(n));
  });
}
