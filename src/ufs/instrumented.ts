// A decorator around any Ufs that counts calls per operation, bounds every call (and every
// step of a stream) by a timeout, and turns foreign errors into StrataErrors. It is what keeps
// a hanging or failing UFS from ever hanging the server: a late call fails with
// UFS_UNAVAILABLE "... timed out after Nms" and its inner call is aborted through its signal.
// The clocks of all calls of one UFS share one timer (CallClock): a sync lists thousands of
// directories, and a timer set and cleared per listing page was most of the guard's cost.

import { ErrorCode, StrataError, isErrorCode } from '../errors.js';
import type { ChangeWatcher, UfsWatchOptions } from './change-watcher.js';
import type { Ufs, UfsListOptions, UfsReadOptions, UfsStatus, UfsWriteOptions } from './ufs.js';

/** Receives one count per UFS call (`n` defaults to 1; bytes for the *Bytes counters). */
export type UfsCallCounter = (op: string, n?: number) => void;

/**
 * Names given to the counter: one per call of each operation, `listPage` per page fetched,
 * `readBytes` / `writeBytes` with byte counts, `timeout` per timed-out call or step, `error`
 * per failed call or step (timeouts included).
 */
export const UFS_COUNTER_NAMES = [
  'getStatus', 'list', 'listPage', 'read', 'readBytes', 'write', 'writeBytes',
  'mkdir', 'delete', 'rename', 'check', 'cleanupInterruptedWrites', 'timeout', 'error',
] as const;

export interface InstrumentedUfsOptions {
  /** Counter sink; calls are not counted when absent. */
  count?: UfsCallCounter;
  /**
   * Per-call timeout in ms; for streams (list pages, read chunks) per `next()` step, and for
   * write per step of UFS work (time spent waiting for the caller's data is not counted).
   * -1 or 0 = no timeout (the default).
   */
  timeoutMs?: number;
}

/** Wraps a Ufs with call counting, per-call timeouts and error normalisation. */
export class InstrumentedUfs implements Ufs {
  readonly scheme: string;
  readonly uri: string;
  readonly flatListing?: boolean;
  /** The inner UFS's watcher, when it has one (not counted: a watcher is not a call). */
  readonly watcher?: (options: UfsWatchOptions) => ChangeWatcher;
  /** The inner UFS's clean-up of interrupted writes, when it has one (counted, bounded by the timeout). */
  readonly cleanupInterruptedWrites?: (options?: { before?: number; signal?: AbortSignal }) => Promise<number>;
  private readonly count: UfsCallCounter;
  private readonly timeoutMs: number;
  /** @internal The clocks of this UFS's calls (one timer for all). */
  readonly clock = new CallClock();

  /**
   * @param inner the Ufs doing the work
   * @param options counter sink and per-call timeout
   */
  constructor(readonly inner: Ufs, options: InstrumentedUfsOptions = {}) {
    this.scheme = inner.scheme;
    this.uri = inner.uri;
    if (inner.flatListing) this.flatListing = true;
    // Optional capabilities stay optional: present here exactly when the inner UFS has them.
    if (typeof inner.watcher === 'function') this.watcher = (o) => inner.watcher!(o);
    if (typeof inner.cleanupInterruptedWrites === 'function') {
      this.cleanupInterruptedWrites = (o) => this.call('cleanupInterruptedWrites', '', undefined, () => inner.cleanupInterruptedWrites!(o));
    }
    this.count = options.count ?? (() => undefined);
    const t = options.timeoutMs ?? -1;
    if (!Number.isFinite(t)) throw new StrataError(ErrorCode.INVALID_ARGUMENT, `timeoutMs must be a number of ms, got ${t}`);
    this.timeoutMs = t > 0 ? t : -1;
  }

  getStatus(path: string, options: { signal?: AbortSignal } = {}): Promise<UfsStatus | null> {
    return this.call('getStatus', path, options.signal, (signal) => this.inner.getStatus(path, { ...options, signal }));
  }

  list(path: string, options: UfsListOptions = {}): AsyncIterable<UfsStatus[]> {
    return this.stream('list', 'listPage', path, options.signal,
      (signal) => this.inner.list(path, { ...options, signal }),
      () => undefined);
  }

  read(path: string, options: UfsReadOptions = {}): AsyncIterable<Uint8Array> {
    return this.stream('read', null, path, options.signal,
      (signal) => this.inner.read(path, { ...options, signal }),
      (chunk) => this.count('readBytes', chunk.byteLength));
  }

  /** Write; the timeout bounds each stretch of UFS work, not the wait for the caller's data. */
  async write(path: string, data: AsyncIterable<Uint8Array>, options: UfsWriteOptions = {}): Promise<UfsStatus> {
    this.count('write');
    const guard = new CallGuard(this, 'write', path, options.signal);
    const count = this.count;
    const src = data[Symbol.asyncIterator]();
    // The clock stops while the inner UFS waits for the caller's next chunk; a timeout or a
    // cancellation still cuts that wait short.
    async function* paced(): AsyncGenerator<Uint8Array> {
      let done = false;
      try {
        for (;;) {
          guard.disarm();
          const r = await guard.run(src.next(), false);
          guard.arm();
          if (r.done) {
            done = true;
            return;
          }
          count('writeBytes', r.value.byteLength);
          yield r.value;
        }
      } finally {
        if (!done) void invoke(async () => { await src.return?.(); }).catch(() => undefined);
      }
    }
    try {
      guard.arm();
      return await guard.run(this.inner.write(path, paced(), { ...options, signal: guard.signal }));
    } catch (err) {
      this.count('error');
      throw err;
    } finally {
      guard.dispose();
    }
  }

  mkdir(path: string, options?: { recursive?: boolean }): Promise<void> {
    return this.call('mkdir', path, undefined, () => this.inner.mkdir(path, options));
  }

  delete(path: string, options?: { recursive?: boolean }): Promise<void> {
    return this.call('delete', path, undefined, () => this.inner.delete(path, options));
  }

  rename(src: string, dst: string): Promise<void> {
    return this.call('rename', `${src} -> ${dst}`, undefined, () => this.inner.rename(src, dst));
  }

  check(): Promise<void> {
    return this.call('check', '', undefined, () => this.inner.check());
  }

  /** The inner UFS's path limits (no I/O, not counted). */
  validatePath(path: string): void {
    this.inner.validatePath?.(path);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** @internal Normalise any thrown value into a StrataError naming the operation and path. */
  wrapError(op: string, path: string, err: unknown): StrataError {
    if (err instanceof StrataError) return err;
    const e = err as { code?: unknown; message?: unknown } | null;
    if (e && typeof e === 'object' && isErrorCode(e.code) && typeof e.message === 'string') {
      // A StrataError that crossed a thread boundary (structured clone drops the prototype).
      return new StrataError(e.code, e.message, { cause: err });
    }
    const msg = err instanceof Error ? err.message : String(err);
    return new StrataError(ErrorCode.UFS_UNAVAILABLE, `${this.uri} ${op} ${JSON.stringify(path)} failed: ${msg}`, { cause: err });
  }

  /** @internal */
  timeoutError(op: string, path: string): StrataError {
    this.count('timeout');
    return new StrataError(ErrorCode.UFS_UNAVAILABLE, `${this.uri} ${op} ${JSON.stringify(path)} timed out after ${this.timeoutMs}ms`);
  }

  /** @internal */
  get timeout(): number {
    return this.timeoutMs;
  }

  private async call<T>(op: string, path: string, callerSignal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.count(op);
    const guard = new CallGuard(this, op, path, callerSignal);
    try {
      guard.arm();
      return await guard.run(invoke(() => fn(guard.signal)));
    } catch (err) {
      this.count('error');
      throw err;
    } finally {
      guard.dispose();
    }
  }

  private stream<T>(op: string, pageOp: string | null, path: string, callerSignal: AbortSignal | undefined,
    open: (signal: AbortSignal) => AsyncIterable<T>, onItem: (item: T) => void): AsyncIterable<T> {
    const self = this;
    return {
      async *[Symbol.asyncIterator](): AsyncGenerator<T> {
        self.count(op);
        const guard = new CallGuard(self, op, path, callerSignal);
        let it: AsyncIterator<T> | undefined;
        let finished = false;
        try {
          for (;;) {
            guard.arm();
            const r = await guard.run(invoke(() => {
              it ??= open(guard.signal)[Symbol.asyncIterator]();
              return it.next();
            }));
            guard.disarm();
            if (r.done) {
              finished = true;
              return;
            }
            if (pageOp) self.count(pageOp);
            onItem(r.value);
            yield r.value;
          }
        } catch (err) {
          finished = !guard.failed; // an inner iterator that threw is closed; one we cut off is not
          self.count('error');
          throw err;
        } finally {
          if (!finished && it?.return) {
            // Stopped early or cut off: release the inner stream without waiting on it.
            guard.abort();
            void invoke(() => it!.return!()).catch(() => undefined);
          }
          guard.dispose();
        }
      },
    };
  }
}

/** Call fn, turning a synchronous throw into a rejected promise. */
function invoke<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * The running clocks of one UFS's calls, all of one duration, so their deadlines come in the
 * order they were armed: one timer, set for the earliest deadline, serves them all. When it
 * fires it fails the calls whose time is up and is set again for the next deadline; while no
 * clock runs it is unref'd (it keeps no process alive) and merely re-ref'd by the next arm.
 */
class CallClock {
  /** Running clocks in deadline order (a re-armed clock moves to the end). */
  private readonly running = new Set<CallGuard>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  start(g: CallGuard, timeoutMs: number): void {
    g.deadline = performance.now() + timeoutMs;
    this.running.delete(g);
    this.running.add(g);
    if (!this.timer) this.schedule(timeoutMs);
    else if (!this.timer.hasRef()) this.timer.ref();
  }

  stop(g: CallGuard): void {
    if (!this.running.delete(g)) return;
    if (this.running.size === 0) this.timer?.unref();
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(1, Math.ceil(ms)));
  }

  private fire(): void {
    this.timer = undefined;
    const now = performance.now();
    const due: CallGuard[] = [];
    for (const g of this.running) {
      if (g.deadline > now + 1) break; // (a timer may fire up to a millisecond early)
      due.push(g);
    }
    for (const g of due) {
      this.running.delete(g);
      g.expire();
    }
    const next = this.running.values().next();
    if (!next.done) this.schedule(next.value.deadline - now);
  }
}

/**
 * One guarded call: an AbortController for the inner call (aborted on timeout or when the
 * caller's signal aborts), a re-armable clock (its UFS's CallClock), and `run` which races a
 * promise against both.
 */
class CallGuard {
  private readonly ac = new AbortController();
  private armed = false;
  /** When the running clock runs out (performance.now() ms); set by CallClock. */
  deadline = 0;
  private failure: StrataError | undefined;
  private readonly waiters = new Set<(err: StrataError) => void>();
  private readonly onCallerAbort: () => void;

  constructor(private readonly owner: InstrumentedUfs, private readonly op: string, private readonly path: string,
    private readonly callerSignal: AbortSignal | undefined) {
    this.onCallerAbort = () => {
      const reason: unknown = callerSignal?.reason;
      this.fail(reason instanceof StrataError ? reason
        : new StrataError(ErrorCode.CANCELLED, `${owner.uri} ${op} ${JSON.stringify(path)} was cancelled`, { cause: reason }));
    };
    if (callerSignal?.aborted) this.onCallerAbort();
    else callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** True once the call timed out or was cancelled. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Start (or keep) the clock for a stretch of UFS work. */
  arm(): void {
    if (this.armed || this.failure || this.owner.timeout < 0) return;
    this.armed = true;
    this.owner.clock.start(this, this.owner.timeout);
  }

  /** Stop the clock (waiting on someone other than the UFS). */
  disarm(): void {
    if (!this.armed) return;
    this.armed = false;
    this.owner.clock.stop(this);
  }

  /** The clock ran out (called by CallClock). */
  expire(): void {
    this.armed = false;
    this.fail(this.owner.timeoutError(this.op, this.path));
  }

  /** Abort the inner call (idempotent). */
  abort(reason?: unknown): void {
    if (!this.ac.signal.aborted) this.ac.abort(reason);
  }

  /** Settle with `p`, or fail first when the timer fires or the caller aborts. */
  run<T>(p: Promise<T>, wrap = true): Promise<T> {
    if (this.failure) {
      p.catch(() => undefined);
      return Promise.reject(this.failure);
    }
    return new Promise<T>((resolve, reject) => {
      const onFail = (err: StrataError): void => reject(err);
      this.waiters.add(onFail);
      p.then(
        (v) => { this.waiters.delete(onFail); resolve(v); },
        (err: unknown) => {
          this.waiters.delete(onFail);
          reject(wrap ? this.owner.wrapError(this.op, this.path, err) : err);
        },
      );
    });
  }

  dispose(): void {
    this.disarm();
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }

  private fail(err: StrataError): void {
    if (this.failure) return;
    this.failure = err;
    this.disarm();
    this.abort(err);
    for (const w of this.waiters) w(err);
    this.waiters.clear();
  }
}
