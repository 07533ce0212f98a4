// A local UFS whose directory hangs (a network or FUSE file system whose server stopped
// answering) must not stop the server: LocalUfs makes its lookups, stats and opens on the
// event loop's thread only on a local disk file system (statfs type), and anywhere else
// through the thread pool, where the UFS timeout can give up on them. The hanging file
// system here is real: a Strata FUSE mount whose daemon is stopped with SIGSTOP, so every
// request into it waits until SIGCONT.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StrataError } from '../src/errors.js';
import { forceUnmount } from '../src/fuse/binding.js';
import { InstrumentedUfs } from '../src/ufs/instrumented.js';
import { LocalUfs, onLocalDisk } from '../src/ufs/local/local-ufs.js';
import { readAll } from './helpers/assert.js';
import { fuseSkipReason } from './helpers/fuse.js';
import { runCli, tempDir } from './helpers/server.js';

const skip = fuseSkipReason();
let mnt = '';
let dataDir = '';
let pid = 0;

async function* chunks(s: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(s);
}

test('a directory on a local disk file system is local; the write path works the same either way', async () => {
  const dir = await tempDir('strata-local-disk-');
  assert.ok(await onLocalDisk(dir), `${dir} (the test machine's temp directory) is on a local disk file system`);
  assert.is(await onLocalDisk('/proc'), false, 'procfs is not');
  assert.is(await onLocalDisk(join(dir, 'missing')), false, 'a path statfs cannot read is not');
  const ufs = new LocalUfs(pathToFileURL(dir).href);
  await ufs.write('a/b.txt', chunks('local'));
  assert.is(readFileSync(join(dir, 'a', 'b.txt'), 'utf8'), 'local');
  assert.is(await ufs.getStatus('a/missing'), null);
  await rm(dir, { recursive: true, force: true });
});

if (skip) {
  console.log(`FUSE part skipped: ${skip}`);
} else {
  test.before(async () => {
    dataDir = await tempDir('strata-hung-data-');
    mnt = await tempDir('strata-hung-mnt-');
    // No kernel or daemon caching (attr timeout 0): every lookup below needs the daemon, which
    // then hangs. (With caching, the mount answers an absent name in a directory it made itself
    // within the last seconds from what it knows, without the stopped part: a lookup that is
    // not the one this test is about.)
    const r = await runCli(['fuse', 'mount', mnt, '--embedded', '--data-dir', dataDir, '--background', '--log-file', `${mnt}.log`, '-o', 'fuse.attr.timeout=0'], { timeoutMs: 120_000 });
    assert.is(r.code, 0, r.stderr);
    pid = Number(/pid (\d+)/.exec(r.stdout)![1]);
  });

  test.after(async () => {
    if (pid) {
      try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
    }
    if (mnt) {
      await runCli(['fuse', 'unmount', mnt]).catch(() => undefined);
      forceUnmount(mnt);
      await rm(mnt, { recursive: true, force: true }).catch(() => undefined);
      await rm(`${mnt}.log`, { force: true });
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('a UFS directory in a FUSE mount is not local: its calls go through the thread pool and work', async () => {
    mkdirSync(join(mnt, 'ufs'));
    writeFileSync(join(mnt, 'ufs', 'seen.txt'), 'through fuse');
    const root = join(mnt, 'ufs');
    assert.is(await onLocalDisk(root), false);
    const ufs = new LocalUfs(pathToFileURL(root).href);
    assert.is((await ufs.getStatus('seen.txt'))?.length, 12);
    assert.is(await ufs.getStatus('d/missing'), null);
    assert.is(Buffer.from(await readAll(ufs.read('seen.txt'))).toString(), 'through fuse');
    // (A write needs a `.strata-tmp-` file, a name the Strata namespace under this mount refuses:
    // the write path's thread-pool calls are exercised by the hung case below.)
    await ufs.mkdir('d');
    await ufs.rename('seen.txt', 'd/moved.txt');
    assert.is(readFileSync(join(root, 'd', 'moved.txt'), 'utf8'), 'through fuse');
    await ufs.rename('d/moved.txt', 'seen.txt');
  });

  test('while the FUSE daemon is stopped, getStatus and write fail by the UFS timeout and the event loop keeps running', async () => {
    const root = join(mnt, 'ufs');
    const ufs = new InstrumentedUfs(new LocalUfs(pathToFileURL(root).href), { timeoutMs: 1500 });
    assert.ok(await ufs.getStatus('seen.txt'), 'the root is resolved before the daemon stops');
    assert.ok(await ufs.getStatus('d'), 'and d');
    process.kill(pid, 'SIGSTOP');
    let ticks = 0;
    const ticker = setInterval(() => { ticks++; }, 50);
    try {
      const t0 = Date.now();
      // Both outcomes are taken at once: a failed check of the first must not leave the
      // second's rejection unhandled (it would end the test process, hiding the failure).
      const outcomes = await Promise.all([
        ufs.getStatus('d/absent-while-hung').then((v) => ({ call: 'getStatus', v }), (e: unknown) => ({ call: 'getStatus', e })),
        ufs.write('d/while-hung.txt', chunks('x')).then((v) => ({ call: 'write', v }), (e: unknown) => ({ call: 'write', e })),
      ]);
      for (const o of outcomes) {
        const err = 'e' in o ? o.e : undefined;
        assert.ok(err instanceof StrataError, `${o.call}: a typed error, not ${'e' in o ? String(o.e) : `the answer ${JSON.stringify(o.v)}`}`);
        assert.is((err as StrataError).code, 'UFS_UNAVAILABLE', `${o.call}: ${(err as Error).message}`);
      }
      const waited = Date.now() - t0;
      // The timer ran all along: the thread of the event loop was never blocked in the hung mount.
      assert.ok(ticks >= Math.floor(waited / 50) / 3, `the event loop ticked ${ticks} times in ${waited} ms`);
    } finally {
      clearInterval(ticker);
      process.kill(pid, 'SIGCONT');
    }
  });
}

test.run();
