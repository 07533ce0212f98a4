// Actions started from the web console run as jobs: each has an id, its user, progress while
// it runs and its result or error when done. The table keeps running jobs and the most recent
// finished ones (bounded), which is also where the console's recent sync reports come from.

import { randomBytes } from 'node:crypto';
import { ErrorCode, StrataError, toStrataError } from '../errors.js';
import type { Progress } from '../types.js';

export type JobState = 'running' | 'done' | 'failed';

/** One action as the console shows it. */
export interface Job {
  id: string;
  op: string;
  path: string;
  /** Name of the user who started it. */
  user: string;
  state: JobState;
  startedMs: number;
  finishedMs?: number;
  progress?: Progress;
  result?: unknown;
  error?: { code: string; message: string };
}

/** Jobs in memory, the last `keep` finished ones and every running one. */
export class JobTable {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly keep = 100, private readonly runningPerUser = 16) {}

  /**
   * Start `work`; it gets a progress sink. Returns the job at once (state running).
   * RESOURCE_EXHAUSTED when the user already has `runningPerUser` jobs running.
   */
  start(op: string, path: string, user: string, work: (onProgress: (p: Progress) => void) => Promise<unknown>): Job {
    let running = 0;
    for (const j of this.jobs.values()) if (j.state === 'running' && j.user === user) running++;
    if (running >= this.runningPerUser) {
      throw new StrataError(ErrorCode.RESOURCE_EXHAUSTED, `user ${user} already has ${running} console actions running; wait for one to finish`);
    }
    const job: Job = { id: randomBytes(9).toString('base64url'), op, path, user, state: 'running', startedMs: Date.now() };
    this.jobs.set(job.id, job);
    const onProgress = (p: Progress): void => { job.progress = { ...p }; };
    work(onProgress).then(
      (result) => { job.result = result ?? null; job.state = 'done'; },
      (err: unknown) => { job.error = toStrataError(err).toJSON(); job.state = 'failed'; },
    ).finally(() => {
      job.finishedMs = Date.now();
      this.trim();
    });
    return job;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Newest first; `filter` picks the jobs a caller may see. */
  list(filter: (j: Job) => boolean = () => true, limit = 50): Job[] {
    const out: Job[] = [];
    const all = [...this.jobs.values()];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) if (filter(all[i]!)) out.push(all[i]!);
    return out;
  }

  private trim(): void {
    let finished = 0;
    for (const j of this.jobs.values()) if (j.state !== 'running') finished++;
    for (const [id, j] of this.jobs) {
      if (finished <= this.keep) break;
      if (j.state !== 'running') {
        this.jobs.delete(id);
        finished--;
      }
    }
  }
}
