// A persist against a failing UFS that later recovers: the UFS directory an ASYNC_THROUGH
// file belongs in is replaced by a plain FILE of the same name (a real error even as root),
// so every upload fails. The file must stay TO_BE_PERSISTED, pinned, cached and readable,
// with its attempts and last error in getStatus and the report; `persist PATH` retries at
// once and reports the error; a restart keeps the failing job; once the directory is back
// the queue persists it (persist.max.interval is small) and the failure marks are cleared.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeOf, openEnv, readAll, sleep, waitFor } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;
const body = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + 3) % 251));

test.before(async () => {
  env = await openEnv({ 'persist.initial.wait': '0ms', 'persist.max.interval': '200ms', 'cache.block.size': '64KB' });
});
test.after(() => env.dispose());

test('a failing persist is retried, visible, never silent, and completes once the UFS recovers', async () => {
  const fs = env.fs;
  await fs.createDirectory('/out');
  assert.ok(existsSync(join(env.ufsDir, 'out')));
  // Break the UFS: the directory becomes a file, so writing out/<name> fails (ENOTDIR).
  rmSync(join(env.ufsDir, 'out'), { recursive: true });
  writeFileSync(join(env.ufsDir, 'out'), 'not a directory');

  const small = body(1000, 3);
  const big = body(64 * 1024 * 3 + 17, 7);
  const a = await fs.writeFile('/out/a', small, { writeType: 'ASYNC_THROUGH' });
  const b = await fs.writeFile('/out/b', big, { writeType: 'ASYNC_THROUGH' });
  assert.is(a.persistenceState, 'TO_BE_PERSISTED');
  assert.is(b.persistenceState, 'TO_BE_PERSISTED');

  await waitFor(async () => ((await fs.getStatus('/out/a')).persistAttempts ?? 0) >= 2
    && ((await fs.getStatus('/out/b')).persistAttempts ?? 0) >= 2, 'retried persist attempts', 15_000);
  for (const [p, data] of [['/out/a', small], ['/out/b', big]] as const) {
    const st = await fs.getStatus(p);
    assert.is(st.persistenceState, 'TO_BE_PERSISTED', `${p} stays TO_BE_PERSISTED`);
    assert.is(st.pinned, true, `${p} stays pinned`);
    assert.is(st.cachedBytes, data.length, `${p} stays cached`);
    assert.type(st.lastPersistError, 'string');
    assert.ok(st.lastPersistError!.length > 0);
    assert.ok((await readAll(fs.readFile(p))).equals(data), `${p} stays readable`);
  }
  // Its cached data is the only copy: free refuses it.
  assert.is(await codeOf(fs.free('/out/a')), 'FAILED_PRECONDITION');

  let r = await fs.getReport();
  assert.is(r.persist.pending, 2);
  assert.ok(r.persist.failed > 0, `report counts failing persists: ${JSON.stringify(r.persist)}`);
  assert.ok(r.persist.failures > 0);
  assert.ok(r.persist.oldestPendingMs > 0);
  assert.type(r.persist.inFlight, 'number');
  assert.ok(r.cache.bytesByState.unevictable >= small.length + big.length, `unpersisted bytes are unevictable: ${JSON.stringify(r.cache.bytesByState)}`);

  // `persist PATH` retries now and reports the error.
  const before = (await fs.getStatus('/out/a')).persistAttempts!;
  let err: { code?: string; message?: string } | undefined;
  try { await fs.persist('/out/a'); } catch (e) { err = e as typeof err; }
  assert.ok(err, 'persist PATH rejects while the UFS fails');
  assert.type(err!.code, 'string');
  assert.ok(err!.code !== 'INTERNAL', `a meaningful error code: ${err!.code}`);
  assert.ok(((await fs.getStatus('/out/a')).persistAttempts ?? 0) > before, 'persist PATH counts as an attempt');
  assert.is((await fs.getStatus('/out/a')).persistenceState, 'TO_BE_PERSISTED');
  assert.not.ok(existsSync(join(env.ufsDir, 'out', 'a')));

  // A restart keeps the failing jobs and their marks.
  await env.restart();
  const st = await env.fs.getStatus('/out/b');
  assert.is(st.persistenceState, 'TO_BE_PERSISTED');
  assert.ok((st.persistAttempts ?? 0) > 0);
  assert.ok((await readAll(env.fs.readFile('/out/b'))).equals(big));
  r = await env.fs.getReport();
  assert.is(r.persist.pending, 2);

  // The UFS recovers: both files are persisted by the queue, marks cleared.
  rmSync(join(env.ufsDir, 'out'));
  mkdirSync(join(env.ufsDir, 'out'));
  await waitFor(async () => {
    const q = (await env.fs.getReport()).persist;
    return q.pending === 0 && q.inFlight === 0;
  }, 'the queue drains after recovery', 15_000);
  for (const [p, name, data] of [['/out/a', 'a', small], ['/out/b', 'b', big]] as const) {
    const s = await env.fs.getStatus(p);
    assert.is(s.persistenceState, 'PERSISTED', `${p} PERSISTED`);
    assert.is(s.pinned, false);
    assert.is(s.persistAttempts, undefined);
    assert.is(s.lastPersistError, undefined);
    assert.ok(readFileSync(join(env.ufsDir, 'out', name)).equals(data), `${p} is in the UFS byte-identical`);
  }
  r = await env.fs.getReport();
  assert.is(r.persist.failed, 0);
  assert.is(r.persist.inFlight, 0);
  assert.is(r.persist.oldestPendingMs, 0);
  assert.is(r.cache.bytesByState.unevictable, 0, `persisted bytes are evictable: ${JSON.stringify(r.cache.bytesByState)}`);
});

test('persist PATH succeeds at once when the UFS is back (no wait for the back-off)', async () => {
  const fs = env.fs;
  await fs.createDirectory('/later');
  rmSync(join(env.ufsDir, 'later'), { recursive: true });
  writeFileSync(join(env.ufsDir, 'later'), 'x');
  const data = body(5000, 11);
  await fs.writeFile('/later/f', data, { writeType: 'ASYNC_THROUGH' });
  await waitFor(async () => ((await fs.getStatus('/later/f')).persistAttempts ?? 0) >= 1, 'a failed attempt', 10_000);
  assert.ok(await codeOf(fs.persist('/later')) !== 'RESOLVED', 'persist of the directory reports the failure');
  rmSync(join(env.ufsDir, 'later'));
  mkdirSync(join(env.ufsDir, 'later'));
  const res = await fs.persist('/later/f');
  // Either this call or the background retry just before it persisted the file.
  assert.ok(res.files <= 1);
  const st = await fs.getStatus('/later/f');
  assert.is(st.persistenceState, 'PERSISTED');
  assert.ok(readFileSync(join(env.ufsDir, 'later', 'f')).equals(data));
  await sleep(300);
  assert.is((await fs.getReport()).persist.pending, 0);
});

test.run();
