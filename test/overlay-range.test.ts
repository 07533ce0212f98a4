// The overlay's range over one leading id (src/meta/engines/overlay.ts): a range of one
// directory's edges in a transaction that wrote many directories merges only that
// directory's pending writes (compared keys grow with the directory, not the transaction),
// and gives the same rows as a merge of every write — also after more writes to the same
// transaction, across a span of ids, and in a table whose keys are not all [id, …] arrays.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TxnOverlay } from '../src/meta/engines/overlay.js';
import { MemoryStore, compareKeys } from '../src/meta/engines/memory/memory-store.js';
import type { Key, RangeOptions } from '../src/meta/meta-store.js';
import { childRange } from '../src/meta/inode.js';

const rows = (it: Iterable<{ key: Key; value: unknown }>): Array<[Key, unknown]> => [...it].map((e) => [e.key, e.value]);

/** An overlay over a memory store's committed rows, counting the key comparisons it makes. */
async function setup(): Promise<{ tx: TxnOverlay<'e'>; compares: () => number; store: MemoryStore<'e'> }> {
  const store = new MemoryStore<'e'>('memory:', { tables: ['e'] });
  // Committed rows: 5 children in each of directories 1..100.
  await store.transact((tx) => { for (let d = 1; d <= 100; d++) for (let i = 0; i < 5; i++) tx.put('e', [d, `old${i}`], d * 1000 + i); });
  let n = 0;
  const tx = new TxnOverlay<'e'>({ base: store, compare: (a, b) => { n++; return compareKeys(a, b); } });
  return { tx, compares: () => n, store };
}

/** What a range must give: the committed rows with every pending write applied. */
function expected(store: MemoryStore<'e'>, writes: Map<string, { key: Key; value: unknown }>, o: RangeOptions): Array<[Key, unknown]> {
  const all = new Map<string, [Key, unknown]>();
  for (const e of store.range('e', {})) all.set(JSON.stringify(e.key), [e.key, e.value]);
  for (const [id, w] of writes) if (w.value === undefined) all.delete(id); else all.set(id, [w.key, w.value]);
  const inRange = [...all.values()]
    .filter(([k]) => (o.start === undefined || compareKeys(k, o.start) >= 0) && (o.end === undefined || compareKeys(k, o.end) < 0))
    .sort((a, b) => compareKeys(a[0], b[0]) * (o.reverse ? -1 : 1));
  return inRange.slice(0, o.limit ?? inRange.length);
}

test('a range of one directory in a transaction that wrote 100 directories compares only that directory\'s writes', async () => {
  const { tx, compares, store } = await setup();
  const writes = new Map<string, { key: Key; value: unknown }>();
  const put = (key: [number, string], value: unknown): void => {
    if (value === undefined) tx.del('e', key); else tx.put('e', key, value);
    writes.set(JSON.stringify(key), { key, value });
  };
  for (let d = 1; d <= 100; d++) {
    for (let i = 0; i < 50; i++) put([d, `new${String(i).padStart(2, '0')}`], d * 100 + i);
    put([d, 'old1'], undefined);
  }
  // 5,100 pending writes; one directory holds 51 of them.
  const before = compares();
  const got = rows(tx.range('e', childRange(42)));
  const used = compares() - before;
  assert.equal(got, expected(store, writes, childRange(42)));
  assert.is(got.length, 54);
  assert.ok(used < 1000, `${used} key comparisons for a range of 51 pending writes among 5,100 (a merge of all compares each)`);
  // After more writes (the index kept up to date), with limit, after, reverse, and across ids.
  put([42, 'zz'], 1);
  put([42, 'new07'], undefined);
  put([43, 'a'], 2);
  for (const o of [childRange(42), childRange(42, 'new10'), { ...childRange(42), limit: 3 }, { ...childRange(42), reverse: true, limit: 4 },
    { start: [41, 'new49'], end: [43, 'b'] }, { start: [42], end: [42, 'old'] }] as RangeOptions[]) {
    assert.equal(rows(tx.range('e', o)), expected(store, writes, o), JSON.stringify(o));
  }
  // A range the index does not serve (no upper bound) is still merged correctly.
  assert.equal(rows(tx.range('e', { start: [99, 'new48'] })), expected(store, writes, { start: [99, 'new48'] }));
});

test('a table with a key that is not an [id, …] array is merged over all its writes, correctly', async () => {
  const { tx, store } = await setup();
  const writes = new Map<string, { key: Key; value: unknown }>();
  for (let d = 1; d <= 100; d++) { tx.put('e', [d, 'x'], d); writes.set(JSON.stringify([d, 'x']), { key: [d, 'x'], value: d }); }
  assert.equal(rows(tx.range('e', childRange(7))), expected(store, writes, childRange(7)));
  // Keys between [7, …] and [8]: a fractional head and a one-element array sort there.
  tx.put('e', [7.5, 'y'], 'frac');
  writes.set(JSON.stringify([7.5, 'y']), { key: [7.5, 'y'], value: 'frac' });
  tx.put('e', 'scalar', 's');
  writes.set(JSON.stringify('scalar'), { key: 'scalar', value: 's' });
  for (const o of [childRange(7), { start: [7, ''], end: [8, ''] }, { start: [7], end: [9] }] as RangeOptions[]) {
    assert.equal(rows(tx.range('e', o)), expected(store, writes, o), JSON.stringify(o));
  }
  assert.ok(rows(tx.range('e', { start: [7], end: [8] })).some(([k]) => JSON.stringify(k) === '[7.5,"y"]'), 'the fractional head is in [7] … [8]');
});

test.run();
