// The TCP transport end to end on 127.0.0.1: a StrataServer serving a small in-test
// Map-backed FileSystem (the real Coordinator is exercised by integration tests) and a
// StrataClient. Proves pipelining, out-of-order answers, typed errors across the wire,
// credit-paced streams both ways, progress frames, cancellation, cleanup and the handshake.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { ErrorCode, StrataError, notFound } from '../src/errors.js';
import type { DataSource, FileSystem } from '../src/fs.js';
import type { FileInfo, ListStatusOptions, ProgressListener, ReadOptions } from '../src/types.js';
import { StrataServer } from '../src/server/tcp-server.js';
import { StrataClient, parseAddress } from '../src/client/tcp-client.js';
import { FrameDecoder, encodeFrame } from '../src/protocol/codec.js';
import { INITIAL_UPLOAD_CREDIT, PROTOCOL_VERSION, parseServerMessage, type ServerMessage } from '../src/protocol/messages.js';
import { rejects } from './helpers/assert.js';

const quiet = pino({ level: process.env.STRATA_LOG_LEVEL ?? 'silent' });

function info(path: string, type: 'file' | 'directory', length = 0): FileInfo {
  return {
    path, name: path.split('/').pop() ?? '', type, length, mtimeMs: 1, fileId: length, persistenceState: 'PERSISTED',
    cachedBytes: 0, pinned: false, mountPoint: '/', ufsPath: `mem://${path}`,
  };
}

/** A FileSystem over a Map, with hooks the tests use to observe pacing and cleanup. */
class MapFs implements FileSystem {
  files = new Map<string, Uint8Array>();
  dirs = new Map<string, number>(); // directory -> number of synthetic children
  readChunks = 0; // chunks produced by readFile
  readClosed = 0; // readFile iterators finished (normally or by return())
  listClosed = 0;
  writeConsumed = 0; // chunks consumed by writeFile
  writeBytes = 0; // bytes consumed by writeFile
  writeDelayMs = 0;
  /** What each writeFile was handed: bytes in memory, an array of chunks, or a stream to pull. */
  sources: Array<'bytes' | 'chunks' | 'stream'> = [];
  hang = new Set<() => void>();

  async getStatus(path: string): Promise<FileInfo> {
    const m = /^\/delay\/(\d+)$/.exec(path);
    if (m) {
      await sleep(Number(m[1]));
      return info(path, 'file', Number(m[1]));
    }
    if (path === '/hang') return new Promise((resolve) => this.hang.add(() => resolve(info(path, 'file'))));
    if (path === '/boom') throw new Error('boom');
    if (path === '/weird') throw Object.assign(new Error('odd'), { code: 'EWEIRD' });
    if (path === '/full') throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    const f = this.files.get(path);
    if (f) return info(path, 'file', f.length);
    if (this.dirs.has(path)) return info(path, 'directory');
    if (path.startsWith('/gen/')) return info(path, 'file', Number(path.slice(5)));
    throw notFound(path);
  }

  async exists(path: string): Promise<boolean> {
    return this.files.has(path) || this.dirs.has(path);
  }

  async *listStatus(path: string, options?: ListStatusOptions): AsyncIterable<FileInfo[]> {
    const n = this.dirs.get(path);
    if (n === undefined) throw notFound(path);
    const pageSize = options?.pageSize ?? 100;
    try {
      let page: FileInfo[] = [];
      for (let i = 0; i < n; i++) {
        page.push(info(`${path}/f${i}`, 'file', i));
        if (page.length === pageSize) {
          yield page;
          page = [];
        }
      }
      if (page.length) yield page;
    } finally {
      this.listClosed++;
    }
  }

  async createDirectory(path: string): Promise<FileInfo> {
    if (this.dirs.has(path)) throw new StrataError(ErrorCode.ALREADY_EXISTS, `path already exists: ${path}`);
    this.dirs.set(path, 0);
    return info(path, 'directory');
  }

  async createNode(path: string): Promise<FileInfo> {
    return info(path, 'file');
  }

  async writeFile(path: string, data: DataSource, options?: { onProgress?: ProgressListener }): Promise<FileInfo> {
    const parts: Uint8Array[] = [];
    let bytes = 0;
    this.sources.push(data instanceof Uint8Array ? 'bytes' : Symbol.asyncIterator in data ? 'stream' : 'chunks');
    if (path === '/slow-write') await new Promise<void>((resolve) => this.hang.add(resolve));
    for await (const chunk of data instanceof Uint8Array ? [data] : data as AsyncIterable<Uint8Array>) {
      if (this.writeDelayMs) await sleep(this.writeDelayMs);
      this.writeConsumed++;
      this.writeBytes += chunk.length;
      parts.push(Uint8Array.prototype.slice.call(chunk));
      bytes += chunk.length;
      options?.onProgress?.({ done: this.writeConsumed, bytes });
      if (path === '/full' && bytes > 1024 * 1024) throw new StrataError(ErrorCode.RESOURCE_EXHAUSTED, 'disk full');
    }
    const all = Buffer.concat(parts);
    this.files.set(path, all);
    return info(path, 'file', all.length);
  }

  async *readFile(path: string, options?: ReadOptions): AsyncIterable<Uint8Array> {
    const f = this.files.get(path);
    if (!f) throw notFound(path);
    const size = options?.chunkSize ?? 64 * 1024;
    try {
      for (let off = 0; off < f.length; off += size) {
        this.readChunks++;
        yield f.subarray(off, off + size);
      }
    } finally {
      this.readClosed++;
    }
  }

  async delete(path: string): Promise<void> {
    if (!this.files.delete(path)) throw notFound(path);
  }

  async setAttributes(path: string): Promise<FileInfo> {
    return this.getStatus(path);
  }

  async rename(src: string, dst: string): Promise<void> {
    const f = this.files.get(src);
    if (!f) throw notFound(src);
    this.files.delete(src);
    this.files.set(dst, f);
  }

  async mount(): Promise<void> {}
  async unmount(): Promise<void> {}
  async getMountTable() { return [{ path: '/', ufsUri: 'mem:///', readOnly: false, options: {}, mountId: 1 }]; }

  async loadMetadata(_path: string, options?: { onProgress?: ProgressListener }) {
    for (let i = 1; i <= 3; i++) {
      options?.onProgress?.({ done: i, total: 3, phase: 'sync' });
      await sleep(5);
    }
    return { created: 3, updated: 0, deleted: 0, unchanged: 0, failed: 0 };
  }

  async checkConsistency() { return { inconsistent: [], repaired: 0 }; }
  async needsSync(): Promise<void> {}
  async load(_path: string, options?: { onProgress?: ProgressListener }) {
    options?.onProgress?.({ done: 1, bytes: 10 });
    await sleep(1);
    return { files: 1, bytes: 10 };
  }
  async free() { return { files: 0, bytes: 0 }; }
  async persist() { return { files: 0, bytes: 0 }; }
  async setPinned(_path: string, pinned: boolean) { return { files: pinned ? 1 : 0, bytes: 0 }; }
  ttl: unknown[] = [];
  async setTtl(path: string, ttlMs: number, action?: string): Promise<void> { this.ttl = [path, ttlMs, action]; }
  async startSync(): Promise<void> {}
  async stopSync(): Promise<void> {}
  async getSyncPathList() { return []; }
  conf = new Map<string, Record<string, string>>();
  async setPathConf(path: string, properties: Record<string, string>): Promise<void> { this.conf.set(path, properties); }
  async setXattr(): Promise<void> {}
  async listPathConf() { return [...this.conf].map(([path, properties]) => ({ path, properties })); }
  async removePathConf(path: string): Promise<void> { this.conf.delete(path); }
  async getReport(): Promise<never> { throw new StrataError(ErrorCode.INTERNAL, 'no report in tests'); }
  async getConf(): Promise<never> { throw new StrataError(ErrorCode.INTERNAL, 'no configuration in tests'); }
  async close(): Promise<void> {}
}

async function setup(opts: { window?: number; uploadWindow?: number; maxUploads?: number } = {}) {
  const fs = new MapFs();
  const server = new StrataServer(fs, { host: '127.0.0.1', port: 0, logger: quiet, uploadWindow: opts.uploadWindow, insecureNoAuth: true,
    ...(opts.maxUploads ? { maxUploadsPerConnection: opts.maxUploads } : {}) });
  const addr = await server.listen();
  const client = await StrataClient.connect(`${addr.host}:${addr.port}`, { window: opts.window });
  return {
    fs, server, client, addr,
    async done() {
      await client.close();
      await server.close();
    },
  };
}


test('addresses parse as host:port with the default port 19998', () => {
  assert.equal(parseAddress('10.0.0.1:1234'), { host: '10.0.0.1', port: 1234 });
  assert.equal(parseAddress('example'), { host: 'example', port: 19998 });
  assert.equal(parseAddress('[::1]:99'), { host: '::1', port: 99 });
  assert.throws(() => parseAddress('a:b:c'));
  assert.throws(() => parseAddress('h:70000'));
});

test('many concurrent requests share one connection', async () => {
  const t = await setup();
  try {
    const n = 2000;
    const all = await Promise.all(Array.from({ length: n }, (_, i) => t.client.getStatus(`/gen/${i}`)));
    all.forEach((fi, i) => {
      assert.is(fi.path, `/gen/${i}`);
      assert.is(fi.length, i);
    });
    assert.is(t.server.connectionCount, 1);
    assert.is(t.client.inflight, 0);
  } finally {
    await t.done();
  }
});

test('answers come back out of order, matched by id', async () => {
  const t = await setup();
  try {
    const order: number[] = [];
    await Promise.all([200, 100, 1].map((ms) => t.client.getStatus(`/delay/${ms}`).then((fi) => order.push(fi.length))));
    assert.equal(order, [1, 100, 200]);
  } finally {
    await t.done();
  }
});

test('typed errors are rethrown with the same class, code and message', async () => {
  const t = await setup();
  try {
    const e = await rejects(t.client.getStatus('/missing'), ErrorCode.NOT_FOUND);
    assert.is(e.message, 'path does not exist: /missing');
    assert.is(e.name, 'StrataError');
    await t.client.createDirectory('/d');
    await rejects(t.client.createDirectory('/d'), ErrorCode.ALREADY_EXISTS);
    const boom = await rejects(t.client.getStatus('/boom'), ErrorCode.INTERNAL);
    assert.is(boom.message, 'boom');
    // a non-Strata code from the FileSystem is not a stable code: INTERNAL
    await rejects(t.client.getStatus('/weird'), ErrorCode.INTERNAL);
    // ...except a full disk, which is a resource limit wherever it is met
    await rejects(t.client.getStatus('/full'), ErrorCode.RESOURCE_EXHAUSTED);
    // arguments of the wrong type are refused before the FileSystem sees them
    await rejects(t.client.getStatus(42 as unknown as string), ErrorCode.BAD_REQUEST);
    // the connection still works
    assert.is((await t.client.createDirectory('/e')).path, '/e');
  } finally {
    await t.done();
  }
});

test('unary ops carry their arguments', async () => {
  const t = await setup();
  try {
    await t.client.setTtl('/x', 5000, 'delete');
    assert.equal(t.fs.ttl, ['/x', 5000, 'delete']);
    await t.client.setPathConf('/p', { 'metadata.sync.interval': '0' });
    assert.equal(await t.client.listPathConf(), [{ path: '/p', properties: { 'metadata.sync.interval': '0' } }]);
    assert.equal(await t.client.setPinned('/x', true), { files: 1, bytes: 0 });
    assert.is(await t.client.exists('/nope'), false);
    assert.is((await t.client.getMountTable())[0]!.ufsUri, 'mem:///');
    assert.is(await t.client.delete('/nope').catch((e: StrataError) => e.code), ErrorCode.NOT_FOUND);
  } finally {
    await t.done();
  }
});

test('readFile streams several MB, paced by a slow consumer', async () => {
  const t = await setup({ window: 4 });
  try {
    const size = 6 * 1024 * 1024 + 123;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i * 31) & 0xff;
    t.fs.files.set('/big', data);
    const got: Buffer[] = [];
    let consumed = 0;
    let maxAhead = 0;
    for await (const chunk of t.client.readFile('/big', { chunkSize: 64 * 1024 })) {
      got.push(Buffer.from(chunk));
      consumed++;
      if (consumed < 20) await sleep(10); // slow at first: the server must wait for credit
      maxAhead = Math.max(maxAhead, t.fs.readChunks - consumed);
    }
    assert.ok(Buffer.concat(got).equals(data), 'bytes differ');
    // window 4 credits + the chunk being pulled: the server never ran far ahead
    assert.ok(maxAhead <= 6, `server produced ${maxAhead} chunks ahead of the consumer`);
    assert.is(t.fs.readClosed, 1);
    await rejects((async () => { for await (const _ of t.client.readFile('/none')) { /* */ } })(), ErrorCode.NOT_FOUND);
  } finally {
    await t.done();
  }
});

test('readFile chunks larger than a data frame are split', async () => {
  const t = await setup();
  try {
    const data = Buffer.alloc(3 * 1024 * 1024 + 5, 7);
    t.fs.files.set('/one', data);
    let n = 0;
    let bytes = 0;
    for await (const chunk of t.client.readFile('/one', { chunkSize: data.length })) {
      n++;
      bytes += chunk.length;
    }
    assert.is(bytes, data.length);
    assert.is(n, 4);
  } finally {
    await t.done();
  }
});

test('breaking out of readFile cancels the stream on the server', async () => {
  const t = await setup({ window: 2 });
  try {
    t.fs.files.set('/big', Buffer.alloc(8 * 1024 * 1024, 1));
    let n = 0;
    for await (const _ of t.client.readFile('/big', { chunkSize: 64 * 1024 })) {
      if (++n === 3) break;
    }
    for (let i = 0; i < 50 && t.fs.readClosed === 0; i++) await sleep(10);
    assert.is(t.fs.readClosed, 1, 'server iterator was not closed');
    assert.ok(t.fs.readChunks < 10, `server kept reading: ${t.fs.readChunks} chunks`);
    assert.is(t.client.inflight, 0);
    assert.is((await t.client.getStatus('/big')).length, 8 * 1024 * 1024);
  } finally {
    await t.done();
  }
});

test('a client disconnecting mid-stream closes the server iterator', async () => {
  const t = await setup({ window: 2 });
  try {
    t.fs.files.set('/big', Buffer.alloc(8 * 1024 * 1024, 1));
    const it = t.client.readFile('/big')[Symbol.asyncIterator]();
    await it.next();
    await t.client.close();
    for (let i = 0; i < 50 && t.fs.readClosed === 0; i++) await sleep(10);
    assert.is(t.fs.readClosed, 1);
    await rejects(t.client.getStatus('/x'), ErrorCode.CONNECTION_CLOSED);
  } finally {
    await t.server.close();
  }
});

test('writeFile streams chunks under server credit', async () => {
  const t = await setup({ uploadWindow: 4 });
  try {
    const size = 5 * 1024 * 1024 + 17;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i * 7) & 0xff;
    t.fs.writeDelayMs = 2;
    let produced = 0;
    let maxAhead = 0;
    async function* source() {
      for (let off = 0; off < size; off += 100 * 1024) {
        produced += 100 * 1024;
        maxAhead = Math.max(maxAhead, produced - t.fs.writeBytes);
        yield data.subarray(off, off + 100 * 1024);
      }
    }
    const fi = await t.client.writeFile('/up', source(), { overwrite: true });
    assert.is(fi.length, size);
    assert.ok(Buffer.from(t.fs.files.get('/up')!).equals(data), 'bytes differ');
    // 4 frames of credit, one being consumed, one being coalesced (frames are ~512 KiB + one source chunk)
    assert.ok(maxAhead <= 6 * 612 * 1024, `client ran ${maxAhead} bytes ahead`);
    assert.ok(t.fs.writeConsumed >= 8);
    // whole buffers, sync iterables and empty files
    assert.is((await t.client.writeFile('/buf', data)).length, size);
    assert.is((await t.client.writeFile('/sync', [Buffer.from('ab'), Buffer.from('cd')])).length, 4);
    assert.is(Buffer.from(t.fs.files.get('/sync')!).toString(), 'abcd');
    assert.is((await t.client.writeFile('/empty', new Uint8Array(0))).length, 0);
  } finally {
    await t.done();
  }
});

test('a small upload sent whole (req + data + end in one write) is answered without a credit frame and handed over as bytes; a streaming one gets its window', async () => {
  const t = await setup({ uploadWindow: 8 });
  try {
    const sock = net.connect({ host: '127.0.0.1', port: t.addr.port });
    const dec = new FrameDecoder<ServerMessage>({ validate: parseServerMessage });
    const frames: ServerMessage[] = [];
    let arrived: (() => void) | undefined;
    sock.on('data', (c) => { dec.push(c, (m) => frames.push(m)); arrived?.(); });
    const until = async (pred: () => boolean): Promise<void> => {
      while (!pred()) await new Promise<void>((r) => { arrived = r; });
    };
    sock.write(encodeFrame({ t: 'hello', v: PROTOCOL_VERSION, client: 'raw' }));
    await until(() => frames.some((m) => m.t === 'hello'));
    sock.write(Buffer.concat([
      encodeFrame({ t: 'req', id: 1, op: 'writeFile', args: ['/small'] }),
      encodeFrame({ t: 'data', id: 1, chunk: new Uint8Array([1, 2, 3]) }),
      encodeFrame({ t: 'end', id: 1 }),
    ]));
    await until(() => frames.some((m) => m.t === 'res' && m.id === 1));
    assert.equal(frames.filter((m) => m.t === 'credit').map((m) => m.id), [], 'no credit frame for an upload that came whole');
    assert.equal([...t.fs.files.get('/small')!], [1, 2, 3]);
    // ... and handed to the FileSystem as the bytes in memory, not a channel to pull from.
    assert.equal(t.fs.sources, ['bytes']);
    // An upload whose end has not come with its request is granted the rest of the window.
    sock.write(encodeFrame({ t: 'req', id: 2, op: 'writeFile', args: ['/streamed'] }));
    await until(() => frames.some((m) => m.t === 'credit' && m.id === 2));
    assert.is((frames.find((m) => m.t === 'credit' && m.id === 2) as { n: number }).n, 8 - INITIAL_UPLOAD_CREDIT);
    sock.write(encodeFrame({ t: 'data', id: 2, chunk: new Uint8Array([9]) }));
    while (t.fs.sources.length < 2) await sleep(5);
    sock.write(encodeFrame({ t: 'end', id: 2 }));
    await until(() => frames.some((m) => m.t === 'res' && m.id === 2));
    assert.equal([...t.fs.files.get('/streamed')!], [9]);
    assert.equal(t.fs.sources, ['bytes', 'stream']);
    // Two chunks and the end in one write: the chunks as they are.
    sock.write(Buffer.concat([
      encodeFrame({ t: 'req', id: 3, op: 'writeFile', args: ['/two'] }),
      encodeFrame({ t: 'data', id: 3, chunk: new Uint8Array([4, 5]) }),
      encodeFrame({ t: 'data', id: 3, chunk: new Uint8Array([6]) }),
      encodeFrame({ t: 'end', id: 3 }),
    ]));
    await until(() => frames.some((m) => m.t === 'res' && m.id === 3));
    assert.equal(t.fs.sources, ['bytes', 'stream', 'chunks']);
    assert.equal([...t.fs.files.get('/two')!], [4, 5, 6]);
    sock.destroy();
  } finally {
    await t.done();
  }
});

test('a whole upload that waits for an upload slot keeps its bytes in the channel, counted in the buffer budget', async () => {
  const t = await setup({ maxUploads: 1 });
  try {
    const first = t.client.writeFile('/slow-write', Buffer.alloc(100, 1));
    first.catch(() => {});
    while (t.fs.sources.length < 1) await sleep(5);
    const second = t.client.writeFile('/queued', Buffer.alloc(1000, 2));
    second.catch(() => {});
    const until = Date.now() + 3000;
    while (t.server.settings.budget.total < 1000 && Date.now() < until) await sleep(5);
    assert.ok(t.server.settings.budget.total >= 1000, `the waiting upload's bytes are counted (budget ${t.server.settings.budget.total})`);
    for (const h of t.fs.hang) h();
    assert.is((await first).length, 100);
    assert.is((await second).length, 1000);
    assert.equal(t.fs.sources, ['bytes', 'stream']);
    assert.is(t.server.settings.budget.total, 0);
  } finally {
    for (const h of t.fs.hang) h();
    await t.done();
  }
});

test('a writeFile refused mid-upload stops the upload and rethrows the error', async () => {
  const t = await setup();
  try {
    let pulled = 0;
    async function* endless() {
      for (;;) {
        pulled++;
        yield Buffer.alloc(256 * 1024, 1);
      }
    }
    await rejects(t.client.writeFile('/full', endless()), ErrorCode.RESOURCE_EXHAUSTED);
    assert.ok(pulled < 200, `source pulled ${pulled} times`);
    // a failing source cancels the upload and surfaces the source's error
    async function* broken() {
      yield Buffer.alloc(10);
      throw new Error('source broke');
    }
    await t.client.writeFile('/x', broken()).then(() => assert.unreachable(), (e: Error) => assert.is(e.message, 'source broke'));
    assert.is(await t.client.exists('/x'), false);
    assert.is(t.client.inflight, 0);
  } finally {
    await t.done();
  }
});

test('listStatus streams pages and splits oversized ones', async () => {
  const t = await setup({ window: 2 });
  try {
    t.fs.dirs.set('/dir', 2500);
    const pages: FileInfo[][] = [];
    for await (const page of t.client.listStatus('/dir', { pageSize: 100 })) pages.push(page);
    assert.is(pages.length, 25);
    assert.is(pages.flat().length, 2500);
    assert.is(pages[24]![99]!.path, '/dir/f2499');
    const big: FileInfo[][] = [];
    for await (const page of t.client.listStatus('/dir', { pageSize: 5000 })) big.push(page);
    assert.equal(big.map((p) => p.length), [1000, 1000, 500]);
    t.fs.dirs.set('/empty', 0);
    const none: FileInfo[][] = [];
    for await (const page of t.client.listStatus('/empty')) none.push(page);
    assert.is(none.flat().length, 0);
    await rejects((async () => { for await (const _ of t.client.listStatus('/nope')) { /* */ } })(), ErrorCode.NOT_FOUND);
    assert.is(t.fs.listClosed, 3);
  } finally {
    await t.done();
  }
});

test('progress frames reach the onProgress callback', async () => {
  const t = await setup();
  try {
    const seen: unknown[] = [];
    const summary = await t.client.loadMetadata('/', { recursive: true, onProgress: (p) => seen.push(p) });
    assert.equal(summary, { created: 3, updated: 0, deleted: 0, unchanged: 0, failed: 0 });
    assert.ok(seen.length >= 1 && seen.length <= 3);
    assert.equal(seen[seen.length - 1], { done: 3, total: 3, phase: 'sync' });
    const loads: unknown[] = [];
    await t.client.load('/f', { onProgress: (p) => loads.push(p) });
    assert.equal(loads, [{ done: 1, bytes: 10 }]);
    const writes: { bytes?: number }[] = [];
    await t.client.writeFile('/w', Buffer.alloc(2 * 1024 * 1024), { onProgress: (p) => writes.push(p) });
    assert.ok(writes.length >= 1);
    assert.is(writes[writes.length - 1]!.bytes, 2 * 1024 * 1024);
  } finally {
    await t.done();
  }
});

test('losing the connection rejects every pending call with CONNECTION_CLOSED', async () => {
  const t = await setup();
  const pending = [t.client.getStatus('/hang'), t.client.getStatus('/hang')].map((p) => rejects(p, ErrorCode.CONNECTION_CLOSED));
  await sleep(20);
  await t.server.close();
  await Promise.all(pending);
  await rejects(t.client.getStatus('/x'), ErrorCode.CONNECTION_CLOSED);
  await t.client.close();
});

test('connecting to a closed port fails with CONNECTION_CLOSED', async () => {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  await rejects(StrataClient.connect({ host: '127.0.0.1', port }), ErrorCode.CONNECTION_CLOSED);
});

test('a hello with another protocol version gets UNSUPPORTED_VERSION, then the connection closes', async () => {
  const fs = new MapFs();
  const server = new StrataServer(fs, { port: 0, logger: quiet, insecureNoAuth: true });
  const { port } = await server.listen();
  try {
    const sock = net.connect({ host: '127.0.0.1', port });
    const dec = new FrameDecoder<ServerMessage>({ validate: parseServerMessage });
    const frames: ServerMessage[] = [];
    sock.on('data', (c) => dec.push(c, (m) => frames.push(m)));
    sock.write(encodeFrame({ t: 'hello', v: 99, client: 'future' }));
    await new Promise<void>((resolve) => sock.on('close', () => resolve()));
    assert.is(frames.length, 1);
    assert.is(frames[0]!.t, 'error');
    assert.is((frames[0] as { err: { code: string } }).err.code, ErrorCode.UNSUPPORTED_VERSION);
    // a client that speaks the right version is served
    const c = await StrataClient.connect({ host: '127.0.0.1', port });
    assert.is((await c.getStatus('/gen/3')).length, 3);
    await c.close();
  } finally {
    await server.close();
  }
});

test.run();
