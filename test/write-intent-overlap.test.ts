// A THROUGH / CACHE_THROUGH write commits its intent while the UFS file is written and synced
// (the two overlap), but the UFS file appears only once the intent is durable: with the
// intent's commit held back, the write's bytes may sit in a temp file, yet no file is at the
// path in the UFS; released, the write completes. An intent commit that fails fails the
// write with nothing placed and nothing left in the namespace or the journal.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MetaTxn } from '../src/meta/meta-store.js';
import { codeOf, openEnv } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;
const intentCount = (): number => env.fs.store.count('intent');
test.before(async () => { env = await openEnv(); });
test.after(async () => { await env.dispose(); });

/** Hold (or fail) the next transaction that writes an intent record, until released. */
function holdNextIntentCommit(fail?: Error): { held: Promise<void>; release(): void; restore(): void } {
  const store = env.fs.store;
  const transact = store.transact.bind(store);
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let heldNow!: () => void;
  const held = new Promise<void>((r) => { heldNow = r; });
  let armed = true;
  store.transact = (<R>(fn: (tx: MetaTxn) => R): Promise<R> => {
    let isIntent = false;
    const spy = (tx: MetaTxn): R => fn(new Proxy(tx, {
      get(t, k) {
        const v = (t as unknown as Record<PropertyKey, unknown>)[k];
        if (k === 'put') return (table: string, ...rest: unknown[]) => { if (table === 'intent') isIntent = true; return (v as (...a: unknown[]) => unknown).call(t, table, ...rest); };
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    }));
    if (!armed) return transact(fn);
    // Run the callback to see what it writes; an intent commit is answered only after the gate.
    return transact(spy).then(async (r) => {
      if (!isIntent || !armed) return r;
      armed = false;
      heldNow();
      await gate;
      if (fail) throw fail;
      return r;
    });
  }) as typeof store.transact;
  return { held, release, restore: () => { store.transact = transact as typeof store.transact; } };
}

for (const writeType of ['CACHE_THROUGH', 'THROUGH'] as const) {
  test(`${writeType}: the UFS file appears only after the intent commit is durable`, async () => {
    await env.fs.writeFile(`/warm-${writeType}`, Buffer.from('w'), { writeType }); // ids, directories
    const h = holdNextIntentCommit();
    try {
      const writing = env.fs.writeFile(`/f-${writeType}`, Buffer.from('payload'), { writeType });
      await h.held;
      // The UFS work ran meanwhile (up to the placement) but nothing is at the path.
      for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5));
      assert.not.ok(existsSync(join(env.ufsDir, `f-${writeType}`)), 'no UFS file before the intent is durable');
      h.release();
      const info = await writing;
      assert.is(info.length, 7);
      assert.is(readFileSync(join(env.ufsDir, `f-${writeType}`), 'utf8'), 'payload');
      // The intent ends once the placement is durable, issued before the write returns (a
      // commit issued after it is answered after it).
      await env.fs.store.transact(() => undefined);
      assert.is(intentCount(), 0, 'the intent ended');
    } finally {
      h.restore();
    }
  });
}

test('an intent commit that fails: the write fails, nothing in the UFS, the namespace or the journal', async () => {
  const h = holdNextIntentCommit(Object.assign(new Error('disk gone'), { code: 'EIO' }));
  try {
    const writing = env.fs.writeFile('/failing', Buffer.from('never'), { writeType: 'CACHE_THROUGH' });
    writing.catch(() => undefined);
    await h.held;
    h.release();
    assert.is.not(await codeOf(writing), 'RESOLVED', 'the write fails');
  } finally {
    h.restore();
  }
  assert.not.ok(existsSync(join(env.ufsDir, 'failing')));
  assert.equal(readdirSync(env.ufsDir).filter((n) => n.startsWith('.strata-tmp-')), [], 'no temp file left');
  assert.is(env.fs.tree.resolve('/failing').inode, undefined);
  assert.is(intentCount(), 0, 'the write settled its intent (rolled back: no UFS file)');
});

test.run();
