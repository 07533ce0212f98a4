// Intent recovery on an object store (the real radosgw): S3 has no rename, so Strata copies
// then deletes, and a kill -9 can cut that anywhere. Each case builds the state the kill
// leaves (intent recorded, the objects as far as the copy/delete got, the commit missing),
// one restart resolves them all, and Strata, the bucket and checkConsistency must agree.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IntentJournal } from '../src/meta/intents.js';
import type { Intent } from '../src/meta/intents.js';
import { codeOf, names, openEnv, readText } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';
import { openUfsKind } from './helpers/ufs-kinds.js';
import type { UfsKind } from './helpers/ufs-kinds.js';

let env: Env;
let s3: UfsKind;
test.before(async () => {
  env = await openEnv();
  s3 = await openUfsKind('s3');
  await env.fs.mount('/s3', s3.mountUri, { options: s3.mountOptions() });
});
test.after(async () => {
  await env.dispose();
  await s3.dispose();
});

async function leaveIntent(intent: Intent): Promise<void> {
  const j = new IntentJournal(env.fs.store);
  await env.fs.store.transact((tx) => IntentJournal.put(tx, j.id(), intent));
}
const idOf = (p: string): number => env.fs.tree.resolve(p).inode!.id;
async function copyObject(from: string, to: string): Promise<void> {
  const bytes = await s3.readFile(from);
  assert.ok(bytes, `${from} exists in the bucket`);
  await s3.putFile(to, bytes!);
}

test('the states a kill -9 leaves in an S3 copy+delete rename, a delete and a write; one restart resolves them', async () => {
  const w = { writeType: 'THROUGH' as const };
  // file rename, copy and delete both done, the commit lost: roll forward.
  await env.fs.writeFile('/s3/a', Buffer.from('A'), w);
  await leaveIntent({ op: 'rename', src: '/s3/a', dst: '/s3/b', inodeId: idOf('/s3/a'), ufs: 'rename' });
  await copyObject('a', 'b');
  await s3.deleteFile('a');
  // file rename cut after the copy: complete it (the source goes).
  await env.fs.writeFile('/s3/c', Buffer.from('CCC'), w);
  await leaveIntent({ op: 'rename', src: '/s3/c', dst: '/s3/d', inodeId: idOf('/s3/c'), ufs: 'rename' });
  await copyObject('c', 'd');
  // directory rename cut half way through its copies: undo the copies, nothing moved.
  await env.fs.createDirectory('/s3/dir', w);
  for (const f of ['f1', 'f2', 'f3']) await env.fs.writeFile(`/s3/dir/${f}`, Buffer.from(`content of ${f}`), w);
  await leaveIntent({ op: 'rename', src: '/s3/dir', dst: '/s3/moved', inodeId: idOf('/s3/dir'), ufs: 'rename' });
  await copyObject('dir/f1', 'moved/f1');
  await copyObject('dir/f2', 'moved/f2');
  // directory rename cut after every copy, before the deletes: complete it.
  await env.fs.createDirectory('/s3/full', w);
  for (const f of ['g1', 'g2']) await env.fs.writeFile(`/s3/full/${f}`, Buffer.from(`full ${f}`), w);
  await leaveIntent({ op: 'rename', src: '/s3/full', dst: '/s3/done', inodeId: idOf('/s3/full'), ufs: 'rename' });
  for (const f of ['g1', 'g2']) await copyObject(`full/${f}`, `done/${f}`);
  // rename never started in the bucket: nothing moved.
  await env.fs.writeFile('/s3/e', Buffer.from('E'), w);
  await leaveIntent({ op: 'rename', src: '/s3/e', dst: '/s3/f', inodeId: idOf('/s3/e'), ufs: 'rename' });
  // delete: the object went, the commit lost.
  await env.fs.writeFile('/s3/gone', Buffer.from('G'), w);
  await leaveIntent({ op: 'delete', path: '/s3/gone', inodeId: idOf('/s3/gone') });
  await s3.deleteFile('gone');
  // write: the object landed, the commit lost.
  await leaveIntent({ op: 'write', path: '/s3/new', fileId: 999_990 });
  await s3.putFile('new', 'landed');

  await env.restart();
  const r = await env.fs.getReport();
  assert.is(r.intents?.recovered, 7, JSON.stringify(r.intents));
  assert.is(r.intents?.open, 0, 'no intent left open');
  assert.equal((await env.fs.checkConsistency('/s3', { recursive: true })).inconsistent, [], 'checkConsistency is clean');
});

test('rolled forward: the namespace follows the bucket, readable after free', async () => {
  assert.is(await codeOf(env.fs.getStatus('/s3/a')), 'NOT_FOUND');
  await env.fs.free('/s3/b');
  assert.is(await readText(env.fs, '/s3/b'), 'A');
  assert.not.ok(await s3.exists('a'));
});

test('cut after the copy: completed, the source object gone', async () => {
  assert.is(await codeOf(env.fs.getStatus('/s3/c', { syncIntervalMs: 0 })), 'NOT_FOUND');
  assert.not.ok(await s3.exists('c'));
  assert.is(await readText(env.fs, '/s3/d'), 'CCC');
});

test('directory cut half way: the copies undone, every file still at its old name', async () => {
  assert.is(await codeOf(env.fs.getStatus('/s3/moved', { syncIntervalMs: 0 })), 'NOT_FOUND');
  assert.not.ok(await s3.exists('moved'), 'no copy left under the destination');
  assert.equal(await names(env.fs, '/s3/dir', { syncIntervalMs: 0 }), ['f1', 'f2', 'f3']);
  for (const f of ['f1', 'f2', 'f3']) assert.is(await readText(env.fs, `/s3/dir/${f}`), `content of ${f}`);
});

test('directory cut after every copy: completed, the old prefix gone', async () => {
  assert.is(await codeOf(env.fs.getStatus('/s3/full', { syncIntervalMs: 0 })), 'NOT_FOUND');
  assert.equal(await s3.list('full').catch(() => []), []);
  assert.equal(await names(env.fs, '/s3/done', { syncIntervalMs: 0 }), ['g1', 'g2']);
  for (const f of ['g1', 'g2']) assert.is(await readText(env.fs, `/s3/done/${f}`), `full ${f}`);
});

test('never started: nothing moved; delete completed; write rolled forward', async () => {
  assert.is(await readText(env.fs, '/s3/e'), 'E');
  assert.is(await codeOf(env.fs.getStatus('/s3/f')), 'NOT_FOUND');
  assert.is(await codeOf(env.fs.getStatus('/s3/gone', { syncIntervalMs: 0 })), 'NOT_FOUND');
  assert.is(await readText(env.fs, '/s3/new'), 'landed');
  assert.equal((await env.fs.checkConsistency('/s3', { recursive: true })).inconsistent, []);
});

test('a rename through Strata (a copy: new Last-Modified, same bytes) leaves the fingerprint matching', async () => {
  await env.fs.writeFile('/s3/r1', Buffer.from('renamed'), { writeType: 'THROUGH' });
  await env.fs.createDirectory('/s3/rd', { writeType: 'THROUGH' });
  await env.fs.writeFile('/s3/rd/x', Buffer.from('in a directory'), { writeType: 'THROUGH' });
  await new Promise((r) => setTimeout(r, 1100)); // S3 times are whole seconds
  await env.fs.rename('/s3/r1', '/s3/r2');
  await env.fs.rename('/s3/rd', '/s3/rd2');
  assert.equal((await env.fs.checkConsistency('/s3', { recursive: true })).inconsistent, []);
  const before = (await env.fs.getStatus('/s3/r2')).cachedBytes;
  await env.fs.loadMetadata('/s3', { recursive: true });
  assert.is((await env.fs.getStatus('/s3/r2')).cachedBytes, before, 'a re-sync keeps the cached bytes of a renamed file');
  assert.is(await readText(env.fs, '/s3/rd2/x'), 'in a directory');
});

test.run();
