// The flat tree sync of an object store (sync/applier.ts, syncTreeFlat): one recursive
// listing, pages of 4 keys, so that one page holds entries of several directories and one
// directory's entries span several pages (each page one transaction, each directory's inode
// read once per page). A cold sync loads every object into its directory, a re-sync of the
// unchanged prefix changes nothing, and objects added and removed across page boundaries
// are applied.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { names, openEnv } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';
import { openUfsKind } from './helpers/ufs-kinds.js';
import type { UfsKind } from './helpers/ufs-kinds.js';

let env: Env;
let s3: UfsKind;
test.before(async () => {
  env = await openEnv({ 'sync.list.page.size': '4' });
  s3 = await openUfsKind('s3');
  await env.fs.mount('/s3', s3.mountUri, { options: s3.mountOptions() });
});
test.after(async () => {
  await env.dispose();
  await s3.dispose();
});

const KEYS = ['a/1', 'a/2', 'a/b/1', 'a/b/2', 'a/b/3', 'a/c', 'd/1', 'd/2', 'd/3', 'd/4', 'd/5', 'd/e/f/1', 'g', 'h/1'];

test('pages that cross directories: cold sync, unchanged re-sync, changes across page boundaries', async () => {
  for (const k of KEYS) await s3.putFile(`flat/${k}`, Buffer.from(`body of ${k}`));
  const cold = await env.fs.loadMetadata('/s3/flat', { recursive: true });
  // 14 objects and the directories a, a/b, d, d/e, d/e/f, h (and /s3/flat itself).
  assert.is(cold.created, 14 + 6 + 1);
  assert.is(cold.failed, 0);
  assert.equal(await names(env.fs, '/s3/flat', { loadType: 'NEVER' }), ['a', 'd', 'g', 'h']);
  assert.equal(await names(env.fs, '/s3/flat/a', { loadType: 'NEVER' }), ['1', '2', 'b', 'c']);
  assert.equal(await names(env.fs, '/s3/flat/a/b', { loadType: 'NEVER' }), ['1', '2', '3']);
  assert.equal(await names(env.fs, '/s3/flat/d', { loadType: 'NEVER' }), ['1', '2', '3', '4', '5', 'e']);
  assert.equal(await names(env.fs, '/s3/flat/d/e/f', { loadType: 'NEVER' }), ['1']);
  assert.is((await env.fs.getStatus('/s3/flat/a/b/3', { loadType: 'NEVER' })).length, 'body of a/b/3'.length);
  await env.fs.needsSync('/s3/flat');
  const re = await env.fs.loadMetadata('/s3/flat', { recursive: true });
  assert.equal({ created: re.created, updated: re.updated, deleted: re.deleted }, { created: 0, updated: 0, deleted: 0 });
  // Removed: one at the end of a page's directory, a whole nested directory; added: in a
  // directory whose entries span pages; changed: new content.
  await s3.deleteFile('flat/a/b/3');
  await s3.deleteFile('flat/d/e/f/1');
  await s3.putFile('flat/d/33', Buffer.from('new'));
  await s3.putFile('flat/a/2', Buffer.from('longer content than before'));
  await env.fs.needsSync('/s3/flat');
  const changed = await env.fs.loadMetadata('/s3/flat', { recursive: true });
  assert.is(changed.failed, 0);
  assert.is(changed.created, 1);
  assert.ok(changed.deleted >= 2, `deleted ${changed.deleted}`);
  assert.equal(await names(env.fs, '/s3/flat/a/b', { loadType: 'NEVER' }), ['1', '2']);
  assert.equal(await names(env.fs, '/s3/flat/d', { loadType: 'NEVER' }), ['1', '2', '3', '33', '4', '5']);
  assert.is((await env.fs.getStatus('/s3/flat/a/2', { loadType: 'NEVER' })).length, 'longer content than before'.length);
});

test.run();
