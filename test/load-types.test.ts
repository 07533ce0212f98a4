// Load types for paths not yet in the namespace (NEVER, ONCE, ALWAYS) and their interplay
// with the sync interval: outside files stay hidden under -1 + NEVER, appear under interval
// 0, and can then be deleted and renamed through Strata.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeOf, names, openEnv, readText, ufsCounter } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;

test.before(async () => {
  env = await openEnv();
});
test.after(() => env.dispose());

test('interval -1 + NEVER: a file added directly to the UFS stays invisible', async () => {
  await env.fs.createDirectory('/d');
  assert.equal(await names(env.fs, '/d'), []);
  writeFileSync(join(env.ufsDir, 'd', 'outside.txt'), 'from outside');
  const opts = { syncIntervalMs: -1, loadType: 'NEVER' as const };
  const c = await ufsCounter(env.fs);
  assert.is(await codeOf(env.fs.getStatus('/d/outside.txt', opts)), 'NOT_FOUND');
  assert.is(await env.fs.exists('/d/outside.txt', opts), false);
  assert.equal(await names(env.fs, '/d', opts), []);
  assert.is(await codeOf(readText(env.fs, '/d/outside.txt', opts)), 'NOT_FOUND');
  assert.is(await c.total(), 0, 'no UFS call under -1 + NEVER');
});

test('interval 0: the outside file appears; delete and rename through Strata work', async () => {
  const opts = { syncIntervalMs: 0 };
  assert.equal(await names(env.fs, '/d', opts), ['outside.txt']);
  assert.is(await readText(env.fs, '/d/outside.txt', opts), 'from outside');
  await env.fs.rename('/d/outside.txt', '/d/renamed.txt', opts);
  assert.ok(existsSync(join(env.ufsDir, 'd', 'renamed.txt')));
  assert.not.ok(existsSync(join(env.ufsDir, 'd', 'outside.txt')));
  assert.equal(await names(env.fs, '/d', opts), ['renamed.txt']);
  await env.fs.delete('/d/renamed.txt', opts);
  assert.not.ok(existsSync(join(env.ufsDir, 'd', 'renamed.txt')));
  assert.equal(await names(env.fs, '/d', opts), []);
  // an outside file deleted/renamed through Strata without a prior listing (interval 0 loads it)
  writeFileSync(join(env.ufsDir, 'd', 'o2.txt'), 'second');
  await env.fs.delete('/d/o2.txt', opts);
  assert.not.ok(existsSync(join(env.ufsDir, 'd', 'o2.txt')));
});

test('ONCE loads an unknown path on first access, once', async () => {
  mkdirSync(join(env.ufsDir, 'once', 'sub'), { recursive: true });
  writeFileSync(join(env.ufsDir, 'once', 'sub', 'f.txt'), 'loaded once');
  assert.is(await readText(env.fs, '/once/sub/f.txt', { loadType: 'ONCE' }), 'loaded once');
  const st = await env.fs.getStatus('/once/sub/f.txt');
  assert.is(st.persistenceState, 'PERSISTED');
  // Known now: a second access costs nothing.
  const c = await ufsCounter(env.fs);
  await env.fs.getStatus('/once/sub/f.txt', { loadType: 'ONCE' });
  await env.fs.getStatus('/once/sub', { loadType: 'ONCE' });
  assert.is(await c.total(), 0);
});

test('ONCE remembers a path found absent: created later, it stays unseen until ALWAYS or needsSync', async () => {
  await env.fs.createDirectory('/later');
  assert.is(await codeOf(env.fs.getStatus('/later/newdir', { loadType: 'ONCE' })), 'NOT_FOUND');
  mkdirSync(join(env.ufsDir, 'later', 'newdir'));
  assert.is(await codeOf(env.fs.getStatus('/later/newdir', { loadType: 'ONCE' })), 'NOT_FOUND');
  assert.is((await env.fs.getStatus('/later/newdir', { loadType: 'ALWAYS' })).type, 'directory');
  // and with needsSync
  assert.is(await codeOf(env.fs.getStatus('/later/newdir2', { loadType: 'ONCE' })), 'NOT_FOUND');
  mkdirSync(join(env.ufsDir, 'later', 'newdir2'));
  assert.is(await codeOf(env.fs.getStatus('/later/newdir2', { loadType: 'ONCE' })), 'NOT_FOUND');
  await env.fs.needsSync('/later/newdir2');
  assert.is((await env.fs.getStatus('/later/newdir2', { loadType: 'ONCE' })).type, 'directory');
});

test('ONCE looks a direct path up once even after its directory was listed (Alluxio); absent.from.listing=true keeps the listing authoritative', async () => {
  await env.fs.createDirectory('/listed');
  assert.equal(await names(env.fs, '/listed'), []);
  writeFileSync(join(env.ufsDir, 'listed', 'new-file'), 'made outside');
  // cat DIR/new-file works without any sync; ls DIR keeps the loaded listing...
  assert.is(await readText(env.fs, '/listed/new-file', { loadType: 'ONCE' }), 'made outside');
  // ...and a path looked up and found absent is asked once, then remembered absent.
  const c = await ufsCounter(env.fs);
  assert.is(await codeOf(env.fs.getStatus('/listed/nothing', { loadType: 'ONCE' })), 'NOT_FOUND');
  assert.is(await codeOf(env.fs.getStatus('/listed/nothing', { loadType: 'ONCE' })), 'NOT_FOUND');
  assert.is((await c.delta()).getStatus, 1, 'one UFS lookup, then the absent-path cache answers');
  // The cheaper behaviour as an explicit option.
  await env.fs.createDirectory('/listed2');
  await env.fs.setPathConf('/listed2', { 'absent.from.listing': 'true' });
  assert.equal(await names(env.fs, '/listed2'), []);
  writeFileSync(join(env.ufsDir, 'listed2', 'new-file'), 'made outside');
  const c2 = await ufsCounter(env.fs);
  assert.is(await codeOf(env.fs.getStatus('/listed2/new-file', { loadType: 'ONCE' })), 'NOT_FOUND');
  assert.is(await c2.total(), 0, 'the loaded listing answered, no UFS call');
});

test('NEVER as a per-path default (pathConf metadata.load.type)', async () => {
  mkdirSync(join(env.ufsDir, 'never'));
  writeFileSync(join(env.ufsDir, 'never', 'x'), 'x');
  await env.fs.setPathConf('/never', { 'metadata.load.type': 'NEVER' });
  assert.is(await codeOf(env.fs.getStatus('/never/x')), 'NOT_FOUND');
  // a per-call load type wins over the path's
  assert.is((await env.fs.getStatus('/never/x', { loadType: 'ONCE' })).length, 1);
  await env.fs.removePathConf('/never');
});

test.run();
