// The Piscina worker: runs the offloaded behaviour of shard actors (directory syncs, whose
// local listings use blocking readdirSync/lstatSync that must not run on the coordinator's
// thread). Generic: it dispatches on the task's kind through the task tables registered by
// the modules named in its WorkerInit. Opens the coordinator's metadata store by its URI (an
// engine whose openings share one store: LMDB shares its environment safely across threads)
// and keeps a cache of UFS clients per mount.

import { workerData } from 'node:worker_threads';
import { CounterDelta } from '../metrics/metrics.js';
import { openStrataStore } from '../meta/tables.js';
import { MountTable } from '../meta/mount-table.js';
import { StrataError, ErrorCode, toStrataError, toThreadError } from '../errors.js';
import { MountedUfsCache } from '../ufs/mounted-ufs.js';
import type { TaskContext, TaskTable, WorkerInit, WorkerReply, WorkerTask } from './messages.js';
import { progressReporter } from './progress-port.js';
import { signalOfFlag } from '../cancel.js';

const init = workerData as WorkerInit;
const store = openStrataStore(init.metaUri);
const mounts = new MountTable(store);
const ufsCache = new MountedUfsCache(init.ufsDefaults, init.ufsTimeoutMs);

/** Handlers by task kind, from every registered task module. */
const handlers = new Map<string, (task: WorkerTask, ctx: TaskContext) => Promise<unknown>>();
for (const url of init.taskModules ?? []) {
  const table = ((await import(url)) as { default: TaskTable }).default;
  for (const [kind, handler] of Object.entries(table)) {
    if (handlers.has(kind) || kind === 'ping') throw new StrataError(ErrorCode.INTERNAL, `worker task kind ${kind} registered twice (${url})`);
    handlers.set(kind, handler as (task: WorkerTask, ctx: TaskContext) => Promise<unknown>);
  }
}

function mountOf(mountId: number) {
  let m = mounts.byId(mountId);
  if (!m) {
    mounts.reload(); // mounted after this worker last looked
    m = mounts.byId(mountId);
  }
  if (!m) throw new StrataError(ErrorCode.NOT_FOUND, `mount ${mountId} no longer exists`);
  return m;
}

/** Piscina entry point: one task in, its result and the counters it produced out. */
export default async function handle(task: WorkerTask): Promise<WorkerReply<unknown>> {
  const counters = new CounterDelta();
  try {
    if (task.kind === 'ping') return { result: true, counters: counters.groups };
    // The task names inodes other threads committed just before sending it: read them.
    store.refresh?.();
    const handler = handlers.get(task.kind);
    if (!handler) throw new StrataError(ErrorCode.BAD_REQUEST, `unknown worker task ${String(task.kind)}`);
    const reporter = task.progress ? progressReporter(task.progress) : undefined;
    const cancel = signalOfFlag(task.cancel, `worker task ${task.kind}`);
    try {
      const ctx: TaskContext = {
        store,
        ufsOf: (mountId) => ufsCache.get(mountOf(mountId), counters.ufsCall),
        ...(reporter ? { progress: reporter.report } : {}),
        ...(cancel.signal ? { signal: cancel.signal } : {}),
      };
      return { result: await handler(task, ctx), counters: counters.groups };
    } finally {
      cancel.dispose();
      reporter?.close();
    }
  } catch (err) {
    throw { ...toThreadError(toStrataError(err)), counters: counters.groups };
  }
}
