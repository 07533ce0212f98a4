// Path validation: '..', '.', '//', NUL, relative and empty paths are refused with
// INVALID_PATH by every operation, and a refused call changes nothing stored.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { codeOf, list, openEnv, readAll } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';
import { HARD_MAX_DEPTH, normalizePath } from '../src/meta/path.js';
import type { StrataError } from '../src/errors.js';

let env: Env;
const BAD = ['/a/../b', '/a/./b', '..', '/..', '/a//b', '//a', '/a\0b', 'relative/path', 'a', '', `/${'x'.repeat(300)}`];

test.before(async () => {
  env = await openEnv();
  await env.fs.createDirectory('/a/b', { recursive: true });
  await env.fs.writeFile('/a/b/f', Buffer.from('data'));
});
test.after(() => env.dispose());

async function snapshot(): Promise<string> {
  const entries = await list(env.fs, '/', { recursive: true, syncIntervalMs: -1 });
  const ufs = readdirSync(env.ufsDir, { recursive: true }).map(String).sort();
  const mounts = await env.fs.getMountTable();
  const conf = await env.fs.listPathConf();
  return JSON.stringify({ entries: entries.map((e) => [e.path, e.fileId, e.length]), ufs, mounts, conf });
}

test('every bad path is INVALID_PATH on every operation; nothing stored changes', async () => {
  const before = await snapshot();
  for (const p of BAD) {
    const ops: Array<[string, () => Promise<unknown>]> = [
      ['getStatus', () => env.fs.getStatus(p)],
      ['exists', () => env.fs.exists(p)],
      ['listStatus', () => list(env.fs, p)],
      ['createDirectory', () => env.fs.createDirectory(p, { recursive: true })],
      ['writeFile', () => env.fs.writeFile(p, Buffer.from('x'), { recursive: true })],
      ['readFile', () => readAll(env.fs.readFile(p))],
      ['delete', () => env.fs.delete(p, { recursive: true })],
      ['rename src', () => env.fs.rename(p, '/a/z')],
      ['rename dst', () => env.fs.rename('/a/b/f', p)],
      ['mount', () => env.fs.mount(p, 'file:///tmp/nowhere-strata')],
      ['setPathConf', () => env.fs.setPathConf(p, { 'metadata.sync.interval': '0' })],
      ['loadMetadata', () => env.fs.loadMetadata(p)],
      ['needsSync', () => env.fs.needsSync(p)],
      ['free', () => env.fs.free(p)],
      ['persist', () => env.fs.persist(p)],
      ['setPinned', () => env.fs.setPinned(p, true)],
      ['setTtl', () => env.fs.setTtl(p, 1000)],
    ];
    for (const [name, op] of ops) {
      assert.is(await codeOf(op), 'INVALID_PATH', `${name}(${JSON.stringify(p.slice(0, 20))})`);
    }
  }
  assert.is(await snapshot(), before);
});

test('the error message names the path', async () => {
  try {
    await env.fs.getStatus('/a/../etc');
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, '/a/../etc');
  }
});

test('one trailing slash is tolerated', async () => {
  assert.is((await env.fs.getStatus('/a/b/')).path, '/a/b');
});

test('bad paths are refused over TCP too', async () => {
  const { serveTcp } = await import('./helpers/fixture.js');
  const tcp = await serveTcp(env.fs);
  try {
    for (const p of ['/a/../b', '/a//b', '/a\0b', 'rel', '']) {
      assert.is(await codeOf(tcp.client.getStatus(p)), 'INVALID_PATH', JSON.stringify(p));
      assert.is(await codeOf(tcp.client.writeFile(p, Buffer.from('x'))), 'INVALID_PATH', JSON.stringify(p));
    }
  } finally {
    await tcp.close();
  }
});

test('normalizePath: an already-normal path comes back as it is; every near miss is normalised or refused as before', () => {
  const name255 = 'n'.repeat(255);
  const deep = (n: number): string => '/d'.repeat(n);
  // Normal: returned unchanged (the fast path).
  for (const p of ['/a', '/a/b', '/.a', '/a/..b', '/a/...', '/a/b.', `/${name255}`, '/é/日本', deep(8)]) {
    assert.is(normalizePath(p, 8), p, JSON.stringify(p));
  }
  // Not normal but valid: the trailing slash is dropped; the root stays the root.
  assert.is(normalizePath('/a/b/', 8), '/a/b');
  assert.is(normalizePath('/', 8), '/');
  assert.is(normalizePath(`${deep(8)}/`, 8), deep(8));
  // Refused, with the reason of the full check.
  const refused: Array<[string, RegExp]> = [
    ['/a/.', /'\.' segment/], ['/a/..', /'\.\.' segment/], ['/.', /'\.' segment/], ['/./a', /'\.' segment/],
    ['/a//b', /empty segment/], ['//', /empty segment/], ['/a\0b', /NUL/], ['a/b', /absolute/],
    [`/${name255}n`, /longer than 255/], [deep(9), /deeper than path.max.depth \(8\)/], ['/a/b//', /empty segment/],
  ];
  for (const [p, why] of refused) {
    try {
      normalizePath(p, 8);
      assert.unreachable(JSON.stringify(p));
    } catch (err) {
      assert.is((err as StrataError).code, 'INVALID_PATH', JSON.stringify(p));
      assert.match((err as Error).message, why, JSON.stringify(p));
    }
  }
  // The default depth bound is the hard one.
  assert.is(normalizePath(deep(HARD_MAX_DEPTH - 1)), deep(HARD_MAX_DEPTH - 1));
});

test.run();
