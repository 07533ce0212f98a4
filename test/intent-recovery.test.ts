// Operations cut short between their UFS change and their metadata commit are resolved at
// start-up from the intent journal: each test builds the exact state a kill -9 leaves (the
// intent recorded, the UFS changed, the commit missing), restarts, and checks that Strata
// and the UFS agree, that checkConsistency is clean and that the report counts the intent.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IntentJournal } from '../src/meta/intents.js';
import type { Intent } from '../src/meta/intents.js';
import { codeOf, fileUri, names, openEnv, readText } from './helpers/fixture.js';
import { LocalUfs } from '../src/ufs/local/local-ufs.js';
import type { Env } from './helpers/fixture.js';

let env: Env;
test.before(async () => { env = await openEnv(); });
test.after(async () => { await env.dispose(); });

async function leaveIntent(intent: Intent): Promise<void> {
  const j = new IntentJournal(env.fs.store);
  await env.fs.store.transact((tx) => IntentJournal.put(tx, j.id(), intent));
}

async function clean(): Promise<void> {
  assert.equal((await env.fs.checkConsistency('/', { recursive: true })).inconsistent, [], 'checkConsistency is clean');
}

// One restart resolves every state below (restarts are the slow part of this file).
test('the states a kill -9 leaves between UFS change and commit; one restart resolves every intent', async () => {
  // rename: the UFS was renamed, the commit lost.
  await env.fs.writeFile('/a', Buffer.from('A'), { writeType: 'THROUGH' });
  await leaveIntent({ op: 'rename', src: '/a', dst: '/b', inodeId: env.fs.tree.resolve('/a').inode!.id, ufs: 'rename' });
  renameSync(join(env.ufsDir, 'a'), join(env.ufsDir, 'b'));
  // rename: the intent recorded, the UFS untouched.
  await env.fs.writeFile('/c', Buffer.from('C'), { writeType: 'THROUGH' });
  await leaveIntent({ op: 'rename', src: '/c', dst: '/d', inodeId: env.fs.tree.resolve('/c').inode!.id, ufs: 'rename' });
  // rename of a local file cut between its link and unlink: both names in the UFS.
  await env.fs.writeFile('/l1', Buffer.from('L'), { writeType: 'CACHE_THROUGH' });
  await leaveIntent({ op: 'rename', src: '/l1', dst: '/l2', inodeId: env.fs.tree.resolve('/l1').inode!.id, ufs: 'rename' });
  linkSync(join(env.ufsDir, 'l1'), join(env.ufsDir, 'l2'));
  // delete: the UFS entry went, the commit lost.
  await env.fs.createDirectory('/dd', { writeType: 'THROUGH' });
  await env.fs.writeFile('/dd/x', Buffer.from('X'), { writeType: 'CACHE_THROUGH' });
  await leaveIntent({ op: 'delete', path: '/dd', inodeId: env.fs.tree.resolve('/dd').inode!.id });
  rmSync(join(env.ufsDir, 'dd'), { recursive: true });
  // write: the UFS file landed (over an old one, and new), the commit lost.
  await env.fs.writeFile('/w', Buffer.from('old'), { writeType: 'THROUGH' });
  await leaveIntent({ op: 'write', path: '/w', fileId: 999_999 });
  writeFileSync(join(env.ufsDir, 'w'), 'new content');
  await leaveIntent({ op: 'write', path: '/w2', fileId: 999_998 });
  writeFileSync(join(env.ufsDir, 'w2'), 'brand new');
  // write over a pending ASYNC_THROUGH file whose old UFS copy is still there (kept until its
  // persist), killed before its UFS write landed: the old copy is not this write's.
  await env.fs.writeFile('/wo', Buffer.from('old ufs copy'), { writeType: 'THROUGH' });
  await env.fs.setPathConf('/wo', { 'persist.initial.wait': '1h' });
  await env.fs.writeFile('/wo', Buffer.from('pending v2'), { writeType: 'ASYNC_THROUGH', overwrite: true });
  const stale = await new LocalUfs(fileUri(env.ufsDir)).getStatus('wo');
  await leaveIntent({ op: 'write', path: '/wo', fileId: 999_997, before: stale!.contentHash });
  // mkdir: the UFS directories exist, the inodes were lost.
  await leaveIntent({ op: 'mkdir', path: '/m1/m2' });
  mkdirSync(join(env.ufsDir, 'm1/m2'), { recursive: true });
  // unlink: a MUST_CACHE overwrite committed, its old UFS copy not yet removed.
  await env.fs.writeFile('/u', Buffer.from('persisted'), { writeType: 'THROUGH' });
  await env.fs.writeFile('/u', Buffer.from('cached'), { writeType: 'MUST_CACHE', overwrite: true });
  writeFileSync(join(env.ufsDir, 'u'), 'persisted');
  await leaveIntent({ op: 'unlink', path: '/u', fileId: env.fs.tree.resolve('/u').inode!.fileId });
  // persist command of an unpersisted file: uploaded, the commit lost.
  await env.fs.writeFile('/p', Buffer.from('cache'), { writeType: 'MUST_CACHE' });
  const pi = env.fs.tree.resolve('/p').inode!;
  await leaveIntent({ op: 'persist', path: '/p', inodeId: pi.id, fileId: pi.fileId });
  writeFileSync(join(env.ufsDir, 'p'), 'cache');

  // write committed while its UFS placement was made durable (the intent marked committed):
  // the placement durable; the rename lost (no file, or the old file in the UFS); and an
  // intent left by an earlier write of a path written again since.
  const committedWrite = async (path: string): Promise<void> => {
    await leaveIntent({ op: 'write', path, fileId: env.fs.tree.resolve(path).inode!.fileId, committed: true });
  };
  await env.fs.writeFile('/cw1', Buffer.from('placed'), { writeType: 'CACHE_THROUGH' });
  await committedWrite('/cw1');
  await env.fs.writeFile('/cw2', Buffer.from('rename lost'), { writeType: 'CACHE_THROUGH' });
  await committedWrite('/cw2');
  rmSync(join(env.ufsDir, 'cw2'));
  await env.fs.writeFile('/cw3', Buffer.from('old'), { writeType: 'THROUGH' });
  await env.fs.writeFile('/cw3', Buffer.from('new, rename lost'), { writeType: 'CACHE_THROUGH', overwrite: true });
  await committedWrite('/cw3');
  writeFileSync(join(env.ufsDir, 'cw3'), 'the old file');
  await env.fs.writeFile('/cw4', Buffer.from('v1'), { writeType: 'CACHE_THROUGH' });
  await committedWrite('/cw4');
  await env.fs.writeFile('/cw4', Buffer.from('v2'), { writeType: 'CACHE_THROUGH', overwrite: true });

  await env.restart();
  const r = await env.fs.getReport();
  assert.is(r.intents?.recovered, 14, JSON.stringify(r.intents));
  assert.is(r.intents?.open, 0, 'no intent left open');
  await clean();
});

test('rename rolled forward: the namespace follows the UFS, readable after free', async () => {
  assert.is(await codeOf(env.fs.getStatus('/a')), 'NOT_FOUND');
  assert.is((await env.fs.getStatus('/b')).persistenceState, 'PERSISTED');
  await env.fs.free('/b');
  assert.is(await readText(env.fs, '/b'), 'A');
});

test('rename cut between link and unlink: completed', async () => {
  assert.is(await codeOf(env.fs.getStatus('/l1', { syncIntervalMs: 0 })), 'NOT_FOUND');
  assert.not.ok(existsSync(join(env.ufsDir, 'l1')));
  assert.is(await readText(env.fs, '/l2'), 'L');
});

test('rename never started in the UFS: nothing moved', async () => {
  assert.is(await readText(env.fs, '/c'), 'C');
  assert.is(await codeOf(env.fs.getStatus('/d')), 'NOT_FOUND');
});

test('delete completed', async () => {
  assert.is(await codeOf(env.fs.getStatus('/dd')), 'NOT_FOUND');
  assert.not.ok((await names(env.fs, '/', { syncIntervalMs: 0 })).includes('dd'));
});

test('write rolled forward: Strata serves the UFS file', async () => {
  assert.is(await readText(env.fs, '/w'), 'new content');
  assert.is(await readText(env.fs, '/w2'), 'brand new');
});

test('write over an old UFS copy that never landed: the pending file stands, not the old copy', async () => {
  assert.is(await readText(env.fs, '/wo'), 'pending v2');
});

test('committed writes: kept when the UFS holds them, else the namespace takes what the UFS holds', async () => {
  assert.is(await readText(env.fs, '/cw1'), 'placed');
  assert.is(await codeOf(env.fs.getStatus('/cw2', { loadType: 'NEVER' })), 'NOT_FOUND');
  assert.is(await readText(env.fs, '/cw3'), 'the old file');
  assert.is(await readText(env.fs, '/cw4'), 'v2', 'a later write of the path is untouched');
});

test('mkdir rolled forward', async () => {
  assert.is((await env.fs.getStatus('/m1/m2', { loadType: 'NEVER' })).type, 'directory');
});

test('the old UFS copy under an unpersisted file removed', async () => {
  assert.not.ok(existsSync(join(env.ufsDir, 'u')));
  assert.is(await readText(env.fs, '/u'), 'cached');
});

test('an interrupted persist command leaves no UFS copy of an unpersisted file', async () => {
  assert.not.ok(existsSync(join(env.ufsDir, 'p')));
  assert.is((await env.fs.getStatus('/p')).persistenceState, 'NOT_PERSISTED');
  await clean();
});

test.run();
