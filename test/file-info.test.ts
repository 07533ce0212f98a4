// The FileInfo of a file, a directory and a mount point: every field present in one order
// (FILE_INFO_KEYS; a mount point adds isMountPoint), so that V8 gives file and directory infos
// one hidden class; and the wire encoding of each is exactly that of the documented literal
// (the getStatus answer frame, fast path included, and what a TCP client decodes).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { FILE_INFO_KEYS } from '../src/coordinator/file-info.js';
import { encodeAnswerFrame, encodeFrame } from '../src/protocol/codec.js';
import type { FileInfo } from '../src/types.js';
import { fileUri, openEnv, serveTcp, tempDir, type Env } from './helpers/fixture.js';

// %HaveSameMap: whether two objects share V8's hidden class (natives syntax, enabled for this function only).
setFlagsFromString('--allow-natives-syntax');
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
setFlagsFromString('--no-allow-natives-syntax');

let env: Env;
let mountDir: string;

test.before(async () => {
  env = await openEnv();
  await mkdir(join(env.ufsDir, 'd'));
  await writeFile(join(env.ufsDir, 'd', 'f'), 'abc');
  mountDir = await tempDir('strata-file-info-mount-');
  env.track(mountDir);
  await env.fs.mount('/m', fileUri(mountDir));
});
test.after(() => env.dispose());

/** The documented wire form of an info: FILE_INFO_KEYS in order, then isMountPoint on a mount point. */
function documented(i: FileInfo, mountPoint = false): Record<string, unknown> {
  const o: Record<string, unknown> = {
    path: i.path, name: i.name, type: i.type, length: i.length, mtimeMs: i.mtimeMs, ctimeMs: i.ctimeMs, atimeMs: i.atimeMs,
    fileId: i.fileId, persistenceState: i.persistenceState, cachedBytes: i.cachedBytes, pinned: i.pinned,
    mountPoint: i.mountPoint, ufsPath: i.ufsPath, mode: i.mode, ttlMs: i.ttlMs, ttlAction: i.ttlAction,
  };
  if (mountPoint) o.isMountPoint = true;
  return o;
}

test('file, directory and mount point infos have every field, in one order; files and directories share a hidden class', async () => {
  const file = await env.fs.getStatus('/d/f');
  const dir = await env.fs.getStatus('/d');
  const mount = await env.fs.getStatus('/m');
  assert.equal(Object.keys(file), [...FILE_INFO_KEYS]);
  assert.equal(Object.keys(dir), [...FILE_INFO_KEYS]);
  assert.equal(Object.keys(mount), [...FILE_INFO_KEYS, 'isMountPoint']);
  for (const [what, i] of [['file', file], ['directory', dir], ['mount point', mount]] as const) {
    for (const k of FILE_INFO_KEYS) assert.ok(i[k] !== undefined, `${what}: ${k} is set`);
  }
  assert.is(file.type, 'file');
  assert.is(file.length, 3);
  assert.is(dir.type, 'directory');
  assert.is(mount.isMountPoint, true);
  assert.ok(haveSameMap(file, dir), 'a file info and a directory info share one hidden class');
  assert.ok(haveSameMap(file, await env.fs.getStatus('/d/f')), 'two infos of the same file share one hidden class');
  // A child listing maps its entries the same way (dirContext + childInfo).
  const [child] = [...(await (async () => { const out: FileInfo[] = []; for await (const p of env.fs.listStatus('/d')) out.push(...p); return out; })())];
  assert.equal(Object.keys(child!), [...FILE_INFO_KEYS]);
  assert.ok(haveSameMap(file, child!), 'a listed child shares the hidden class of a getStatus info');
});

test('the wire encoding of each info is that of the documented literal, on the fast path and through TCP', async () => {
  const tcp = await serveTcp(env.fs);
  try {
    for (const [path, isMount] of [['/d/f', false], ['/d', false], ['/m', true]] as const) {
      const info = await env.fs.getStatus(path);
      const want = documented(info, isMount);
      const bytes = Buffer.from(encodeFrame({ t: 'res', id: 9, ok: want })).toString('hex');
      assert.is(Buffer.from(encodeFrame({ t: 'res', id: 9, ok: info })).toString('hex'), bytes, `${path}: msgpackr's encoding`);
      assert.is(Buffer.from(encodeAnswerFrame(9, info)).toString('hex'), bytes, `${path}: the server's answer frame`);
      const remote = await tcp.client.getStatus(path);
      assert.equal(Object.keys(remote), Object.keys(want), `${path}: the client decodes the same keys in the same order`);
      assert.equal(remote, want);
    }
  } finally {
    await tcp.close();
  }
});

test('an owner set through setAttributes travels after mode, as before; optional fields follow the fixed ones', async () => {
  await env.fs.setAttributes('/d/f', { uid: 1000, gid: 100 });
  const info = await env.fs.getStatus('/d/f');
  const keys = Object.keys(info);
  assert.equal(keys.slice(0, 14), [...FILE_INFO_KEYS.slice(0, 14)]);
  assert.equal(keys.slice(14, 18), ['uid', 'gid', 'ttlMs', 'ttlAction']);
  assert.is(info.uid, 1000);
  assert.is(info.gid, 100);
  assert.is(Buffer.from(encodeAnswerFrame(3, info)).toString('hex'), Buffer.from(encodeFrame({ t: 'res', id: 3, ok: info })).toString('hex'));
});

test.run();
