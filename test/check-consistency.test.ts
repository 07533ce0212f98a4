// checkConsistency: paths whose Strata metadata differs from the UFS (missing there, another
// type or fingerprint), one level or the subtree, never across a nested mount or for
// unpersisted files; --repair syncs each of them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileUri, names, openEnv, readText, tempDir } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;
let outside: string;

test.before(async () => {
  env = await openEnv();
  outside = await tempDir('strata-cc-');
  env.track(outside);
});
test.after(() => env.dispose());

test('finds changed, deleted and replaced entries, one level or recursively, and repairs them', async () => {
  const u = (rel: string) => join(env.ufsDir, rel);
  mkdirSync(u('d/sub'), { recursive: true });
  writeFileSync(u('d/a.txt'), 'a');
  writeFileSync(u('d/b.txt'), 'b');
  writeFileSync(u('d/sub/c.txt'), 'c');
  writeFileSync(u('d/sub/keep.txt'), 'k');
  await env.fs.loadMetadata('/d', { recursive: true });
  await env.fs.writeFile('/d/cache-only', Buffer.from('m'), { writeType: 'MUST_CACHE' });
  // A nested mount inside /d: its entries belong to another UFS and are not checked here.
  mkdirSync(join(outside, 'n'));
  writeFileSync(join(outside, 'n', 'x'), 'x');
  await env.fs.mount('/d/mnt', fileUri(outside));
  await env.fs.loadMetadata('/d/mnt', { recursive: true });
  rmSync(join(outside, 'n', 'x'));

  // Outside changes: a content change, a delete, a deep delete.
  writeFileSync(u('d/a.txt'), 'a, longer now');
  rmSync(u('d/b.txt'));
  rmSync(u('d/sub/c.txt'));

  const one = await env.fs.checkConsistency('/d');
  assert.equal([...one.inconsistent].sort(), ['/d/a.txt', '/d/b.txt']);
  assert.is(one.repaired, 0);
  const all = await env.fs.checkConsistency('/d', { recursive: true });
  assert.equal([...all.inconsistent].sort(), ['/d/a.txt', '/d/b.txt', '/d/sub/c.txt']);

  const fixed = await env.fs.checkConsistency('/d', { recursive: true, repair: true });
  assert.is(fixed.repaired, 3);
  assert.equal((await env.fs.checkConsistency('/d', { recursive: true })).inconsistent, []);
  assert.equal(await names(env.fs, '/d', { syncIntervalMs: -1 }), ['a.txt', 'cache-only', 'mnt', 'sub']);
  assert.equal(await names(env.fs, '/d/sub', { syncIntervalMs: -1 }), ['keep.txt']);
  assert.is(await readText(env.fs, '/d/a.txt'), 'a, longer now');
  assert.is(await readText(env.fs, '/d/cache-only'), 'm', 'an unpersisted file is never reported or removed');
  // The nested mount is checked on its own.
  assert.equal((await env.fs.checkConsistency('/d/mnt', { recursive: true })).inconsistent, ['/d/mnt/n/x']);
});

test('reports entries that exist only in the UFS (in loaded directories), with changed and deleted ones, and repairs them', async () => {
  const u = (rel: string) => join(env.ufsDir, rel);
  mkdirSync(u('e/sub'), { recursive: true });
  writeFileSync(u('e/kept'), 'k');
  writeFileSync(u('e/gone'), 'g');
  writeFileSync(u('e/sub/x'), 'x');
  await env.fs.loadMetadata('/e', { recursive: true });
  assert.equal((await env.fs.checkConsistency('/e', { recursive: true })).inconsistent, [], 'clean after a load');
  writeFileSync(u('e/new-outside'), 'n');
  writeFileSync(u('e/sub/deep-new'), 'd');
  mkdirSync(u('e/newdir'));
  rmSync(u('e/gone'));
  writeFileSync(u('e/kept'), 'kept, but changed');
  const one = await env.fs.checkConsistency('/e');
  assert.equal([...one.ufsOnly!].sort(), ['/e/new-outside', '/e/newdir']);
  assert.equal(one.deleted, ['/e/gone']);
  assert.equal(one.changed, ['/e/kept']);
  assert.equal([...one.inconsistent].sort(), ['/e/gone', '/e/kept', '/e/new-outside', '/e/newdir']);
  const all = await env.fs.checkConsistency('/e', { recursive: true });
  assert.equal([...all.ufsOnly!].sort(), ['/e/new-outside', '/e/newdir', '/e/sub/deep-new']);
  const fixed = await env.fs.checkConsistency('/e', { recursive: true, repair: true });
  assert.is(fixed.repaired, 5);
  assert.equal((await env.fs.checkConsistency('/e', { recursive: true })).inconsistent, []);
  assert.equal(await names(env.fs, '/e', { syncIntervalMs: -1 }), ['kept', 'new-outside', 'newdir', 'sub']);
});

test.run();
