// The path lock table against a plain model of its rules (every held lock and every earlier
// waiter compared with every request): random shared/exclusive, path/subtree requests on a
// small tree, acquired and released in random order, must be granted at the same moments in
// the same order. Plus the cases the rules name, and a bucket holding 10,000 locks at once.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PathLocks } from '../src/actors/path-locks.js';
import type { LockRequest } from '../src/actors/path-locks.js';
import { isUnder } from '../src/meta/path.js';

function conflicts(a: LockRequest, b: LockRequest): boolean {
  if (!a.exclusive && !b.exclusive) return false;
  if (a.path === b.path) return true;
  return (!!a.subtree && isUnder(b.path, a.path)) || (!!b.subtree && isUnder(a.path, b.path));
}

/** The rules, with nothing indexed: grants by id, in order. */
class ModelLocks {
  held: Array<{ id: number; requests: LockRequest[] }> = [];
  waiters: Array<{ id: number; requests: LockRequest[] }> = [];
  granted: number[] = [];
  private ok(requests: LockRequest[], before: number): boolean {
    return requests.every((r) => !this.held.some((h) => h.requests.some((x) => conflicts(x, r)))
      && !this.waiters.slice(0, before).some((w) => w.requests.some((x) => conflicts(x, r))));
  }
  acquire(id: number, requests: LockRequest[]): void {
    if (this.ok(requests, this.waiters.length)) { this.held.push({ id, requests }); this.granted.push(id); }
    else this.waiters.push({ id, requests });
  }
  release(id: number): void {
    this.held = this.held.filter((h) => h.id !== id);
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (this.ok(w.requests, i)) { this.waiters.splice(i, 1); i--; this.held.push(w); this.granted.push(w.id); }
    }
  }
}

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

test('random requests are granted when and in the order the rules say', async () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rand = rng(seed);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
    const paths = ['/'];
    for (const a of ['a', 'b']) {
      paths.push(`/${a}`);
      for (const b of ['x', 'y']) {
        paths.push(`/${a}/${b}`);
        for (const c of ['1', '2']) paths.push(`/${a}/${b}/${c}`);
      }
    }
    const locks = new PathLocks();
    const model = new ModelLocks();
    const granted: number[] = [];
    const releases = new Map<number, () => void>();
    let nextId = 1;
    for (let step = 0; step < 300; step++) {
      if (releases.size && rand() < 0.45) {
        const id = pick([...releases.keys()]);
        releases.get(id)!();
        releases.delete(id);
        model.release(id);
      } else {
        const id = nextId++;
        const n = rand() < 0.2 ? 2 : 1;
        const requests: LockRequest[] = Array.from({ length: n }, () => ({
          path: pick(paths), exclusive: rand() < 0.6, ...(rand() < 0.25 ? { subtree: true } : {}),
        }));
        void locks.acquire(requests).then((release) => { granted.push(id); releases.set(id, release); });
        model.acquire(id, requests);
      }
      await flush();
      assert.equal(granted, model.granted, `seed ${seed}, step ${step}`);
    }
    // Releasing whatever is held, wave after wave, grants every waiter in the end.
    for (let wave = 0; wave < 1000 && (releases.size || locks.waiting); wave++) {
      const now = [...releases.values()];
      releases.clear();
      for (const release of now) release();
      await flush();
    }
    assert.is(locks.waiting, 0, `seed ${seed}: everything waiting was granted once all was released`);
    assert.is(locks.size, 0, `seed ${seed}: nothing held at the end`);
  }
});

test('the named cases: shared with shared, exclusive with either, subtree covers below, FIFO among conflicting waiters', async () => {
  const locks = new PathLocks();
  const r1 = await locks.acquire([{ path: '/d/f', exclusive: false }]);
  const r2 = await locks.acquire([{ path: '/d/f', exclusive: false }]); // shared + shared
  let movedIn = false;
  const move = locks.acquire([{ path: '/d', exclusive: true, subtree: true }]).then((r) => { movedIn = true; return r; });
  await flush();
  assert.is(movedIn, false, 'a subtree lock waits for locks below it');
  // A later request below /d waits behind the earlier subtree waiter (FIFO), one elsewhere does not.
  let belowIn = false;
  const below = locks.acquire([{ path: '/d/g', exclusive: true }]).then((r) => { belowIn = true; return r; });
  const elsewhere = await locks.acquire([{ path: '/e/g', exclusive: true }]);
  await flush();
  assert.is(belowIn, false);
  r1();
  await flush();
  assert.is(movedIn, false, 'one shared lock below is still held');
  r2();
  const rm = await move;
  assert.is(belowIn, false, 'under the subtree lock');
  rm();
  (await below)();
  elsewhere();
  assert.is(locks.size, 0);
  // A shared subtree lock and shared locks below it coexist; an exclusive one below waits.
  const s1 = await locks.acquire([{ path: '/d', exclusive: false, subtree: true }]);
  const s2 = await locks.acquire([{ path: '/d/x/y', exclusive: false }]);
  let exIn = false;
  const ex = locks.acquire([{ path: '/d/x/y', exclusive: true }]).then((r) => { exIn = true; return r; });
  await flush();
  assert.is(exIn, false);
  s1(); s2();
  (await ex)();
  // A subtree lock on the root covers everything.
  const root = await locks.acquire([{ path: '/', exclusive: true, subtree: true }]);
  let anyIn = false;
  const any = locks.acquire([{ path: '/z/deep/path', exclusive: false }]).then((r) => { anyIn = true; return r; });
  await flush();
  assert.is(anyIn, false);
  root();
  (await any)();
  assert.is(locks.size, 0);
});

test('10,000 exclusive locks held in one top-level directory: disjoint keys never wait, a covering subtree lock does', async () => {
  const locks = new PathLocks();
  const releases = await Promise.all(Array.from({ length: 10_000 }, (_, i) => locks.acquire([{ path: `/bucket/k${i}`, exclusive: true }, { path: '/bucket', exclusive: false }])));
  assert.is(locks.size, 20_000);
  assert.is(locks.waiting, 0);
  let deleteIn = false;
  const del = locks.acquire([{ path: '/bucket', exclusive: true, subtree: true }]).then((r) => { deleteIn = true; return r; });
  await flush();
  assert.is(deleteIn, false);
  for (const r of releases) r();
  (await del)();
  assert.is(locks.size, 0);
});

test.run();
