// Active sync on a local mount (inotify through inotifywait), with metadata.sync.interval -1:
// an outside writer (plain fs calls, as a shell would make them) creates, fills a directory
// created at once, renames a directory, modifies and deletes; every change becomes visible
// through Strata within a bounded poll, and reads cost no UFS listing. Sync points survive
// restart (changes made while Strata was down are visible after recovery, counted), overlaps
// are refused, and a burst of 10,000 creates is applied in a few batches.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeOf, names, openEnv, readText, waitFor } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;

test.before(async () => {
  env = await openEnv({ 'metadata.sync.interval': '-1', 'active.sync.interval': '1h' });
});
test.after(() => env.dispose());

// Polls read only what Strata's namespace holds (load type NEVER): only active sync brings changes in.
const NEVER = { loadType: 'NEVER' as const };
const exists = (p: string) => env.fs.exists(p, NEVER).catch(() => false);
const ls = (p: string) => names(env.fs, p, NEVER).catch(() => [] as string[]);
const report = async () => (await env.fs.getReport()).activeSync;

async function activeSyncPoint(path: string): Promise<void> {
  await waitFor(async () => (await env.fs.getSyncPathList()).some((s) => s.path === path && s.state === 'active'), `${path} active`, 10_000);
}

test('outside creates, a directory created and filled at once, a renamed directory, modify and delete', async () => {
  await env.fs.createDirectory('/w');
  await env.fs.startSync('/w');
  await activeSyncPoint('/w');
  const ufs = join(env.ufsDir, 'w');

  writeFileSync(join(ufs, 'one.txt'), 'one');
  await waitFor(() => exists('/w/one.txt'), 'one.txt visible', 10_000);

  // mkdir -p a/b/c and files inside at once: the created directory is rescanned.
  mkdirSync(join(ufs, 'a', 'b', 'c'), { recursive: true });
  for (let i = 0; i < 5; i++) writeFileSync(join(ufs, 'a', 'b', 'c', `f${i}`), `f${i}`);
  writeFileSync(join(ufs, 'a', 'top'), 'top');
  await waitFor(async () => (await ls('/w/a/b/c')).length === 5 && await exists('/w/a/top'), 'a/b/c filled', 10_000);

  // rename a directory
  renameSync(join(ufs, 'a'), join(ufs, 'renamed'));
  await waitFor(async () => !(await exists('/w/a')) && await exists('/w/renamed/b/c/f4'), 'directory renamed', 10_000);
  assert.equal(await names(env.fs, '/w/renamed/b/c'), ['f0', 'f1', 'f2', 'f3', 'f4']);

  // modify: the new content is served
  appendFileSync(join(ufs, 'one.txt'), '+more');
  await waitFor(async () => (await env.fs.getStatus('/w/one.txt', NEVER).catch(() => ({ length: -1 }))).length === 8, 'modification', 10_000);
  assert.is(await readText(env.fs, '/w/one.txt'), 'one+more');

  // delete a file and a directory
  rmSync(join(ufs, 'one.txt'));
  rmSync(join(ufs, 'renamed', 'b'), { recursive: true });
  await waitFor(async () => !(await exists('/w/one.txt')) && !(await exists('/w/renamed/b')), 'deletes', 10_000);

  // Reads are served from the namespace: no UFS listing (nor status) calls.
  await new Promise((r) => setTimeout(r, 300)); // let the last batch settle
  const before = (await env.fs.getReport()).ufsCalls;
  for (let i = 0; i < 20; i++) {
    await names(env.fs, '/w');
    await names(env.fs, '/w/renamed');
    await env.fs.exists('/w/renamed/top');
  }
  const after = (await env.fs.getReport()).ufsCalls;
  assert.is(after.list ?? 0, before.list ?? 0, 'no listing on reads');
  assert.is(after.getStatus ?? 0, before.getStatus ?? 0, 'no status calls on reads');

  const sp = (await env.fs.getSyncPathList()).find((s) => s.path === '/w')!;
  assert.is(sp.state, 'active');
  assert.ok(sp.eventsApplied > 0, 'events applied');
  assert.ok(sp.lastEventMs !== undefined);
  const r = await report();
  assert.ok((r.eventsReceived ?? 0) > 0 && (r.eventsApplied ?? 0) > 0 && (r.batches ?? 0) > 0);
  assert.ok(r.lagP50Ms !== undefined, 'lag figures in the report');
});

test('a sync point again is ALREADY_EXISTS; a path under (or above) one is MOUNT_CONFLICT naming it', async () => {
  await env.fs.createDirectory('/w/sub', { recursive: true });
  assert.is(await codeOf(env.fs.startSync('/w')), 'ALREADY_EXISTS');
  const below = await env.fs.startSync('/w/sub').then(() => null, (e: { code: string; message: string }) => e);
  assert.is(below?.code, 'MOUNT_CONFLICT');
  assert.match(below!.message, /below the sync point \/w\b/);
  const above = await env.fs.startSync('/').then(() => null, (e: { code: string; message: string }) => e);
  assert.is(above?.code, 'MOUNT_CONFLICT');
  assert.match(above!.message, /sync point \/w is below it/);
  assert.is(await codeOf(env.fs.stopSync('/nothing')), 'NOT_FOUND');
});

test('a burst of 10,000 outside creates is applied in a few batches', async () => {
  const dir = join(env.ufsDir, 'w', 'burst');
  mkdirSync(dir);
  await waitFor(() => exists('/w/burst'), 'burst dir', 10_000);
  const b0 = (await report()).batches ?? 0;
  for (let i = 0; i < 10_000; i++) writeFileSync(join(dir, `f${i}`), '');
  await waitFor(async () => (await ls('/w/burst')).length === 10_000, '10,000 files visible', 60_000);
  const batches = ((await report()).batches ?? 0) - b0;
  process.stderr.write(`10k burst: ${batches} batches\n`);
  assert.ok(batches < 100, `10,000 creates in ${batches} batches`);
});

test('stopSync: the sync point goes away and outside changes are no longer followed', async () => {
  await env.fs.stopSync('/w');
  assert.equal((await env.fs.getSyncPathList()).map((s) => s.path), []);
  writeFileSync(join(env.ufsDir, 'w', 'after-stop'), 'x');
  await new Promise((r) => setTimeout(r, 500));
  assert.is(await exists('/w/after-stop'), false, 'interval -1 and no sync point: not followed');
});

test('sync points survive restart; changes made while Strata was down are visible after recovery', async () => {
  await env.fs.createDirectory('/r');
  await env.fs.startSync('/r');
  await activeSyncPoint('/r');
  writeFileSync(join(env.ufsDir, 'r', 'before'), 'b');
  await waitFor(() => exists('/r/before'), 'before restart', 10_000);

  await env.fs.close();
  writeFileSync(join(env.ufsDir, 'r', 'while-down'), 'd');
  rmSync(join(env.ufsDir, 'r', 'before'));
  mkdirSync(join(env.ufsDir, 'r', 'newdir', 'deep'), { recursive: true });
  writeFileSync(join(env.ufsDir, 'r', 'newdir', 'deep', 'x'), 'x');
  await env.restart();

  assert.equal((await env.fs.getSyncPathList()).map((s) => s.path), ['/r']);
  await waitFor(async () => await exists('/r/while-down') && !(await exists('/r/before')) && await exists('/r/newdir/deep/x'),
    'changes made while down', 10_000);
  const r = await report();
  assert.ok((r.recoveryResyncs ?? 0) >= 1, 'recovery resync counted');
  assert.ok((r.fullResyncs ?? 0) >= 1, 'full resync counted');
  // and it follows new changes after the restart
  await activeSyncPoint('/r');
  writeFileSync(join(env.ufsDir, 'r', 'after'), 'a');
  await waitFor(() => exists('/r/after'), 'after restart', 10_000);
});

test.run();
