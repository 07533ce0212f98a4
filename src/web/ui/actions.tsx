// Running an action from the console: POST /api/action starts a job, which is polled until
// it is done; progress and the result (or the Strata error) are shown next to the buttons.

import { useState } from 'preact/hooks';
import { errorText, get, post } from './api.js';
import { bytes, num } from './format.js';

export interface Job {
  id: string; op: string; path: string; user: string; state: 'running' | 'done' | 'failed';
  startedMs: number; finishedMs?: number; progress?: { done: number; total?: number; bytes?: number; phase?: string };
  result?: unknown; error?: { code: string; message: string };
}

/** Start an action and wait for its job; `onUpdate` sees each poll. Throws on refusal. */
export async function runAction(body: Record<string, unknown>, onUpdate: (j: Job) => void): Promise<Job> {
  let job = await post<Job>('/action', body);
  onUpdate(job);
  for (let i = 0; job.state === 'running'; i++) {
    await new Promise((r) => setTimeout(r, Math.min(1000, 150 + i * 50)));
    job = await get<Job>(`/jobs/${job.id}`);
    onUpdate(job);
  }
  return job;
}

export function describeResult(j: Job): string {
  if (j.state === 'failed') return `${j.error?.code}: ${j.error?.message}`;
  if (j.state === 'running') {
    const p = j.progress;
    if (!p) return 'running…';
    return `running… ${num(p.done)}${p.total ? ` of ${num(p.total)}` : ''}${p.bytes ? ` (${bytes(p.bytes)})` : ''}${p.phase ? ` ${p.phase}` : ''}`;
  }
  const r = j.result as Record<string, unknown> | null;
  if (!r || typeof r !== 'object' || Object.keys(r).length === 0) return 'done';
  if ('files' in r && 'bytes' in r) return `done: ${num(r.files as number)} files, ${bytes(r.bytes as number)}`;
  if ('inconsistent' in r && Array.isArray(r.inconsistent)) {
    const list = r.inconsistent as string[];
    return `done: ${list.length} inconsistent${list.length ? ` (${list.slice(0, 5).join(', ')}${list.length > 5 ? ', …' : ''})` : ''}, ${num(r.repaired as number)} repaired`;
  }
  return `done: ${Object.entries(r).map(([k, v]) => `${k} ${typeof v === 'number' ? num(v) : String(v)}`).join(', ')}`;
}

/** A job's status line, announced to screen readers as it changes. */
export function JobStatus({ job, error }: { job: Job | null; error: string | null }) {
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!job) return null;
  return (
    <p class={`job job-${job.state}`} role="status" data-state={job.state}>
      <strong>{job.op}</strong> {job.path}: {describeResult(job)}
    </p>
  );
}

/** State and runner for one panel of actions. */
export function useAction(after?: (j: Job) => void) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (body: Record<string, unknown>) => {
    setBusy(true);
    setError(null);
    setJob(null);
    try {
      const j = await runAction(body, setJob);
      after?.(j);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return { job, error, busy, run };
}
