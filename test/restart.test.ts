// Restart: close the Coordinator and reopen it on the same data dir. The namespace, files of
// every write type (MUST_CACHE content too), mounts, pathConf and inode fileIds all survive.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileUri, list, openEnv, readAll, tempDir, ufsCounter, waitFor } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';
import type { FileInfo } from '../src/types.js';

let env: Env;
let mountDir: string;
const data = (tag: string) => Buffer.from(`${tag}:`.repeat(5000));
const WRITE_TYPES = ['MUST_CACHE', 'THROUGH', 'CACHE_THROUGH', 'ASYNC_THROUGH'] as const;

test.before(async () => {
  env = await openEnv({ 'persist.initial.wait': '100ms' });
  mountDir = await tempDir('strata-ufs-m-');
  env.track(mountDir);
  writeFileSync(join(mountDir, 'mounted.txt'), 'on the mount');
});
test.after(() => env.dispose());

test('everything survives a restart', async () => {
  await env.fs.createDirectory('/ns/deep/er', { recursive: true });
  await env.fs.createDirectory('/ns/cacheonly', { writeType: 'MUST_CACHE' });
  for (const wt of WRITE_TYPES) await env.fs.writeFile(`/ns/${wt}`, data(wt), { writeType: wt });
  await env.fs.writeFile('/ns/cacheonly/f', data('mc-in-mc-dir'), { writeType: 'MUST_CACHE' });
  await env.fs.mount('/m', fileUri(mountDir), { readOnly: true, options: { 'metadata.sync.interval': '10min' } });
  await env.fs.setPathConf('/ns/deep', { 'metadata.sync.interval': '5min', 'metadata.load.type': 'ALWAYS' });
  await env.fs.setPinned('/ns/CACHE_THROUGH', true);
  await waitFor(async () => (await env.fs.getStatus('/ns/ASYNC_THROUGH')).persistenceState === 'PERSISTED', 'async persist');
  assert.is((await readAll(env.fs.readFile('/m/mounted.txt'))).toString(), 'on the mount');

  const before = await list(env.fs, '/', { recursive: true, syncIntervalMs: -1 });
  const mounts = await env.fs.getMountTable();
  const conf = await env.fs.listPathConf();
  await env.restart();

  const after = await list(env.fs, '/', { recursive: true, syncIntervalMs: -1 });
  const key = (f: FileInfo) => [f.path, f.type, f.fileId, f.length, f.persistenceState, f.pinned, f.cachedBytes];
  assert.equal(after.map(key), before.map(key));
  assert.equal(await env.fs.getMountTable(), mounts);
  assert.equal(await env.fs.listPathConf(), conf);

  for (const wt of WRITE_TYPES) {
    assert.ok((await readAll(env.fs.readFile(`/ns/${wt}`))).equals(data(wt)), wt);
  }
  assert.ok((await readAll(env.fs.readFile('/ns/cacheonly/f'))).equals(data('mc-in-mc-dir')));
  assert.is((await env.fs.getStatus('/ns/MUST_CACHE')).persistenceState, 'NOT_PERSISTED');
  assert.is((await env.fs.getStatus('/ns/CACHE_THROUGH')).pinned, true);
  assert.is((await readAll(env.fs.readFile('/m/mounted.txt'))).toString(), 'on the mount');
});

test('ids stay unique after restart: new inodes never reuse old ids', async () => {
  const old = await list(env.fs, '/', { recursive: true, syncIntervalMs: -1 });
  const fresh = await env.fs.writeFile('/ns/after-restart', Buffer.from('x'));
  assert.not.ok(old.some((f) => f.fileId === fresh.fileId));
});

test('a hot read after restart makes zero UFS calls', async () => {
  await env.fs.getStatus('/ns/CACHE_THROUGH');
  const c = await ufsCounter(env.fs);
  await readAll(env.fs.readFile('/ns/CACHE_THROUGH'));
  await readAll(env.fs.readFile('/ns/ASYNC_THROUGH'));
  assert.equal(await c.delta(), {});
});

test('a pending ASYNC_THROUGH file survives a restart and is persisted after it', async () => {
  // A long initial wait keeps the job pending across the restart.
  await env.fs.setPathConf('/slow', { 'persist.initial.wait': '1h' });
  await env.fs.createDirectory('/slow');
  await env.fs.writeFile('/slow/f', data('slow'), { writeType: 'ASYNC_THROUGH' });
  assert.is((await env.fs.getReport()).persist.pending, 1);
  await env.fs.removePathConf('/slow');
  await env.restart();
  assert.ok((await readAll(env.fs.readFile('/slow/f'))).equals(data('slow')));
  await waitFor(async () => (await env.fs.getStatus('/slow/f')).persistenceState === 'PERSISTED', 'persist after restart');
});

test.run();
