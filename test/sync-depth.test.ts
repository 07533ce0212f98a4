// Sync depth: getStatus syncs the path itself, a listing one level (grandchildren are not
// loaded), a recursive sync the subtree; a synced listing covers its children's statuses and
// a recursive sync covers the whole subtree (the sync-time cache walks up the ancestors).
// loadMetadata -R reports {created, updated, deleted, unchanged, failed}. A long recursive
// sync does not hold up listings of an unrelated mount.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileUri, list, names, openEnv, tempDir, ufsCounter } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;
const LONG = 3_600_000;

function tree(root: string, spec: Record<string, string | null>): void {
  for (const [p, content] of Object.entries(spec)) {
    const abs = join(root, p);
    if (content === null) mkdirSync(abs, { recursive: true });
    else {
      mkdirSync(join(abs, '..'), { recursive: true });
      writeFileSync(abs, content);
    }
  }
}

test.before(async () => {
  env = await openEnv({ 'sync.parallelism': '4', 'sync.prefetch.parallelism': '4' });
  tree(env.ufsDir, {
    'top/a/a1/deep.txt': 'deep', 'top/a/a.txt': 'a', 'top/b/b.txt': 'b', 'top/t.txt': 't',
  });
});
test.after(() => env.dispose());

test('a non-recursive synced listing does not load grandchildren', async () => {
  assert.equal(await names(env.fs, '/top', { syncIntervalMs: 0 }), ['a', 'b', 't.txt']);
  const before = (await env.fs.getReport()).namespace.inodes;
  // the children exist; nothing below them was loaded
  const c = await ufsCounter(env.fs);
  assert.is(await env.fs.exists('/top/a/a.txt', { loadType: 'NEVER' }), false);
  assert.is(await c.total(), 0);
  assert.is((await env.fs.getReport()).namespace.inodes, before);
});

test('a synced listing covers the children: getStatus of a child right after costs nothing', async () => {
  const I = 60_000;
  await names(env.fs, '/top', { syncIntervalMs: 0 });
  const c = await ufsCounter(env.fs);
  await env.fs.getStatus('/top/t.txt', { syncIntervalMs: I });
  await env.fs.getStatus('/top/a', { syncIntervalMs: I });
  assert.is(await c.total(), 0, JSON.stringify(await c.delta()));
});

test('getStatus with interval 0 syncs the path itself (one status call, no listing)', async () => {
  const c = await ufsCounter(env.fs);
  await env.fs.getStatus('/top/t.txt', { syncIntervalMs: 0 });
  const d = await c.delta();
  assert.is(d.getStatus, 1);
  assert.is(d.list ?? 0, 0);
});

test('loadMetadata -R loads the subtree and reports what it did', async () => {
  const s1 = await env.fs.loadMetadata('/top', { recursive: true });
  // a, b, t.txt were known; a.txt, a1, b.txt, deep.txt are new
  assert.is(s1.created, 4, JSON.stringify(s1));
  assert.is(s1.failed, 0);
  assert.is(s1.deleted, 0);
  assert.is((await list(env.fs, '/top', { recursive: true, loadType: 'NEVER' })).length, 7);
  // one of each change in the UFS
  writeFileSync(join(env.ufsDir, 'top/b/new.txt'), 'new');
  rmSync(join(env.ufsDir, 'top/a/a.txt'));
  chmodSync(join(env.ufsDir, 'top/t.txt'), 0o600);
  const s2 = await env.fs.loadMetadata('/top', { recursive: true });
  assert.is(s2.created, 1, JSON.stringify(s2));
  assert.is(s2.deleted, 1, JSON.stringify(s2));
  assert.ok(s2.updated >= 1, JSON.stringify(s2));
  assert.is(s2.failed, 0);
  assert.equal(await names(env.fs, '/top/b', { loadType: 'NEVER' }), ['b.txt', 'new.txt']);
  assert.equal(await names(env.fs, '/top/a', { loadType: 'NEVER' }), ['a1']);
  // unchanged tree: nothing but unchanged
  const s3 = await env.fs.loadMetadata('/top', { recursive: true });
  assert.equal({ ...s3, unchanged: 0 }, { created: 0, updated: 0, deleted: 0, unchanged: 0, failed: 0 });
  assert.ok(s3.unchanged >= 6);
});

test('a recursive sync covers the subtree: deep accesses within the interval cost nothing', async () => {
  await env.fs.loadMetadata('/top', { recursive: true });
  const c = await ufsCounter(env.fs);
  const I = 60_000;
  await env.fs.getStatus('/top/a/a1/deep.txt', { syncIntervalMs: I });
  await names(env.fs, '/top/a/a1', { syncIntervalMs: I });
  await names(env.fs, '/top/b', { syncIntervalMs: I });
  await list(env.fs, '/top', { recursive: true, syncIntervalMs: I });
  assert.is(await c.total(), 0, JSON.stringify(await c.delta()));
});

test('listStatus -R with interval 0 picks up changes deep in the tree', async () => {
  writeFileSync(join(env.ufsDir, 'top/a/a1/deeper.txt'), 'x');
  const all = await list(env.fs, '/top', { recursive: true, syncIntervalMs: 0 });
  assert.ok(all.some((f) => f.path === '/top/a/a1/deeper.txt'));
});

test('a recursive sync of a big tree does not hold up listings of an unrelated mount', async () => {
  const big = await tempDir('strata-ufs-big-');
  const other = await tempDir('strata-ufs-other-');
  env.track(big);
  env.track(other);
  for (let d = 0; d < 40; d++) {
    for (let f = 0; f < 50; f++) tree(big, { [`d${d}/sub/f${f}`]: 'x' });
  }
  writeFileSync(join(other, 'hello'), 'hi');
  await env.fs.mount('/big', fileUri(big));
  await env.fs.mount('/other', fileUri(other));
  let syncDone = false;
  const sync = env.fs.loadMetadata('/big', { recursive: true }).then((s) => { syncDone = true; return s; });
  // Listings of the other mount complete while the sync is still running.
  let completedDuringSync = 0;
  for (let i = 0; i < 20 && !syncDone; i++) {
    assert.equal(await names(env.fs, '/other', { syncIntervalMs: 0 }), ['hello']);
    if (!syncDone) completedDuringSync++;
  }
  const s = await sync;
  assert.ok(completedDuringSync > 0, 'an unrelated listing completed while the sync was running');
  assert.is(s.failed, 0);
  assert.is(s.created, 40 * 2 + 40 * 50);
  assert.is((await list(env.fs, '/big', { recursive: true, loadType: 'NEVER' })).length, 40 * 52);
});

test('concurrent recursive syncs of the same path are joined', async () => {
  const joinedBefore = (await env.fs.getReport()).sync.joined ?? 0;
  await env.fs.needsSync('/big');
  const [a, b] = await Promise.all([
    env.fs.loadMetadata('/big', { recursive: true }),
    env.fs.loadMetadata('/big', { recursive: true }),
  ]);
  assert.equal(a, b);
  assert.ok(((await env.fs.getReport()).sync.joined ?? 0) > joinedBefore);
});

test('a directory loaded later below a recursively synced tree is listed in full on first access', async () => {
  const u = (rel: string) => join(env.ufsDir, rel);
  mkdirSync(u('rs/base'), { recursive: true });
  writeFileSync(u('rs/base/f'), 'f');
  await env.fs.loadMetadata('/rs', { recursive: true });
  // Outside, after that sync: a new directory with two entries.
  mkdirSync(u('rs/late/deep'), { recursive: true });
  writeFileSync(u('rs/late/deep/file'), 'x');
  writeFileSync(u('rs/late/other'), 'o');
  // One path loaded on its own (its parents are created on the way, never listed)...
  assert.is((await env.fs.getStatus('/rs/late/deep/file', { loadType: 'ALWAYS' })).length, 1);
  // ...so the recursive sync of /rs does not vouch for /rs/late's listing: it is listed in full.
  assert.equal(await names(env.fs, '/rs/late'), ['deep', 'other']);
  // Directories that sync did list stay covered: no UFS call for them.
  const c = await ufsCounter(env.fs);
  assert.equal(await names(env.fs, '/rs/base'), ['f']);
  assert.is(await c.total(), 0);
});

test.run();
