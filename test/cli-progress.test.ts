// The progress display's arithmetic and its one rule: speed (bytes/s or entries/s) once
// half a second of work is done, an ETA when the total is known, and nothing at all when
// stderr is not a terminal (pipes, files, scripts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createProgress, etaText, progressEnabled, speedOf } from '../src/cli/progress.js';

test('speed: unknown before 0.5 s or without progress, then the average rate per second', () => {
  assert.is(speedOf(1000, 100), undefined);
  assert.is(speedOf(0, 5000), undefined);
  assert.is(speedOf(4096, 2000), 2048);
});

test('ETA: remaining work over the rate, as s, m+s or h+m; empty when unknown or done', () => {
  assert.is(etaText(50, 100, 10), '  ETA 5s');
  assert.is(etaText(0, 6500, 100), '  ETA 1m05s');
  assert.is(etaText(0, 7200, 1), '  ETA 2h00m');
  assert.is(etaText(100, 100, 10), '');
  assert.is(etaText(10, 100, undefined), '');
});

test('no terminal: no bar is drawn and nothing is written', () => {
  assert.is(progressEnabled(), Boolean(process.stderr.isTTY) && !process.env.STRATA_NO_PROGRESS);
  if (process.stderr.isTTY) return; // run by hand on a terminal: nothing to check here
  const writes: unknown[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: unknown) => { writes.push(chunk); return true; }) as typeof process.stderr.write;
  try {
    const bar = createProgress('copy x', 'bytes', 100);
    bar.add(10);
    bar.update({ done: 1, total: 2, bytes: 50 });
    bar.stop();
  } finally {
    process.stderr.write = orig;
  }
  assert.equal(writes, []);
});

test.run();
