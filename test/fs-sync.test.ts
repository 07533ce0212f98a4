// Metadata sync over BOTH UFS kinds (issue 5: "must work on local and S3 mounts alike"),
// one suite parameterised by UFS, the UFS mounted nested at /data/ufs. Changes are made out
// of band, as another program would make them; UFS calls are counted through the report.
// A mode-only change exists on local disks only: S3 has no mode bits, that case is skipped
// there (and says so).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { codeOf, names, openEnv, readText, ufsCounter } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';
import { UFS_KINDS, openUfsKind } from './helpers/ufs-kinds.js';
import type { UfsKind, UfsKindName } from './helpers/ufs-kinds.js';

const M = '/data/ufs';
const NEVER_HIDE = { syncIntervalMs: -1, loadType: 'NEVER' } as const;

function syncSuite(kindName: UfsKindName) {
  const test = suite(`[${kindName}] metadata sync`);
  const ctx: { env?: Env; kind?: UfsKind } = {};
  const fs = () => ctx.env!.fs;
  const ufs = () => ctx.kind!;

  test.before(async () => {
    ctx.kind = await openUfsKind(kindName);
    ctx.env = await openEnv();
    await fs().createDirectory('/data');
    await fs().mount(M, ufs().mountUri, { options: ufs().mountOptions() });
  });
  test.after(async () => {
    await ctx.env?.dispose();
    await ctx.kind?.dispose();
  });

  test(`[${kindName}] interval -1 + NEVER hides an outside file; interval 0 shows it; delete and rename through Strata then work`, async () => {
    await fs().createDirectory(`${M}/s1`);
    assert.equal(await names(fs(), `${M}/s1`, { syncIntervalMs: 0 }), []);
    await ufs().putFile('s1/x', 'outside');
    await ufs().putFile('s1/y', 'outside too');
    assert.equal(await names(fs(), `${M}/s1`, NEVER_HIDE), [], 'listing hides it');
    assert.is(await codeOf(fs().getStatus(`${M}/s1/x`, NEVER_HIDE)), 'NOT_FOUND');
    assert.is(await fs().exists(`${M}/s1/x`, NEVER_HIDE), false);
    assert.equal(await names(fs(), `${M}/s1`, { syncIntervalMs: 0 }), ['x', 'y']);
    assert.is(await readText(fs(), `${M}/s1/x`), 'outside');
    await fs().delete(`${M}/s1/x`);
    assert.is(await ufs().readFile('s1/x'), null);
    await fs().rename(`${M}/s1/y`, `${M}/s1/z`);
    assert.equal(await ufs().list('s1'), ['z']);
    assert.equal(await names(fs(), `${M}/s1`, { syncIntervalMs: 0 }), ['z']);
    assert.is(await readText(fs(), `${M}/s1/z`), 'outside too');
  });

  test(`[${kindName}] an outside content change gives a new fileId and the new bytes`, async () => {
    await ufs().putFile('s2/f', 'AAAA');
    const st0 = await fs().getStatus(`${M}/s2/f`, { syncIntervalMs: 0 });
    assert.is(await readText(fs(), `${M}/s2/f`), 'AAAA');
    assert.is((await fs().getStatus(`${M}/s2/f`)).cachedBytes, 4);
    // same length, new bytes
    await ufs().putFile('s2/f', 'BBBB');
    assert.is(await readText(fs(), `${M}/s2/f`, { syncIntervalMs: -1 }), 'AAAA', 'interval -1: the cached copy');
    const st1 = await fs().getStatus(`${M}/s2/f`, { syncIntervalMs: 0 });
    assert.is.not(st1.fileId, st0.fileId, 'content change: new fileId');
    assert.is(st1.cachedBytes, 0, 'stale blocks dropped');
    assert.is(await readText(fs(), `${M}/s2/f`), 'BBBB');
    // caught by a listing sync too, with a new length
    await ufs().putFile('s2/f', 'CCCCCC');
    const l = (await names(fs(), `${M}/s2`, { syncIntervalMs: 0 }));
    assert.equal(l, ['f']);
    const st2 = await fs().getStatus(`${M}/s2/f`);
    assert.is.not(st2.fileId, st1.fileId);
    assert.is(st2.length, 6);
    assert.is(await readText(fs(), `${M}/s2/f`), 'CCCCCC');
  });

  test(`[${kindName}] a mode-only change keeps the fileId (local only: S3 has no mode bits)`, async () => {
    const chmod = ufs().chmod;
    if (!chmod) {
      // S3 objects carry no mode: there is no metadata-only change to make. Skipped on purpose.
      return;
    }
    await ufs().putFile('s3m/f', 'mode');
    const st0 = await fs().getStatus(`${M}/s3m/f`, { syncIntervalMs: 0 });
    await readText(fs(), `${M}/s3m/f`);
    await chmod('s3m/f', 0o600);
    const st1 = await fs().getStatus(`${M}/s3m/f`, { syncIntervalMs: 0 });
    assert.is(st1.fileId, st0.fileId);
    assert.is(st1.mode, 0o600);
    assert.is(st1.cachedBytes, 4, 'cached bytes kept');
  });

  test(`[${kindName}] an outside delete disappears with interval 0, not with -1`, async () => {
    await fs().writeFile(`${M}/s3d/gone`, Buffer.from('bye'), { recursive: true });
    await fs().writeFile(`${M}/s3d/stays`, Buffer.from('hi'));
    await ufs().deleteFile('s3d/gone');
    assert.equal(await names(fs(), `${M}/s3d`, { syncIntervalMs: -1 }), ['gone', 'stays']);
    assert.is(await fs().exists(`${M}/s3d/gone`, { syncIntervalMs: 0 }), false);
    assert.equal(await names(fs(), `${M}/s3d`, { syncIntervalMs: 0 }), ['stays']);
    assert.is(await codeOf(readText(fs(), `${M}/s3d/gone`)), 'NOT_FOUND');
  });

  test(`[${kindName}] loadMetadata -R counts created, updated and deleted`, async () => {
    await ufs().putFile('s4/a', 'a1');
    await ufs().putFile('s4/b', 'b1');
    await ufs().putFile('s4/sub/c', 'c1');
    await ufs().putFile('s4/sub/keep', 'k');
    const first = await fs().loadMetadata(`${M}/s4`, { recursive: true });
    assert.is(first.created, 6, `first load: ${JSON.stringify(first)}`); // s4, a, b, sub, sub/c, sub/keep
    assert.is(first.failed, 0);
    await ufs().putFile('s4/a', 'a2');           // updated (same length, new bytes)
    await ufs().deleteFile('s4/b');              // deleted
    await ufs().deleteFile('s4/sub/c');          // deleted
    await ufs().putFile('s4/sub/new', 'n');      // created
    await ufs().putFile('s4/sub2/deep/d', 'd');  // created: sub2, deep, d
    const s = await fs().loadMetadata(`${M}/s4`, { recursive: true });
    assert.equal({ created: s.created, updated: s.updated, deleted: s.deleted, failed: s.failed },
      { created: 4, updated: 1, deleted: 2, failed: 0 }, JSON.stringify(s));
    assert.ok(s.unchanged >= 2, `unchanged: ${JSON.stringify(s)}`);
    assert.equal(await names(fs(), `${M}/s4`), ['a', 'sub', 'sub2']);
    assert.equal(await names(fs(), `${M}/s4/sub`), ['keep', 'new']);
    assert.is(await readText(fs(), `${M}/s4/a`), 'a2');
    assert.is(await readText(fs(), `${M}/s4/sub2/deep/d`), 'd');
    const again = await fs().loadMetadata(`${M}/s4`, { recursive: true });
    assert.is(again.created + again.updated + again.deleted, 0, `nothing changed: ${JSON.stringify(again)}`);
  });

  test(`[${kindName}] probing a missing deep path twice costs one UFS getStatus under ONCE; needsSync or ALWAYS reveals it later`, async () => {
    // a directory made outside Strata and known by its status only: its children are not
    // known, so a probe below it must ask the UFS (a directory Strata created is known empty)
    await ufs().mkdir('s5');
    assert.is((await fs().getStatus(`${M}/s5`, { syncIntervalMs: 0 })).type, 'directory');
    const deep = `${M}/s5/m1/m2/m3/f`;
    const c = await ufsCounter(fs());
    assert.is(await codeOf(fs().getStatus(deep, { loadType: 'ONCE' })), 'NOT_FOUND');
    assert.is(await codeOf(fs().getStatus(deep, { loadType: 'ONCE' })), 'NOT_FOUND');
    const d = await c.delta();
    assert.is(d.getStatus ?? 0, 1, `UFS calls: ${JSON.stringify(d)}`);
    assert.is(await c.total(), 1, `only one UFS call in all: ${JSON.stringify(d)}`);
    // created later outside: still hidden under ONCE (the absent cache), shown by ALWAYS
    await ufs().putFile('s5/m1/m2/m3/f', 'late');
    assert.is(await fs().exists(deep, { loadType: 'ONCE' }), false);
    assert.is(await fs().exists(deep, { loadType: 'ALWAYS' }), true);
    assert.is(await readText(fs(), deep), 'late');
    // and needsSync clears it for another path
    assert.is(await fs().exists(`${M}/s5/n1/g`, { loadType: 'ONCE' }), false);
    await ufs().putFile('s5/n1/g', 'g');
    assert.is(await fs().exists(`${M}/s5/n1/g`, { loadType: 'ONCE' }), false, 'absent cache');
    await fs().needsSync(`${M}/s5/n1/g`);
    assert.is(await fs().exists(`${M}/s5/n1/g`, { loadType: 'ONCE' }), true, 'after needsSync');
  });

  test(`[${kindName}] a recursive sync of a tree with look-alike names, deep deletes, unpersisted files and Strata deletes`, async () => {
    // Names that sort around '/' ('b.txt' < 'b/' < 'b0') and a deep subtree.
    for (const f of ['t/a/b.txt', 't/a/b/c.txt', 't/a/b/d/e.txt', 't/a/b0', 't/a/c.txt', 't/z/deep/er/f.txt', 't/gone/x/y.txt']) {
      await ufs().putFile(f, f);
    }
    const progress: number[] = [];
    const s1 = await fs().loadMetadata(`${M}/t`, { recursive: true, onProgress: (p) => progress.push(p.done) });
    // Progress comes from the BFS per directory (local) or from the worker's flat sync over a
    // comlink port (S3); either way it is reported and grows.
    assert.ok(progress.length > 0, 'progress reported');
    assert.ok(progress.every((d, i) => i === 0 || d >= progress[i - 1]!), `progress grows: ${progress.join(',')}`);
    assert.is(s1.created, 16, JSON.stringify(s1)); // t itself, 7 files, a, a/b, a/b/d, z, z/deep, z/deep/er, gone, gone/x
    assert.equal(await names(fs(), `${M}/t/a`, NEVER_HIDE), ['b', 'b.txt', 'b0', 'c.txt']);
    assert.equal(await names(fs(), `${M}/t/a/b`, NEVER_HIDE), ['c.txt', 'd']);
    // Outside: a deep subtree goes away, a file changes; inside: an unpersisted file, a delete.
    await ufs().deleteFile('t/gone/x/y.txt');
    await ufs().putFile('t/a/b/c.txt', 'changed content');
    await fs().writeFile(`${M}/t/z/local-only`, Buffer.from('cache only'), { writeType: 'MUST_CACHE' });
    await fs().delete(`${M}/t/a/b0`);
    const s2 = await fs().loadMetadata(`${M}/t`, { recursive: true });
    assert.is(s2.created, 0, JSON.stringify(s2));
    assert.is(s2.updated, 1, JSON.stringify(s2));
    // S3: the directories existed only through that key and go with it; a local disk keeps them.
    const s3 = kindName === 's3';
    assert.is(s2.deleted, s3 ? 3 : 1, JSON.stringify(s2)); // gone, gone/x, gone/x/y.txt
    assert.equal(await names(fs(), `${M}/t`, NEVER_HIDE), s3 ? ['a', 'z'] : ['a', 'gone', 'z']);
    assert.equal(await names(fs(), `${M}/t/a`, NEVER_HIDE), ['b', 'b.txt', 'c.txt']);
    assert.equal(await names(fs(), `${M}/t/z`, NEVER_HIDE), ['deep', 'local-only']);
    assert.is(await readText(fs(), `${M}/t/a/b/c.txt`), 'changed content');
    // The whole tree counts as synced: a listing with a long interval costs no UFS call.
    const c = await ufsCounter(fs());
    assert.equal(await names(fs(), `${M}/t/z/deep/er`, { syncIntervalMs: 3_600_000 }), ['f.txt']);
    assert.is(await c.total(), 0);
  });

  return test;
}

for (const k of UFS_KINDS) syncSuite(k).run();
