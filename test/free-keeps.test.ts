// free DIR frees everything that can be freed and reports what it kept and why: unpersisted
// files (their cached data is the only copy) and pinned ones keep their data; the call
// succeeds. free of one such file is still refused with FAILED_PRECONDITION.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { codeOf, openEnv, readAll } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;

test.before(async () => {
  env = await openEnv({ 'persist.initial.wait': '1h' });
});
test.after(() => env.dispose());

const bytes = (n: number, seed: number) => Buffer.alloc(n, seed);

test('free of a directory frees persisted files, keeps unpersisted and pinned ones, says why', async () => {
  await env.fs.createDirectory('/d/sub', { recursive: true });
  await env.fs.writeFile('/d/p1', bytes(40_000, 1));
  await env.fs.writeFile('/d/sub/p2', bytes(50_000, 2));
  await env.fs.writeFile('/d/mc', bytes(60_000, 3), { writeType: 'MUST_CACHE' });
  await env.fs.writeFile('/d/sub/async', bytes(70_000, 4), { writeType: 'ASYNC_THROUGH' });
  await env.fs.writeFile('/d/pinned', bytes(80_000, 5));
  await env.fs.setPinned('/d/pinned', true);

  const r = await env.fs.free('/d', { recursive: true });
  assert.is(r.files, 2);
  assert.is(r.bytes, 90_000);
  assert.is(r.keptFiles, 3);
  assert.is(r.keptBytes, 60_000 + 70_000 + 80_000);
  const kept = Object.fromEntries((r.kept ?? []).map((k) => [k.path, k.reason]));
  assert.equal(Object.keys(kept).sort(), ['/d/mc', '/d/pinned', '/d/sub/async']);
  assert.match(kept['/d/mc']!, /NOT_PERSISTED.*only copy/);
  assert.match(kept['/d/sub/async']!, /TO_BE_PERSISTED/);
  assert.match(kept['/d/pinned']!, /pinned/);

  for (const p of ['/d/p1', '/d/sub/p2']) assert.is((await env.fs.getStatus(p)).cachedBytes, 0, p);
  for (const p of ['/d/mc', '/d/sub/async', '/d/pinned']) assert.ok((await env.fs.getStatus(p)).cachedBytes > 0, p);
  assert.ok((await readAll(env.fs.readFile('/d/mc'))).equals(bytes(60_000, 3)));
  assert.ok((await readAll(env.fs.readFile('/d/p1'))).equals(bytes(40_000, 1)), 'freed file read back from the UFS');
});

test('free of one file that must keep its data is FAILED_PRECONDITION; nothing to keep: no kept fields', async () => {
  assert.is(await codeOf(env.fs.free('/d/mc')), 'FAILED_PRECONDITION');
  await env.fs.createDirectory('/clean');
  await env.fs.writeFile('/clean/a', bytes(10, 1));
  const r = await env.fs.free('/clean');
  assert.is(r.keptFiles, undefined);
  assert.is(r.kept, undefined);
});

test.run();
