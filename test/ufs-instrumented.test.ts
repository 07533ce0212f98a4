// InstrumentedUfs: counts calls per operation, times out a hanging UFS quickly with
// UFS_UNAVAILABLE (per call and per stream step) and aborts the inner call; wraps errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { StrataError } from '../src/errors.js';
import { InstrumentedUfs } from '../src/ufs/instrumented.js';
import { LocalUfs } from '../src/ufs/local/local-ufs.js';
import type { Ufs, UfsListOptions, UfsReadOptions, UfsStatus, UfsWriteOptions } from '../src/ufs/ufs.js';

const dirs: string[] = [];
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function counter(): { counts: Map<string, number>; count: (op: string, n?: number) => void } {
  const counts = new Map<string, number>();
  return { counts, count: (op, n = 1) => counts.set(op, (counts.get(op) ?? 0) + n) };
}

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

/** Waits until aborted (or forever without a signal); records what was aborted. */
function hang(signal: AbortSignal | undefined, aborted: string[], what: string): Promise<never> {
  return new Promise((_, reject) => {
    signal?.addEventListener('abort', () => {
      aborted.push(what);
      reject(new Error(`${what} aborted`));
    }, { once: true });
  });
}

const STATUS: UfsStatus = { name: 'x', type: 'file', length: 1, mtimeMs: 1, contentHash: 'c', metaHash: 'm' };

/** A fake UFS whose calls hang (honouring their signal) unless told otherwise. */
class HangingUfs implements Ufs {
  readonly scheme = 'fake';
  readonly uri = 'fake://hang';
  readonly aborted: string[] = [];
  pagesBeforeHang = 0;
  chunksBeforeHang = 0;
  getStatus(_p: string, o?: { signal?: AbortSignal }): Promise<UfsStatus | null> {
    return hang(o?.signal, this.aborted, 'getStatus');
  }
  async *list(_p: string, o?: UfsListOptions): AsyncGenerator<UfsStatus[]> {
    for (let i = 0; i < this.pagesBeforeHang; i++) yield [STATUS];
    await hang(o?.signal, this.aborted, 'list');
  }
  async *read(_p: string, o?: UfsReadOptions): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < this.chunksBeforeHang; i++) yield Buffer.from('chunk');
    await hang(o?.signal, this.aborted, 'read');
  }
  async write(_p: string, data: AsyncIterable<Uint8Array>, o?: UfsWriteOptions): Promise<UfsStatus> {
    for await (const _ of data) { /* drain */ }
    return hang(o?.signal, this.aborted, 'write');
  }
  mkdir(): Promise<void> {
    return new Promise(() => undefined); // no signal to honour: hangs for good
  }
  delete(): Promise<void> {
    return Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  }
  rename(): Promise<void> {
    return Promise.reject({ code: 'NOT_FOUND', message: 'cloned StrataError from a worker' });
  }
  check(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function failsWith(p: Promise<unknown>, code: string, within: number, match?: RegExp): Promise<StrataError> {
  const t0 = Date.now();
  try {
    await p;
  } catch (err) {
    const ms = Date.now() - t0;
    assert.instance(err, StrataError);
    assert.is((err as StrataError).code, code, (err as Error).message);
    if (match) assert.match((err as Error).message, match);
    assert.ok(ms < within, `took ${ms}ms`);
    return err as StrataError;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('counts every operation, list pages and bytes over a real local UFS', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-ufs-instr-'));
  dirs.push(dir);
  const { counts, count } = counter();
  const ufs = new InstrumentedUfs(new LocalUfs(pathToFileURL(dir).href), { count, timeoutMs: 5000 });
  assert.is(ufs.scheme, 'file');
  await ufs.check();
  await ufs.mkdir('d');
  for (let i = 0; i < 5; i++) await ufs.write(`d/f${i}`, chunks('hello'));
  assert.is((await ufs.getStatus('d/f0'))?.length, 5);
  const pages = await drain(ufs.list('d', { pageSize: 2 }));
  assert.is(pages.length, 3);
  const bytes = await drain(ufs.read('d/f1', { offset: 1 }));
  assert.is(Buffer.concat(bytes).toString(), 'ello');
  await ufs.rename('d/f0', 'd/g0');
  await ufs.delete('d', { recursive: true });
  await ufs.close();
  assert.equal(Object.fromEntries(counts), {
    check: 1, mkdir: 1, write: 5, writeBytes: 25, getStatus: 1, list: 1, listPage: 3,
    read: 1, readBytes: 4, rename: 1, delete: 1,
  });
  // Errors pass through with their codes and are counted.
  try {
    await ufs.getStatus('../x');
    assert.unreachable();
  } catch (err) {
    assert.is((err as StrataError).code, 'INVALID_PATH');
  }
  assert.is(counts.get('error'), 1);
});

test('a hanging call times out quickly with UFS_UNAVAILABLE and the inner call is aborted', async () => {
  const inner = new HangingUfs();
  const { counts, count } = counter();
  const ufs = new InstrumentedUfs(inner, { count, timeoutMs: 50 });
  await failsWith(ufs.getStatus('a'), 'UFS_UNAVAILABLE', 1000, /timed out after 50ms/);
  assert.equal(inner.aborted, ['getStatus']);
  // Even a call that ignores aborting cannot hang us.
  await failsWith(ufs.mkdir('a'), 'UFS_UNAVAILABLE', 1000, /mkdir "a" timed out/);
  assert.is(counts.get('timeout'), 2);
});

test('streams: the timeout applies to each step; slow consumers are not timed', async () => {
  const inner = new HangingUfs();
  inner.pagesBeforeHang = 2;
  inner.chunksBeforeHang = 1;
  const { counts, count } = counter();
  const ufs = new InstrumentedUfs(inner, { count, timeoutMs: 60 });
  const pages: UfsStatus[][] = [];
  const t0 = Date.now();
  try {
    for await (const p of ufs.list('')) {
      pages.push(p);
      await new Promise((r) => setTimeout(r, 100)); // consumer slower than the timeout
    }
    assert.unreachable();
  } catch (err) {
    assert.is((err as StrataError).code, 'UFS_UNAVAILABLE');
    assert.match((err as Error).message, /list "" timed out after 60ms/);
  }
  assert.is(pages.length, 2);
  assert.ok(Date.now() - t0 < 1500);
  assert.equal(inner.aborted, ['list']);
  await failsWith(drain(ufs.read('x')), 'UFS_UNAVAILABLE', 1000, /read "x" timed out/);
  assert.equal(inner.aborted, ['list', 'read']);
  assert.is(counts.get('listPage'), 2);
  assert.is(counts.get('readBytes'), 5);
});

test('write: UFS work is timed, a slow source is not', async () => {
  const inner = new HangingUfs();
  const ufs = new InstrumentedUfs(inner, { timeoutMs: 60 });
  async function* slow(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
      yield Buffer.from('x');
    }
  }
  // 150ms of source time, then the fake hangs: the timeout fires only after the data is in.
  const t0 = Date.now();
  await failsWith(ufs.write('f', slow()), 'UFS_UNAVAILABLE', 1000, /write "f" timed out/);
  assert.ok(Date.now() - t0 >= 140);
  assert.equal(inner.aborted, ['write']);
});

test('caller abort cancels promptly and aborts the inner call', async () => {
  const inner = new HangingUfs();
  const ufs = new InstrumentedUfs(inner); // no timeout
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 30);
  await failsWith(ufs.getStatus('a', { signal: ac.signal }), 'CANCELLED', 1000);
  assert.equal(inner.aborted, ['getStatus']);
});

test('foreign errors become UFS_UNAVAILABLE with cause; cloned StrataErrors keep their code', async () => {
  const ufs = new InstrumentedUfs(new HangingUfs(), { timeoutMs: 1000 });
  const e1 = await failsWith(ufs.delete('p'), 'UFS_UNAVAILABLE', 1000, /fake:\/\/hang delete "p" failed: socket hang up/);
  assert.is((e1.cause as { code: string }).code, 'ECONNRESET');
  await failsWith(ufs.rename('a', 'b'), 'NOT_FOUND', 1000, /cloned StrataError/);
});

/** Run `fn` counting the timers created meanwhile (global setTimeout, restored after). */
async function countingTimers<T>(fn: () => Promise<T>): Promise<{ result: T; timers: number }> {
  const real = globalThis.setTimeout;
  let timers = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => { timers++; return real(...args); }) as typeof setTimeout;
  try {
    return { result: await fn(), timers };
  } finally {
    globalThis.setTimeout = real;
  }
}

/** A UFS whose listings answer at once: `pages` pages of one entry each. */
class QuickUfs extends HangingUfs {
  constructor(private readonly pages = 2) { super(); }
  override async *list(): AsyncGenerator<UfsStatus[]> {
    for (let i = 0; i < this.pages; i++) {
      await Promise.resolve();
      yield [STATUS];
    }
  }
}

test('one timer per UFS: 300 concurrent listings of 2 pages, then 300 one after another, create at most 2 timers', async () => {
  const { counts, count } = counter();
  const ufs = new InstrumentedUfs(new QuickUfs(), { count, timeoutMs: 30_000 });
  const { result, timers } = await countingTimers(async () => {
    const all = await Promise.all(Array.from({ length: 300 }, () => drain(ufs.list('d'))));
    for (let i = 0; i < 300; i++) await drain(ufs.list('d'));
    return all;
  });
  assert.is(result.length, 300);
  assert.ok(result.every((pages) => pages.length === 2));
  assert.is(counts.get('listPage'), 1200);
  assert.ok(timers <= 2, `${timers} timers for 600 listings`);
});

test('a shared timer still times out each hanging call at its own deadline, and a completed call is never failed', async () => {
  const inner = new HangingUfs();
  const { counts, count } = counter();
  const ufs = new InstrumentedUfs(inner, { count, timeoutMs: 80 });
  const t0 = Date.now();
  const when: Array<[string, number]> = [];
  const hangs = ['a', 'b', 'c'].map(async (p, i) => {
    await new Promise((r) => setTimeout(r, i * 40));
    await failsWith(ufs.getStatus(p), 'UFS_UNAVAILABLE', 2000, new RegExp(`getStatus "${p}" timed out after 80ms`));
    when.push([p, Date.now() - t0]);
  });
  // Quick listings in between share the clock and are not cut off.
  const quick = new InstrumentedUfs(new QuickUfs(3), { timeoutMs: 80 });
  for (let i = 0; i < 20; i++) assert.is((await drain(quick.list('d'))).length, 3);
  await Promise.all(hangs);
  assert.equal(when.map(([p]) => p), ['a', 'b', 'c'], 'in deadline order');
  when.forEach(([p, ms], i) => assert.ok(ms >= i * 40 + 75, `${p} failed after ${ms} ms, before its deadline`));
  assert.is(counts.get('timeout'), 3);
  assert.equal(inner.aborted, ['getStatus', 'getStatus', 'getStatus']);
});

test('no timeout configured: nothing fires', async () => {
  const inner = new HangingUfs();
  const ufs = new InstrumentedUfs(inner, { timeoutMs: -1 });
  const r = await Promise.race([ufs.getStatus('a').then(() => 'settled', () => 'failed'), new Promise((r) => setTimeout(() => r('pending'), 100))]);
  assert.is(r, 'pending');
});

test.run();
