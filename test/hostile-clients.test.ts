// Hostile and careless clients against a real `strata server` process: stalled uploads hold
// no lock (an upload that sent nothing takes none; one that stalls mid-way is aborted after
// upload.idle.timeout and its lock released), at most connection.max.uploads run at once per
// connection (the others wait their turn),
// partial frames of many connections stay within server.max.buffered (RSS sampled, against
// a generous bound), connections past server.max.connections are refused, an idle
// connection is closed — while a well-behaved client keeps being served throughout.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { StrataClient } from '../src/client/tcp-client.js';
import { PROTOCOL_VERSION } from '../src/protocol/messages.js';
import { startServer, type ServerHandle } from './helpers/server.js';
import { rawConnect, within, type RawSocket } from './helpers/raw-socket.js';
import { readText, waitFor } from './helpers/fixture.js';

let srv: ServerHandle;
let good: StrataClient;
let ping: NodeJS.Timeout;

const data = async function* (s: string): AsyncGenerator<Uint8Array> { yield Buffer.from(s); };

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function authed(): Promise<RawSocket> {
  const r = await authedOrRefused();
  if (!r) throw new Error('connection refused: server.max.connections reached');
  return r;
}

/** A connection past the hello, or undefined when the server refused it for its connection limit. */
async function authedOrRefused(): Promise<RawSocket | undefined> {
  const [id, secret] = srv.token!.split(':');
  const r = await rawConnect(srv.address);
  r.send({ t: 'hello', v: PROTOCOL_VERSION, client: 'hostile', cred: { id, secret } });
  try {
    await r.frame((m) => m.t === 'hello');
  } catch (e) {
    if (r.error()?.code === 'RESOURCE_EXHAUSTED') return undefined;
    throw e;
  }
  return r;
}

test.before(async () => {
  srv = await startServer({ args: [
    '-D', 'upload.idle.timeout=1s', '-D', 'connection.max.uploads=16', '-D', 'server.max.buffered=48MB',
    '-D', 'server.max.connections=40', '-D', 'server.idle.timeout=2s',
  ] });
  good = await StrataClient.connect(srv.address, { token: srv.token });
  await good.createDirectory('/stall');
  // The well-behaved client is never idle for server.idle.timeout.
  ping = setInterval(() => { good.getStatus('/').catch(() => undefined); }, 300);
});

test.after(async () => {
  clearInterval(ping);
  await good?.close();
  await srv?.stop();
  if (srv) await rm(srv.dataDir, { recursive: true, force: true });
});

test('uploads that send nothing hold no lock; past connection.max.uploads they wait; all time out', async () => {
  const r = await authed();
  const N = 24;
  for (let i = 1; i <= N; i++) r.send({ t: 'req', id: i, op: 'writeFile', args: [`/stall/f${i}`, null, {}] });
  // The same paths and other shards are served at once.
  await good.writeFile('/stall/f1', data('from the good client'), { overwrite: true });
  await good.createDirectory('/elsewhere/deep', { recursive: true });
  assert.is(await readText(good, '/stall/f1'), 'from the good client');
  // 20 uploads send one chunk and stall: 16 run (connection.max.uploads), 4 wait their turn.
  for (let i = 101; i <= 120; i++) {
    r.send({ t: 'req', id: i, op: 'writeFile', args: [`/stall/g${i}`, null, {}] });
    r.send({ t: 'data', id: i, chunk: Buffer.from('partial') });
  }
  // Every one is aborted after upload.idle.timeout (the waiting ones once they ran dry).
  assert.is(await within(waitForFrames(r, N + 20, 'TIMEOUT'), 90_000, 'timeouts'), N + 20);
  // Their locks are free.
  await good.writeFile('/stall/g120', data('free'), { overwrite: true });
  r.sock.destroy();
});

test('an upload that stalls after its first chunk releases its lock after upload.idle.timeout', async () => {
  const r = await authed();
  r.send({ t: 'req', id: 1, op: 'writeFile', args: ['/stall/held', null, {}] });
  r.send({ t: 'data', id: 1, chunk: Buffer.from('partial') });
  await waitFor(async () => (await good.getReport()).ops.writeFile! >= 1, 'the stalled write started');
  // Another shard is not held up while the lock is held.
  await good.createDirectory('/other-shard/x', { recursive: true });
  // The same path waits for the lock, then gets it once the stalled upload is aborted.
  await within(good.writeFile('/stall/held', data('second'), { overwrite: true }), 60_000, 'the write after the stall');
  assert.is(await readText(good, '/stall/held'), 'second');
  const res = await r.frame((m) => m.t === 'res' && m.id === 1) as { err?: { code: string } };
  assert.is(res.err?.code, 'TIMEOUT');
  r.sock.destroy();
});

test('partial frames of many connections stay within server.max.buffered; the good client is served', async () => {
  const before = rssMb(srv.proc.pid!);
  const conns: RawSocket[] = [];
  const PER = 15 * 1024 * 1024;
  const block = Buffer.alloc(1024 * 1024, 7);
  for (let i = 0; i < 30; i++) {
    const r = await authed();
    conns.push(r);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(16 * 1024 * 1024);
    r.sock.write(head);
    for (let off = 0; off < PER; off += block.length) r.sock.write(block);
  }
  let peak = before;
  for (let i = 0; i < 40; i++) {
    peak = Math.max(peak, rssMb(srv.proc.pid!));
    assert.is((await good.getStatus('/stall')).type, 'directory');
    await new Promise((res) => setTimeout(res, 100));
  }
  // 30 x 15 MiB = 450 MiB would be buffered without the budget (48 MiB).
  assert.ok(peak - before < 300, `RSS grew by ${Math.round(peak - before)} MB (from ${Math.round(before)} MB)`);
  const closedForBudget = conns.filter((c) => c.error()?.code === 'RESOURCE_EXHAUSTED').length;
  assert.ok(closedForBudget >= 1, 'the largest holders were closed');
  for (const c of conns) c.sock.destroy();
});

test('connections past server.max.connections are refused; an idle connection is closed', async () => {
  const extra: RawSocket[] = [];
  try {
    for (let i = 0; i < 45; i++) extra.push(await rawConnect(srv.address));
    await waitFor(() => extra.some((c) => c.error()?.code === 'RESOURCE_EXHAUSTED'), 'a refused connection');
  } finally {
    for (const c of extra) c.sock.destroy();
  }
  // The server sees the destroyed sockets close a moment later; until it has, a new
  // connection may still be refused for the limit. Only that refusal is retried.
  let idle: RawSocket | undefined;
  await waitFor(async () => (idle = await authedOrRefused()) !== undefined, 'a connection admitted after the extra ones closed');
  await within(idle!.closed, 60_000, 'idle connection closed');
  assert.is(idle!.error()?.code, 'TIMEOUT');
  assert.is((await good.getStatus('/stall')).type, 'directory');
});

async function waitForFrames(r: RawSocket, n: number, code: string): Promise<number> {
  const count = (): number => r.frames.filter((m) => m.t === 'res' && (m as { err?: { code: string } }).err?.code === code).length;
  await waitFor(() => count() >= n || r.sock.destroyed, `${n} ${code} answers`, 60_000);
  return count();
}

test.run();
