// The mount table: nested mounts, read-only mounts, refused overlaps and shadowing,
// unmount rules, cross-mount renames, persistence across restart, secret redaction.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeOf, fileUri, list, names, openEnv, readText, tempDir } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;
let dirA: string; // mounted at /mnt/a
let dirB: string; // nested at /mnt/a/b
let dirRo: string; // read-only at /ro

test.before(async () => {
  env = await openEnv();
  dirA = await tempDir('strata-ufs-a-');
  dirB = await tempDir('strata-ufs-b-');
  dirRo = await tempDir('strata-ufs-ro-');
  for (const d of [dirA, dirB, dirRo]) env.track(d);
  writeFileSync(join(dirA, 'in-a.txt'), 'hello from a');
  writeFileSync(join(dirB, 'in-b.txt'), 'hello from b');
  mkdirSync(join(dirRo, 'sub'));
  writeFileSync(join(dirRo, 'sub', 'ro.txt'), 'read only');
});
test.after(() => env.dispose());

test('nested mounts serve their own UFS', async () => {
  await env.fs.createDirectory('/mnt');
  await env.fs.mount('/mnt/a', fileUri(dirA));
  await env.fs.mount('/mnt/a/b', fileUri(dirB));
  assert.is(await readText(env.fs, '/mnt/a/in-a.txt'), 'hello from a');
  assert.is(await readText(env.fs, '/mnt/a/b/in-b.txt'), 'hello from b');
  const st = await env.fs.getStatus('/mnt/a/b');
  assert.is(st.isMountPoint, true);
  assert.is(st.mountPoint, '/mnt/a/b');
  assert.equal(await names(env.fs, '/mnt/a'), ['b', 'in-a.txt']);
  await env.fs.writeFile('/mnt/a/b/new.txt', Buffer.from('written'));
  assert.is(readFileSync(join(dirB, 'new.txt'), 'utf8'), 'written');
  assert.not.ok(existsSync(join(dirA, 'b', 'new.txt')));
  const table = await env.fs.getMountTable();
  assert.equal(table.map((m) => m.path), ['/', '/mnt', '/mnt/a', '/mnt/a/b'].filter((p) => p !== '/mnt'));
});

test('read-only mount: every write kind is READ_ONLY, reads work', async () => {
  await env.fs.mount('/ro', fileUri(dirRo), { readOnly: true });
  assert.is(await readText(env.fs, '/ro/sub/ro.txt'), 'read only');
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['writeFile', () => env.fs.writeFile('/ro/new', Buffer.from('x'))],
    ['writeFile overwrite', () => env.fs.writeFile('/ro/sub/ro.txt', Buffer.from('x'), { overwrite: true })],
    ['writeFile MUST_CACHE', () => env.fs.writeFile('/ro/mc', Buffer.from('x'), { writeType: 'MUST_CACHE' })],
    ['createDirectory', () => env.fs.createDirectory('/ro/d')],
    ['delete', () => env.fs.delete('/ro/sub/ro.txt')],
    ['delete dir', () => env.fs.delete('/ro/sub', { recursive: true })],
    ['rename within', () => env.fs.rename('/ro/sub/ro.txt', '/ro/sub/x')],
    ['rename out', () => env.fs.rename('/ro/sub/ro.txt', '/out.txt')],
    ['mount below', () => env.fs.mount('/ro/sub/m', fileUri(dirA + '-other'))],
  ];
  for (const [name, op] of cases) assert.is(await codeOf(op), 'READ_ONLY', name);
  assert.is(readFileSync(join(dirRo, 'sub', 'ro.txt'), 'utf8'), 'read only');
  assert.ok(await env.fs.exists('/ro/sub/ro.txt'));
  assert.not.ok(await env.fs.exists('/ro/new', { syncIntervalMs: 0 }));
  // rename INTO the read-only mount is refused too
  await env.fs.writeFile('/tmp-in.txt', Buffer.from('x'));
  assert.is(await codeOf(env.fs.rename('/tmp-in.txt', '/ro/x')), 'READ_ONLY');
  const info = (await env.fs.getMountTable()).find((m) => m.path === '/ro')!;
  assert.is(info.readOnly, true);
});

test('overlapping UFS locations are MOUNT_CONFLICT', async () => {
  // the same directory, a directory inside a mounted one, a directory containing one
  assert.is(await codeOf(env.fs.mount('/dup', fileUri(dirA))), 'MOUNT_CONFLICT');
  mkdirSync(join(dirA, 'inner'), { recursive: true });
  assert.is(await codeOf(env.fs.mount('/dup', fileUri(join(dirA, 'inner')))), 'MOUNT_CONFLICT');
  assert.is(await codeOf(env.fs.mount('/dup', fileUri(join(dirA, '..')))), 'MOUNT_CONFLICT');
  // inside the root mount's UFS directory
  mkdirSync(join(env.ufsDir, 'elsewhere'), { recursive: true });
  assert.is(await codeOf(env.fs.mount('/dup', fileUri(join(env.ufsDir, 'elsewhere')))), 'MOUNT_CONFLICT');
  // trailing slash does not hide an overlap
  assert.is(await codeOf(env.fs.mount('/dup', fileUri(dirB) + '/')), 'MOUNT_CONFLICT');
  assert.not.ok(await env.fs.exists('/dup'));
});

test('mounting on an existing path, on an existing mount point, on / is refused', async () => {
  await env.fs.createDirectory('/exists');
  const other = await tempDir('strata-ufs-c-');
  env.track(other);
  assert.is(await codeOf(env.fs.mount('/exists', fileUri(other))), 'MOUNT_CONFLICT');
  // a path that exists only in the UFS (not yet loaded) is still an existing path
  mkdirSync(join(env.ufsDir, 'only-in-ufs'));
  assert.is(await codeOf(env.fs.mount('/only-in-ufs', fileUri(other))), 'MOUNT_CONFLICT');
  assert.is(await codeOf(env.fs.mount('/mnt/a', fileUri(other))), 'MOUNT_CONFLICT');
  assert.is(await codeOf(env.fs.mount('/', fileUri(other))), 'MOUNT_CONFLICT');
  assert.is(await codeOf(env.fs.mount('/no/parent', fileUri(other))), 'NOT_FOUND');
  assert.is((await env.fs.getMountTable()).filter((m) => m.ufsUri === fileUri(other)).length, 0);
});

test('unmount of / and of a mount with a nested mount below are MOUNT_CONFLICT', async () => {
  assert.is(await codeOf(env.fs.unmount('/')), 'MOUNT_CONFLICT');
  assert.is(await codeOf(env.fs.unmount('/mnt/a')), 'MOUNT_CONFLICT');
  assert.ok(await env.fs.exists('/mnt/a/b/in-b.txt'));
  assert.is(await codeOf(env.fs.delete('/mnt/a/b')), 'MOUNT_CONFLICT');
  assert.is(await codeOf(env.fs.delete('/mnt', { recursive: true })), 'MOUNT_CONFLICT');
  assert.is(await codeOf(env.fs.rename('/mnt/a', '/mnt/z')), 'MOUNT_CONFLICT');
  assert.ok(await env.fs.exists('/mnt/a/in-a.txt'));
});

test('cross-mount rename is refused and changes nothing', async () => {
  await env.fs.writeFile('/root-file', Buffer.from('r'));
  assert.is(await codeOf(env.fs.rename('/root-file', '/mnt/a/root-file')), 'MOUNT_CONFLICT');
  assert.is(await codeOf(env.fs.rename('/mnt/a/in-a.txt', '/mnt/a/b/in-a.txt')), 'MOUNT_CONFLICT');
  assert.is(await codeOf(env.fs.rename('/mnt/a/in-a.txt', '/mnt/a/b')), 'MOUNT_CONFLICT');
  assert.ok(await env.fs.exists('/root-file'));
  assert.ok(existsSync(join(dirA, 'in-a.txt')));
});

test('secrets are redacted in getMountTable', async () => {
  const d = await tempDir('strata-ufs-s-');
  env.track(d);
  await env.fs.mount('/sec', fileUri(d), { options: { secretAccessKey: 'TOPSECRET', sessionToken: 'TOKEN1', region: 'eu-west-1', 'metadata.sync.interval': '5min' } });
  const m = (await env.fs.getMountTable()).find((x) => x.path === '/sec')!;
  assert.is(m.options.secretAccessKey, '***');
  assert.is(m.options.sessionToken, '***');
  assert.is(m.options.region, 'eu-west-1');
  assert.is(m.options['metadata.sync.interval'], '5min');
  assert.not.match(JSON.stringify(await env.fs.getMountTable()), 'TOPSECRET');
  assert.is(await codeOf(env.fs.mount('/bad-opt', fileUri(d + '-x'), { options: { 'no.such.key': '1' } })), 'INVALID_ARGUMENT');
});

test('the mount table survives restart', async () => {
  const before = await env.fs.getMountTable();
  await env.restart();
  const after = await env.fs.getMountTable();
  assert.equal(after, before);
  assert.is(await readText(env.fs, '/mnt/a/b/new.txt'), 'written');
  assert.is(await codeOf(env.fs.writeFile('/ro/again', Buffer.from('x'))), 'READ_ONLY');
});

test('unmount at run time: the subtree disappears, the UFS is untouched, remount works', async () => {
  await env.fs.unmount('/mnt/a/b');
  assert.not.ok(await env.fs.exists('/mnt/a/b'));
  assert.ok(existsSync(join(dirB, 'new.txt')));
  assert.ok(!(await list(env.fs, '/mnt/a')).some((f) => f.name === 'b'));
  await env.fs.mount('/mnt/a/b2', fileUri(dirB));
  assert.is(await readText(env.fs, '/mnt/a/b2/in-b.txt'), 'hello from b');
  await env.fs.unmount('/mnt/a/b2');
  await env.fs.unmount('/mnt/a');
  assert.not.ok(await env.fs.exists('/mnt/a'));
  assert.is(await codeOf(env.fs.unmount('/mnt/a')), 'INVALID_ARGUMENT');
});

test.run();
