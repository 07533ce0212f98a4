// A deleted, renamed or overwritten file never comes back from an old UFS copy: under every
// write type, after an overwrite, delete or rename the UFS holds what the client was told,
// the next sync (`ls -f`) does not resurrect the old content, and checkConsistency sees a
// stale UFS copy of an unpersisted file.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WriteType } from '../src/types.js';
import { codeOf, names, openEnv, readText } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;
test.before(async () => { env = await openEnv({ 'persist.initial.wait': '1h' }); });
test.after(async () => { await env.dispose(); });

const FIRST: WriteType[] = ['THROUGH', 'CACHE_THROUGH'];
const SECOND: WriteType[] = ['MUST_CACHE', 'ASYNC_THROUGH'];

let n = 0;
for (const w1 of FIRST) {
  for (const w2 of SECOND) {
    test(`${w1} v1, ${w2} v2, rm: the next ls -f does not bring v1 back`, async () => {
      const dir = `/rm${n++}`;
      await env.fs.createDirectory(dir);
      await env.fs.writeFile(`${dir}/f`, Buffer.from('v1-old'), { writeType: w1 });
      await env.fs.writeFile(`${dir}/f`, Buffer.from('v2-new!'), { writeType: w2, overwrite: true });
      assert.is(await readText(env.fs, `${dir}/f`), 'v2-new!');
      await env.fs.delete(`${dir}/f`);
      assert.not.ok(existsSync(join(env.ufsDir, dir, 'f')), 'the old UFS copy is gone');
      assert.equal(await names(env.fs, dir, { syncIntervalMs: 0 }), [], 'ls -f lists nothing');
      assert.is(await codeOf(env.fs.getStatus(`${dir}/f`, { syncIntervalMs: 0 })), 'NOT_FOUND');
    });

    test(`${w1} v1, ${w2} v2, mv: the old name stays gone, the new one has v2`, async () => {
      const dir = `/mv${n++}`;
      await env.fs.createDirectory(dir);
      await env.fs.writeFile(`${dir}/f`, Buffer.from('v1-old'), { writeType: w1 });
      await env.fs.writeFile(`${dir}/f`, Buffer.from('v2-new!'), { writeType: w2, overwrite: true });
      await env.fs.rename(`${dir}/f`, `${dir}/g`);
      assert.not.ok(existsSync(join(env.ufsDir, dir, 'f')), 'no UFS copy under the old name');
      assert.equal(await names(env.fs, dir, { syncIntervalMs: 0 }), ['g']);
      assert.is(await readText(env.fs, `${dir}/g`, { syncIntervalMs: 0 }), 'v2-new!');
    });
  }
}

test('MUST_CACHE over a persisted file removes the old UFS copy at once; checkConsistency stays clean', async () => {
  await env.fs.writeFile('/ow', Buffer.from('persisted'), { writeType: 'CACHE_THROUGH' });
  await env.fs.writeFile('/ow', Buffer.from('cache only'), { writeType: 'MUST_CACHE', overwrite: true });
  assert.not.ok(existsSync(join(env.ufsDir, 'ow')), 'the UFS no longer holds the replaced content');
  assert.equal((await env.fs.checkConsistency('/ow')).inconsistent, []);
  assert.is((await env.fs.getStatus('/ow', { syncIntervalMs: 0 })).persistenceState, 'NOT_PERSISTED');
  assert.is(await readText(env.fs, '/ow', { syncIntervalMs: 0 }), 'cache only');
});

test('checkConsistency reports a stale UFS copy under an unpersisted file', async () => {
  await env.fs.writeFile('/stale', Buffer.from('mine'), { writeType: 'MUST_CACHE' });
  writeFileSync(join(env.ufsDir, 'stale'), 'someone else');
  assert.equal((await env.fs.checkConsistency('/')).inconsistent, ['/stale']);
  await env.fs.delete('/stale');
  assert.not.ok(existsSync(join(env.ufsDir, 'stale')), 'delete of an unpersisted file removes a UFS entry at its path');
  assert.equal((await env.fs.checkConsistency('/')).inconsistent, []);
});

test('THROUGH over an unpersisted file: the UFS and Strata hold the new bytes', async () => {
  await env.fs.writeFile('/t', Buffer.from('cached'), { writeType: 'MUST_CACHE' });
  await env.fs.writeFile('/t', Buffer.from('through'), { writeType: 'THROUGH', overwrite: true });
  assert.is(readFileSync(join(env.ufsDir, 't'), 'utf8'), 'through');
  assert.is(await readText(env.fs, '/t', { syncIntervalMs: 0 }), 'through');
});

test.run();
