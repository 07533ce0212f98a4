// Failures of the metadata store's commits as StrataErrors. LMDB reports a write it could
// not complete (a full disk) as EIO on a "Commit failed" error whose details sit in a
// separate rejected promise (`commitError`, unhandled unless someone catches it: that would
// crash the process). Both are handled here; a commit that failed while the store's file
// system is (nearly) full is RESOURCE_EXHAUSTED, anything else keeps its own code.

import { statfsSync } from 'node:fs';
import { ErrorCode, StrataError } from '../../../errors.js';

/** Below this many free bytes the store's disk counts as full. */
const FULL_BELOW = 4 * 1024 * 1024;

/** Free bytes on the file system of `dir`, or undefined when unknown. */
function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/** Map a failed commit of the store under `dir` (and swallow its detached `commitError`). */
export function storeCommitError(err: unknown, dir: string): unknown {
  if (err instanceof StrataError) return err;
  const detail = (err as { commitError?: unknown } | null)?.commitError;
  if (detail && typeof (detail as Promise<unknown>).then === 'function') (detail as Promise<unknown>).then(undefined, () => undefined);
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const commitFailed = /commit failed/i.test(message) || code === 5 || code === 'EIO' || code === 'ENOSPC' || code === 'EDQUOT';
  if (!commitFailed) return err;
  const free = freeBytes(dir);
  if (code === 'ENOSPC' || code === 'EDQUOT' || (free !== undefined && free < FULL_BELOW)) {
    return new StrataError(ErrorCode.RESOURCE_EXHAUSTED,
      `the metadata store could not commit: its disk is full (${free ?? 0} bytes free under ${dir}); free space in the data directory`, { cause: err });
  }
  return err;
}

let guarded = false;

/**
 * LMDB also rejects internal promises nobody holds when a commit fails (seen on a full
 * disk); Node would end the process on them. Once per process, ignore exactly those
 * rejections (the transaction's own caller got the error, mapped above); any other
 * unhandled rejection still ends the process as Node's default does.
 */
export function guardDetachedCommitFailures(): void {
  if (guarded) return;
  guarded = true;
  process.on('unhandledRejection', (reason) => {
    const r = reason as { message?: unknown; commitError?: unknown } | null;
    if (r && typeof r.message === 'string' && r.message.startsWith('Commit failed') && r.commitError !== undefined) {
      (r.commitError as Promise<unknown>).then?.(undefined, () => undefined);
      return;
    }
    throw reason;
  });
}
