// The absent-path cache: a path known missing in the UFS is answered without a UFS call
// under ONCE; cleared when Strata creates the path, on needsSync and on remount; disabled
// per path with absent.cache.enabled=false. Counted through getReport().ufsCalls.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeOf, fileUri, openEnv, readText, tempDir, ufsCounter } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';
import { AbsentPathCache } from '../src/meta/absent-cache.js';
import { lmdbUri, openStrataStore } from '../src/meta/tables.js';

let env: Env;

test.before(async () => {
  env = await openEnv();
});
test.after(() => env.dispose());

test('probing a missing deep path twice costs one UFS call under ONCE', async () => {
  const c1 = await ufsCounter(env.fs);
  assert.is(await codeOf(env.fs.getStatus('/no/such/deep/path', { loadType: 'ONCE' })), 'NOT_FOUND');
  const first = await c1.total();
  assert.is(first, 1, JSON.stringify(await c1.delta()));
  const c2 = await ufsCounter(env.fs);
  assert.is(await codeOf(env.fs.getStatus('/no/such/deep/path', { loadType: 'ONCE' })), 'NOT_FOUND');
  assert.is(await env.fs.exists('/no/such/deep/path'), false);
  // a path below a known-absent one is absent too
  assert.is(await env.fs.exists('/no/such/deep/path/below'), false);
  assert.is(await c2.total(), 0, JSON.stringify(await c2.delta()));
  assert.ok(((await env.fs.getReport()).sync.absentHits ?? 0) >= 1);
});

test('a directory created later in the UFS stays hidden under ONCE until ALWAYS', async () => {
  mkdirSync(join(env.ufsDir, 'no/such/deep/path'), { recursive: true });
  assert.is(await env.fs.exists('/no/such/deep/path', { loadType: 'ONCE' }), false);
  assert.is(await env.fs.exists('/no/such/deep/path', { loadType: 'ALWAYS' }), true);
  assert.is(await env.fs.exists('/no/such/deep/path', { loadType: 'ONCE' }), true);
});

test('needsSync clears it', async () => {
  assert.is(await env.fs.exists('/later/x'), false);
  mkdirSync(join(env.ufsDir, 'later'));
  writeFileSync(join(env.ufsDir, 'later', 'x'), 'x');
  assert.is(await env.fs.exists('/later/x'), false);
  await env.fs.needsSync('/later/x');
  assert.is(await env.fs.exists('/later/x'), true);
});

test('creating the path through Strata clears it', async () => {
  assert.is(await env.fs.exists('/made/here'), false);
  await env.fs.writeFile('/made/here', Buffer.from('made'), { recursive: true });
  assert.is(await readText(env.fs, '/made/here'), 'made');
  assert.is(await env.fs.exists('/made'), true);
});

test('a deleted path through Strata is absent without a UFS call, and can be created again', async () => {
  await env.fs.writeFile('/made/tmp', Buffer.from('t'));
  await env.fs.delete('/made/tmp');
  const c = await ufsCounter(env.fs);
  assert.is(await env.fs.exists('/made/tmp'), false);
  assert.is(await c.total(), 0);
  await env.fs.writeFile('/made/tmp', Buffer.from('again'));
  assert.is(await readText(env.fs, '/made/tmp'), 'again');
});

test('remount clears it', async () => {
  const d = await tempDir('strata-ufs-rm-');
  env.track(d);
  await env.fs.mount('/rm', fileUri(d));
  assert.is(await env.fs.exists('/rm/sub/file'), false);
  mkdirSync(join(d, 'sub'));
  writeFileSync(join(d, 'sub', 'file'), 'f');
  assert.is(await env.fs.exists('/rm/sub/file'), false);
  await env.fs.unmount('/rm');
  await env.fs.mount('/rm', fileUri(d));
  assert.is(await env.fs.exists('/rm/sub/file'), true);
});

test('absent.cache.enabled=false per path: every probe asks the UFS', async () => {
  await env.fs.createDirectory('/ext');
  await env.fs.setPathConf('/ext', { 'absent.cache.enabled': 'false', 'metadata.sync.interval': '0' });
  assert.is(await env.fs.exists('/ext/a/b'), false);
  const c = await ufsCounter(env.fs);
  assert.is(await env.fs.exists('/ext/a/b'), false);
  assert.ok(await c.total() >= 1);
  mkdirSync(join(env.ufsDir, 'ext/a/b'), { recursive: true });
  assert.is(await env.fs.exists('/ext/a/b'), true);
  await env.fs.removePathConf('/ext');
});

test('the absent cache survives restart', async () => {
  assert.is(await env.fs.exists('/ghost/path'), false);
  await env.restart();
  const c = await ufsCounter(env.fs);
  assert.is(await env.fs.exists('/ghost/path'), false);
  assert.is(await c.total(), 0);
});

test('expired delete tombstones are swept in bounded steps; recent ones and plain absent entries stay', async () => {
  const dir = await tempDir('strata-absent-');
  env.track(dir);
  const store = openStrataStore(lmdbUri(dir));
  const cache = new AbsentPathCache(store);
  const old = Date.now() - 3_600_000;
  await store.transact((tx) => {
    for (let i = 0; i < 25; i++) AbsentPathCache.tombstone(tx, `/old/f${String(i).padStart(2, '0')}`, old);
    for (let i = 0; i < 5; i++) AbsentPathCache.tombstone(tx, `/new/f${i}`);
  });
  await cache.add('/plain/missing', old);
  let removed = 0;
  for (let round = 0; round < 20; round++) removed += await cache.sweepTombstones(Date.now() - 600_000, 4);
  assert.is(removed, 25);
  assert.is(store.count('absent'), 6);
  assert.ok(cache.check('/new/f0', -1) !== undefined);
  assert.ok(cache.check('/plain/missing', -1) !== undefined);
  await store.close();
});

test.run();
