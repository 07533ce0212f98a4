// What only the local UFS does, against real temp directories: URIs, reserved temp names,
// read chunking, a generated tree with invisible temp files, mode bits and mtimes in the
// fingerprints, errno mapping, clean-up of interrupted writes. What every UFS promises
// (listing, errors, atomic writes, rename, delete...) is in the contract suite (ufs-contract).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { StrataError } from '../src/errors.js';
import { LocalUfs, createLocalUfs } from '../src/ufs/local/local-ufs.js';
import { listAll, readAll, rejects } from './helpers/assert.js';

const dirs: string[] = [];
function fresh(): { dir: string; ufs: LocalUfs } {
  const dir = mkdtempSync(join(tmpdir(), 'strata-ufs-local-'));
  dirs.push(dir);
  return { dir, ufs: new LocalUfs(pathToFileURL(dir).href) };
}

async function* chunks(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}




test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('URI parsing: file:///abs accepted, relative and malformed refused', () => {
  const { dir } = fresh();
  const u = createLocalUfs(`file://${dir}/`, {});
  assert.is(u.scheme, 'file');
  assert.is(u.uri, pathToFileURL(dir).href);
  assert.is(new LocalUfs(`file://localhost${dir}`).root, dir);
  for (const bad of ['file://relative/path', 'file:relative', '/abs/path', 's3://b/p', 'file:///a/../b', 'file:///a?x=1', '']) {
    try {
      createLocalUfs(bad, {});
      assert.unreachable(bad);
    } catch (err) {
      assert.instance(err, StrataError, bad);
      assert.is((err as StrataError).code, 'INVALID_ARGUMENT', bad);
    }
  }
});

test('paths: temp names are reserved (INVALID_PATH)', async () => {
  const { ufs } = fresh();
  for (const bad of ['.strata-tmp-x', 'a/.strata-tmp-y']) {
    await rejects(() => ufs.getStatus(bad), 'INVALID_PATH');
    await rejects(() => ufs.write(bad, chunks('x')), 'INVALID_PATH');
    await rejects(() => listAll(ufs, bad), 'INVALID_PATH');
  }
});

test('check: root present, missing, or a file', async () => {
  const { dir, ufs } = fresh();
  await ufs.check();
  await rejects(new LocalUfs(pathToFileURL(join(dir, 'missing')).href).check(), 'NOT_FOUND');
  writeFileSync(join(dir, 'f'), 'x');
  await rejects(new LocalUfs(pathToFileURL(join(dir, 'f')).href).check(), 'NOT_A_DIRECTORY');
  await ufs.close();
});

test('write: the bytes land in the named file; a file is never a parent, even with recursive', async () => {
  const { dir, ufs } = fresh();
  await ufs.write('a/b/c.txt', chunks('hello ', 'world'));
  assert.is(readFileSync(join(dir, 'a/b/c.txt'), 'utf8'), 'hello world');
  await rejects(ufs.write('a/b/c.txt/under', chunks('z')), 'NOT_A_DIRECTORY');
});

test('write: a failing source leaves neither the target nor a temp file', async () => {
  const { dir, ufs } = fresh();
  await ufs.write('keep', chunks('old'));
  async function* broken(): AsyncGenerator<Uint8Array> {
    yield Buffer.from('partial');
    throw new Error('source broke');
  }
  await rejects(ufs.write('keep', broken()), 'UFS_UNAVAILABLE');
  await rejects(ufs.write('fresh', broken()), 'UFS_UNAVAILABLE');
  assert.equal(readdirSync(dir).sort(), ['keep']);
  assert.is(readFileSync(join(dir, 'keep'), 'utf8'), 'old');
  const ac = new AbortController();
  ac.abort();
  await rejects(ufs.write('aborted', chunks('x'), { signal: ac.signal }), 'CANCELLED');
  assert.equal(readdirSync(dir).sort(), ['keep']);
});

test('write: overwrite keeps the permission bits', async () => {
  const { dir, ufs } = fresh();
  await ufs.write('m', chunks('1'));
  chmodSync(join(dir, 'm'), 0o640);
  const st = await ufs.write('m', chunks('22'));
  assert.is(st.mode, 0o640);
});

test('reads come in chunks of at most 1 MiB; a ranged read across chunks; abort between chunks', async () => {
  const { ufs } = fresh();
  const data = Buffer.alloc(3 * 1024 * 1024 + 123);
  for (let i = 0; i < data.length; i++) data[i] = i % 251;
  await ufs.write('big', chunks(data));
  const all = await readAll(ufs.read('big'));
  assert.ok(all.equals(data));
  let n = 0;
  for await (const c of ufs.read('big')) {
    n++;
    assert.ok(c.byteLength <= 1024 * 1024);
  }
  assert.is(n, 4);
  assert.ok((await readAll(ufs.read('big', { offset: 1024 * 1024 - 5, length: 2 * 1024 * 1024 }))).equals(data.subarray(1024 * 1024 - 5, 3 * 1024 * 1024 - 5)));
  assert.is((await readAll(ufs.read('big', { offset: data.length + 10 }))).length, 0);
  const ac = new AbortController();
  const it = ufs.read('big', { signal: ac.signal })[Symbol.asyncIterator]();
  await it.next();
  ac.abort();
  await rejects(it.next(), 'CANCELLED');
});

test('list recursive: generated tree, parents before children, names relative, temp files hidden', async () => {
  const { dir, ufs } = fresh();
  const expected = new Set<string>();
  // 3 levels, fan-out 4, 5 files per directory.
  function gen(rel: string, depth: number): void {
    for (let f = 0; f < 5; f++) {
      const p = rel ? `${rel}/file${f}` : `file${f}`;
      writeFileSync(join(dir, 'top', p), p);
      expected.add(p);
      writeFileSync(join(dir, 'top', rel, `.strata-tmp-file${f}-abc`), 'partial');
    }
    if (depth === 0) return;
    for (let d = 0; d < 4; d++) {
      const p = rel ? `${rel}/dir${d}` : `dir${d}`;
      mkdirSync(join(dir, 'top', p));
      expected.add(p);
      gen(p, depth - 1);
    }
  }
  mkdirSync(join(dir, 'top'));
  gen('', 3);
  const { pages, entries } = await listAll(ufs, 'top', { recursive: true, pageSize: 37 });
  assert.ok(pages.slice(0, -1).every((p) => p.length === 37));
  const names = entries.map((e) => e.name);
  assert.is(names.length, expected.size);
  assert.equal(new Set(names), expected);
  assert.ok(!names.some((n) => n.includes('.strata-tmp-')));
  const seen = new Set<string>();
  for (const n of names) {
    const parent = n.includes('/') ? n.slice(0, n.lastIndexOf('/')) : '';
    assert.ok(parent === '' || seen.has(parent), `${n} listed before its parent`);
    seen.add(n);
  }
  // Non-recursive listing does not show temp files either.
  assert.equal((await listAll(ufs, 'top')).entries.map((e) => e.name),
    ['dir0', 'dir1', 'dir2', 'dir3', 'file0', 'file1', 'file2', 'file3', 'file4']);
});

test('fingerprints: content change alters contentHash; chmod alters only metaHash', async () => {
  const { dir, ufs } = fresh();
  await ufs.write('f', chunks('abc'));
  const a = (await ufs.getStatus('f'))!;
  const same = (await ufs.getStatus('f'))!;
  assert.is(same.contentHash, a.contentHash);
  assert.is(same.metaHash, a.metaHash);

  chmodSync(join(dir, 'f'), 0o600);
  const b = (await ufs.getStatus('f'))!;
  assert.is(b.contentHash, a.contentHash);
  assert.is.not(b.metaHash, a.metaHash);
  assert.is(b.mode, 0o600);

  // Same size, changed in place, mtime moved: content fingerprint changes.
  writeFileSync(join(dir, 'f'), 'xyz');
  utimesSync(join(dir, 'f'), new Date(), new Date(Date.now() + 5000));
  const c = (await ufs.getStatus('f'))!;
  assert.is.not(c.contentHash, b.contentHash);
  assert.is(c.metaHash, b.metaHash);

  // Size change.
  writeFileSync(join(dir, 'f'), 'xyzw');
  assert.is.not((await ufs.getStatus('f'))!.contentHash, c.contentHash);

  // Directories: 'dir' regardless of children; metaHash follows mode.
  await ufs.mkdir('d');
  const d1 = (await ufs.getStatus('d'))!;
  await ufs.write('d/child', chunks('x'));
  const d2 = (await ufs.getStatus('d'))!;
  assert.is(d1.contentHash, 'dir');
  assert.is(d2.contentHash, 'dir');
  assert.is(d2.metaHash, d1.metaHash);
  chmodSync(join(dir, 'd'), 0o700);
  assert.is.not((await ufs.getStatus('d'))!.metaHash, d1.metaHash);

  // Listing and getStatus agree.
  const listed = (await listAll(ufs, '')).entries.find((e) => e.name === 'f')!;
  assert.equal(listed, await ufs.getStatus('f'));
});

test('errors are mapped with the path named and the cause kept', async () => {
  const { dir, ufs } = fresh();
  await ufs.write('locked/f', chunks('x'));
  if (process.getuid?.() !== 0) {
    chmodSync(join(dir, 'locked'), 0o000);
    try {
      const err = await rejects(listAll(ufs, 'locked'), 'PERMISSION_DENIED');
      assert.match(err.message, 'locked');
      assert.ok((err.cause as NodeJS.ErrnoException).code === 'EACCES');
    } finally {
      chmodSync(join(dir, 'locked'), 0o755);
    }
  }
  const err = await rejects(readAll(ufs.read('nothing/here')), 'NOT_FOUND');
  assert.match(err.message, 'nothing/here');
  assert.ok(err.cause !== undefined);
});

test('cleanupInterruptedWrites removes stale temp files only', async () => {
  const { dir, ufs } = fresh();
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', '.strata-tmp-f-1'), 'x');
  writeFileSync(join(dir, '.strata-tmp-g-2'), 'x');
  writeFileSync(join(dir, 'keep'), 'x');
  assert.is(await ufs.cleanupInterruptedWrites(), 0); // fresh: maybe in flight
  assert.is(await ufs.cleanupInterruptedWrites({ before: Date.now() + 1000 }), 2);
  assert.equal(readdirSync(dir).sort(), ['keep', 'sub']);
  assert.equal(readdirSync(join(dir, 'sub')), []);
});

test('cleanupInterruptedWrites walks deep and wide trees, skips symlinks and stops on abort', async () => {
  const { dir, ufs } = fresh();
  let deep = join(dir, 'deep');
  for (let i = 0; i < 40; i++) deep = join(deep, `d${i}`);
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, '.strata-tmp-deep-1'), 'x');
  mkdirSync(join(dir, 'wide'));
  for (let i = 0; i < 600; i++) writeFileSync(join(dir, 'wide', i % 3 ? `f${i}` : `.strata-tmp-w${i}`), 'x');
  const outside = mkdtempSync(join(tmpdir(), 'strata-cleanup-outside-'));
  writeFileSync(join(outside, '.strata-tmp-outside-1'), 'x');
  symlinkSync(outside, join(dir, 'link'));
  assert.is(await ufs.cleanupInterruptedWrites({ before: Date.now() + 1000 }), 201);
  assert.ok(existsSync(join(outside, '.strata-tmp-outside-1')), 'a symlinked directory is not followed');
  assert.is(readdirSync(join(dir, 'wide')).length, 400);
  assert.equal(readdirSync(deep), []);
  writeFileSync(join(dir, '.strata-tmp-late-1'), 'x');
  const ac = new AbortController();
  ac.abort();
  assert.is(await ufs.cleanupInterruptedWrites({ before: Date.now() + 1000, signal: ac.signal }), 0, 'an aborted sweep removes nothing');
  assert.ok(existsSync(join(dir, '.strata-tmp-late-1')));
});

test.run();
