// The console's metrics history: rates are differences of the report's own counters, byte
// counters are not calls, a hit ratio without reads is a gap, the ring buffer keeps only its
// window, and `since` returns only newer points. Also the session table: expiry and bound.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Report } from '../src/types.js';
import { MetricsSampler, derivePoint, opsTotal } from '../src/web/sampler.js';
import { SessionStore, parseCookies, sameSecret } from '../src/web/sessions.js';

function report(over: { ops?: Record<string, number>; ufsCalls?: Record<string, number>; hits?: number; misses?: number; entries?: number; pending?: number } = {}): Report {
  return {
    server: { version: 't', uptimeMs: 0, startedAt: '' },
    namespace: { inodes: 1, mounts: 1 },
    ops: over.ops ?? {},
    ufsCalls: over.ufsCalls ?? {},
    cache: { hits: over.hits ?? 0, misses: over.misses ?? 0, usedBytes: 0, capacityBytes: 1, hitRatio: 0, evictedBytes: 0, bytesByState: {} },
    sync: { entries: over.entries ?? 0 },
    persist: { pending: over.pending ?? 0, inFlight: 0, failed: 0 },
    activeSync: {},
  };
}

test('rates come from counter differences; bytes and write breakdowns are not calls', () => {
  const a = report({ ops: { getStatus: 10, writeFile: 2, 'write.ASYNC_THROUGH': 2, bytesWritten: 5000 }, ufsCalls: { list: 4, writeBytes: 10_000 }, hits: 1, misses: 1, entries: 100 });
  const b = report({ ops: { getStatus: 30, writeFile: 4, 'write.ASYNC_THROUGH': 4, bytesWritten: 9000 }, ufsCalls: { list: 8, writeBytes: 90_000 }, hits: 4, misses: 1, entries: 600, pending: 7 });
  assert.is(opsTotal(a), 12);
  const p = derivePoint(2000, b, { t: 0, r: a });
  assert.is(p.opsPerSec, 11); // (34 - 12) / 2 s
  assert.is(p.ufsCallsPerSec, 2); // list only
  assert.is(p.ufsBytesPerSec, 40_000);
  assert.equal(p.ufsCallsByOp, { list: 2 });
  assert.is(p.hitRatio, 1); // 3 hits, 0 misses in the interval
  assert.is(p.syncEntriesPerSec, 250);
  assert.is(p.persistPending, 7);
  const idle = derivePoint(4000, b, { t: 2000, r: b });
  assert.is(idle.hitRatio, null);
  assert.is(idle.opsPerSec, 0);
  const first = derivePoint(0, a);
  assert.is(first.opsPerSec, 0);
});

test('the ring buffer keeps the last window of points; since returns only newer ones', async () => {
  let n = 0;
  const s = new MetricsSampler({ report: async () => report({ ops: { getStatus: n++ } }), intervalMs: 1000, historyMs: 5000 });
  for (let i = 0; i < 20; i++) await s.sample();
  const pts = s.points();
  assert.is(pts.length, 6); // historyMs / intervalMs + 1
  // Samples taken within one millisecond still get strictly increasing times, so paging by
  // `since` never skips a point.
  for (let i = 1; i < pts.length; i++) assert.ok(pts[i]!.t > pts[i - 1]!.t, `${pts[i]!.t} after ${pts[i - 1]!.t}`);
  for (let k = 0; k < pts.length; k++) assert.equal(s.points(pts[k]!.t), pts.slice(k + 1));
  assert.is(s.latestReport()!.ops.getStatus, 19);
  assert.is(s.points(pts[pts.length - 1]!.t).length, 0);
  s.stop();
});

test('a failing report is reported and skipped, not thrown', async () => {
  const errors: unknown[] = [];
  const s = new MetricsSampler({ report: async () => { throw new Error('closed'); }, intervalMs: 1000, historyMs: 5000, onError: (e) => errors.push(e) });
  await s.sample();
  assert.is(errors.length, 1);
  assert.is(s.points().length, 0);
});

test('sessions expire, are bounded, and have random ids and CSRF tokens', () => {
  let now = 1000;
  const store = new SessionStore({ ttlMs: 100, max: 3, now: () => now });
  const a = store.create('K1');
  assert.match(a.id, /^[A-Za-z0-9_-]{43}$/);
  assert.is.not(a.id, a.csrfToken);
  assert.is(store.get(a.id)?.accessKeyId, 'K1');
  now += 100;
  assert.is(store.get(a.id), undefined, 'expired at its expiry time');
  const ids = [store.create('K'), store.create('K'), store.create('K'), store.create('K')].map((s) => s.id);
  assert.is(store.size, 3);
  assert.is(store.get(ids[0]), undefined, 'the oldest goes first when the table is full');
  assert.ok(store.get(ids[3]));
  assert.is(store.get(undefined), undefined);
  assert.is(store.get('nope'), undefined);
});

test('cookies parse leniently; secrets compare by value', () => {
  assert.equal(parseCookies('a=1; strata_session=xyz; b=%E0%A4%A'), { a: '1', strata_session: 'xyz' });
  assert.equal(parseCookies(undefined), {});
  assert.ok(sameSecret('abc', 'abc'));
  assert.not.ok(sameSecret('abc', 'abd'));
  assert.not.ok(sameSecret('abc', 'abcd'));
});

test.run();
