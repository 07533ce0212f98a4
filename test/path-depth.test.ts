// path.max.depth in every front end, and deep local paths: a path with more components
// than the limit is INVALID_PATH in library mode (the Coordinator: normalizePath) and over
// TCP (a real server process); a local chain deeper than realpath's comfort (resolved in
// linear time through /proc/self/fd) loads completely and keeps the symlink rules.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataClient } from '../src/client/tcp-client.js';
import { LocalUfs } from '../src/ufs/local/local-ufs.js';
import { realPath } from '../src/ufs/local/real-path.js';
import { codeOf, fileUri, openEnv, tempDir } from './helpers/fixture.js';
import { startServer, type ServerHandle } from './helpers/server.js';

const deep = (n: number, name = 'd'): string => '/' + Array.from({ length: n }, () => name).join('/');

test('library mode: a path deeper than path.max.depth is INVALID_PATH, the limit itself is served', async () => {
  const env = await openEnv({ 'path.max.depth': '16' });
  try {
    const fs = env.fs;
    await fs.createDirectory(deep(16), { recursive: true });
    assert.is((await fs.getStatus(deep(16))).type, 'directory');
    for (const call of [
      () => fs.getStatus(deep(17)),
      () => fs.createDirectory(deep(17), { recursive: true }),
      () => fs.writeFile(deep(17) + 'f', Buffer.from('x')),
      () => fs.rename(deep(16), deep(20)),
      () => fs.loadMetadata(deep(40), { recursive: true }),
    ]) assert.is(await codeOf(call), 'INVALID_PATH');
    const err = await fs.getStatus(deep(30)).catch((e: Error) => e);
    assert.match(String((err as Error).message), /30 components is deeper than path\.max\.depth \(16\)/);
  } finally {
    await env.dispose();
  }
  // The default (512) applies to a coordinator opened without the key.
  const env2 = await openEnv();
  try {
    assert.is(await codeOf(env2.fs.getStatus(deep(513, 'a'))), 'INVALID_PATH');
    assert.is(await codeOf(env2.fs.getStatus(deep(512, 'a'))), 'NOT_FOUND');
  } finally {
    await env2.dispose();
  }
});

test('library mode: two coordinators in one process each hold their own path.max.depth', async () => {
  const strict = await openEnv({ 'path.max.depth': '8' });
  const loose = await openEnv({ 'path.max.depth': '600' });
  try {
    // Opening `loose` after `strict` must not relax `strict`, nor `strict` tighten `loose`.
    assert.is(await codeOf(strict.fs.getStatus(deep(9))), 'INVALID_PATH');
    assert.is(await codeOf(loose.fs.getStatus(deep(9))), 'NOT_FOUND');
    assert.is(await codeOf(loose.fs.getStatus(deep(600, 'a'))), 'NOT_FOUND');
    assert.is(await codeOf(loose.fs.getStatus(deep(601, 'a'))), 'INVALID_PATH');
    assert.is(await codeOf(strict.fs.getStatus(deep(8))), 'NOT_FOUND');
  } finally {
    await strict.dispose();
    await loose.dispose();
  }
});

test('TCP (real server process): deeper than path.max.depth is INVALID_PATH, shallower is served', async () => {
  let srv: ServerHandle | undefined;
  try {
    srv = await startServer({ args: ['-D', 'path.max.depth=20'] });
    const c = await StrataClient.connect(srv.address, { token: srv.token });
    try {
      await c.createDirectory(deep(20), { recursive: true });
      assert.is((await c.getStatus(deep(20))).type, 'directory');
      assert.is(await codeOf(c.getStatus(deep(21))), 'INVALID_PATH');
      assert.is(await codeOf(c.createDirectory(deep(21), { recursive: true })), 'INVALID_PATH');
    } finally {
      await c.close();
    }
  } finally {
    await srv?.stop();
    if (srv) await rm(srv.dataDir, { recursive: true, force: true });
  }
});

test('a 300-level local chain loads whole; deep paths keep the symlink rules', async () => {
  const env = await openEnv({ 'path.max.depth': '200' });
  const outside = await tempDir('strata-outside-');
  env.track(outside);
  try {
    // path.max.depth caps the paths a client names, not the depth a sync may reach below a
    // path it named: with the limit at 200, a 300-level chain loads whole.
    let p = join(env.ufsDir, 'chain');
    for (let i = 0; i < 300; i++) p = join(p, 'd');
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, 'f'), 'x');
    const s = await env.fs.loadMetadata('/chain', { recursive: true });
    assert.is(s.created, 302); // /chain, 300 directories, the file
    assert.is(s.failed, 0);
    assert.is((await env.fs.getStatus('/chain' + deep(199))).type, 'directory');
    assert.is(await codeOf(env.fs.getStatus('/chain' + deep(200))), 'INVALID_PATH');

    // realPath agrees with realpath(3) on a deep path through a symlink inside the root.
    let q = join(env.ufsDir, 'links');
    for (let i = 0; i < 40; i++) q = join(q, 'l');
    mkdirSync(q, { recursive: true });
    symlinkSync(join(env.ufsDir, 'chain'), join(q, 'inside'));
    const viaLink = join(q, 'inside', ...Array.from({ length: 30 }, () => 'd'));
    assert.is(await realPath(viaLink), await realpath(viaLink));
    assert.is(await codeOf(realPath(join(q, 'missing', 'x'))), 'ENOENT');

    // A symlink at depth 40 that leaves the root is refused, as at any depth.
    mkdirSync(join(outside, 'secret'));
    writeFileSync(join(outside, 'secret', 'file'), 'secret');
    symlinkSync(outside, join(q, 'out'));
    const ufs = new LocalUfs(fileUri(env.ufsDir));
    const rel = 'links/' + Array.from({ length: 40 }, () => 'l').join('/');
    assert.is(await codeOf(ufs.getStatus(`${rel}/out/secret/file`)), 'PERMISSION_DENIED');
    assert.is(await codeOf(async () => { for await (const _ of ufs.list(`${rel}/out/secret`)) { /* drain */ } }), 'PERMISSION_DENIED');
    assert.is((await ufs.getStatus(`${rel}/inside/d/d`))?.type, 'directory');
  } finally {
    await env.dispose();
  }
});

test.run();
