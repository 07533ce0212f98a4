// A cold read checks that the UFS object is the version the metadata describes (local: fstat
// of the opened file; S3: If-Match on the ETag of every ranged GET plus the object's size).
// A file replaced outside Strata is never served or cached as another version: before the
// first byte the file is re-synced and its new version served (docs/semantics.md).
// Both UFS kinds; the S3 kind runs against the real radosgw.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { codeOf, openEnv, readAll, readText } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';
import { UFS_KINDS, openUfsKind } from './helpers/ufs-kinds.js';
import type { UfsKind } from './helpers/ufs-kinds.js';
import { UfsChangedError } from '../src/ufs/ufs.js';
import { createUfs } from '../src/ufs/registry.js';

for (const kindName of UFS_KINDS) {
  let env: Env;
  let kind: UfsKind;
  const t = (name: string, fn: () => Promise<void>) => test(`${kindName}: ${name}`, async () => {
    env = await openEnv({ 'cache.block.size': '64KB' });
    kind = await openUfsKind(kindName);
    try {
      await env.fs.mount('/m', kind.mountUri, { options: kind.mountOptions() });
      await fn();
    } finally {
      await env.dispose();
      await kind.dispose();
    }
  });

  t('a 6-byte file replaced by 16 bytes after ls: cat serves the new 16 bytes, never the first 6', async () => {
    await kind.putFile('f.txt', 'sixsix');
    const listed = [];
    for await (const page of env.fs.listStatus('/m')) listed.push(...page);
    assert.equal(listed.map((f) => [f.name, f.length]), [['f.txt', 6]]);
    await kind.putFile('f.txt', '0123456789abcdef');
    const text = await readText(env.fs, '/m/f.txt');
    assert.is.not(text, '012345', 'the first 6 bytes of the new version were served as the file');
    assert.is(text, '0123456789abcdef');
    const st = await env.fs.getStatus('/m/f.txt', { syncIntervalMs: -1 });
    assert.is(st.length, 16);
    assert.is(st.cachedBytes, 16, 'the new version is cached, not the old length of it');
    assert.is(await readText(env.fs, '/m/f.txt'), '0123456789abcdef', 'hot read of the new version');
    assert.ok(((await env.fs.getReport()).cache.ufsChangedResyncs ?? 0) >= 1);
  });

  t('a same-size replacement is detected too (NO_CACHE read)', async () => {
    await kind.putFile('g.txt', 'aaaaaaaa');
    await env.fs.getStatus('/m/g.txt');
    await kind.putFile('g.txt', 'bbbbbbbb');
    assert.is(await readText(env.fs, '/m/g.txt', { readType: 'NO_CACHE' }), 'bbbbbbbb');
  });

  t('the UFS itself refuses a read with a stale fingerprint (UfsChangedError), and serves a fresh one', async () => {
    await kind.putFile('h.txt', 'version one');
    const ufs = createUfs(kind.mountUri, kind.mountOptions());
    try {
      const before = (await ufs.getStatus('h.txt'))!;
      await kind.putFile('h.txt', 'version two!!');
      let err: unknown;
      try {
        await readAll(ufs.read('h.txt', { offset: 0, length: 4, fingerprint: before.contentHash }));
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof UfsChangedError, `expected UfsChangedError, got ${String(err)}`);
      assert.is((err as UfsChangedError).code, 'FAILED_PRECONDITION');
      const now = (await ufs.getStatus('h.txt'))!;
      assert.is((await readAll(ufs.read('h.txt', { offset: 8, length: 5, fingerprint: now.contentHash }))).toString(), 'two!!');
    } finally {
      await ufs.close();
    }
  });

  t('a change in the middle of a multi-block read fails it clearly and the next read is the new version', async () => {
    const v1 = Buffer.alloc(200_000, 1);
    const v2 = Buffer.alloc(300_000, 2);
    await kind.putFile('big', v1);
    // Block 0 cached from v1; the other blocks still cold.
    assert.is((await readAll(env.fs.readFile('/m/big', { offset: 0, length: 10 }))).length, 10);
    await kind.putFile('big', v2);
    const code = await codeOf(readAll(env.fs.readFile('/m/big')));
    assert.is(code, 'FAILED_PRECONDITION');
    const again = await readAll(env.fs.readFile('/m/big'));
    assert.ok(again.equals(v2));
  });
}

test.run();
