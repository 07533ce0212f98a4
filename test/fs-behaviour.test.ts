// File-system behaviour over BOTH UFS kinds with one suite parameterised by UFS (issue 4
// item 7): the UFS is mounted nested inside the local root at /data/ufs, and every case runs
// the same way on a local directory and on an S3 bucket prefix (real radosgw). What the UFS
// really holds is checked out of band (test/helpers/ufs-kinds.ts), UFS calls through
// getReport().ufsCalls. Directory markers, multipart uploads and S3 pagination are exercised
// by the S3 run of the same cases.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { codeOf, list, names, openEnv, readAll, readText, ufsCounter, waitFor } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';
import { UFS_KINDS, openUfsKind, parallel } from './helpers/ufs-kinds.js';
import type { UfsKind, UfsKindName } from './helpers/ufs-kinds.js';
import { WRITE_TYPES } from '../src/types.js';

const MB = 1024 * 1024;
const M = '/data/ufs';

function behaviourSuite(kindName: UfsKindName) {
  const test = suite(`[${kindName}] fs behaviour`);
  const ctx: { env?: Env; kind?: UfsKind } = {};
  const fs = () => ctx.env!.fs;
  const ufs = () => ctx.kind!;

  test.before(async () => {
    ctx.kind = await openUfsKind(kindName);
    ctx.env = await openEnv({ 'cache.block.size': '1MB', 'persist.initial.wait': '50ms' });
    await fs().createDirectory('/data');
    // partSize 5MB (the S3 minimum): a 12 MB file is a 3-part multipart upload.
    await fs().mount(M, ufs().mountUri, { options: ufs().mountOptions(kindName === 's3' ? { partSize: '5MB' } : {}) });
  });
  test.after(async () => {
    await ctx.env?.dispose();
    await ctx.kind?.dispose();
  });

  test(`[${kindName}] mount is nested in the local root and listed in the mount table`, async () => {
    const st = await fs().getStatus(M);
    assert.is(st.type, 'directory');
    assert.is(st.mountPoint, M);
    const row = (await fs().getMountTable()).find((m) => m.path === M);
    assert.ok(row, 'mount row');
    assert.is(row!.ufsUri, ufs().mountUri);
    assert.equal(await names(fs(), '/data'), ['ufs']);
  });

  test(`[${kindName}] mkdir -p writes every level to the UFS; an empty directory survives a forced sync`, async () => {
    const info = await fs().createDirectory(`${M}/a/b/c`, { recursive: true });
    assert.is(info.type, 'directory');
    for (const rel of ['a', 'a/b', 'a/b/c']) assert.ok(await ufs().exists(rel), `${rel} in the UFS`);
    assert.equal(await ufs().list('a/b'), ['c']);
    assert.is(await codeOf(fs().createDirectory(`${M}/a/b/c`)), 'ALREADY_EXISTS');
    assert.is((await fs().createDirectory(`${M}/a/b/c`, { recursive: true })).path, `${M}/a/b/c`);
    await fs().createDirectory(`${M}/empty`);
    // Strata forgets what it knew and asks the UFS again: the empty directory (S3: its marker) is still there.
    await fs().needsSync(M);
    assert.equal(await names(fs(), M, { syncIntervalMs: 0 }), ['a', 'empty']);
    assert.equal(await names(fs(), `${M}/empty`, { syncIntervalMs: 0 }), []);
    assert.is((await fs().getStatus(`${M}/empty`, { syncIntervalMs: 0 })).type, 'directory');
    const s = await fs().loadMetadata(M, { recursive: true });
    assert.is(s.deleted, 0, 'a recursive sync deletes no empty directory');
    assert.ok(await ufs().exists('empty'));
  });

  for (const writeType of WRITE_TYPES) {
    test(`[${kindName}] ${writeType}: a multi-block file (1MB blocks) reads back byte-identical; the UFS holds what the write type says`, async () => {
      const data = randomBytes(2 * MB + 12345);
      const p = `${M}/wt/${writeType}.bin`;
      const info = await fs().writeFile(p, data, { writeType, recursive: true });
      assert.is(info.length, data.length);
      assert.ok((await readAll(fs().readFile(p))).equals(data), 'read back');
      const rel = `wt/${writeType}.bin`;
      if (writeType === 'MUST_CACHE') {
        assert.is(info.persistenceState, 'NOT_PERSISTED');
        assert.is(await ufs().readFile(rel), null, 'nothing in the UFS');
      } else if (writeType === 'ASYNC_THROUGH') {
        await waitFor(async () => (await fs().getStatus(p)).persistenceState === 'PERSISTED', 'persisted');
        assert.ok((await ufs().readFile(rel))!.equals(data), 'UFS copy after persisting');
      } else {
        assert.is(info.persistenceState, 'PERSISTED');
        assert.is(info.cachedBytes, writeType === 'THROUGH' ? 0 : data.length);
        assert.ok((await ufs().readFile(rel))!.equals(data), 'UFS copy');
      }
      // read again after dropping the cache (persisted types): the bytes come from the UFS
      if (writeType !== 'MUST_CACHE') {
        await fs().free(p);
        assert.ok((await readAll(fs().readFile(p, { readType: 'NO_CACHE' }))).equals(data), 'read from the UFS');
      }
    });
  }

  test(`[${kindName}] a 12 MB file (S3: multipart, 5MB parts) round-trips byte-identical`, async () => {
    const data = randomBytes(12 * MB + 3);
    const p = `${M}/large.bin`;
    await fs().writeFile(p, data, { writeType: 'CACHE_THROUGH' });
    assert.ok((await ufs().readFile('large.bin'))!.equals(data), 'UFS copy');
    if (ufs().etag) assert.match((await ufs().etag!('large.bin')) ?? '', /-3"?$/, 'a 3-part multipart upload');
    assert.ok((await readAll(fs().readFile(p))).equals(data), 'hot read');
    await fs().free(p);
    assert.ok((await readAll(fs().readFile(p))).equals(data), 'cold read');
    // streamed source of unknown length in odd-sized chunks
    async function* chunks() { for (let o = 0; o < data.length; o += 777_777) yield data.subarray(o, o + 777_777); }
    await fs().writeFile(`${M}/large-streamed.bin`, chunks(), { writeType: 'THROUGH' });
    assert.ok((await ufs().readFile('large-streamed.bin'))!.equals(data), 'streamed UFS copy');
  });

  test(`[${kindName}] ranged and tail reads, cold (from the UFS) and hot`, async () => {
    const data = randomBytes(3 * MB + 100);
    await ufs().putFile('ranged.bin', data);
    const p = `${M}/ranged.bin`;
    const at = (o: number, n: number) => data.subarray(o, o + n);
    // /data/ufs was listed already: a file added outside since is seen by a synced access
    assert.ok((await readAll(fs().readFile(p, { offset: MB + 10, length: 100, syncIntervalMs: 0 }))).equals(at(MB + 10, 100)));
    // a ranged cold read caches only the block it touched
    assert.is((await fs().getStatus(p)).cachedBytes, MB);
    assert.ok((await readAll(fs().readFile(p, { offset: MB - 5, length: 10 }))).equals(at(MB - 5, 10)), 'across a block boundary');
    assert.ok((await readAll(fs().readFile(p, { tail: 50 }))).equals(data.subarray(data.length - 50)), 'tail');
    assert.ok((await readAll(fs().readFile(p, { offset: 3 * MB }))).equals(data.subarray(3 * MB)), 'offset to the end');
    assert.ok((await readAll(fs().readFile(p, { tail: 10 * MB }))).equals(data), 'tail longer than the file');
    assert.ok((await readAll(fs().readFile(p))).equals(data), 'whole');
    const c = await ufsCounter(fs());
    assert.ok((await readAll(fs().readFile(p, { offset: 2 * MB + 1, length: 5 }))).equals(at(2 * MB + 1, 5)), 'hot ranged');
    assert.equal(await c.delta(), {}, 'hot ranged read: no UFS call');
  });

  test(`[${kindName}] cold read caches; the hot read makes zero UFS read calls (and zero calls at all)`, async () => {
    const data = randomBytes(MB + 999);
    await ufs().putFile('cold/outside.bin', data);
    const p = `${M}/cold/outside.bin`;
    const c1 = await ufsCounter(fs());
    assert.ok((await readAll(fs().readFile(p, { syncIntervalMs: 0 }))).equals(data), 'cold read (synced: added outside)');
    assert.ok(((await c1.delta()).read ?? 0) >= 1, 'cold read went to the UFS');
    assert.is((await fs().getStatus(p)).cachedBytes, data.length);
    const c2 = await ufsCounter(fs());
    for (let i = 0; i < 2; i++) assert.ok((await readAll(fs().readFile(p))).equals(data));
    const d = await c2.delta();
    assert.is(d.read ?? 0, 0, 'hot read: no UFS read');
    assert.equal(d, {}, 'hot read: no UFS call at all');
  });

  test(`[${kindName}] rename a file and a directory (S3: copy + delete)`, async () => {
    await fs().writeFile(`${M}/mv/f1`, Buffer.from('one'), { recursive: true });
    await fs().rename(`${M}/mv/f1`, `${M}/mv/f2`);
    assert.is(await readText(fs(), `${M}/mv/f2`), 'one');
    assert.is(await fs().exists(`${M}/mv/f1`), false);
    assert.is(await ufs().readFile('mv/f1'), null);
    assert.is((await ufs().readFile('mv/f2'))!.toString(), 'one');

    await fs().createDirectory(`${M}/mv/d/sub/empty`, { recursive: true });
    await fs().writeFile(`${M}/mv/d/a`, Buffer.from('A'));
    await fs().writeFile(`${M}/mv/d/sub/b`, Buffer.from('BB'));
    await fs().rename(`${M}/mv/d`, `${M}/mv/e`);
    assert.equal(await names(fs(), `${M}/mv`), ['e', 'f2']);
    assert.equal((await list(fs(), `${M}/mv/e`, { recursive: true })).map((f) => f.path).sort(),
      [`${M}/mv/e/a`, `${M}/mv/e/sub`, `${M}/mv/e/sub/b`, `${M}/mv/e/sub/empty`]);
    assert.is(await readText(fs(), `${M}/mv/e/sub/b`), 'BB');
    assert.is(await ufs().exists('mv/d'), false, 'source gone from the UFS');
    assert.equal(await ufs().list('mv/e'), ['a', 'sub']);
    assert.equal(await ufs().list('mv/e/sub'), ['b', 'empty']);
    // and the UFS agrees after a forced sync
    await fs().needsSync(`${M}/mv`);
    assert.equal((await list(fs(), `${M}/mv`, { recursive: true, syncIntervalMs: 0 })).map((f) => f.path).sort(),
      [`${M}/mv/e`, `${M}/mv/e/a`, `${M}/mv/e/sub`, `${M}/mv/e/sub/b`, `${M}/mv/e/sub/empty`, `${M}/mv/f2`]);
    assert.is(await codeOf(fs().rename(`${M}/mv/e`, `${M}/mv/e/sub/x`)), 'INVALID_PATH');
  });

  test(`[${kindName}] recursive delete removes the subtree in Strata and the UFS; the parent stays`, async () => {
    await fs().createDirectory(`${M}/del/t/u/v`, { recursive: true });
    for (let i = 0; i < 30; i++) await fs().writeFile(`${M}/del/t/u/f${i}`, Buffer.from(`f${i}`));
    await fs().writeFile(`${M}/del/t/top`, Buffer.from('top'));
    assert.is(await codeOf(fs().delete(`${M}/del/t`)), 'DIRECTORY_NOT_EMPTY');
    await fs().delete(`${M}/del/t`, { recursive: true });
    assert.is(await fs().exists(`${M}/del/t`), false);
    assert.is(await ufs().exists('del/t'), false);
    assert.ok(await ufs().exists('del'), 'parent survives (S3: marker written)');
    assert.equal(await names(fs(), `${M}/del`, { syncIntervalMs: 0 }), []);
  });

  test(`[${kindName}] a directory of 2,500 entries written outside Strata is listed in full (S3: paged past 1,000)`, async () => {
    const N = 2500;
    const want = Array.from({ length: N }, (_, i) => `k${String(i).padStart(5, '0')}`);
    await ufs().mkdir('many');
    await parallel(want, 64, (n) => ufs().putFile(`many/${n}`, n));
    let pages = 0;
    const got: string[] = [];
    for await (const page of fs().listStatus(`${M}/many`, { syncIntervalMs: 0, pageSize: 500 })) {
      pages++;
      got.push(...page.map((f) => f.name));
    }
    assert.is(got.length, N);
    assert.equal(got.sort(), want);
    assert.ok(pages >= 5, `streamed in pages (${pages})`);
    assert.is(await readText(fs(), `${M}/many/k02499`), 'k02499');
    const s = await fs().loadMetadata(`${M}/many`);
    assert.is(s.created + s.updated + s.deleted, 0, 'nothing changed');
  });

  return test;
}

for (const k of UFS_KINDS) behaviourSuite(k).run();
