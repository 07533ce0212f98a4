// Progress of long actor work across threads: the coordinator side of an actor exposes a
// progress sink on a MessagePort with comlink, the port travels with the Piscina task, and
// the worker reports through a comlink proxy while it runs (a flat sync of a large bucket
// is one long task). Reports are fire-and-forget; a closed port just drops them.

import * as Comlink from 'comlink';
import * as nodeAdapter from 'comlink/dist/umd/node-adapter.js';
import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';

// The adapter is CommonJS: its module.exports (the function) is the namespace's default.
const nodeEndpoint = nodeAdapter.default as unknown as (port: MessagePort) => Comlink.Endpoint;

export interface ProgressSink {
  progress(done: number): void;
}

/** Coordinator side: expose `onProgress` on a new port; transfer `port` with the task, then close(). */
export function exposeProgress(onProgress: (done: number) => void): { port: MessagePort; close(): void } {
  const { port1, port2 } = new MessageChannel();
  Comlink.expose({ progress: (done: number) => onProgress(done) } satisfies ProgressSink, nodeEndpoint(port1));
  return { port: port2, close: () => port1.close() };
}

/** Worker side: a reporter over the transferred port. */
export function progressReporter(port: MessagePort): { report(done: number): void; close(): void } {
  const sink = Comlink.wrap<ProgressSink>(nodeEndpoint(port));
  return {
    report: (done) => { void Promise.resolve(sink.progress(done)).catch(() => undefined); },
    close: () => {
      sink[Comlink.releaseProxy]();
      port.close();
    },
  };
}
