// The MetaStore contract (src/meta/meta-store.ts), run against every registered engine:
// point reads and writes, key order, range with start/end/limit/reverse, the transaction
// overlay's range merge (pending puts and deletes merged with stored rows, with limit and
// reverse, checked against the same range after commit and against a model), a throwing
// callback writes nothing, concurrent read-modify-write transactions lose no update, and a
// commit is visible to a second opening and to another thread when the engine is shared
// (from the thread's next turn, or at once after `refresh`);
// transactions issued together share commit groups, each still atomic on its own.
// A new engine adds one line to ENGINES and starts with these tests.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { metaEngines, openMetaStore } from '../src/meta/engines/index.js';
import { lmdbUri } from '../src/meta/engines/lmdb/lmdb-store.js';
import { compareKeys } from '../src/meta/engines/memory/memory-store.js';
import type { Key, MetaStore, RangeOptions } from '../src/meta/meta-store.js';
import { tempDir } from './helpers/fixture.js';

const TABLES = ['t', 'u'] as const;
type T = typeof TABLES[number];

interface Engine {
  name: string;
  uri(): Promise<{ uri: string; cleanup(): Promise<void> }>;
  /** The engine commits concurrent transactions in shared groups (one sync for many). */
  groups?: boolean;
}

const ENGINES: Engine[] = [
  {
    name: 'lmdb',
    groups: true,
    uri: async () => {
      const dir = await tempDir('strata-contract-');
      return { uri: lmdbUri(join(dir, 'meta')), cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  { name: 'memory', uri: async () => ({ uri: 'memory:', cleanup: async () => undefined }) },
];

test('every registered engine runs the contract suite', () => {
  assert.equal(metaEngines().sort(), ENGINES.map((e) => e.name).sort());
});

test('an unknown scheme is refused with INVALID_ARGUMENT naming the engines', () => {
  try {
    openMetaStore('etcd://127.0.0.1:2379', { tables: TABLES });
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'INVALID_ARGUMENT');
    assert.match((err as Error).message, /lmdb:/);
  }
});

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number): () => number {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rows = <V>(it: Iterable<{ key: Key; value: V }>): Array<[Key, V]> => [...it].map((e) => [e.key, e.value]);

function contract(engine: Engine): void {
  const name = (s: string): string => `[${engine.name}] ${s}`;
  const withStore = async (fn: (store: MetaStore<T>, uri: string) => Promise<void>): Promise<void> => {
    const { uri, cleanup } = await engine.uri();
    const store = openMetaStore<T>(uri, { tables: TABLES, recordTables: ['u'] });
    try {
      await fn(store, uri);
    } finally {
      await store.close();
      await cleanup();
    }
  };

  test(name('get, put and del; values are copies; tables are apart; count'), () => withStore(async (store) => {
    assert.is(store.get('t', 'a'), undefined);
    const v = { n: 1, list: [1, 2] };
    const r = await store.transact((tx) => { tx.put('t', 'a', v); tx.put('t', 7, 'seven'); tx.put('t', [1, 'x'], true); return 'done'; });
    assert.is(r, 'done', 'transact resolves with the callback result');
    v.n = 2;
    assert.equal(store.get('t', 'a'), { n: 1, list: [1, 2] }, 'a later change of the put object is not stored');
    const got = store.get<{ n: number }>('t', 'a')!;
    got.n = 99;
    assert.equal(store.get('t', 'a'), { n: 1, list: [1, 2] }, 'a change of a read value is not stored');
    assert.is(store.get('t', 7), 'seven');
    assert.is(store.get('t', [1, 'x']), true);
    assert.is(store.get('u', 'a'), undefined, 'tables are separate');
    assert.is(store.count('t'), 3);
    await store.transact((tx) => { tx.del('t', 'a'); tx.del('t', 'never-there'); });
    assert.is(store.get('t', 'a'), undefined);
    assert.is(store.count('t'), 2);
    await store.transact((tx) => {
      tx.put('u', 'k', 1);
      assert.is(tx.get('u', 'k'), 1, 'a transaction reads its own put');
      tx.del('u', 'k');
      assert.is(tx.get('u', 'k'), undefined, 'and its own delete');
      tx.put('u', 'k', 2);
    });
    assert.is(store.get('u', 'k'), 2, 'the last write to a key wins');
  }));

  test(name('keys order: numbers before strings, strings by code point, arrays element-wise after their prefixes'), () => withStore(async (store) => {
    const keys: Key[] = [
      -5, 0, 1.5, 2, 10, 300,
      '', 'a', 'a\u0000', 'ab', 'b', 'z', '\u00e9', '\ue000', '\uffff', '\u{1F600}',
      [1, ''], [1, 'a'], [1, 'a\u0000'], [1, 'b'], [1, '\u{1F600}'], [2, 0], [2, 1], [10, 'a'],
    ];
    const shuffled = [...keys].sort(() => 0).reverse();
    await store.transact((tx) => { for (const k of shuffled) if (Array.isArray(k)) tx.put('u', k, JSON.stringify(k)); else tx.put('t', k, JSON.stringify(k)); });
    const scalars = keys.filter((k) => !Array.isArray(k));
    const arrays = keys.filter((k) => Array.isArray(k));
    assert.equal(rows(store.range('t', {})).map(([k]) => k), scalars);
    assert.equal(rows(store.range('u', {})).map(([k]) => k), arrays);
    assert.equal(rows(store.range('u', { reverse: true })).map(([k]) => k), [...arrays].reverse());
    // (A one-element array is a bound here, not a stored key: LMDB reads [1] back as 1.)
    // The child range of a directory: [id, ''] … [id + 1], and "after name": [id, name + NUL].
    assert.equal(rows(store.range('u', { start: [1, ''], end: [2] })).map(([k]) => k), [[1, ''], [1, 'a'], [1, 'a\u0000'], [1, 'b'], [1, '\u{1F600}']]);
    assert.equal(rows(store.range('u', { start: [1, 'a\u0000'], end: [2] })).map(([k]) => k), [[1, 'a\u0000'], [1, 'b'], [1, '\u{1F600}']]);
    assert.equal(rows(store.range('u', { start: [2], end: [3] })).map(([k]) => k), [[2, 0], [2, 1]], '[2] sorts before [2, 0]');
    assert.equal(rows(store.range('u', { start: [1], end: [1, 'a\u0000'] })).map(([k]) => k), [[1, ''], [1, 'a']]);
  }));

  test(name('range: start inclusive, end exclusive, limit, reverse (bounds stay lower/upper)'), () => withStore(async (store) => {
    await store.transact((tx) => { for (let i = 0; i < 20; i++) tx.put('t', i, i * 10); });
    assert.equal(rows(store.range('t', { start: 5, end: 9 })), [[5, 50], [6, 60], [7, 70], [8, 80]]);
    assert.equal(rows(store.range('t', { start: 5, end: 9, limit: 2 })), [[5, 50], [6, 60]]);
    assert.equal(rows(store.range('t', { start: 5, end: 9, reverse: true })), [[8, 80], [7, 70], [6, 60], [5, 50]]);
    assert.equal(rows(store.range('t', { start: 5, end: 9, reverse: true, limit: 1 })), [[8, 80]]);
    assert.equal(rows(store.range('t', { end: 2 })), [[0, 0], [1, 10]]);
    assert.equal(rows(store.range('t', { start: 18 })), [[18, 180], [19, 190]]);
    assert.equal(rows(store.range('t', { reverse: true, limit: 1 })), [[19, 190]]);
    assert.equal(rows(store.range('t', { start: 30 })), []);
    assert.equal(rows(store.range('t', { start: 9, end: 5 })), [], 'an empty interval');
  }));

  test(name('the overlay range merges pending puts and deletes with stored rows, with limit and reverse, as the commit will'), () => withStore(async (store) => {
    const random = prng(15);
    const names = ['', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', '\u00e9', '\ue000', '\u{1F600}', 'a\u{1F600}'];
    const key = (): Key => [1 + Math.floor(random() * 3), names[Math.floor(random() * names.length)]!];
    // A model of the table, kept beside the store.
    const model = new Map<string, { key: Key; value: number }>();
    const modelRange = (o: RangeOptions): Array<[Key, number]> => {
      const all = [...model.values()]
        .filter((e) => (o.start === undefined || compareKeys(e.key, o.start) >= 0) && (o.end === undefined || compareKeys(e.key, o.end) < 0))
        .sort((a, b) => compareKeys(a.key, b.key) * (o.reverse ? -1 : 1));
      return all.slice(0, o.limit ?? all.length).map((e) => [e.key, e.value]);
    };
    const optionSets = (): RangeOptions[] => {
      const out: RangeOptions[] = [{}, { reverse: true }];
      for (let i = 0; i < 12; i++) {
        const a = key();
        const b = key();
        const [lo, hi] = compareKeys(a, b) <= 0 ? [a, b] : [b, a];
        const o: RangeOptions = {};
        if (random() < 0.7) o.start = lo;
        if (random() < 0.7) o.end = random() < 0.3 ? [(hi as [number])[0] + 1] : hi;
        if (random() < 0.6) o.limit = 1 + Math.floor(random() * 6);
        if (random() < 0.5) o.reverse = true;
        out.push(o);
      }
      return out;
    };
    let v = 0;
    for (let round = 0; round < 25; round++) {
      // Stored rows first (committed), then a transaction with puts, overwrites and deletes.
      const ops = Array.from({ length: 2 + Math.floor(random() * 12) }, () => ({ key: key(), del: random() < 0.4, value: ++v }));
      const opts = optionSets();
      const seen = await store.transact((tx) => {
        for (const op of ops) {
          if (op.del) tx.del('u', op.key); else tx.put('u', op.key, op.value);
        }
        return opts.map((o) => rows(tx.range<number>('u', o)));
      });
      for (const op of ops) {
        const id = JSON.stringify(op.key);
        if (op.del) model.delete(id); else model.set(id, { key: op.key, value: op.value });
      }
      opts.forEach((o, i) => {
        const after = rows(store.range<number>('u', o));
        assert.equal(seen[i], after, `round ${round}: the overlay's range ${JSON.stringify(o)} is the committed range`);
        assert.equal(after, modelRange(o), `round ${round}: the range ${JSON.stringify(o)} matches the model`);
      });
    }
  }));

  test(name('the overlay range of one directory among hundreds of pending writes (and after more writes) is the committed range'), () => withStore(async (store) => {
    const random = prng(16);
    const dirs = 30;
    const key = (): [number, string] => [1 + Math.floor(random() * dirs), `n${Math.floor(random() * 40)}`];
    const model = new Map<string, { key: Key; value: unknown }>();
    const modelRange = (m: Map<string, { key: Key; value: unknown }>, o: RangeOptions): Array<[Key, unknown]> => {
      const all = [...m.values()]
        .filter((e) => (o.start === undefined || compareKeys(e.key, o.start) >= 0) && (o.end === undefined || compareKeys(e.key, o.end) < 0))
        .sort((a, b) => compareKeys(a.key, b.key) * (o.reverse ? -1 : 1));
      return all.slice(0, o.limit ?? all.length).map((e) => [e.key, e.value]);
    };
    const rangeOf = (): RangeOptions => {
      const d = 1 + Math.floor(random() * dirs);
      const o: RangeOptions = random() < 0.2
        ? { start: [d, `n${Math.floor(random() * 40)}`], end: [Math.min(dirs + 1, d + 1 + Math.floor(random() * 2)), 'n2'] }
        : { start: [d, random() < 0.5 ? '' : `n${Math.floor(random() * 40)}\u0000`], end: [d + 1] };
      if (random() < 0.4) o.limit = 1 + Math.floor(random() * 5);
      if (random() < 0.3) o.reverse = true;
      return o;
    };
    let v = 0;
    for (let round = 0; round < 8; round++) {
      // Batches of writes (200-400 each, enough for the overlay to index them), a few ranges after each.
      const steps = Array.from({ length: 3 }, () => ({
        ops: Array.from({ length: 200 + Math.floor(random() * 200) }, () => ({ key: key() as Key, del: random() < 0.3, value: ++v })),
        ranges: Array.from({ length: 6 }, rangeOf),
      }));
      // A round with a key of another shape: the overlay merges over all the table's writes.
      if (round === 5) steps[1]!.ops.push({ key: 'scalar', del: false, value: ++v });
      const seen = await store.transact((tx) => {
        const out: Array<Array<[Key, unknown]>> = [];
        for (const s of steps) {
          for (const op of s.ops) if (op.del) tx.del('u', op.key); else tx.put('u', op.key, op.value);
          for (const o of s.ranges) out.push(rows(tx.range('u', o)));
        }
        return out;
      });
      // The model: the same writes, the same ranges after each batch.
      const want: Array<Array<[Key, unknown]>> = [];
      for (const s of steps) {
        for (const op of s.ops) {
          const id = JSON.stringify(op.key);
          if (op.del) model.delete(id); else model.set(id, { key: op.key, value: op.value });
        }
        for (const o of s.ranges) want.push(modelRange(model, o));
      }
      assert.equal(seen, want, `round ${round}: ranges inside the transaction`);
      for (const o of steps[2]!.ranges) assert.equal(rows(store.range('u', o)), modelRange(model, o), `round ${round}: committed ${JSON.stringify(o)}`);
      if (round === 5) { await store.transact((tx) => tx.del('u', 'scalar')); model.delete(JSON.stringify('scalar')); }
    }
  }));

  test(name('a callback that throws, an undefined value or an over-long key aborts with nothing written'), () => withStore(async (store) => {
    await store.transact((tx) => tx.put('t', 'kept', 1));
    const boom = new Error('boom');
    try {
      await store.transact((tx) => { tx.put('t', 'x', 1); tx.del('t', 'kept'); tx.put('u', 'y', 2); throw boom; });
      assert.unreachable();
    } catch (err) {
      assert.is(err, boom, 'the callback error is what rejects');
    }
    assert.is(store.get('t', 'x'), undefined);
    assert.is(store.get('u', 'y'), undefined);
    assert.is(store.get('t', 'kept'), 1, 'the delete before the throw did not happen');
    try {
      await store.transact((tx) => { tx.put('t', 'x', 1); tx.put('t', 'z', undefined); });
      assert.unreachable();
    } catch (err) {
      assert.instance(err, TypeError);
    }
    assert.is(store.get('t', 'x'), undefined);
    assert.is(store.count('t'), 1);
  }));

  test(name('concurrent read-modify-write transactions are isolated: no update is lost, the committed run is returned'), () => withStore(async (store) => {
    await store.transact((tx) => tx.put('t', 'n', 0));
    // Deterministic callbacks (what the contract asks of every caller): safe to re-run.
    const results = await Promise.all(Array.from({ length: 100 }, () => store.transact((tx) => {
      const n = tx.get<number>('t', 'n')!;
      tx.put('t', 'n', n + 1);
      return n + 1;
    })));
    assert.is(store.get('t', 'n'), 100);
    assert.equal([...results].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1), 'each run saw the previous commit');
  }));

  test(name('transactions issued together share commit groups; each stays atomic, a throwing one is dropped alone'), () => withStore(async (store) => {
    const before = store.commitStats();
    const boom = new Error('boom');
    // 16 transactions in one turn (as 16 concurrent creates issue them), the 6th throws after
    // buffering writes, every one reads what the earlier members of its group wrote.
    const calls = Array.from({ length: 16 }, (_, i) => store.transact((tx) => {
      const prev = tx.get<number>('t', 'count') ?? 0;
      tx.put('t', `member-${String(i).padStart(2, '0')}`, i);
      if (i === 5) throw boom;
      tx.put('t', 'count', prev + 1);
      return prev + 1;
    }));
    const settled = await Promise.allSettled(calls);
    const failed = settled.filter((r) => r.status === 'rejected');
    assert.is(failed.length, 1);
    assert.is((failed[0] as PromiseRejectedResult).reason, boom);
    const values = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    assert.equal(values, Array.from({ length: 15 }, (_, i) => i + 1), 'members run in issue order, each after the writes of the ones before');
    assert.is(store.get('t', 'count'), 15);
    assert.is(store.get('t', 'member-05'), undefined, 'the throwing member wrote nothing');
    for (const i of [0, 4, 6, 15]) assert.is(store.get('t', `member-${String(i).padStart(2, '0')}`), i);
    const after = store.commitStats();
    const groups = after.groups - before.groups;
    const txns = after.transactions - before.transactions;
    assert.is(txns, 15, 'the throwing member is not counted');
    assert.ok(groups >= 1 && groups <= txns, `${groups} groups for ${txns} transactions`);
    if (engine.groups) assert.ok(groups < txns, `concurrent transactions shared commits (${groups} groups for ${txns})`);
  }));

  test(name('a commit is visible to a second opening and to another thread when the engine is shared'), () => withStore(async (store, uri) => {
    await store.transact((tx) => tx.put('t', 'seen', 'first'));
    const second = openMetaStore<T>(store.uri, { tables: TABLES });
    try {
      if (!store.shared) {
        assert.is(second.get('t', 'seen'), undefined, 'an unshared engine opens a new, empty store');
        return;
      }
      assert.is(second.get('t', 'seen'), 'first');
      await second.transact((tx) => tx.put('t', 'back', 2));
      assert.is(store.get('t', 'back'), 2, 'and the reverse');
    } finally {
      await second.close();
    }
    assert.is(uri, store.uri);
    // Another thread opens the store by URI (as Strata's workers do).
    const worker = new Worker(`
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { register } = await import('tsx/esm/api');
        register();
        const { openMetaStore } = await import(workerData.module);
        const store = openMetaStore(workerData.uri, { tables: ['t', 'u'] });
        parentPort.on('message', async (m) => {
          // A read in a turn of its own, as the promise says (messages that arrive together are one turn).
          if (m === 'read') setImmediate(() => parentPort.postMessage(store.get('t', 'seen')));
          else if (m === 'write') { await store.transact((tx) => tx.put('t', 'fromWorker', 3)); parentPort.postMessage('written'); }
          else if (m && m.hold) {
            // Read, then wait (blocking this turn) until the main thread has committed, then
            // refresh and read again in the same turn: the case of a task message that arrives
            // while the snapshot of an earlier turn is still current.
            const flag = new Int32Array(m.hold);
            const before = store.get('t', 'seen');
            parentPort.postMessage({ before });
            Atomics.wait(flag, 0, 0, 60000);
            store.refresh?.();
            parentPort.postMessage({ after: store.get('t', 'seen') });
          }
          else { await store.close(); parentPort.postMessage('closed'); }
        });
        parentPort.postMessage('ready');
      })().catch((e) => parentPort.postMessage({ error: String(e) }));
    `, { eval: true, workerData: { uri: store.uri, module: new URL('../src/meta/engines/index.ts', import.meta.url).href } });
    const replies: unknown[] = [];
    const waiters: Array<(v: unknown) => void> = [];
    worker.on('message', (m) => { const w = waiters.shift(); if (w) w(m); else replies.push(m); });
    const next = (): Promise<unknown> => {
      const r = replies.shift();
      if (r !== undefined) return Promise.resolve(r);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('the worker did not answer within 60 s')), 60_000);
        waiters.push((v) => { clearTimeout(t); resolve(v); });
      });
    };
    try {
      assert.is(await next(), 'ready');
      worker.postMessage('read');
      assert.is(await next(), 'first');
      await store.transact((tx) => tx.put('t', 'seen', 'second'));
      worker.postMessage('read');
      assert.is(await next(), 'second', 'a commit is visible to another thread once transact resolved');
      worker.postMessage('write');
      assert.is(await next(), 'written');
      assert.is(store.get('t', 'fromWorker'), 3, 'and a commit of the other thread here');
      const flag = new Int32Array(new SharedArrayBuffer(4));
      worker.postMessage({ hold: flag.buffer });
      assert.equal(await next(), { before: 'second' });
      await store.transact((tx) => tx.put('t', 'seen', 'third'));
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      assert.equal(await next(), { after: 'third' }, 'refresh makes a commit that resolved before it visible within the same turn');
      worker.postMessage('close');
      assert.is(await next(), 'closed');
    } finally {
      await worker.terminate();
    }
  }));
}

for (const e of ENGINES) contract(e);

test.run();
