// Cancellation of long work: the AbortSignal a call carries (the TCP server aborts it when
// the client cancels or disconnects) checked between steps, and carried into Piscina
// worker tasks as a shared flag (an AbortSignal cannot cross threads; aborting a running
// Piscina task would terminate its thread), which the worker turns back into a signal.

import { ErrorCode, StrataError } from './errors.js';

/** CANCELLED for `what` (or the signal's own StrataError reason). */
export function cancelledError(signal: AbortSignal | undefined, what: string): StrataError {
  const reason: unknown = signal?.reason;
  if (reason instanceof StrataError && reason.code === ErrorCode.CANCELLED) return reason;
  return new StrataError(ErrorCode.CANCELLED, `${what} cancelled`, reason === undefined ? undefined : { cause: reason });
}

/** Throw CANCELLED when `signal` has aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw cancelledError(signal, what);
}

/**
 * Coordinator side: a 4-byte shared flag set to 1 when `signal` aborts, to send with a
 * worker task; `dispose()` once the task is over. No signal: no flag.
 */
export function shareSignal(signal: AbortSignal | undefined): { flag: SharedArrayBuffer | undefined; dispose(): void } {
  if (!signal) return { flag: undefined, dispose: () => undefined };
  const flag = new SharedArrayBuffer(4);
  const view = new Int32Array(flag);
  const onAbort = (): void => { Atomics.store(view, 0, 1); };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return { flag, dispose: () => signal.removeEventListener('abort', onAbort) };
}

/** How often a worker looks at a task's shared flag. */
const POLL_MS = 50;

/**
 * Worker side: an AbortSignal that aborts (CANCELLED) within POLL_MS of the flag being set;
 * `dispose()` when the task ends. No flag: no signal.
 */
export function signalOfFlag(flag: SharedArrayBuffer | undefined, what: string): { signal: AbortSignal | undefined; dispose(): void } {
  if (!flag) return { signal: undefined, dispose: () => undefined };
  const view = new Int32Array(flag);
  const controller = new AbortController();
  const check = (): void => {
    if (Atomics.load(view, 0) !== 0 && !controller.signal.aborted) {
      controller.abort(new StrataError(ErrorCode.CANCELLED, `${what} cancelled: its caller left`));
    }
  };
  check();
  const timer = setInterval(check, POLL_MS);
  timer.unref();
  return { signal: controller.signal, dispose: () => clearInterval(timer) };
}
