// startSync P is refused when a sync point exists above or below P, across nested mounts
// too, with MOUNT_CONFLICT naming the other sync point (ALREADY_EXISTS for P itself).
// Sync points a mount option starts (external-writers) still get one per mount.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileUri, openEnv, tempDir } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;

test.before(async () => {
  env = await openEnv();
  const outside = await tempDir('strata-sp-');
  env.track(outside);
  await env.fs.createDirectory('/x/local', { recursive: true });
  await env.fs.mount('/x/m', fileUri(outside));
  await env.fs.createDirectory('/x/m/sub/deep', { recursive: true });
});
test.after(() => env.dispose());

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string } | null> {
  return p.then(() => null, (e: { code: string; message: string }) => ({ code: e.code, message: e.message }));
}

test('a sync point below P, in a nested mount, refuses startSync P', async () => {
  await env.fs.startSync('/x/m/sub');
  for (const p of ['/x', '/']) {
    const r = await refusal(env.fs.startSync(p));
    assert.is(r?.code, 'MOUNT_CONFLICT', p);
    assert.ok(r!.message.includes('/x/m/sub'), r!.message);
  }
  const same = await refusal(env.fs.startSync('/x/m/sub'));
  assert.is(same?.code, 'ALREADY_EXISTS');
  const under = await refusal(env.fs.startSync('/x/m/sub/deep'));
  assert.is(under?.code, 'MOUNT_CONFLICT');
  await env.fs.stopSync('/x/m/sub');
});

test('a sync point above P, on another mount, refuses startSync P', async () => {
  await env.fs.startSync('/x');
  for (const p of ['/x/m', '/x/m/sub', '/x/local']) {
    const r = await refusal(env.fs.startSync(p));
    assert.is(r?.code, 'MOUNT_CONFLICT', p);
    assert.ok(r!.message.includes('below the sync point /x'), r!.message);
  }
  assert.equal((await env.fs.getSyncPathList()).map((s) => s.path), ['/x']);
  await env.fs.stopSync('/x');
  assert.equal(await env.fs.getSyncPathList(), []);
});

test.run();
