// The per-directory listing digest of recursive syncs (meta/dir-digest.ts): a re-sync of an
// unchanged directory takes the fast path, and the fast path never hides a change — one in
// the UFS (content, a new entry deep below an unchanged directory, a removal), one through
// Strata (a create, a Strata-only delete, which the next full sync brings back as before),
// or a partial sync in between (a file's status synced alone, then the UFS restored to the
// listing the digest was recorded from). A re-sync of an unchanged tree scans no directory's
// edges (`sync.digestScans`): the digest's children version is compared instead, and every
// change of a directory's children through Strata changes that version (create, delete,
// rename within and across directories), so it is seen even when the UFS listing is put back
// to exactly the digested one.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InodeTree } from '../src/meta/inode-tree.js';
import { names, openEnv } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;

const syncMetric = async (name: string): Promise<number> => ((await env.fs.getReport()).sync as Record<string, number>)[name] ?? 0;
const digestHits = (): Promise<number> => syncMetric('digestHits');
const digestScans = (): Promise<number> => syncMetric('digestScans');

/** A tree of `dirs` directories with `files` files each, and one nested directory in the first. */
function makeTree(root: string, dirs = 3, files = 4): void {
  for (let d = 0; d < dirs; d++) {
    mkdirSync(join(root, `d${d}`), { recursive: true });
    for (let f = 0; f < files; f++) writeFileSync(join(root, `d${d}`, `f${f}.txt`), `content ${d}/${f}`);
  }
  mkdirSync(join(root, 'd0', 'sub'), { recursive: true });
  writeFileSync(join(root, 'd0', 'sub', 'deep.txt'), 'deep');
}

/** needsSync + loadMetadata -R (a forced re-sync, as `ls -R -f`). */
async function resync(path: string) {
  await env.fs.needsSync(path);
  return env.fs.loadMetadata(path, { recursive: true });
}

test.before(async () => {
  env = await openEnv({ 'sync.parallelism': '2', 'sync.prefetch.parallelism': '2' });
});
test.after(() => env.dispose());

test('an unchanged tree re-syncs through the digest: every entry unchanged, every directory a digest hit', async () => {
  makeTree(join(env.ufsDir, 'same'));
  const cold = await env.fs.loadMetadata('/same', { recursive: true });
  assert.is(cold.created, 18); // /same itself, d0-d2, their 12 files, d0/sub and its file
  const before = await digestHits();
  const scans = await digestScans();
  const re = await resync('/same');
  assert.equal({ ...re }, { created: 0, updated: 0, deleted: 0, unchanged: 17, failed: 0 });
  // /same, d0, d1, d2, d0/sub
  assert.is((await digestHits()) - before, 5);
  assert.is((await digestScans()) - scans, 0, 'no directory\'s edges are scanned');
});

test('every change of a directory\'s children through Strata is seen, though the UFS is put back to the digested listing', async () => {
  const root = join(env.ufsDir, 'versions');
  makeTree(root);
  await env.fs.loadMetadata('/versions', { recursive: true });
  await resync('/versions');
  // Through Strata (and its UFS), then undone in the UFS behind Strata's back: d0 gets a
  // directory, d1's f0 is renamed in place, d1's f1 moves to d2. Each of d0, d1 and d2 then
  // lists as it did when its digest was taken, but Strata's children differ.
  await env.fs.createDirectory('/versions/d0/made');
  rmSync(join(root, 'd0', 'made'), { recursive: true });
  await env.fs.rename('/versions/d1/f0.txt', '/versions/d1/g0.txt');
  renameSync(join(root, 'd1', 'g0.txt'), join(root, 'd1', 'f0.txt'));
  await env.fs.rename('/versions/d1/f1.txt', '/versions/d2/moved.txt');
  renameSync(join(root, 'd2', 'moved.txt'), join(root, 'd1', 'f1.txt'));
  const scans = await digestScans();
  await resync('/versions');
  assert.is((await digestScans()) - scans, 3, 'd0, d1 and d2 are scanned (their children changed), nothing else');
  assert.equal(await names(env.fs, '/versions/d0', { loadType: 'NEVER' }), ['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'sub']);
  assert.equal(await names(env.fs, '/versions/d1', { loadType: 'NEVER' }), ['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt']);
  assert.equal(await names(env.fs, '/versions/d2', { loadType: 'NEVER' }), ['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt']);
  // A Strata-only delete (no UFS change at all) too; then everything is a digest hit again.
  await env.fs.delete('/versions/d0/sub', { strataOnly: true, recursive: true });
  const scans2 = await digestScans();
  await resync('/versions');
  assert.is((await digestScans()) - scans2, 1, 'd0 is scanned');
  assert.ok(await env.fs.exists('/versions/d0/sub/deep.txt', { loadType: 'NEVER' }), 'the UFS still has it: loaded again');
  const scans3 = await digestScans();
  const hits = await digestHits();
  const again = await resync('/versions');
  assert.equal({ ...again }, { created: 0, updated: 0, deleted: 0, unchanged: 17, failed: 0 });
  assert.is((await digestScans()) - scans3, 0);
  assert.is((await digestHits()) - hits, 5);
});

test('a digest of a build before children versions costs one edge scan, then is recorded with the version', async () => {
  makeTree(join(env.ufsDir, 'older'));
  await env.fs.loadMetadata('/older', { recursive: true });
  // What an older build stored: the digest without "@<version>".
  const d1 = env.fs.tree.resolve('/older/d1').inode!;
  assert.match(d1.lsDigest ?? '', /@/);
  await env.fs.store.transact((tx) => InodeTree.modify(tx, d1.id, (cur) => ({ ...cur, lsDigest: cur.lsDigest!.slice(0, cur.lsDigest!.lastIndexOf('@')) })));
  const scans = await digestScans();
  const hits = await digestHits();
  const re = await resync('/older');
  assert.equal({ ...re }, { created: 0, updated: 0, deleted: 0, unchanged: 17, failed: 0 });
  assert.is((await digestScans()) - scans, 1, 'd1 is scanned');
  assert.is((await digestHits()) - hits, 5, 'and still a digest hit');
  assert.match(env.fs.tree.resolve('/older/d1').inode!.lsDigest ?? '', /@/, 'recorded again with its version');
  const scans2 = await digestScans();
  await resync('/older');
  assert.is((await digestScans()) - scans2, 0);
});

test('a change in the UFS is seen: new content, a new entry below an unchanged directory, a removal', async () => {
  const root = join(env.ufsDir, 'ufs-change');
  makeTree(root);
  await env.fs.loadMetadata('/ufs-change', { recursive: true });
  writeFileSync(join(root, 'd1', 'f0.txt'), 'a longer content than before');
  writeFileSync(join(root, 'd0', 'sub', 'new.txt'), 'new');
  rmSync(join(root, 'd2', 'f3.txt'));
  const re = await resync('/ufs-change');
  assert.is(re.updated, 1);
  assert.is(re.created, 1);
  assert.is(re.deleted, 1);
  assert.is((await env.fs.getStatus('/ufs-change/d1/f0.txt', { loadType: 'NEVER' })).length, 'a longer content than before'.length);
  assert.ok(await env.fs.exists('/ufs-change/d0/sub/new.txt', { loadType: 'NEVER' }));
  assert.not.ok(await env.fs.exists('/ufs-change/d2/f3.txt', { loadType: 'NEVER' }));
  // And the next re-sync is all digest hits again.
  const again = await resync('/ufs-change');
  assert.equal({ ...again }, { created: 0, updated: 0, deleted: 0, unchanged: 17, failed: 0 });
});

test('a file written through Strata survives a re-sync; a Strata-only delete is undone by the next full sync as before', async () => {
  const root = join(env.ufsDir, 'through');
  makeTree(root);
  await env.fs.loadMetadata('/through', { recursive: true });
  await env.fs.writeFile('/through/d1/written.txt', Buffer.from('through strata'), { writeType: 'MUST_CACHE' });
  await env.fs.delete('/through/d2/f0.txt', { strataOnly: true });
  const re = await resync('/through');
  assert.ok(await env.fs.exists('/through/d1/written.txt', { loadType: 'NEVER' }), 'a file written through Strata is kept');
  assert.ok(await env.fs.exists('/through/d2/f0.txt', { loadType: 'NEVER' }), 'the UFS still has it: the sync loads it again');
  assert.is(re.created, 1);
  assert.equal(await names(env.fs, '/through/d1', { loadType: 'NEVER' }), ['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'written.txt']);
});

test('a partial sync between two recursive syncs: the UFS restored to the digested listing is applied again', async () => {
  const root = join(env.ufsDir, 'partial');
  makeTree(root);
  await env.fs.loadMetadata('/partial', { recursive: true });
  const a = join(root, 'd1', 'f2.txt');
  const original = (await env.fs.getStatus('/partial/d1/f2.txt', { loadType: 'NEVER' })).length;
  // Keep the original file (same inode and mtime) aside and put other content there...
  renameSync(a, join(root, 'd1', 'saved'));
  writeFileSync(a, 'replaced with something else entirely');
  // ...which a single-path sync loads into Strata,
  assert.is((await env.fs.getStatus('/partial/d1/f2.txt', { syncIntervalMs: 0 })).length, 'replaced with something else entirely'.length);
  // ...then restore the original: the listing is again the one the digest was taken of.
  renameSync(join(root, 'd1', 'saved'), a);
  await resync('/partial');
  assert.is((await env.fs.getStatus('/partial/d1/f2.txt', { loadType: 'NEVER' })).length, original);
});

test('a change applied by active sync, then the UFS restored while nobody watches: the next re-sync applies it again', async () => {
  const root = join(env.ufsDir, 'watched');
  makeTree(root);
  const a = join(root, 'd2', 'f1.txt');
  const t = new Date('2026-01-01T00:00:00Z');
  utimesSync(a, t, t); // a whole second, so that the restore below gives the very same fingerprint
  await env.fs.loadMetadata('/watched', { recursive: true });
  const original = (await env.fs.getStatus('/watched/d2/f1.txt', { loadType: 'NEVER' })).length;
  await env.fs.startSync('/watched');
  const until = async (what: string, ok: () => Promise<boolean>) => {
    for (let i = 0; i < 300; i++) { if (await ok()) return; await new Promise((r) => setTimeout(r, 50)); }
    assert.unreachable(`timed out waiting for ${what}`);
  };
  await until('the sync point to be active', async () => (await env.fs.getSyncPathList()).some((p) => p.path === '/watched' && p.state === 'active'));
  writeFileSync(a, 'changed while watched, and longer'); // in place: same inode
  await until('active sync to apply the change', async () => (await env.fs.getStatus('/watched/d2/f1.txt', { loadType: 'NEVER' })).length !== original);
  await env.fs.stopSync('/watched');
  writeFileSync(a, 'content 2/1'); // back to the listing the digest was taken of
  utimesSync(a, t, t);
  await resync('/watched');
  assert.is((await env.fs.getStatus('/watched/d2/f1.txt', { loadType: 'NEVER' })).length, original);
});

test('a directory removed from the UFS and one replaced by a file are reconciled under an unchanged parent', async () => {
  const root = join(env.ufsDir, 'replace');
  makeTree(root);
  await env.fs.loadMetadata('/replace', { recursive: true });
  rmSync(join(root, 'd0', 'sub'), { recursive: true });
  rmSync(join(root, 'd1'), { recursive: true });
  writeFileSync(join(root, 'd1'), 'now a file');
  const re = await resync('/replace');
  assert.not.ok(await env.fs.exists('/replace/d0/sub', { loadType: 'NEVER' }));
  assert.is((await env.fs.getStatus('/replace/d1', { loadType: 'NEVER' })).type, 'file');
  assert.is(re.failed, 0);
});

test.run();
