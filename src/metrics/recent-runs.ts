// The latest runs of loadMetadata and checkConsistency, whoever called them (the CLI, any TCP
// client, the S3 gateway, FUSE, the console, library mode): running ones and the last
// `keep` finished ones with what each found. `fsadmin report` and the console show them.

import { toStrataError } from '../errors.js';
import type { RecentRun, RecentRunResult } from '../types.js';

export class RecentRuns {
  private readonly finished: RecentRun[] = [];
  private readonly running = new Set<RecentRun>();

  constructor(private readonly keep = 20) {}

  /** Run `work`, recording it as running, then with its result or its error. */
  async track<T>(op: RecentRun['op'], path: string, recursive: boolean, work: () => Promise<T>, summarise: (r: T) => RecentRunResult): Promise<T> {
    const run: RecentRun = { op, path, recursive, startedMs: Date.now() };
    this.running.add(run);
    try {
      const r = await work();
      run.result = summarise(r);
      return r;
    } catch (err) {
      const e = toStrataError(err);
      run.error = { code: e.code, message: e.message };
      throw err;
    } finally {
      run.finishedMs = Date.now();
      this.running.delete(run);
      this.finished.unshift(run);
      if (this.finished.length > this.keep) this.finished.length = this.keep;
    }
  }

  /** Running runs first (oldest first), then finished ones, newest first; copies. */
  list(): RecentRun[] {
    return [...this.running, ...this.finished].map((r) => ({ ...r, ...(r.result ? { result: { ...r.result } } : {}) }));
  }
}
