// How far V8 lets a heap grow past its live data before the next full collection, for the
// server's threads (main + Piscina workers). A sync's workers keep ~10 MiB live but, by V8's
// default growing factor (up to 4×), let their old generation reach 50-60 MiB each before
// collecting; a factor of 2 keeps each near 2 × live (1.5 cost ~5-10 % more sync CPU, 2 none
// measurable). It caps nothing: a directory of millions of entries still grows the heap as
// far as it needs (see bench/RESULTS.md, "peak RSS at 1M").

import { setFlagsFromString } from 'node:v8';

/** Old-generation growing factor used here: 1 + HEAP_GROWING_PERCENT / 100. */
export const HEAP_GROWING_PERCENT = 100;

let applied = false;

/**
 * Set V8's heap growing factor for this process (a V8 flag, so it holds for every isolate,
 * including worker threads started after this call), unless the process was started with
 * its own `--heap-growing-percent` (node flags or NODE_OPTIONS), which then wins. Idempotent.
 */
export function limitHeapGrowth(): void {
  if (applied) return;
  applied = true;
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('heap-growing-percent') || a.includes('heap_growing_percent'));
  if (!given) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
