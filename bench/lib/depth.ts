// Closed-loop load at a fixed number of requests in flight, measured with tinybench
// (concurrency 'task', threshold = depth). tinybench's totalTime sums latencies, so ops/s
// is taken from the wall clock around the run; p50/p99 come from tinybench's samples.

import { Bench } from 'tinybench';

export interface DepthResult {
  depth: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  samples: number;
}

export async function atDepth(name: string, depth: number, fn: () => Promise<unknown>, timeMs: number): Promise<DepthResult> {
  const mk = (t: number): Bench => new Bench({
    name,
    time: t,
    warmup: false,
    ...(depth > 1 ? { concurrency: 'task' as const, threshold: depth, iterations: 0 } : { iterations: 16 }),
  }).add(name, fn);
  await mk(Math.min(300, timeMs / 4)).run(); // warm-up (JIT, connection buffers)
  const b = mk(timeMs);
  const t0 = performance.now();
  await b.run();
  const wall = performance.now() - t0;
  const r = b.tasks[0]!.result;
  if (r.state !== 'completed' && r.state !== 'aborted-with-statistics') {
    throw new Error(`${name}: ${r.state === 'errored' ? r.error.message : r.state}`);
  }
  return { depth, opsPerSec: r.latency.samplesCount / (wall / 1000), p50Ms: r.latency.p50, p99Ms: r.latency.p99, samples: r.latency.samplesCount };
}
