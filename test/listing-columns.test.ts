// Listings built straight into columns (coordinator/listing-columns.ts): every page decodes to
// what listStatus lists (odd entries, paging, startAfter, recursive, files, nested mounts, over
// TCP too), and the cached page of a directory is never served after a change: create, delete,
// rename in and out, setAttributes, pin, TTL, xattr, cached bytes, and a sync applied by a worker
// thread (needs `npm run build`: the sync workers run dist/).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIST_COLUMNS, decodePage, encodePage } from '../src/protocol/page-codec.js';
import type { ColumnarPage } from '../src/protocol/page-codec.js';
import type { Coordinator } from '../src/coordinator/coordinator.js';
import type { FileInfo, ListStatusOptions } from '../src/types.js';
import { fileUri, list, openEnv, serveTcp, tempDir } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

/** The pages of the columnar listing, decoded (as a client sees them). */
async function columns(fs: Coordinator, path: string, options: ListStatusOptions = {}): Promise<FileInfo[][]> {
  const out: FileInfo[][] = [];
  for await (const page of fs[LIST_COLUMNS](path, options) as AsyncIterable<ColumnarPage>) out.push(decodePage(page));
  return out;
}

/** The pages of listStatus as the server sent them before (encodePage of each FileInfo page), decoded. */
async function reference(fs: Coordinator, path: string, options: ListStatusOptions = {}): Promise<FileInfo[][]> {
  const out: FileInfo[][] = [];
  for await (const page of fs.listStatus(path, options)) out.push(decodePage(encodePage(page)));
  return out;
}

async function same(fs: Coordinator, path: string, options: ListStatusOptions = {}, what = path): Promise<FileInfo[]> {
  const a = await columns(fs, path, options);
  const b = await reference(fs, path, options);
  assert.equal(a, b, `columnar listing of ${what} ${JSON.stringify(options)}`);
  return a.flat();
}

const namesOf = (infos: FileInfo[]): string[] => infos.map((f) => f.name);

async function withEnv(fn: (env: Env) => Promise<void>): Promise<void> {
  const env = await openEnv();
  try {
    await fn(env);
  } finally {
    await env.dispose();
  }
}

test('columnar pages decode to what listStatus lists, odd entries, paging and mounts included', () => withEnv(async (env) => {
  const fs = env.fs;
  mkdirSync(join(env.ufsDir, 'd', 'sub'), { recursive: true });
  for (let i = 0; i < 25; i++) writeFileSync(join(env.ufsDir, 'd', `f${String(i).padStart(2, '0')}`), 'x'.repeat(i));
  await fs.writeFile('/d/cached', new Uint8Array(300), { writeType: 'MUST_CACHE' });
  await fs.writeFile('/d/through', new Uint8Array(10), { writeType: 'CACHE_THROUGH' });
  await fs.setAttributes('/d/f01', { mode: 0o600, uid: 1001, gid: 1002 });
  await fs.setXattr('/d/through', { 'content-type': 'text/plain' });
  await fs.setPinned('/d/f02', true);
  await fs.setTtl('/d/f03', 60_000, 'delete');
  const other = await tempDir('strata-ufs-nested-');
  env.track(other);
  writeFileSync(join(other, 'inner'), 'i');
  await fs.mount('/d/nested', fileUri(other));

  const all = await same(fs, '/d');
  assert.ok(all.length >= 29, `listed ${all.length}`);
  const byName = new Map(all.map((f) => [f.name, f]));
  assert.is(byName.get('f01')!.uid, 1001);
  assert.is(byName.get('f01')!.mode, 0o600);
  assert.equal(byName.get('through')!.xattr, { 'content-type': 'text/plain' });
  assert.is(byName.get('f02')!.pinned, true);
  assert.is(byName.get('f03')!.ttlAction, 'delete');
  assert.is(byName.get('nested')!.isMountPoint, true);
  assert.is(byName.get('cached')!.cachedBytes, 300);

  await same(fs, '/d', { pageSize: 4 });
  await same(fs, '/d', { pageSize: 7, startAfter: 'f10' });
  await same(fs, '/d', { startAfter: 'zzz' });
  await same(fs, '/d', { recursive: true });
  await same(fs, '/d/f05');
  await same(fs, '/');
  await same(fs, '/d/nested');
  await same(fs, '/d/sub'); // empty: no page at all
  assert.equal(await columns(fs, '/d/sub'), []);
  // Served again from the cache (the directory did not change): the same answer.
  await same(fs, '/d', { pageSize: 4 });
  const hits = fs.listingPages.hits;
  await same(fs, '/d', { pageSize: 4 });
  assert.ok(fs.listingPages.hits > hits, 'a repeated listing of an unchanged directory is served from the cache');
}));

test('a cached page is never served after a change to the directory or its entries', () => withEnv(async (env) => {
  const fs = env.fs;
  await fs.createDirectory('/d');
  await fs.createDirectory('/e');
  for (let i = 0; i < 5; i++) await fs.writeFile(`/d/f${i}`, new Uint8Array(i), { writeType: 'MUST_CACHE' });
  const warm = async (): Promise<FileInfo[]> => {
    await same(fs, '/d');
    const hits = fs.listingPages.hits;
    const again = await same(fs, '/d');
    assert.ok(fs.listingPages.hits > hits, 'served from the cache while unchanged');
    return again;
  };
  const byName = async (name: string): Promise<FileInfo | undefined> => (await warm()).find((f) => f.name === name);

  assert.equal(namesOf(await warm()), ['f0', 'f1', 'f2', 'f3', 'f4']);
  await fs.writeFile('/d/g', new Uint8Array(1), { writeType: 'MUST_CACHE' });
  assert.equal(namesOf(await same(fs, '/d')), ['f0', 'f1', 'f2', 'f3', 'f4', 'g'], 'create');
  await warm();
  await fs.delete('/d/f1');
  assert.equal(namesOf(await same(fs, '/d')), ['f0', 'f2', 'f3', 'f4', 'g'], 'delete');
  await warm();
  await fs.rename('/d/f2', '/e/f2');
  assert.equal(namesOf(await same(fs, '/d')), ['f0', 'f3', 'f4', 'g'], 'rename out');
  await warm();
  await fs.rename('/e/f2', '/d/h');
  assert.equal(namesOf(await same(fs, '/d')), ['f0', 'f3', 'f4', 'g', 'h'], 'rename in');
  await warm();
  await fs.rename('/d/h', '/d/a');
  assert.equal(namesOf(await same(fs, '/d')), ['a', 'f0', 'f3', 'f4', 'g'], 'rename within');
  await warm();
  await fs.setAttributes('/d/f3', { mode: 0o640, mtimeMs: 1_000 });
  assert.is((await byName('f3'))!.mode, 0o640, 'setAttributes');
  assert.is((await byName('f3'))!.mtimeMs, 1_000);
  await fs.setPinned('/d/f3', true);
  assert.is((await byName('f3'))!.pinned, true, 'pin');
  await fs.setTtl('/d/f3', 5_000_000, 'free');
  assert.is((await byName('f3'))!.ttlMs, 5_000_000, 'ttl');
  await fs.setXattr('/d/f4', { k: 'v' });
  assert.equal((await byName('f4'))!.xattr, { k: 'v' }, 'xattr');
  await fs.writeFile('/d/f4', new Uint8Array(40), { writeType: 'MUST_CACHE', overwrite: true });
  assert.is((await byName('f4'))!.length, 40, 'overwrite');
  assert.is((await byName('f4'))!.cachedBytes, 40);
  // Moving the directory: its entries' paths change.
  await fs.rename('/d', '/e/d2');
  const moved = await same(fs, '/e/d2');
  assert.ok(moved.every((f) => f.path.startsWith('/e/d2/')), 'rename of the directory itself');
  assert.is(await columns(fs, '/d').then(() => 'listed', (e: { code?: string }) => e.code), 'NOT_FOUND');
}));

test('cached bytes, which change without an inode commit, are read again for a cached page', () => withEnv(async (env) => {
  const fs = env.fs;
  await fs.createDirectory('/c', { writeType: 'CACHE_THROUGH' });
  await fs.writeFile('/c/a', new Uint8Array(1000), { writeType: 'CACHE_THROUGH' });
  await fs.writeFile('/c/b', new Uint8Array(10), { writeType: 'CACHE_THROUGH' });
  const cachedOf = async (): Promise<number[]> => (await same(fs, '/c')).map((f) => f.cachedBytes);
  assert.equal(await cachedOf(), [1000, 10]);
  assert.equal(await cachedOf(), [1000, 10]);
  await fs.free('/c/a');
  assert.equal(await cachedOf(), [0, 10], 'after free');
  await fs.load('/c/a');
  assert.equal(await cachedOf(), [1000, 10], 'after load');
}));

test('a sync applied by a worker thread (UFS changed, then synced) is seen by the next listing', () => withEnv(async (env) => {
  const fs = env.fs;
  mkdirSync(join(env.ufsDir, 'u'));
  for (let i = 0; i < 3; i++) writeFileSync(join(env.ufsDir, 'u', `x${i}`), 'x');
  await fs.loadMetadata('/u');
  assert.equal(namesOf(await same(fs, '/u')), ['x0', 'x1', 'x2']);
  assert.equal(namesOf(await same(fs, '/u')), ['x0', 'x1', 'x2']);
  writeFileSync(join(env.ufsDir, 'u', 'x3'), 'new');
  writeFileSync(join(env.ufsDir, 'u', 'x0'), 'longer content');
  await fs.loadMetadata('/u', { recursive: true });
  const after = await same(fs, '/u');
  assert.equal(namesOf(after), ['x0', 'x1', 'x2', 'x3'], 'a new UFS file');
  assert.is(after[0]!.length, 14, 'a changed UFS file');
  // A listing that syncs itself (sync interval 0) sees the UFS change in the same call.
  writeFileSync(join(env.ufsDir, 'u', 'x4'), 'n');
  assert.equal(namesOf((await columns(fs, '/u', { syncIntervalMs: 0 })).flat()), ['x0', 'x1', 'x2', 'x3', 'x4']);
}));

test('over TCP a listing of the Coordinator is the same as in process, cached or not', () => withEnv(async (env) => {
  const fs = env.fs;
  await fs.createDirectory('/t');
  for (let i = 0; i < 12; i++) await fs.writeFile(`/t/f${i}`, new Uint8Array(i), { writeType: 'MUST_CACHE' });
  await fs.setAttributes('/t/f3', { uid: 7 });
  const tcp = await serveTcp(fs);
  try {
    const local = await list(fs, '/t', { pageSize: 5 });
    for (let round = 0; round < 3; round++) {
      assert.equal(await list(tcp.client, '/t', { pageSize: 5 }), decodePage(encodePage(local)), `round ${round}`);
    }
    await fs.delete('/t/f0');
    assert.is((await list(tcp.client, '/t')).length, 11);
  } finally {
    await tcp.close();
  }
}));

test.run();
