// The Piscina worker: executes the offloaded behaviour of shard actors (directory syncs,
// whose local listings use blocking readdirSync/lstatSync that must not run on the
// coordinator's thread). Opens the same LMDB environment as the coordinator (lmdb-js shares
// it safely across threads) and keeps a cache of UFS clients per mount.

import { workerData } from 'node:worker_threads';
import { CounterDelta } from '../coordinator/metrics.js';
import { LmdbStore } from '../meta/lmdb-store.js';
import { MountTable } from '../meta/mount-table.js';
import { StrataError, ErrorCode, toStrataError } from '../errors.js';
import { MountedUfsCache } from '../ufs/mounted-ufs.js';
import { syncDirectory, syncTreeFlat } from '../sync/applier.js';
import type { WorkerInit, WorkerMessage, WorkerReply } from './messages.js';
import { progressReporter } from './progress-port.js';
import { signalOfFlag } from '../cancel.js';

const init = workerData as WorkerInit;
const store = LmdbStore.open(init.metaDir);
const mounts = new MountTable(store);
const ufsCache = new MountedUfsCache(init.ufsDefaults, init.ufsTimeoutMs);

function mountOf(mountId: number) {
  let m = mounts.byId(mountId);
  if (!m) {
    mounts.reload(); // mounted after this worker last looked
    m = mounts.byId(mountId);
  }
  if (!m) throw new StrataError(ErrorCode.NOT_FOUND, `mount ${mountId} no longer exists`);
  return m;
}

/** Piscina entry point: one message in, its result and the counters it produced out. */
export default async function handle(msg: WorkerMessage): Promise<WorkerReply<unknown>> {
  const counters = new CounterDelta();
  try {
    switch (msg.kind) {
      case 'syncDir': {
        const ufs = ufsCache.get(mountOf(msg.mountId), counters.ufsCall);
        const cancel = signalOfFlag(msg.cancel, `sync of ${msg.job.dirPath}`);
        try {
          const result = await syncDirectory(store, ufs, msg.job, Date.now, cancel.signal);
          return { result, counters: counters.groups };
        } finally {
          cancel.dispose();
        }
      }
      case 'syncTree': {
        const ufs = ufsCache.get(mountOf(msg.mountId), counters.ufsCall);
        const reporter = msg.progress ? progressReporter(msg.progress) : undefined;
        const cancel = signalOfFlag(msg.cancel, `sync of ${msg.job.dirPath}`);
        try {
          const result = await syncTreeFlat(store, ufs, msg.job, Date.now, reporter?.report, cancel.signal);
          return { result, counters: counters.groups };
        } finally {
          cancel.dispose();
          reporter?.close();
        }
      }
      case 'ping':
        return { result: true, counters: counters.groups };
      default:
        throw new StrataError(ErrorCode.BAD_REQUEST, `unknown worker message ${(msg as { kind: string }).kind}`);
    }
  } catch (err) {
    // Errors cross the thread by structured clone, which keeps only message and stack of an
    // Error (its code would be lost and every failure would arrive as INTERNAL): throw a plain
    // object, which toStrataError turns back into a StrataError with its code.
    const e = toStrataError(err);
    throw { name: 'StrataError', code: e.code, message: e.message, counters: counters.groups };
  }
}
