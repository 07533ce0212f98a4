// The TCP client of Strata: a FileSystem that forwards every call to a `strata server`
// over one pipelined connection (many calls in flight, matched by id). Errors come back as
// the same StrataError code the server raised; streams are credit paced both ways; losing
// the connection rejects every pending call with CONNECTION_CLOSED.

import net from 'node:net';
import type tls from 'node:tls';
import { ErrorCode, StrataError } from '../errors.js';
import type { DataSource, FileSystem } from '../fs.js';
import type {
  CacheOpOptions, CacheOpResult, ConfEntry, ConsistencyOptions, ConsistencyReport, CreateDirectoryOptions, CreateNodeOptions,
  CreateFileOptions, DeleteOptions, FileInfo, GetStatusOptions, ListStatusOptions,
  LoadMetadataOptions, MountInfo, MountOptions, PathConfEntry, Progress, ProgressListener,
  ReadOptions, RenameOptions, Report, SetAttributesOptions, SyncPointInfo, SyncSummary, TtlAction, WithProgress,
} from '../types.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, decodeAnswerFrame, encodeRequestFrame } from '../protocol/codec.js';
import {
  INITIAL_UPLOAD_CREDIT,
  DEFAULT_PORT, PROTOCOL_VERSION, fromWireError, parseLocalBlocks, parseServerMessage,
  type HelloCredential, type LocalBlocksResult, type OpName, type ResponseMsg, type ServerMessage,
} from '../protocol/messages.js';
import { Outbox } from '../protocol/outbox.js';
import { decodePage } from '../protocol/page-codec.js';
import { parseToken, type Credential } from '../auth/users.js';

export interface StrataClientOptions {
  /** Time allowed to connect and complete the hello handshake (default 10 s). */
  timeoutMs?: number;
  /** Largest accepted frame body (default 16 MiB). */
  maxFrameBytes?: number;
  /** Bytes per data frame when uploading (default 512 KiB). */
  chunkBytes?: number;
  /** Data frames a download (readFile, listStatus) may have in flight (default 8). */
  window?: number;
  /** Name sent in the hello, shown in server logs. */
  clientName?: string;
  /**
   * The credential sent in the hello: `ACCESSKEYID:SECRET` or `{accessKeyId, secretKey}`
   * (default: the STRATA_TOKEN environment variable; none when it is unset).
   */
  token?: string | Credential;
  /**
   * Speak TLS: `true` (system CAs) or `{ ca }` (PEM of the CA or self-signed certificate to
   * trust), `servername` for SNI/verification when it differs from the host.
   */
  tls?: boolean | { ca?: string | Buffer; servername?: string };
}

/** Options of a TLS connection: SNI for host names (not for IP addresses), an extra CA when given. */
function tlsOptions(host: string, port: number, t: { ca?: string | Buffer; servername?: string }): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = { host, port };
  if (t.ca !== undefined) o.ca = t.ca;
  const sni = t.servername ?? (net.isIP(host) ? undefined : host);
  if (sni !== undefined) o.servername = sni;
  return o;
}

/** The credential a client sends: the `token` option, else STRATA_TOKEN, else none. */
function credentialOf(token: string | Credential | undefined): HelloCredential | undefined {
  const t = token ?? (process.env.STRATA_TOKEN?.trim() || undefined);
  if (t === undefined) return undefined;
  const c = typeof t === 'string' ? parseToken(t) : t;
  return { id: c.accessKeyId, secret: c.secretKey };
}

/** What the client does with the frames of one call. */
interface Pending {
  onRes(m: ResponseMsg): void;
  onData?(chunk: unknown): void;
  onCredit?(n: number): void;
  onProgress?(p: Progress): void;
  /** The connection is gone. */
  onClose(err: StrataError): void;
}

/**
 * The pending record of a unary call: one object of one shape per call (no closures), holding
 * the promise's settle functions.
 */
class UnaryPending<T> implements Pending {
  constructor(private readonly resolve: (v: T) => void, private readonly reject: (e: unknown) => void) {}

  onRes(m: ResponseMsg): void {
    if (m.err) this.reject(fromWireError(m.err));
    else this.resolve(m.ok as T);
  }

  onClose(err: StrataError): void {
    this.reject(err);
  }
}

/**
 * Parse `host:port`, `host`, `:port` or `[v6]:port` (default port 19998).
 * @throws StrataError(INVALID_ARGUMENT) on anything else.
 */
export function parseAddress(address: string | { host: string; port: number }): { host: string; port: number } {
  if (typeof address !== 'string') return { host: address.host, port: address.port };
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*))(?::(\d+))?$/.exec(address.trim());
  if (!m) throw new StrataError(ErrorCode.INVALID_ARGUMENT, `invalid address ${JSON.stringify(address)} (expected host:port)`);
  const host = m[1] ?? (m[2] || '127.0.0.1');
  const port = m[3] === undefined ? DEFAULT_PORT : Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new StrataError(ErrorCode.INVALID_ARGUMENT, `invalid port in address ${JSON.stringify(address)}`);
  }
  return { host, port };
}

function drop(args: unknown[]): unknown[] {
  let n = args.length;
  while (n > 0 && args[n - 1] === undefined) n--;
  return n === args.length ? args : args.slice(0, n);
}

/** A FileSystem served by a remote `strata server`, over one pipelined TCP connection. */
export class StrataClient implements FileSystem {
  private readonly decoder: FrameDecoder<ServerMessage>;
  private readonly outbox: Outbox;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closedError: StrataError | undefined;
  private helloWaiter: { resolve: () => void; reject: (e: StrataError) => void } | undefined;
  private drainWaiters: (() => void)[] = [];
  private readonly chunkBytes: number;
  private readonly window: number;
  private readonly onMessageBound = (m: ServerMessage): void => this.onMessage(m);
  /** Name the server gave in its hello. */
  serverName = '';
  /** The user this connection acts as (from the server's hello; undefined without authentication). */
  user: string | undefined;

  private constructor(private readonly socket: net.Socket, opts: StrataClientOptions) {
    const maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    // Answers of FileInfo (getStatus and most unary calls) are read in place; the rest by msgpackr.
    this.decoder = new FrameDecoder({ maxFrameBytes, validate: parseServerMessage, fast: decodeAnswerFrame });
    this.outbox = new Outbox(socket);
    this.chunkBytes = Math.max(1, Math.min(opts.chunkBytes ?? 512 * 1024, maxFrameBytes - 64));
    this.window = Math.max(1, opts.window ?? 8);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk, this.onMessageBound);
      } catch (err) {
        this.shutdown(new StrataError(ErrorCode.CONNECTION_CLOSED,
          `bad frame from server: ${(err as Error).message}`, { cause: err }));
      }
    });
    socket.on('drain', () => this.wakeDrain());
    socket.on('error', (err) => this.shutdown(new StrataError(ErrorCode.CONNECTION_CLOSED,
      `connection to server failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.shutdown(new StrataError(ErrorCode.CONNECTION_CLOSED, 'connection to server closed')));
  }

  /**
   * Connect to a `strata server` and complete the hello handshake.
   * @param address `"host:port"` (default port 19998) or `{host, port}`.
   * @throws StrataError CONNECTION_CLOSED (refused, reset), TIMEOUT, UNSUPPORTED_VERSION.
   */
  static async connect(address: string | { host: string; port: number }, opts: StrataClientOptions = {}): Promise<StrataClient> {
    const { host, port } = parseAddress(address);
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const t = opts.tls === true ? {} : opts.tls || undefined;
    // node:tls (and crypto behind it) loads only for a TLS connection: plain CLI calls start faster.
    const socket = t
      ? (await loadTls()).connect(tlsOptions(host, port, t))
      : net.connect({ host, port, noDelay: true });
    const where = `${host}:${port}`;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StrataError(ErrorCode.TIMEOUT, `no answer from ${where} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([timeout, new Promise<void>((resolve, reject) => {
        socket.once(t ? 'secureConnect' : 'connect', resolve);
        socket.once('error', (err) => reject(new StrataError(ErrorCode.CONNECTION_CLOSED,
          `cannot connect to ${where}: ${err.message}`, { cause: err })));
      })]);
      const client = new StrataClient(socket, opts);
      await Promise.race([timeout, client.hello(opts.clientName ?? `strata-client/${process.pid}`, credentialOf(opts.token))]);
      return client;
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private hello(name: string, cred: HelloCredential | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.helloWaiter = { resolve, reject };
      this.outbox.send({ t: 'hello', v: PROTOCOL_VERSION, client: name, ...(cred ? { cred } : {}) });
    });
  }

  /** Calls waiting for an answer. */
  get inflight(): number {
    return this.pending.size;
  }

  /** True once the connection is gone. */
  get closed(): boolean {
    return this.closedError !== undefined;
  }

  private onMessage(m: ServerMessage): void {
    switch (m.t) {
      case 'res': {
        const p = this.pending.get(m.id);
        if (!p) return; // cancelled call
        this.pending.delete(m.id);
        p.onRes(m);
        return;
      }
      case 'data':
        this.pending.get(m.id)?.onData?.(m.chunk);
        return;
      case 'credit':
        this.pending.get(m.id)?.onCredit?.(m.n);
        return;
      case 'progress':
        this.pending.get(m.id)?.onProgress?.(m.p as unknown as Progress);
        return;
      case 'hello': {
        if (m.v !== PROTOCOL_VERSION) {
          this.shutdown(new StrataError(ErrorCode.UNSUPPORTED_VERSION,
            `server speaks protocol version ${m.v}, this client speaks version ${PROTOCOL_VERSION}`));
          return;
        }
        this.serverName = (m as { server?: string }).server ?? '';
        this.user = m.user;
        const w = this.helloWaiter;
        this.helloWaiter = undefined;
        w?.resolve();
        return;
      }
      case 'error':
        this.shutdown(fromWireError(m.err));
        return;
    }
  }

  /** Fail everything pending with `err` and drop the connection. */
  private shutdown(err: StrataError, graceful = false): void {
    if (this.closedError) return;
    this.closedError = err;
    const w = this.helloWaiter;
    this.helloWaiter = undefined;
    w?.reject(err);
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.onClose(err);
    this.wakeDrain();
    if (graceful) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else {
      this.socket.destroy();
    }
  }

  private wakeDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private alloc(): number {
    const id = this.nextId;
    this.nextId = id >= Number.MAX_SAFE_INTEGER ? 1 : id + 1;
    return id;
  }

  /** Send one unary call and wait for its answer. */
  private call<T>(op: OpName, args: unknown[]): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.alloc();
    const answer = new Promise<T>((resolve, reject) => this.pending.set(id, new UnaryPending<T>(resolve, reject)));
    try {
      // Scalar arguments (a getStatus) are written straight into a frame; the rest by msgpackr.
      this.outbox.sendFrame(encodeRequestFrame(id, op, drop(args)));
    } catch (err) {
      // Arguments msgpack cannot carry: a rejected call, as before, never a synchronous throw.
      this.pending.delete(id);
      return Promise.reject(err);
    }
    return answer;
  }

  /** A unary call whose options may carry onProgress: stripped here, fed by progress frames. */
  private callWithProgress<T>(op: OpName, path: string, options: (WithProgress & object) | undefined): Promise<T> {
    if (!options?.onProgress) return this.call<T>(op, [path, options]);
    if (this.closedError) return Promise.reject(this.closedError);
    const { onProgress, ...rest } = options;
    return new Promise<T>((resolve, reject) => {
      const id = this.alloc();
      this.pending.set(id, {
        onRes: (m) => (m.err ? reject(fromWireError(m.err)) : resolve(m.ok as T)),
        onProgress: (p) => callListener(onProgress, p),
        onClose: reject,
      });
      this.outbox.send({ t: 'req', id, op, args: [path, rest], progress: true });
    });
  }

  /** A download stream (readFile bytes, listStatus pages), started on first iteration. */
  private download<T>(op: OpName, args: unknown[], check: (chunk: unknown) => T): AsyncIterable<T> {
    return { [Symbol.asyncIterator]: () => new DownloadStream<T>(this, op, drop(args), check, this.window) };
  }

  /** @internal Used by DownloadStream. */
  _open(op: OpName, args: unknown[], handler: Pending, window: number): number {
    if (this.closedError) throw this.closedError;
    const id = this.alloc();
    this.pending.set(id, handler);
    this.outbox.send({ t: 'req', id, op, args });
    this.outbox.send({ t: 'credit', id, n: window });
    return id;
  }

  /** @internal Grant a download more credit. */
  _credit(id: number, n: number): void {
    if (!this.closedError && this.pending.has(id)) this.outbox.send({ t: 'credit', id, n });
  }

  /** @internal Abandon a call: the server stops it; its answer is ignored. */
  _cancel(id: number): void {
    if (this.pending.delete(id) && !this.closedError) this.outbox.send({ t: 'cancel', id });
  }

  // ---- FileSystem ----------------------------------------------------------------------

  getStatus(path: string, options?: GetStatusOptions): Promise<FileInfo> {
    return this.call('getStatus', [path, options]);
  }

  exists(path: string, options?: GetStatusOptions): Promise<boolean> {
    return this.call('exists', [path, options]);
  }

  listStatus(path: string, options?: ListStatusOptions): AsyncIterable<FileInfo[]> {
    // Pages travel as columns (protocol version 3) and become the FileInfo objects the server listed.
    return this.download('listStatus', [path, options], decodePage);
  }

  createDirectory(path: string, options?: CreateDirectoryOptions): Promise<FileInfo> {
    return this.call('createDirectory', [path, options]);
  }

  createNode(path: string, options: CreateNodeOptions): Promise<FileInfo> {
    return this.call('createNode', [path, options]);
  }

  readFile(path: string, options?: ReadOptions): AsyncIterable<Uint8Array> {
    return this.download('readFile', [path, options], (chunk) => {
      if (!(chunk instanceof Uint8Array)) throw new StrataError(ErrorCode.INTERNAL, 'readFile chunk from server is not binary');
      return chunk;
    });
  }

  /**
   * Upload `data` in frames of `chunkBytes`, never more than the server's credit ahead.
   * Chunks of an iterable source are sent without copying: do not modify them after yielding.
   */
  async writeFile(path: string, data: DataSource, options?: CreateFileOptions & WithProgress): Promise<FileInfo> {
    if (this.closedError) throw this.closedError;
    const { onProgress, ...rest } = options ?? {};
    const id = this.alloc();
    let credits = INITIAL_UPLOAD_CREDIT; // sent without waiting: a small file costs one round trip
    let done = false;
    let wake: (() => void) | undefined;
    const result = new Promise<FileInfo>((resolve, reject) => {
      this.pending.set(id, {
        onRes: (m) => {
          done = true;
          wake?.();
          if (m.err) reject(fromWireError(m.err));
          else resolve(m.ok as FileInfo);
        },
        onCredit: (n) => {
          credits += n;
          wake?.();
        },
        onProgress: onProgress ? (p) => callListener(onProgress, p) : undefined,
        onClose: (err) => {
          done = true;
          wake?.();
          reject(err);
        },
      });
    });
    result.catch(() => {}); // observed below; avoids an unhandled rejection while still sending
    const hasOptions = Object.keys(rest).length > 0;
    const args = hasOptions ? [path, null, rest] : [path];
    this.outbox.send(onProgress ? { t: 'req', id, op: 'writeFile', args, progress: true } : { t: 'req', id, op: 'writeFile', args });
    try {
      for await (const chunk of chunksOf(data, this.chunkBytes)) {
        while (!done && (credits <= 0 || this.outbox.congested)) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            if (this.outbox.congested) this.drainWaiters.push(resolve);
          });
          wake = undefined;
        }
        if (done) break;
        credits--;
        this.outbox.sendData(id, chunk);
      }
      // The xattr as it is now: a writer may have added what it learnt from the data (a digest).
      if (!done) this.outbox.send(rest.xattr ? { t: 'end', id, xattr: { ...rest.xattr } } : { t: 'end', id });
    } catch (err) {
      // The source failed: abandon the upload on the server and report the source's error.
      this._cancel(id);
      throw err;
    }
    return result;
  }

  delete(path: string, options?: DeleteOptions): Promise<void> {
    return this.call('delete', [path, options]);
  }

  rename(src: string, dst: string, options?: RenameOptions): Promise<void> {
    return this.call('rename', [src, dst, options]);
  }

  setAttributes(path: string, attributes: SetAttributesOptions): Promise<FileInfo> {
    return this.call('setAttributes', [path, attributes]);
  }

  mount(path: string, ufsUri: string, options?: MountOptions): Promise<void> {
    return this.call('mount', [path, ufsUri, options]);
  }

  unmount(path: string): Promise<void> {
    return this.call('unmount', [path]);
  }

  getMountTable(): Promise<MountInfo[]> {
    return this.call('getMountTable', []);
  }

  loadMetadata(path: string, options?: LoadMetadataOptions & WithProgress): Promise<SyncSummary> {
    return this.callWithProgress('loadMetadata', path, options);
  }

  checkConsistency(path: string, options?: ConsistencyOptions): Promise<ConsistencyReport> {
    return this.call('checkConsistency', [path, options]);
  }

  needsSync(path: string): Promise<void> {
    return this.call('needsSync', [path]);
  }

  load(path: string, options?: CacheOpOptions & WithProgress): Promise<CacheOpResult> {
    return this.callWithProgress('load', path, options);
  }

  free(path: string, options?: CacheOpOptions): Promise<CacheOpResult> {
    return this.call('free', [path, options]);
  }

  persist(path: string, options?: CacheOpOptions): Promise<CacheOpResult> {
    return this.call('persist', [path, options]);
  }

  setPinned(path: string, pinned: boolean, options?: CacheOpOptions): Promise<CacheOpResult> {
    return this.call('setPinned', [path, pinned, options]);
  }

  setTtl(path: string, ttlMs: number, action?: TtlAction): Promise<void> {
    return this.call('setTtl', [path, ttlMs, action]);
  }

  startSync(path: string): Promise<void> {
    return this.call('startSync', [path]);
  }

  stopSync(path: string): Promise<void> {
    return this.call('stopSync', [path]);
  }

  getSyncPathList(): Promise<SyncPointInfo[]> {
    return this.call('getSyncPathList', []);
  }

  setXattr(path: string, xattr: Record<string, string>): Promise<void> {
    return this.call('setXattr', [path, xattr]);
  }

  setPathConf(path: string, properties: Record<string, string>): Promise<void> {
    return this.call('setPathConf', [path, properties]);
  }

  listPathConf(): Promise<PathConfEntry[]> {
    return this.call('listPathConf', []);
  }

  removePathConf(path: string): Promise<void> {
    return this.call('removePathConf', [path]);
  }

  getReport(): Promise<Report> {
    return this.call('getReport', []);
  }

  getConf(key?: string): Promise<ConfEntry[]> {
    return this.call('getConf', key === undefined ? [] : [key]);
  }

  /**
   * Short-circuit reads: the block files (local paths on the server's host) of a file cached
   * whole, keyed by its content id; null when it is not. Only answered to loopback clients
   * (PERMISSION_DENIED otherwise; FAILED_PRECONDITION when the server does not share them).
   */
  async getLocalBlocks(path: string): Promise<LocalBlocksResult | null> {
    return parseLocalBlocks(await this.call<unknown>('getLocalBlocks', [path]));
  }

  /**
   * Close the connection. Calls still pending are rejected with CONNECTION_CLOSED.
   * Resolves once the socket is closed.
   */
  async close(): Promise<void> {
    if (this.socket.destroyed) {
      this.shutdown(new StrataError(ErrorCode.CONNECTION_CLOSED, 'client closed'));
      return;
    }
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.outbox.flush();
    this.shutdown(new StrataError(ErrorCode.CONNECTION_CLOSED, 'client closed'), true);
    await closed;
  }
}

/** Call a user's progress listener; its exceptions must not break the connection. */
function callListener(listener: ProgressListener, p: Progress): void {
  try {
    listener(p);
  } catch {
    // a listener's bug is the listener's business
  }
}

/**
 * node:tls, loaded on first use. process.getBuiltinModule (Node ≥ 20.16) where present: the
 * CLI's code-cached bundle cannot use import() (V8 drops the dynamic-import callback of
 * functions restored from a code cache: "A dynamic import callback was not specified").
 */
async function loadTls(): Promise<typeof import('node:tls')> {
  const builtin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  return builtin ? builtin.call(process, 'node:tls') as typeof import('node:tls') : import('node:tls');
}

/** Cut a DataSource into frames of at most `size` bytes, coalescing small chunks. */
async function* chunksOf(data: DataSource, size: number): AsyncGenerator<Uint8Array> {
  if (data instanceof Uint8Array) {
    for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
    return;
  }
  if (data === null || typeof data !== 'object' ||
      !(Symbol.asyncIterator in data || Symbol.iterator in data)) {
    throw new StrataError(ErrorCode.INVALID_ARGUMENT, 'writeFile data must be a Uint8Array or an iterable of Uint8Array');
  }
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  const release = (): Uint8Array => {
    const out = held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes);
    held = [];
    heldBytes = 0;
    return out;
  };
  for await (const chunk of data as AsyncIterable<Uint8Array>) {
    if (!(chunk instanceof Uint8Array)) {
      throw new StrataError(ErrorCode.INVALID_ARGUMENT, 'writeFile data chunks must be Uint8Array');
    }
    if (chunk.length === 0) continue;
    if (chunk.length >= size) {
      if (heldBytes > 0) yield release();
      for (let off = 0; off < chunk.length; off += size) yield chunk.subarray(off, off + size);
      continue;
    }
    // Small chunks are copied together (the source may reuse them) until a frame is full.
    held.push(Uint8Array.prototype.slice.call(chunk));
    heldBytes += chunk.length;
    if (heldBytes >= size) yield release();
  }
  if (heldBytes > 0) yield release();
}

/** The iterator of one download: buffers at most `window` frames, grants credit as they are consumed. */
class DownloadStream<T> implements AsyncIterator<T> {
  private id = -1;
  private queue: T[] = [];
  private finished = false;
  private error: StrataError | undefined;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private consumed = 0;

  constructor(
    private readonly client: StrataClient,
    private readonly op: OpName,
    private readonly args: unknown[],
    private readonly check: (chunk: unknown) => T,
    private readonly window: number,
  ) {}

  private start(): void {
    this.id = this.client._open(this.op, this.args, {
      onRes: (m) => {
        this.finished = true;
        if (m.err) this.error = fromWireError(m.err);
        this.settle();
      },
      onData: (chunk) => {
        if (this.finished) return;
        try {
          this.queue.push(this.check(chunk));
        } catch (err) {
          this.error = err as StrataError;
          this.finished = true;
          this.client._cancel(this.id);
        }
        this.settle();
      },
      onClose: (err) => {
        this.finished = true;
        this.error = err;
        this.queue = [];
        this.settle();
      },
    }, this.window);
  }

  private settle(): void {
    const w = this.waiter;
    if (!w) return;
    if (this.queue.length > 0) {
      this.waiter = undefined;
      w.resolve({ value: this.take(), done: false });
    } else if (this.finished) {
      this.waiter = undefined;
      if (this.error) w.reject(this.error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  private take(): T {
    const v = this.queue.shift()!;
    if (!this.finished && ++this.consumed >= Math.max(1, this.window >> 1)) {
      this.client._credit(this.id, this.consumed);
      this.consumed = 0;
    }
    return v;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.id < 0) {
      try {
        this.start();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.queue.length > 0) return Promise.resolve({ value: this.take(), done: false });
    if (this.finished) {
      if (this.error) {
        const e = this.error;
        this.error = undefined; // thrown once; later calls report done
        return Promise.reject(e);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** The consumer stopped early (break): cancel the stream on the server. */
  return(): Promise<IteratorResult<T>> {
    if (this.id >= 0 && !this.finished) this.client._cancel(this.id);
    this.finished = true;
    this.queue = [];
    return Promise.resolve({ value: undefined, done: true });
  }
}
