// Symlinks never let a local UFS client read or write outside the mounted directory: file
// links, directory links, symlinked parents for writes, loops; links inside the root work.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { StrataError } from '../src/errors.js';
import { LocalUfs } from '../src/ufs/local/local-ufs.js';
import type { UfsStatus } from '../src/ufs/ufs.js';

const dirs: string[] = [];
/** A mounted root plus a sibling "outside" directory holding a secret. */
function fixture(): { root: string; outside: string; ufs: LocalUfs } {
  const base = mkdtempSync(join(tmpdir(), 'strata-ufs-symlink-'));
  dirs.push(base);
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'top secret');
  return { root, outside, ufs: new LocalUfs(pathToFileURL(root).href) };
}

async function* chunks(s: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(s);
}

async function readAll(it: AsyncIterable<Uint8Array>): Promise<string> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(Buffer.from(c));
  return Buffer.concat(out).toString();
}

async function names(ufs: LocalUfs, path: string, recursive = false): Promise<string[]> {
  const out: UfsStatus[] = [];
  for await (const p of ufs.list(path, { recursive })) out.push(...p);
  return out.map((e) => `${e.name}:${e.type}`);
}

async function denied(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, StrataError);
    assert.is((err as StrataError).code, 'PERMISSION_DENIED', (err as Error).message);
    return;
  }
  assert.unreachable('expected PERMISSION_DENIED');
}

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('file symlink escaping the root: not listed, not readable, not writable, not stat-able', async () => {
  const { root, outside, ufs } = fixture();
  symlinkSync(join(outside, 'secret'), join(root, 'leak'));
  symlinkSync('../outside/secret', join(root, 'leak-rel'));
  writeFileSync(join(root, 'ok'), 'fine');
  assert.equal(await names(ufs, ''), ['ok:file']);
  for (const p of ['leak', 'leak-rel']) {
    await denied(ufs.getStatus(p));
    await denied(readAll(ufs.read(p)));
    await denied(ufs.write(p, chunks('pwned')));
  }
  assert.is(readFileSync(join(outside, 'secret'), 'utf8'), 'top secret');
  // Deleting the link removes the link, never the target.
  await ufs.delete('leak');
  assert.not.ok(existsSync(join(root, 'leak')));
  assert.ok(existsSync(join(outside, 'secret')));
});

test('directory symlink escaping the root: not listed, not traversable', async () => {
  const { root, outside, ufs } = fixture();
  symlinkSync(outside, join(root, 'out'));
  mkdirSync(join(root, 'in'));
  assert.equal(await names(ufs, ''), ['in:directory']);
  assert.equal(await names(ufs, '', true), ['in:directory']);
  await denied(names(ufs, 'out'));
  await denied(ufs.getStatus('out'));
  await denied(ufs.getStatus('out/secret'));
  await denied(readAll(ufs.read('out/secret')));
  await denied(ufs.write('out/secret', chunks('pwned')));
  await denied(ufs.write('out/new-file', chunks('pwned')));
  await denied(ufs.write('out/deeper/new-file', chunks('pwned')));
  await denied(ufs.mkdir('out/newdir'));
  await denied(ufs.mkdir('out/a/b', { recursive: true }));
  await denied(ufs.rename('in', 'out/moved'));
  await denied(ufs.rename('out/secret', 'stolen'));
  await denied(ufs.delete('out/secret'));
  assert.equal(readdirSync(outside), ['secret']);
  assert.is(readFileSync(join(outside, 'secret'), 'utf8'), 'top secret');
  // The link itself can be removed.
  await ufs.delete('out', { recursive: true });
  assert.ok(existsSync(join(outside, 'secret')));
});

test('symlinked parent deeper in the tree (a/b -> outside) refused for writes', async () => {
  const { root, outside, ufs } = fixture();
  mkdirSync(join(root, 'a'));
  symlinkSync('../../outside', join(root, 'a', 'b'));
  await denied(ufs.write('a/b/c', chunks('pwned')));
  await denied(ufs.write('a/b/x/y/z', chunks('pwned')));
  await denied(ufs.write('a/b/c', chunks('pwned'), { overwrite: false }));
  assert.equal(readdirSync(outside), ['secret']);
  assert.equal(readdirSync(join(root, 'a')), ['b']); // no temp file left behind either
});

test('symlinks inside the root are served as their target type', async () => {
  const { root, ufs } = fixture();
  mkdirSync(join(root, 'real'));
  writeFileSync(join(root, 'real', 'f'), 'data');
  symlinkSync('real', join(root, 'alias'));
  symlinkSync('real/f', join(root, 'flink'));
  symlinkSync('nowhere', join(root, 'dangling'));
  assert.equal(await names(ufs, ''), ['alias:directory', 'flink:file', 'real:directory']);
  assert.equal(await names(ufs, '', true), ['alias:directory', 'flink:file', 'real:directory', 'alias/f:file', 'real/f:file']);
  assert.is(await readAll(ufs.read('flink')), 'data');
  assert.is(await readAll(ufs.read('alias/f')), 'data');
  assert.is((await ufs.getStatus('flink'))?.length, 4);
  assert.is(await ufs.getStatus('dangling'), null);
  // Writing through an inside link writes its target and keeps the link.
  await ufs.write('flink', chunks('new data'));
  assert.is(readFileSync(join(root, 'real', 'f'), 'utf8'), 'new data');
  await ufs.write('alias/g', chunks('g'));
  assert.is(readFileSync(join(root, 'real', 'g'), 'utf8'), 'g');
});

test('symlink loops are cut: never listed forever, never resolved', async () => {
  const { root, ufs } = fixture();
  mkdirSync(join(root, 'a'));
  mkdirSync(join(root, 'b'));
  writeFileSync(join(root, 'a', 'fa'), 'a');
  symlinkSync('..', join(root, 'a', 'up'));        // a/up -> root (ancestor)
  symlinkSync('../b', join(root, 'a', 'tob'));     // a/tob -> b
  symlinkSync('../a', join(root, 'b', 'toa'));     // b/toa -> a: a/tob/toa would loop
  symlinkSync('self', join(root, 'self'));         // ELOOP
  const all = await names(ufs, '', true);
  assert.ok(all.length < 20, all.join(' '));
  assert.ok(!all.some((n) => n.startsWith('a/up')), all.join(' '));
  assert.ok(!all.some((n) => n.startsWith('self')), all.join(' '));
  assert.ok(!all.some((n) => n.includes('tob/toa')), all.join(' '));
  // Listing one level at a time (as a BFS sync would) does not offer the loop either.
  assert.equal(await names(ufs, 'a/tob'), []);
  await denied(names(ufs, 'a/tob/toa'));
  await denied(ufs.getStatus('a/up'));
});

test('a mount root that is itself a symlink works, and still confines', async () => {
  const { root, outside, ufs: _ } = fixture();
  const linkRoot = `${root}-link`;
  symlinkSync(root, linkRoot);
  dirs.push(linkRoot);
  const ufs = new LocalUfs(pathToFileURL(linkRoot).href);
  await ufs.check();
  await ufs.write('x/y', chunks('ok'));
  assert.is(readFileSync(join(root, 'x', 'y'), 'utf8'), 'ok');
  assert.equal(await names(ufs, '', true), ['x:directory', 'x/y:file']);
  symlinkSync(outside, join(root, 'out'));
  await denied(ufs.getStatus('out/secret'));
});

test.run();
