// The physical limit of a sync of a local tree: the fastest plain walk of it, readdirSync
// (withFileTypes) + lstatSync of every entry, split across worker threads. Workers are
// started before the clock starts; each walks its share of the top-level directories.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort } = require('node:worker_threads');
const { readdirSync, lstatSync } = require('node:fs');
const { join } = require('node:path');
parentPort.on('message', (dirs) => {
  let n = 0;
  const stack = dirs.slice();
  for (const d of dirs) { lstatSync(d); n++; }
  while (stack.length) {
    const dir = stack.pop();
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      lstatSync(abs);
      n++;
      if (e.isDirectory()) stack.push(abs);
    }
  }
  parentPort.postMessage(n);
});
`;

export interface WalkResult { entries: number; ms: number; perSec: number; threads: number }

/** One timed walk with `threads` workers (best of `reps`). */
export async function parallelWalk(root: string, threads: number, reps = 3): Promise<WalkResult> {
  const workers = Array.from({ length: threads }, () => new Worker(WORKER, { eval: true }));
  await Promise.all(workers.map((w) => new Promise((r) => w.once('online', r))));
  let best: WalkResult | undefined;
  try {
    for (let rep = 0; rep < reps; rep++) {
      const t0 = performance.now();
      const top = readdirSync(root, { withFileTypes: true }).map((e) => join(root, e.name));
      const shares: string[][] = workers.map(() => []);
      top.forEach((d, i) => shares[i % threads]!.push(d));
      const counts = await Promise.all(workers.map((w, i) => new Promise<number>((res) => {
        w.once('message', res);
        w.postMessage(shares[i]);
      })));
      const ms = performance.now() - t0;
      const entries = counts.reduce((a, b) => a + b, 0);
      const r = { entries, ms, perSec: entries / (ms / 1000), threads };
      if (!best || r.perSec > best.perSec) best = r;
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return best!;
}
