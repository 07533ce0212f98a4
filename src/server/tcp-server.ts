// The TCP transport of Strata: accepts connections, runs the hello handshake, and serves
// any FileSystem (the Coordinator in production) to pipelined clients. Calls on one
// connection run concurrently and answer out of order; streams are credit paced in both
// directions; a bad frame or a protocol violation closes that one connection, never the server.

import net from 'node:net';
import tls from 'node:tls';
import { ErrorCode, StrataError, toStrataError } from '../errors.js';
import { checkPathDepth } from '../meta/path.js';
import type { FileSystem } from '../fs.js';
import { logger as rootLogger, type Logger } from '../log.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, decodeRequestFrame, encodeAnswerFrame, encodeFrame } from '../protocol/codec.js';
import {
  INITIAL_UPLOAD_CREDIT,
  DEFAULT_PORT, OPS, PROTOCOL_VERSION, checkArgs, isOpName, isPlainObject, parseClientMessage, toWireError,
  type ClientMessage, type OpName, type RequestMsg,
} from '../protocol/messages.js';
import { Outbox } from '../protocol/outbox.js';
import { columnLister, encodePage, PAGE_FORMAT } from '../protocol/page-codec.js';
import { isPooledChunk, releaseReadBuffer } from '../data/read-buffers.js';
import { withUser } from '../auth/access.js';
import type { User, UserStore } from '../auth/users.js';
import { BufferBudget, LogLimiter, isLoopbackHost } from './guard.js';
import { localBlocksOf, type BlockFileSource } from './short-circuit.js';

export interface StrataServerOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** TCP port; 0 picks a free one (default 19998). */
  port?: number;
  /** Largest accepted frame body (default 16 MiB). */
  maxFrameBytes?: number;
  logger?: Logger;
  /** Chunks a client may send ahead on an upload (writeFile) before more credit (default 8). */
  uploadWindow?: number;
  /** Calls in flight per connection before new ones get RESOURCE_EXHAUSTED (default 4096). */
  maxInflight?: number;
  /** A connection that has not said hello within this time is closed (default 10 s). */
  helloTimeoutMs?: number;
  /** Name sent in the server hello. */
  serverName?: string;
  /**
   * The users who may connect: every hello must carry a credential one of them holds, and
   * the connection then serves `withUser(fs, user)`. Required unless `insecureNoAuth`.
   */
  users?: UserStore;
  /** Serve every connection without a credential (tests only; refused unless `host` is loopback). */
  insecureNoAuth?: boolean;
  /** An upload that receives no data for this long is aborted with TIMEOUT (default 30 s). */
  uploadIdleTimeoutMs?: number;
  /** Uploads of one connection whose FileSystem call runs at once; more wait their turn (default 64). */
  maxUploadsPerConnection?: number;
  /** Bytes buffered for incomplete frames and upload data across all connections (default 256 MiB). */
  maxBufferedBytes?: number;
  /** Connections open at once; more are refused with RESOURCE_EXHAUSTED (default 1024). */
  maxConnections?: number;
  /** A connection with no call in flight that sends nothing for this long is closed (default 30 min; 0 = never). */
  idleTimeoutMs?: number;
  /** Deepest path (in components) accepted in a call; deeper is INVALID_PATH (default 512). */
  maxPathDepth?: number;
  /** Serve TLS instead of plain TCP: PEM certificate (chain) and private key. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * The block cache's files, shared with loopback clients through `getLocalBlocks`
   * (short-circuit reads); absent: that call answers FAILED_PRECONDITION.
   */
  localBlocks?: BlockFileSource;
}

/** The ops that are FileSystem methods (getLocalBlocks is the server's own). */
type FsOp = Exclude<OpName, 'getLocalBlocks'>;

/** Largest bytes chunk sent in one data frame; larger chunks from the FileSystem are split. */
const MAX_DATA_CHUNK = 1024 * 1024;
/** Largest FileInfo[] page sent in one data frame; larger pages are split. */
const MAX_PAGE_ENTRIES = 1000;
/** Calls that get no AbortSignal: their work does not look at one (a cancel only drops the answer). */
const UNSIGNALLED_OPS: ReadonlySet<OpName> = new Set<OpName>(['getStatus', 'exists']);
/** Index of each op's options argument (where attachSignal puts the AbortSignal); absent: none. */
const OPTIONS_ARG: ReadonlyMap<OpName, number> = new Map(Object.entries(OPS).flatMap(([op, spec]) => {
  const i = (spec.args as readonly string[]).indexOf('options');
  return i < 0 ? [] : [[op as OpName, i] as const];
}));
/** Under budget pressure, connections holding more than this keep reading (small frames pass). */
const BUDGET_SMALL_HOLDER = 64 * 1024;
/** Stop reading requests from a client that does not read its responses past this backlog. */
const WRITE_BACKLOG_PAUSE = 8 * 1024 * 1024;

/** Serves one FileSystem over TCP. */
export class StrataServer {
  private readonly server: net.Server | tls.Server;
  private readonly conns = new Set<Connection>();
  private readonly log: Logger;
  private readonly host: string;
  private readonly port: number;
  private nextConnId = 1;
  private closing: Promise<void> | undefined;
  private listening = false;
  /** Settings shared by every connection. */
  readonly settings: ConnectionSettings;
  private readonly maxConnections: number;
  /** Periodic checks: idle connections, stalled uploads, the buffer budget. */
  private sweeper: NodeJS.Timeout | undefined;

  /**
   * @param fs what to serve: any FileSystem implementation.
   * @param opts listen address, frame limit, logger and flow-control tuning.
   */
  constructor(private readonly fs: FileSystem, opts: StrataServerOptions = {}) {
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? DEFAULT_PORT;
    this.log = (opts.logger ?? rootLogger).child({ component: 'tcp-server' });
    this.settings = {
      maxFrameBytes: opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      uploadWindow: Math.max(1, opts.uploadWindow ?? 8),
      maxInflight: Math.max(1, opts.maxInflight ?? 4096),
      helloTimeoutMs: opts.helloTimeoutMs ?? 10_000,
      serverName: opts.serverName ?? 'strata',
      users: opts.users,
      logLimiter: new LogLimiter(),
      uploadIdleTimeoutMs: opts.uploadIdleTimeoutMs ?? 30_000,
      maxUploads: Math.max(1, opts.maxUploadsPerConnection ?? 64),
      budget: new BufferBudget(opts.maxBufferedBytes ?? 256 * 1024 * 1024),
      idleTimeoutMs: opts.idleTimeoutMs ?? 30 * 60_000,
      maxPathDepth: opts.maxPathDepth ?? 512,
      localBlocks: opts.localBlocks,
    };
    this.maxConnections = Math.max(1, opts.maxConnections ?? 1024);
    if (!opts.users && !opts.insecureNoAuth) {
      throw new StrataError(ErrorCode.INVALID_ARGUMENT, 'a StrataServer needs users (a UserStore) or insecureNoAuth: true');
    }
    if (opts.users && opts.insecureNoAuth) {
      throw new StrataError(ErrorCode.INVALID_ARGUMENT, 'users and insecureNoAuth exclude each other');
    }
    if (!opts.users && !isLoopbackHost(this.host)) {
      throw new StrataError(ErrorCode.INVALID_ARGUMENT,
        `refusing to listen on ${this.host} without credentials: --insecure-no-auth is only allowed on a loopback address`);
    }
    this.server = opts.tls
      ? tls.createServer({ cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2', noDelay: true }, (socket) => this.accept(socket))
      : net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    if (opts.tls) {
      // A failed TLS handshake never reaches accept(): log it, rate limited.
      this.server.on('tlsClientError', (err) => {
        const n = this.settings.logLimiter.admit('tls-handshake');
        if (n > 0) this.log.info({ err: err.message, ...(n > 1 ? { similar: n } : {}) }, 'TLS handshake failed');
      });
    }
    // Before listening, an error (EADDRINUSE) rejects listen() and is reported by the caller once.
    this.server.on('error', (err) => { if (this.listening) this.log.error({ err }, 'server socket error'); });
  }

  /** Start accepting connections; resolves with the bound address (the real port when port was 0). */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new StrataError(ErrorCode.INTERNAL, `cannot listen on ${this.host}:${this.port}: ${err.message}`, { cause: err }));
      };
      this.server.once('error', onError);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', onError);
        this.listening = true;
        this.startSweeper();
        const a = this.address();
        this.log.debug(a, 'listening');
        resolve(a);
      });
    });
  }

  /** The bound address (after listen). */
  address(): { host: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') return { host: this.host, port: this.port };
    return { host: a.address, port: a.port };
  }

  /** Connections currently open. */
  get connectionCount(): number {
    return this.conns.size;
  }

  /** Bytes currently buffered for incomplete frames and uploads, across connections. */
  get bufferedBytes(): number {
    return this.settings.budget.total;
  }

  private startSweeper(): void {
    const s = this.settings;
    const every = Math.max(50, Math.min(1000, s.uploadIdleTimeoutMs / 4, s.idleTimeoutMs > 0 ? s.idleTimeoutMs / 4 : 1000));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  /** Close idle connections, abort stalled uploads, and past the budget close the largest buffer holder. */
  private sweep(): void {
    const now = Date.now();
    for (const c of this.conns) c.sweep(now);
    const budget = this.settings.budget;
    if (budget.total > budget.max) {
      let worst: Connection | undefined;
      for (const c of this.conns) if (!worst || c.bufferedBytes > worst.bufferedBytes) worst = c;
      worst?.overBudget();
    } else if (budget.paused.size > 0) {
      for (const p of [...budget.paused]) p.resumeFrom('budget');
    }
  }

  /** Stop accepting, end every connection (abandoning its calls and streams) and wait until all are closed. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    clearInterval(this.sweeper);
    this.closing = new Promise<void>((resolve) => {
      if (!this.listening) {
        for (const c of this.conns) c.shutdown();
        resolve();
        return;
      }
      this.server.close(() => resolve());
      for (const c of this.conns) c.shutdown();
    });
    return this.closing;
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.conns.size >= this.maxConnections) {
      const n = this.settings.logLimiter.admit('max-connections');
      if (n > 0) this.log.warn({ limit: this.maxConnections, ...(n > 1 ? { similar: n } : {}) }, 'refusing a connection: server.max.connections reached');
      socket.on('error', () => {});
      socket.end(encodeFrame({ t: 'error', err: { code: ErrorCode.RESOURCE_EXHAUSTED,
        message: `too many connections (server.max.connections = ${this.maxConnections})` } }));
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    // Dead peers are found by the kernel (keepalive probes), not only by the idle timeout.
    socket.setKeepAlive(true, 60_000);
    const id = this.nextConnId++;
    const log = this.log.child({ conn: id, remote: `${socket.remoteAddress}:${socket.remotePort}` });
    const conn = new Connection(socket, this.fs, this.settings, log);
    this.conns.add(conn);
    socket.once('close', () => this.conns.delete(conn));
  }
}

interface ConnectionSettings {
  maxFrameBytes: number;
  uploadWindow: number;
  maxInflight: number;
  helloTimeoutMs: number;
  serverName: string;
  /** Undefined: no authentication (insecureNoAuth). */
  users: UserStore | undefined;
  /** Rate limit of the log lines about refused connections. */
  logLimiter: LogLimiter;
  uploadIdleTimeoutMs: number;
  maxUploads: number;
  budget: BufferBudget;
  idleTimeoutMs: number;
  maxPathDepth: number;
  localBlocks: BlockFileSource | undefined;
}

/** One call in flight on a connection. */
interface Call {
  readonly id: number;
  readonly op: OpName;
  /** Set once the call is answered, cancelled or the connection is gone. */
  finished: boolean;
  /** Stop the work (cancel or connection loss). */
  abort(reason: StrataError): void;
  /** Progress waiting to be sent (coalesced to one frame per tick). */
  progress?: Record<string, unknown>;
  progressScheduled?: boolean;
}

/**
 * A unary call (one request, one answer): the common case, kept to one object of one shape
 * (no closures per call); `abort` stops the work through its AbortController, when it has one.
 */
class UnaryCall implements Call {
  finished = false;
  progress: Record<string, unknown> | undefined = undefined;
  progressScheduled = false;

  constructor(readonly id: number, readonly op: OpName, private readonly controller: AbortController | undefined) {}

  abort(reason: StrataError): void {
    this.controller?.abort(reason);
  }
}

/** A call whose answer streams to the client (listStatus, readFile). */
interface DownloadCall extends Call {
  credits: number;
  wake: (() => void) | undefined;
}

/** A call whose data streams from the client (writeFile). */
interface UploadCall extends Call {
  channel: UploadChannel;
  /** The call's arguments (writeFile: path, data, options). */
  args?: unknown[];
}

class Connection {
  private readonly decoder: FrameDecoder<ClientMessage>;
  private readonly outbox: Outbox;
  private readonly calls = new Map<number, Call>();
  private state: 'hello' | 'open' | 'closed' = 'hello';
  private readonly helloTimer: NodeJS.Timeout;
  private drainWaiters: (() => void)[] = [];
  private readonly onMessageBound = (m: ClientMessage): void => this.onMessage(m);
  /** What this connection serves: the base FileSystem as seen by the authenticated user. */
  private fs: FileSystem;
  /** The authenticated user (undefined before hello, or without authentication). */
  user: User | undefined;
  /** Last time a frame arrived (for server.idle.timeout). */
  private lastActivity = Date.now();
  /** Uploads open on this connection. */
  private uploads = 0;
  /** Uploads whose FileSystem call runs (at most connection.max.uploads), and those waiting to. */
  private uploadsRunning = 0;
  private readonly uploadsWaiting: (() => void)[] = [];
  /** Bytes of this connection counted in the server's budget (incomplete frame + upload queues). */
  bufferedBytes = 0;
  /** Why reading is paused: the client does not read (write), or the buffer budget is spent. */
  private readonly pauses = new Set<'write' | 'budget'>();

  constructor(
    private readonly socket: net.Socket,
    private readonly baseFs: FileSystem,
    private readonly settings: ConnectionSettings,
    private readonly log: Logger,
  ) {
    this.fs = baseFs;
    // Requests of scalar arguments (a getStatus) are read in place, the rest by msgpackr; all validated alike.
    this.decoder = new FrameDecoder({ maxFrameBytes: settings.maxFrameBytes, validate: parseClientMessage, fast: decodeRequestFrame });
    this.outbox = new Outbox(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'connection error'));
    socket.on('end', () => {
      if (!this.decoder.idle) this.log.debug('client closed in the middle of a frame');
      socket.end();
    });
    socket.on('close', () => this.onClose());
    this.helloTimer = setTimeout(() => {
      if (this.state === 'hello') this.fail(new StrataError(ErrorCode.TIMEOUT, 'no hello received in time'));
    }, settings.helloTimeoutMs);
    this.helloTimer.unref();
    log.debug('connection opened');
  }

  /** End the connection as part of a server shutdown. */
  shutdown(): void {
    if (this.state === 'closed') return;
    this.abortAll(new StrataError(ErrorCode.CONNECTION_CLOSED, 'server is shutting down'));
    this.state = 'closed';
    this.outbox.flush();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastActivity = Date.now();
    try {
      this.decoder.push(chunk, this.onMessageBound);
    } catch (err) {
      this.fail(toStrataError(err, ErrorCode.BAD_REQUEST));
      return;
    }
    this.account();
    if (this.socket.writableLength > WRITE_BACKLOG_PAUSE) this.pauseFor('write');
    // Past the budget, a connection holding more than a small frame waits (back-pressure);
    // small control frames of other clients still pass.
    const budget = this.settings.budget;
    if (budget.total > budget.max && this.bufferedBytes > BUDGET_SMALL_HOLDER) this.pauseFor('budget');
  }

  private pauseFor(why: 'write' | 'budget'): void {
    if (this.state === 'closed' || this.pauses.has(why)) return;
    this.pauses.add(why);
    if (why === 'budget') this.settings.budget.paused.add(this);
    this.socket.pause();
  }

  /** Lift one reason for pausing; reading resumes when none is left. */
  resumeFrom(why: 'write' | 'budget'): void {
    if (!this.pauses.delete(why)) return;
    if (why === 'budget') this.settings.budget.paused.delete(this);
    if (this.pauses.size === 0 && this.state !== 'closed') this.socket.resume();
  }

  /** Bring this connection's share of the server's buffer budget up to date. */
  account(): void {
    let now = this.state === 'closed' ? 0 : this.decoder.buffered;
    if (now > 0 || this.uploads > 0) {
      for (const c of this.calls.values()) {
        const ch = (c as UploadCall).channel;
        if (ch) now += ch.queuedBytes;
      }
    }
    if (now === this.bufferedBytes) return;
    this.settings.budget.change(now - this.bufferedBytes);
    this.bufferedBytes = now;
  }

  /** The server is over its buffer budget and this connection holds the most: close it. */
  overBudget(): void {
    this.fail(new StrataError(ErrorCode.RESOURCE_EXHAUSTED,
      `the server's buffer budget (server.max.buffered = ${this.settings.budget.max} bytes) is spent and this connection holds the most (${this.bufferedBytes} bytes)`));
  }

  /** Periodic check: idle timeout, and uploads that sent nothing for upload.idle.timeout. */
  sweep(now: number): void {
    if (this.state !== 'open') return;
    const s = this.settings;
    if (s.idleTimeoutMs > 0 && this.calls.size === 0 && now - this.lastActivity > s.idleTimeoutMs) {
      this.fail(new StrataError(ErrorCode.TIMEOUT, `connection idle for longer than server.idle.timeout (${s.idleTimeoutMs} ms)`));
      return;
    }
    if (this.uploads === 0 || s.uploadIdleTimeoutMs <= 0) return;
    for (const c of [...this.calls.values()]) {
      const ch = (c as UploadCall).channel;
      if (!ch || c.finished || !ch.waitingForData) continue;
      if (now - ch.lastDataMs > s.uploadIdleTimeoutMs) {
        const reason = new StrataError(ErrorCode.TIMEOUT,
          `${c.op}: no data for ${s.uploadIdleTimeoutMs} ms (upload.idle.timeout): upload aborted`);
        this.finish(c, reason);
        c.abort(reason);
      }
    }
  }

  private onDrain(): void {
    this.resumeFrom('write');
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private onClose(): void {
    clearTimeout(this.helloTimer);
    if (this.calls.size > 0) this.log.debug({ calls: this.calls.size }, 'connection closed with calls in flight');
    this.abortAll(new StrataError(ErrorCode.CONNECTION_CLOSED, 'connection closed'));
    this.state = 'closed';
    this.settings.budget.paused.delete(this);
    this.account();
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
    this.log.debug('connection closed');
  }

  private abortAll(reason: StrataError): void {
    const calls = [...this.calls.values()];
    this.calls.clear();
    this.uploads = 0;
    for (const c of calls) {
      c.finished = true;
      try {
        c.abort(reason);
      } catch (err) {
        this.log.debug({ err }, 'abort failed');
      }
    }
  }

  /** Close this connection after a protocol error: an error frame, then the end. */
  private fail(err: StrataError): void {
    if (this.state === 'closed') return;
    const n = this.settings.logLimiter.admit(err.code);
    if (n > 0) this.log.info({ code: err.code, reason: err.message, ...(n > 1 ? { similar: n } : {}) }, 'closing connection after a protocol error');
    this.outbox.send({ t: 'error', err: toWireError(err) });
    this.outbox.flush();
    this.abortAll(new StrataError(ErrorCode.CONNECTION_CLOSED, `connection closed: ${err.message}`));
    this.state = 'closed';
    this.settings.budget.paused.delete(this);
    this.account();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private protocolError(message: string): never {
    throw new StrataError(ErrorCode.BAD_REQUEST, message);
  }

  private onMessage(m: ClientMessage): void {
    if (this.state !== 'open') {
      if (this.state === 'closed') return;
      if (m.t !== 'hello') this.protocolError(`expected hello as the first frame, got ${m.t}`);
      clearTimeout(this.helloTimer);
      if (m.v !== PROTOCOL_VERSION) {
        throw new StrataError(ErrorCode.UNSUPPORTED_VERSION,
          `client speaks protocol version ${m.v}, this server speaks version ${PROTOCOL_VERSION}`);
      }
      const users = this.settings.users;
      if (users) {
        // Checked before anything else is served; the same answer for an unknown key and a wrong secret.
        const user = m.cred ? users.verify({ accessKeyId: m.cred.id, secretKey: m.cred.secret }) : undefined;
        if (!user) {
          throw new StrataError(ErrorCode.PERMISSION_DENIED, m.cred
            ? 'invalid credential (unknown access key id or wrong secret)'
            : 'this server requires a credential (--token, STRATA_TOKEN or DATA_DIR/admin.key)');
        }
        this.user = user;
        this.fs = withUser(this.baseFs, user);
      }
      this.state = 'open';
      this.outbox.send({ t: 'hello', v: PROTOCOL_VERSION, server: this.settings.serverName,
        ...(this.user ? { user: this.user.name, role: this.user.role } : {}) });
      this.log.debug({ client: m.client, user: this.user?.name }, 'hello');
      return;
    }
    switch (m.t) {
      case 'req':
        this.onRequest(m);
        return;
      case 'credit': {
        const c = this.calls.get(m.id) as DownloadCall | undefined;
        if (!c) return; // stream already over
        if (c.credits === undefined) this.protocolError(`credit for call ${m.id} which is not a download stream`);
        c.credits += m.n;
        c.wake?.();
        return;
      }
      case 'data': {
        const c = this.calls.get(m.id) as UploadCall | undefined;
        if (!c) return; // upload already answered: drop what was in flight
        if (!c.channel) this.protocolError(`data for call ${m.id} which is not an upload`);
        c.channel.push(m.chunk);
        return;
      }
      case 'end': {
        const c = this.calls.get(m.id) as UploadCall | undefined;
        if (!c) return;
        if (!c.channel) this.protocolError(`end for call ${m.id} which is not an upload`);
        // writeFile reads options.xattr at its commit, after the data: the final values go in.
        if (m.xattr && isPlainObject(c.args?.[2])) (c.args[2] as { xattr?: Record<string, string> }).xattr = m.xattr;
        c.channel.end();
        return;
      }
      case 'cancel': {
        const c = this.calls.get(m.id);
        if (!c) return;
        const reason = new StrataError(ErrorCode.CANCELLED, `${c.op} cancelled by the client`);
        this.finish(c, reason);
        c.abort(reason);
        return;
      }
      case 'hello':
        this.protocolError('hello sent twice');
    }
  }

  private onRequest(m: RequestMsg): void {
    const { id } = m;
    if (this.calls.has(id)) this.protocolError(`request id ${id} is already in flight`);
    if (!isOpName(m.op)) {
      this.outbox.send({ t: 'res', id, err: { code: ErrorCode.BAD_REQUEST, message: `unknown op ${JSON.stringify(m.op)}` } });
      return;
    }
    const op = m.op;
    if (this.calls.size >= this.settings.maxInflight) {
      this.outbox.send({ t: 'res', id, err: { code: ErrorCode.RESOURCE_EXHAUSTED,
        message: `too many calls in flight on this connection (limit ${this.settings.maxInflight})` } });
      return;
    }
    let args: unknown[];
    try {
      args = checkArgs(op, m.args);
      this.checkDepth(op, args);
    } catch (err) {
      this.outbox.send({ t: 'res', id, err: toWireError(err) });
      return;
    }
    const spec = OPS[op] as { kind: string; progressArg?: number };
    switch (spec.kind) {
      case 'unary':
        this.runUnary(id, op, args, m.progress === true ? spec.progressArg : undefined);
        return;
      case 'pages':
      case 'bytes':
        this.runDownload(id, op, args, spec.kind === 'bytes');
        return;
      case 'upload':
        this.runUpload(id, op, args, m.progress === true ? spec.progressArg : undefined);
        return;
    }
  }

  /** INVALID_PATH for a path argument deeper than path.max.depth (before any work on it). */
  private checkDepth(op: OpName, args: unknown[]): void {
    const max = this.settings.maxPathDepth;
    const n = op === 'rename' ? 2 : 1;
    for (let i = 0; i < n && i < args.length; i++) {
      const a = args[i];
      if (typeof a === 'string') checkPathDepth(a, max, `${op}: path`);
    }
  }

  /** Answer a call (once) and forget it. */
  private finish(call: Call, err: unknown, ok?: unknown): void {
    if (call.finished) return;
    call.finished = true;
    this.calls.delete(call.id);
    if ((call as UploadCall).channel) {
      this.uploads--;
      (call as UploadCall).channel.close();
      this.account();
    }
    if (this.state !== 'open') return;
    if (call.progress) this.flushProgress(call);
    if (err !== undefined) {
      const wire = toWireError(err);
      if (wire.code === ErrorCode.INTERNAL) this.log.warn({ op: call.op, err }, 'call failed with an internal error');
      this.outbox.send({ t: 'res', id: call.id, err: wire });
    } else if (ok === undefined) {
      this.outbox.send({ t: 'res', id: call.id });
    } else {
      try {
        // The same bytes as encoding {t: 'res', id, ok}; a FileInfo without msgpackr's generic walk.
        this.outbox.sendFrame(encodeAnswerFrame(call.id, ok));
      } catch (encodeErr) {
        // A result msgpack cannot carry is a server bug; the client still gets an answer.
        this.log.warn({ op: call.op, err: encodeErr }, 'cannot encode a result');
        this.outbox.send({ t: 'res', id: call.id, err: { code: ErrorCode.INTERNAL, message: `cannot encode the result of ${call.op}` } });
      }
    }
  }

  /**
   * Give the call an AbortSignal in its options argument (when its op has one): aborted
   * when the client cancels the call or the connection closes, so the work stops too.
   */
  private attachSignal(op: OpName, args: unknown[]): AbortController | undefined {
    // A status lookup never consults a signal (its sync is bounded and shared with other
    // callers): no AbortController per call on the hottest path (4–5% of a getStatus).
    if (UNSIGNALLED_OPS.has(op)) return undefined;
    const index = OPTIONS_ARG.get(op);
    if (index === undefined) return undefined;
    const controller = new AbortController();
    while (args.length <= index) args.push(undefined);
    args[index] = { ...((args[index] ?? {}) as Record<string, unknown>), signal: controller.signal };
    return controller;
  }

  /** Put an onProgress listener into the options argument that turns progress into frames. */
  private attachProgress(call: Call, args: unknown[], argIndex: number | undefined): void {
    if (argIndex === undefined) return;
    while (args.length <= argIndex) args.push(undefined);
    const opts = (args[argIndex] ?? {}) as Record<string, unknown>;
    opts.onProgress = (p: unknown): void => {
      if (call.finished || !p || typeof p !== 'object') return;
      call.progress = { ...(p as Record<string, unknown>) };
      if (!call.progressScheduled) {
        call.progressScheduled = true;
        process.nextTick(() => this.flushProgress(call));
      }
    };
    args[argIndex] = opts;
  }

  private flushProgress(call: Call): void {
    call.progressScheduled = false;
    const p = call.progress;
    call.progress = undefined;
    if (!p || this.state !== 'open') return;
    try {
      this.outbox.send({ t: 'progress', id: call.id, p });
    } catch (err) {
      this.log.debug({ op: call.op, err }, 'cannot encode a progress report');
    }
  }

  private runUnary(id: number, op: OpName, args: unknown[], progressArg: number | undefined): void {
    const call = new UnaryCall(id, op, this.attachSignal(op, args));
    this.calls.set(id, call);
    if (progressArg !== undefined) this.attachProgress(call, args, progressArg);
    let p: Promise<unknown>;
    try {
      p = op === 'getLocalBlocks'
        ? localBlocksOf({ fs: this.fs, user: this.user, blocks: this.settings.localBlocks, remoteAddress: this.socket.remoteAddress, path: args[0] as string })
        : (this.fs[op as FsOp] as (...a: unknown[]) => Promise<unknown>).apply(this.fs, args);
    } catch (err) {
      this.finish(call, err);
      return;
    }
    void this.answer(call, p);
  }

  /** Wait for a unary call's result and answer it (one await: no closure or extra promise per call). Never rejects. */
  private async answer(call: UnaryCall, p: Promise<unknown>): Promise<void> {
    let ok: unknown;
    try {
      ok = await p;
    } catch (err) {
      this.answerSafely(call, err ?? 'failed', undefined);
      return;
    }
    this.answerSafely(call, undefined, ok);
  }

  private answerSafely(call: Call, err: unknown, ok: unknown): void {
    try {
      this.finish(call, err, ok);
    } catch (e) {
      this.log.error({ op: call.op, err: e }, 'cannot answer a call');
    }
  }

  private runDownload(id: number, op: OpName, args: unknown[], bytes: boolean): void {
    let iterator: AsyncIterator<unknown> | undefined;
    const controller = this.attachSignal(op, args);
    const call: DownloadCall = {
      id, op, finished: false, credits: 0, wake: undefined,
      abort: (reason) => {
        controller?.abort(reason);
        call.wake?.();
        // Closing the iterator releases whatever the FileSystem holds (file handles, locks).
        iterator?.return?.()?.then(undefined, (err: unknown) => this.log.debug({ err }, 'iterator return failed'));
      },
    };
    this.calls.set(id, call);
    const waitTurn = async (): Promise<void> => {
      while (!call.finished && (call.credits <= 0 || this.outbox.congested)) {
        await new Promise<void>((resolve) => {
          call.wake = resolve;
          if (this.outbox.congested) this.drainWaiters.push(resolve);
        });
        call.wake = undefined;
      }
    };
    const pump = async (): Promise<void> => {
      // A FileSystem that lists straight into columns (the Coordinator) yields the wire pages itself.
      const columns = op === 'listStatus' ? columnLister(this.fs) : undefined;
      const iterable = columns
        ? (columns as (...a: unknown[]) => AsyncIterable<unknown>).apply(this.fs, args)
        : (this.fs[op as FsOp] as (...a: unknown[]) => AsyncIterable<unknown>).apply(this.fs, args);
      iterator = iterable[Symbol.asyncIterator]();
      for (;;) {
        // Pull only with credit in hand: the client paces the FileSystem.
        await waitTurn();
        if (call.finished) return;
        const r = await iterator.next();
        if (call.finished) return;
        if (r.done) break;
        if (bytes) {
          const chunk = r.value;
          if (!(chunk instanceof Uint8Array)) throw new StrataError(ErrorCode.INTERNAL, `${op} produced a non-binary chunk`);
          for (let off = 0; off < chunk.length; off += MAX_DATA_CHUNK) {
            if (off > 0) await waitTurn();
            if (call.finished) return;
            call.credits--;
            if (off === 0 && chunk.length <= MAX_DATA_CHUNK) {
              // A pooled read buffer goes back to the pool once the socket has written it.
              this.outbox.sendData(id, chunk, isPooledChunk(chunk) ? () => releaseReadBuffer(chunk) : undefined);
            } else {
              this.outbox.sendData(id, chunk.subarray(off, off + MAX_DATA_CHUNK));
            }
          }
        } else {
          const page = r.value;
          if (columns && (page as { f?: unknown }).f === PAGE_FORMAT) {
            call.credits--;
            this.outbox.send({ t: 'data', id, chunk: page });
            continue;
          }
          if (!Array.isArray(page)) throw new StrataError(ErrorCode.INTERNAL, `${op} produced a page that is not an array`);
          for (let off = 0; off < page.length || off === 0; off += MAX_PAGE_ENTRIES) {
            if (off > 0) await waitTurn();
            if (call.finished) return;
            call.credits--;
            // Version 3: a page travels as columns (src/protocol/page-codec.ts).
            this.outbox.send({ t: 'data', id, chunk: encodePage(page.length <= MAX_PAGE_ENTRIES ? page : page.slice(off, off + MAX_PAGE_ENTRIES)) });
          }
        }
      }
      this.finish(call, undefined);
    };
    pump().catch((err: unknown) => {
      if (!call.finished) {
        this.finish(call, err ?? 'failed');
        iterator?.return?.()?.then(undefined, () => {});
      }
    });
  }

  private runUpload(id: number, op: OpName, args: unknown[], progressArg: number | undefined): void {
    const window = Math.max(this.settings.uploadWindow, INITIAL_UPLOAD_CREDIT);
    const channel = new UploadChannel(window, (n) => {
      if (!call.finished && this.state === 'open') this.outbox.send({ t: 'credit', id, n });
    }, (message) => {
      // The client sent beyond its credit: a protocol violation.
      this.fail(new StrataError(ErrorCode.BAD_REQUEST, message));
    }, () => this.account());
    const call: UploadCall = {
      id, op, finished: false, channel, args,
      abort: (reason) => channel.fail(reason),
    };
    this.calls.set(id, call);
    this.uploads++;
    this.attachProgress(call, args, progressArg);
    args[1] = channel;
    // The client already holds INITIAL_UPLOAD_CREDIT; the rest of the window is granted once
    // the frames of this socket read are handled, unless the upload has ended by then: a small
    // file (req + data + end in one write) gets no credit frame, only its answer.
    if (window > INITIAL_UPLOAD_CREDIT) {
      queueMicrotask(() => {
        if (!channel.hasEnded && !call.finished && this.state === 'open') this.outbox.send({ t: 'credit', id, n: window - INITIAL_UPLOAD_CREDIT });
      });
    }
    // The FileSystem call (which takes the path lock and a shard slot) starts only when the
    // first chunk or the end arrives: an upload that never sends holds nothing. It starts
    // after the other frames of that socket read: an upload that has ended by then is handed
    // over as the chunks in memory (no channel to pull, no wait for the next chunk) — unless it
    // must wait for an upload slot: then its chunks stay in the channel, counted in the budget.
    channel.onStart = () => queueMicrotask(() => {
      const whole = this.uploadsRunning < this.settings.maxUploads ? channel.takeWhole() : undefined;
      if (whole) args[1] = whole;
      this.startUpload(call, args);
    });
  }

  /**
   * Run the FileSystem call of an upload. At most connection.max.uploads run at once per
   * connection (each holds a path lock and a shard slot); the others wait their turn with
   * their first chunks buffered (counted in the server's buffer budget).
   */
  private startUpload(call: UploadCall, args: unknown[]): void {
    const { op, channel } = call;
    if (call.finished || this.state === 'closed') return;
    if (this.uploadsRunning >= this.settings.maxUploads) {
      this.uploadsWaiting.push(() => this.startUpload(call, args));
      return;
    }
    this.uploadsRunning++;
    let p: Promise<unknown>;
    try {
      p = (this.fs[op as FsOp] as (...a: unknown[]) => Promise<unknown>).apply(this.fs, args);
    } catch (err) {
      this.finish(call, err);
      channel.fail(toStrataError(err));
      this.uploadDone();
      return;
    }
    Promise.resolve(p).then((ok) => {
      this.finish(call, undefined, ok);
      channel.close();
    }, (err) => {
      this.finish(call, err ?? 'failed');
      channel.close();
    }).finally(() => this.uploadDone()).catch((err: unknown) => this.log.error({ op, err }, 'cannot answer a call'));
  }

  /** An upload's FileSystem call settled: start the next waiting one. */
  private uploadDone(): void {
    this.uploadsRunning--;
    this.uploadsWaiting.shift()?.();
  }
}

/**
 * The AsyncIterable<Uint8Array> handed to fs.writeFile for an upload: buffers at most
 * `window` chunks, grants the client one credit per chunk consumed (in batches), and fails
 * the consumer with CONNECTION_CLOSED or CANCELLED when the client goes away.
 */
class UploadChannel implements AsyncIterableIterator<Uint8Array> {
  private queue: Uint8Array[] = [];
  private ended = false;
  private closed = false;
  private error: StrataError | undefined;
  private waiter: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void } | undefined;
  /** Credits the client still holds (granted minus received). */
  private outstanding: number;
  private toGrant = 0;
  /** Bytes of the chunks buffered here (counted in the server's buffer budget). */
  queuedBytes = 0;
  /** When the last data frame (or the request) arrived. */
  lastDataMs = Date.now();
  /** Called once, at the first data frame or the end: start the FileSystem call. */
  onStart: (() => void) | undefined;
  private started = false;
  /** A chunk was handed to the consumer (or the whole upload taken). */
  private consumed = false;

  constructor(
    private readonly window: number,
    private readonly grant: (n: number) => void,
    private readonly violation: (message: string) => void,
    private readonly changed: () => void = () => {},
  ) {
    this.outstanding = window;
  }

  /**
   * The whole upload, when its end has arrived and nothing was consumed yet: its chunks (one
   * chunk as it is), taken out of the channel, which then reads as ended. Otherwise undefined.
   */
  takeWhole(): Uint8Array | Uint8Array[] | undefined {
    if (!this.ended || this.closed || this.error || this.waiter || this.consumed) return undefined;
    const q = this.queue;
    this.queue = [];
    this.consumed = true;
    if (this.queuedBytes !== 0) {
      this.queuedBytes = 0;
      this.changed();
    }
    return q.length === 1 ? q[0]! : q.length === 0 ? new Uint8Array(0) : q;
  }

  /** True once the client's `end` frame arrived. */
  get hasEnded(): boolean {
    return this.ended;
  }

  /** True while the upload is open and nothing it sent is waiting to be consumed. */
  get waitingForData(): boolean {
    return !this.ended && !this.closed && !this.error && this.queue.length === 0;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.onStart?.();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** A data frame arrived. */
  push(chunk: Uint8Array): void {
    if (this.ended) {
      this.violation('data after end on an upload');
      return;
    }
    if (this.outstanding <= 0) {
      this.violation('upload data sent beyond the granted credit');
      return;
    }
    this.outstanding--;
    this.lastDataMs = Date.now();
    if (this.closed) {
      this.release(1);
      return;
    }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      this.release(1);
      this.consumed = true;
      w.resolve({ value: chunk, done: false });
    } else {
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
      this.changed();
    }
    this.start();
  }

  /** The end frame arrived. */
  end(): void {
    this.ended = true;
    if (this.waiter && this.queue.length === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
    this.start();
  }

  private dropQueue(): void {
    this.queue = [];
    if (this.queuedBytes !== 0) {
      this.queuedBytes = 0;
      this.changed();
    }
  }

  /** The upload is over for the server (answered): drop anything buffered. */
  close(): void {
    this.closed = true;
    this.dropQueue();
  }

  /** The client went away or cancelled: the consumer's next read throws. */
  fail(err: StrataError): void {
    if (this.error || this.ended && this.queue.length === 0) return;
    this.error = err;
    this.dropQueue();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(err);
    }
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.error) return Promise.reject(this.error);
    const chunk = this.queue.shift();
    if (chunk) {
      this.consumed = true;
      this.queuedBytes -= chunk.length;
      this.changed();
      this.release(1);
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.ended || this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    this.close();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Give consumed chunks back to the client as credit, in batches of a quarter window. */
  private release(n: number): void {
    this.toGrant += n;
    if (this.ended) return;
    if (this.toGrant >= Math.max(1, this.window >> 2)) {
      const g = this.toGrant;
      this.toGrant = 0;
      this.outstanding += g;
      this.grant(g);
    }
  }
}
