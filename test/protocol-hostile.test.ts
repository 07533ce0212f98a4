// Hostile and broken peers: garbage bytes, a 2 GiB length prefix, a truncated frame, an
// unknown op, bad arguments, a request before hello, credit violations, deep nesting and
// silence. Each one errors or closes only its own connection; a well-behaved client
// connected alongside keeps being served.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { pino } from 'pino';
import { ErrorCode, StrataError, notFound } from '../src/errors.js';
import type { FileSystem } from '../src/fs.js';
import type { FileInfo } from '../src/types.js';
import { StrataServer } from '../src/server/tcp-server.js';
import { StrataClient } from '../src/client/tcp-client.js';
import { FrameDecoder, encodeFrame } from '../src/protocol/codec.js';
import { INITIAL_UPLOAD_CREDIT, PROTOCOL_VERSION, parseServerMessage, type ServerMessage } from '../src/protocol/messages.js';

const quiet = pino({ level: process.env.STRATA_LOG_LEVEL ?? 'silent' });

/** Only what these tests call; everything else is refused. */
function tinyFs(): FileSystem {
  const fileInfo = (path: string): FileInfo => ({
    path, name: path.slice(1), type: 'file', length: path.length, mtimeMs: 0, fileId: 1,
    persistenceState: 'PERSISTED', cachedBytes: 0, pinned: false, mountPoint: '/', ufsPath: `mem://${path}`,
  });
  const refuse = async (): Promise<never> => { throw new StrataError(ErrorCode.INTERNAL, 'not in this test'); };
  return new Proxy({} as FileSystem, {
    get(_t, prop) {
      if (prop === 'getStatus') return async (path: string) => (path === '/missing' ? Promise.reject(notFound(path)) : fileInfo(path));
      if (prop === 'writeFile') {
        return async (path: string, data: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>) => {
          let n = 0;
          for await (const c of data instanceof Uint8Array ? [data] : data) n += c.length;
          return { ...fileInfo(path), length: n };
        };
      }
      return refuse;
    },
  });
}

let server: StrataServer;
let port: number;
let good: StrataClient;

/** A raw socket that speaks frames by hand. */
async function raw(opts: { hello?: boolean } = {}) {
  const sock = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const dec = new FrameDecoder<ServerMessage>({ validate: parseServerMessage });
  const frames: ServerMessage[] = [];
  const waiters: (() => void)[] = [];
  sock.on('data', (c) => {
    dec.push(c, (m) => frames.push(m));
    waiters.splice(0).forEach((w) => w());
  });
  sock.on('error', () => {});
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  const api = {
    sock, frames, closed,
    send(msg: unknown) { sock.write(encodeFrame(msg)); },
    async frame(pred: (m: ServerMessage) => boolean): Promise<ServerMessage> {
      for (;;) {
        const f = frames.find(pred);
        if (f) return f;
        await Promise.race([new Promise<void>((r) => waiters.push(r)), closed.then(() => { throw new Error('closed before the frame arrived'); })]);
      }
    },
  };
  if (opts.hello !== false) {
    api.send({ t: 'hello', v: PROTOCOL_VERSION, client: 'raw' });
    await api.frame((m) => m.t === 'hello');
  }
  return api;
}

async function closedWithin(p: Promise<void>, ms = 3000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((_, rej) => { timer = setTimeout(() => rej(new Error('connection was not closed')), ms); })]);
  clearTimeout(timer);
}

function errorFrame(frames: ServerMessage[]): { code: string; message: string } | undefined {
  const f = frames.find((m) => m.t === 'error') as { err: { code: string; message: string } } | undefined;
  return f?.err;
}

async function goodClientStillWorks(): Promise<void> {
  const results = await Promise.all([good.getStatus('/ok'), good.getStatus('/ok2')]);
  assert.equal(results.map((r) => r.path), ['/ok', '/ok2']);
}

test.before(async () => {
  server = new StrataServer(tinyFs(), { port: 0, logger: quiet, helloTimeoutMs: 300, uploadWindow: 2, insecureNoAuth: true });
  ({ port } = await server.listen());
  good = await StrataClient.connect({ host: '127.0.0.1', port });
});

test.after(async () => {
  await good.close();
  await server.close();
});

test('garbage bytes close that connection only', async () => {
  const r = await raw();
  r.sock.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await closedWithin(r.closed);
  assert.is(errorFrame(r.frames)?.code, ErrorCode.BAD_REQUEST);
  await goodClientStillWorks();
});

test('a 2 GiB length prefix is refused at once', async () => {
  const r = await raw();
  r.sock.write(Uint8Array.of(0x80, 0, 0, 0, 1, 2, 3));
  await closedWithin(r.closed);
  assert.match(errorFrame(r.frames)?.message ?? '', /exceeds the maximum/);
  await goodClientStillWorks();
});

test('a truncated frame then close leaves the server serving', async () => {
  const r = await raw();
  const bytes = encodeFrame({ t: 'req', id: 1, op: 'getStatus', args: ['/x'] });
  r.sock.end(bytes.subarray(0, bytes.length - 3));
  await closedWithin(r.closed);
  await goodClientStillWorks();
  assert.is(server.connectionCount, 1);
});

test('an unknown op gets BAD_REQUEST on its id and the connection stays open', async () => {
  const r = await raw();
  for (const op of ['launchMissiles', 'constructor', '__proto__', 'close', 'toString']) {
    r.send({ t: 'req', id: 10, op, args: [] });
    const res = await r.frame((m) => m.t === 'res' && m.id === 10) as { err?: { code: string } };
    assert.is(res.err?.code, ErrorCode.BAD_REQUEST, op);
    r.frames.length = 0;
  }
  r.send({ t: 'req', id: 11, op: 'getStatus', args: ['/still-open'] });
  const ok = await r.frame((m) => m.t === 'res' && m.id === 11) as { ok: FileInfo };
  assert.is(ok.ok.path, '/still-open');
  r.sock.destroy();
  await goodClientStillWorks();
});

test('arguments of the wrong shape get BAD_REQUEST', async () => {
  const r = await raw();
  const cases: unknown[][] = [[], [42], ['/a', 'not-options'], ['/a', [1, 2]], ['/a', {}, 'extra'], [{ path: '/a' }]];
  let id = 100;
  for (const args of cases) {
    r.send({ t: 'req', id: ++id, op: 'getStatus', args });
    const res = await r.frame((m) => m.t === 'res' && m.id === id) as { err?: { code: string } };
    assert.is(res.err?.code, ErrorCode.BAD_REQUEST, JSON.stringify(args));
  }
  r.sock.destroy();
});

test('a request before hello is refused and the connection closed', async () => {
  const r = await raw({ hello: false });
  r.send({ t: 'req', id: 1, op: 'getStatus', args: ['/x'] });
  await closedWithin(r.closed);
  assert.is(errorFrame(r.frames)?.code, ErrorCode.BAD_REQUEST);
  assert.not.ok(r.frames.some((m) => m.t === 'res'));
  await goodClientStillWorks();
});

test('a silent connection is closed after the hello timeout', async () => {
  const r = await raw({ hello: false });
  await closedWithin(r.closed, 2000);
  assert.is(errorFrame(r.frames)?.code, ErrorCode.TIMEOUT);
});

test('a frame that is not a map, or has bad fields, closes the connection', async () => {
  for (const msg of [[1, 2, 3], 'text', { t: 'req', id: -5, op: 'getStatus', args: [] }, { t: 'credit', id: 1, n: -1 }, { no: 'type' }]) {
    const r = await raw();
    r.send(msg);
    await closedWithin(r.closed);
    assert.is(errorFrame(r.frames)?.code, ErrorCode.BAD_REQUEST, JSON.stringify(msg));
  }
  await goodClientStillWorks();
});

test('deeply nested msgpack does not crash the server', async () => {
  const r = await raw();
  const depth = 200_000;
  const body = Buffer.alloc(depth + 1, 0x91); // [[[[...]]]]
  body[depth] = 0x01;
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  r.sock.write(Buffer.concat([head, body]));
  await closedWithin(r.closed);
  await goodClientStillWorks();
});

test('a duplicate request id in flight and data beyond credit close the connection', async () => {
  const r = await raw();
  r.send({ t: 'req', id: 5, op: 'writeFile', args: ['/up'] });
  r.send({ t: 'req', id: 5, op: 'getStatus', args: ['/x'] });
  await closedWithin(r.closed);
  assert.match(errorFrame(r.frames)?.message ?? '', /already in flight/);

  const r2 = await raw();
  r2.send({ t: 'req', id: 6, op: 'writeFile', args: ['/up'] });
  // The server's window here is 2 frames, all of it the initial upload credit: no credit
  // frame comes, and everything past the window is a violation.
  for (let i = 0; i < INITIAL_UPLOAD_CREDIT + 20; i++) r2.send({ t: 'data', id: 6, chunk: new Uint8Array(10) });
  await closedWithin(r2.closed);
  assert.match(errorFrame(r2.frames)?.message ?? '', /beyond the granted credit/);
  await goodClientStillWorks();
});

test('frames for unknown ids are ignored', async () => {
  const r = await raw();
  r.send({ t: 'credit', id: 999, n: 5 });
  r.send({ t: 'data', id: 998, chunk: new Uint8Array(3) });
  r.send({ t: 'end', id: 997 });
  r.send({ t: 'cancel', id: 996 });
  r.send({ t: 'req', id: 1, op: 'getStatus', args: ['/after'] });
  const res = await r.frame((m) => m.t === 'res' && m.id === 1) as { ok: FileInfo };
  assert.is(res.ok.path, '/after');
  r.sock.destroy();
});

test('a flood of connections that vanish mid-frame leaves the server healthy', async () => {
  const socks = await Promise.all(Array.from({ length: 50 }, () => raw()));
  for (const r of socks) {
    r.sock.write(Uint8Array.of(0, 0, 1, 0, 0x83)); // a header and one byte of body
    r.sock.destroy();
  }
  await Promise.all(socks.map((r) => r.closed));
  await goodClientStillWorks();
  const e = await good.getStatus('/missing').catch((err: StrataError) => err);
  assert.is((e as StrataError).code, ErrorCode.NOT_FOUND);
});

test.run();
