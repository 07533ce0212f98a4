// Concurrency: many operations on disjoint subtrees all succeed; operations on the same
// path are linearizable (exactly one creator wins, the others see ALREADY_EXISTS).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { list, names, openEnv, readText, serveTcp } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;

test.before(async () => {
  env = await openEnv();
});
test.after(() => env.dispose());

async function settle<T>(ps: Array<Promise<T>>): Promise<{ ok: T[]; codes: string[] }> {
  const rs = await Promise.allSettled(ps);
  const ok: T[] = [];
  const codes: string[] = [];
  for (const r of rs) {
    if (r.status === 'fulfilled') ok.push(r.value);
    else codes.push((r.reason as { code?: string }).code ?? String(r.reason));
  }
  return { ok, codes };
}

test('concurrent mkdirs and writes on disjoint subtrees all succeed', async () => {
  const SUBTREES = 16;
  const FILES = 10;
  const ops: Array<Promise<unknown>> = [];
  for (let s = 0; s < SUBTREES; s++) {
    ops.push((async () => {
      await env.fs.createDirectory(`/t${s}/x/y`, { recursive: true });
      await Promise.all(Array.from({ length: FILES }, (_, f) => env.fs.writeFile(`/t${s}/x/y/f${f}`, Buffer.from(`${s}-${f}`))));
    })());
  }
  const { codes } = await settle(ops);
  assert.equal(codes, []);
  for (let s = 0; s < SUBTREES; s++) {
    assert.is((await names(env.fs, `/t${s}/x/y`)).length, FILES);
    assert.is(readdirSync(join(env.ufsDir, `t${s}/x/y`)).length, FILES);
    assert.is(await readText(env.fs, `/t${s}/x/y/f3`), `${s}-3`);
  }
});

test('concurrent mkdir -p of overlapping paths all succeed and build one tree', async () => {
  const paths = Array.from({ length: 30 }, (_, i) => `/shared/a/b${i % 3}/c${i}`);
  const { codes } = await settle(paths.map((p) => env.fs.createDirectory(p, { recursive: true })));
  assert.equal(codes, []);
  assert.equal(await names(env.fs, '/shared/a'), ['b0', 'b1', 'b2']);
  assert.is((await list(env.fs, '/shared', { recursive: true })).length, 1 + 3 + 30);
});

test('20 concurrent writeFile without overwrite to one path: exactly one wins', async () => {
  await env.fs.createDirectory('/race');
  const { ok, codes } = await settle(Array.from({ length: 20 }, (_, i) => env.fs.writeFile('/race/one', Buffer.from(`writer-${i}`))));
  assert.is(ok.length, 1);
  assert.is(codes.length, 19);
  assert.ok(codes.every((c) => c === 'ALREADY_EXISTS'), codes.join(','));
  const winner = await readText(env.fs, '/race/one');
  assert.match(winner, /^writer-\d+$/);
  assert.is(readFileSync(join(env.ufsDir, 'race/one'), 'utf8'), winner);
  assert.is(ok[0]!.fileId, (await env.fs.getStatus('/race/one')).fileId);
});

test('20 concurrent mkdir of one path: exactly one wins', async () => {
  const { ok, codes } = await settle(Array.from({ length: 20 }, () => env.fs.createDirectory('/race/dir')));
  assert.is(ok.length, 1);
  assert.ok(codes.every((c) => c === 'ALREADY_EXISTS'), codes.join(','));
});

test('20 concurrent overwrites of one path: the final content is one whole write', async () => {
  await settle(Array.from({ length: 20 }, (_, i) => env.fs.writeFile('/race/ow', Buffer.from(`v${i}-`.repeat(1000)), { overwrite: true })));
  const content = await readText(env.fs, '/race/ow');
  const m = /^v(\d+)-/.exec(content);
  assert.ok(m);
  assert.is(content, `v${m![1]}-`.repeat(1000));
  assert.is(readFileSync(join(env.ufsDir, 'race/ow'), 'utf8'), content);
  assert.is((await names(env.fs, '/race')).filter((n) => n === 'ow').length, 1);
});

test('concurrent renames of one source: exactly one wins', async () => {
  await env.fs.writeFile('/race/src', Buffer.from('moving'));
  const { ok, codes } = await settle(Array.from({ length: 10 }, (_, i) => env.fs.rename('/race/src', `/race/dst${i}`)));
  assert.is(ok.length, 1);
  assert.ok(codes.every((c) => c === 'NOT_FOUND'), codes.join(','));
  const dsts = (await names(env.fs, '/race')).filter((n) => n.startsWith('dst'));
  assert.is(dsts.length, 1);
  assert.is(await readText(env.fs, `/race/${dsts[0]}`), 'moving');
});

test('concurrent delete and write of one path: the namespace and the UFS agree', async () => {
  for (let round = 0; round < 10; round++) {
    await env.fs.writeFile('/race/dw', Buffer.from('old'), { overwrite: true });
    await settle<unknown>([env.fs.delete("/race/dw"), env.fs.writeFile("/race/dw", Buffer.from("new"), { overwrite: true })]);
    const inStrata = await env.fs.exists('/race/dw', { syncIntervalMs: -1 });
    let inUfs: string | undefined;
    try { inUfs = readFileSync(join(env.ufsDir, 'race/dw'), 'utf8'); } catch { inUfs = undefined; }
    assert.is(inStrata, inUfs !== undefined, `round ${round}`);
    if (inStrata) assert.is(await readText(env.fs, '/race/dw'), inUfs);
  }
});

test('a full mailbox cannot deadlock: 300 concurrent creates in one shard that each need a UFS check', async () => {
  // Each create of a path Strata has not seen asks the UFS first (load type ONCE, parent never
  // listed); that check runs in the shard's sync lane, never waiting for a slot of the
  // mutation mailbox it is called from.
  mkdirSync(join(env.ufsDir, 'outside', 'sub'), { recursive: true });
  const n = 300;
  const r = await settle(Array.from({ length: n }, (_, i) =>
    env.fs.writeFile(`/outside/sub/f${i}`, Buffer.from(String(i)), { writeType: 'MUST_CACHE' })));
  assert.is(r.codes.length, 0, r.codes.join(','));
  assert.is((await names(env.fs, '/outside/sub')).length, n);
});

test('many clients over TCP on disjoint paths, pipelined on each connection', async () => {
  const tcp = await serveTcp(env.fs);
  try {
    const { codes } = await settle(Array.from({ length: 50 }, (_, i) =>
      tcp.client.writeFile(`/tcp/c${i % 5}/f${i}`, Buffer.from(`t${i}`), { recursive: true })));
    assert.equal(codes, []);
    assert.is((await list(tcp.client, '/tcp', { recursive: true })).filter((f) => f.type === 'file').length, 50);
  } finally {
    await tcp.close();
  }
});

test.run();
