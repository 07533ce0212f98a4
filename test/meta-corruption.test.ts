// A metadata file Strata did not write (garbage, zeros, a truncated copy, a newer format)
// gives a clear one-line error and a non-zero exit, never a crash by signal.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { cpSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { FORMAT_VERSION } from '../src/meta/store-format.js';
import { rejects } from './helpers/assert.js';
import { runCli, startServer, tempDir } from './helpers/server.js';

const dirs: string[] = [];
let good: string;

test.before(async () => {
  const s = await startServer();
  try {
    good = s.dataDir;
    dirs.push(good);
    const r = await runCli(['fs', '--address', s.address, 'mkdir', '/kept']);
    assert.is(r.code, 0, r.stderr);
    const code = await s.stop();
    assert.is(code, 0, `the server's exit (a signal is a crash): ${code}\n${s.stderr()}`);
  } catch (err) {
    // uvu counts a failed hook as failed tests without printing why.
    console.error('test.before failed:', err);
    throw err;
  }
});
test.after(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

async function copyWith(name: string, damage: (file: string) => void): Promise<string> {
  const dir = await tempDir(`strata-corrupt-${name}-`);
  dirs.push(dir);
  cpSync(good, dir, { recursive: true });
  damage(join(dir, 'meta', 'data.mdb'));
  return dir;
}

const cases: Array<[string, (file: string) => void, RegExp]> = [
  ['garbage', (f) => writeFileSync(f, randomBytes(statSync(f).size)), /no LMDB header/],
  ['zeros', (f) => writeFileSync(f, Buffer.alloc(statSync(f).size)), /no LMDB header/],
  ['truncated', (f) => truncateSync(f, 16384), /truncated/],
  ['one-page', (f) => truncateSync(f, 4000), /truncated|no LMDB header/],
  ['empty', (f) => truncateSync(f, 0), /empty/],
];

for (const [name, damage, why] of cases) {
  test(`a ${name} metadata file: the server prints one clear line and exits non-zero`, async () => {
    const dir = await copyWith(name, damage);
    const r = await runCli(['server', '--port', '0', '--data-dir', dir]);
    assert.is(r.code, 1, `exit code (128+ would be a signal): ${r.code} ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^strata: FAILED_PRECONDITION: the metadata file .*data\.mdb is not a usable Strata metadata store/);
    assert.match(lines[0]!, why);
  });
}

test('a store whose meta counts pages past the end of the file opens (pages LMDB allocated and freed before a commit, never written: seen after kill -9)', async () => {
  const dir = await copyWith('loose-pages', (f) => {
    const d = readFileSync(f);
    const ps = d.readUInt32LE(24 + 24); // the page size, in the first meta
    const newest = d.readBigUInt64LE(24 + 128) > d.readBigUInt64LE(ps + 24 + 128) ? 0 : ps;
    d.writeBigUInt64LE(BigInt(d.length / ps) + 3n, newest + 24 + 120); // mm_last_pg
    writeFileSync(f, d);
  });
  const c = await Coordinator.open({ dataDir: dir });
  try {
    assert.is((await c.getStatus('/kept')).type, 'directory');
    for (let i = 0; i < 200; i++) await c.createDirectory(`/kept/d${i}`);
  } finally {
    await c.close();
  }
  const again = await Coordinator.open({ dataDir: dir });
  try {
    assert.is((await again.getStatus('/kept/d199')).type, 'directory');
  } finally {
    await again.close();
  }
});

test('a format record of a newer Strata is refused with UNSUPPORTED_VERSION; an intact copy opens', async () => {
  const dir = await copyWith('intact', () => undefined);
  const c = await Coordinator.open({ dataDir: dir });
  assert.is((await c.getStatus('/kept')).type, 'directory');
  await c.store.transact((tx) => tx.put('sys', 'format', { magic: 'strata-meta', version: 99, createdMs: 0 }));
  await c.close();
  const err = await rejects(Coordinator.open({ dataDir: dir }), 'UNSUPPORTED_VERSION');
  assert.match(err.message, 'version 99');
  await c.close();
  // A store of the previous layout (version 1, before children versions) is upgraded in place,
  // so that a build of that layout refuses it from then on.
  const older = await copyWith('older', () => undefined);
  const c3 = await Coordinator.open({ dataDir: older });
  await c3.store.transact((tx) => tx.put('sys', 'format', { magic: 'strata-meta', version: 1, createdMs: 5 }));
  await c3.close();
  const c4 = await Coordinator.open({ dataDir: older });
  assert.is((await c4.getStatus('/kept')).type, 'directory');
  assert.equal(c4.store.get('sys', 'format'), { magic: 'strata-meta', version: FORMAT_VERSION, createdMs: 5 });
  await c4.close();
  // A record that is not Strata's at all.
  const other = await copyWith('foreign', () => undefined);
  const c2 = await Coordinator.open({ dataDir: other });
  await c2.store.transact((tx) => tx.put('sys', 'format', 'hello'));
  await c2.close();
  await rejects(Coordinator.open({ dataDir: other }), 'FAILED_PRECONDITION');
});

test.run();
