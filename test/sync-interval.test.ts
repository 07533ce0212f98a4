// Sync intervals: an outside change is not visible within the interval of the last sync
// and is visible after it; set per call, per path (pathConf) and per mount. Change
// detection: a mode-only change keeps the fileId, a content change gives a new one and the
// new bytes. Deleted UFS entries disappear and their cached bytes are freed; unpersisted
// files survive a forced sync. No timing thresholds: only "before the interval" (a long
// interval) and "after it" (waiting past a short one).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileUri, list, names, openEnv, readAll, readText, sleep, tempDir, ufsCounter } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;
const I = 300; // a short interval (ms) that the test waits past
const LONG = 3_600_000;

test.before(async () => {
  env = await openEnv();
});
test.after(() => env.dispose());

test('per call: not visible within the interval of the last sync, visible after it', async () => {
  await env.fs.createDirectory('/pc');
  assert.equal(await names(env.fs, '/pc', { syncIntervalMs: 0 }), []);
  writeFileSync(join(env.ufsDir, 'pc', 'new.txt'), 'new');
  assert.equal(await names(env.fs, '/pc', { syncIntervalMs: LONG }), [], 'within the interval');
  await sleep(I + 50);
  assert.equal(await names(env.fs, '/pc', { syncIntervalMs: I }), ['new.txt'], 'after the interval');
  // A direct path not in the namespace is looked up in the UFS once whatever the interval
  // (load type ONCE, as in Alluxio), while the loaded listing stays as it was.
  writeFileSync(join(env.ufsDir, 'pc', 'direct.txt'), 'direct');
  assert.is(await env.fs.exists('/pc/direct.txt', { syncIntervalMs: LONG }), true);
  // With absent.from.listing=true a status of a new file under a synced directory follows
  // the listing's interval instead.
  await env.fs.setPathConf('/pc', { 'absent.from.listing': 'true' });
  writeFileSync(join(env.ufsDir, 'pc', 'second.txt'), 'two');
  assert.is(await env.fs.exists('/pc/second.txt', { syncIntervalMs: LONG }), false);
  await sleep(I + 50);
  assert.is(await env.fs.exists('/pc/second.txt', { syncIntervalMs: I }), true);
});

test('a listing stays due after a status sync of the same directory', async () => {
  await env.fs.createDirectory('/both');
  await names(env.fs, '/both', { syncIntervalMs: 0 });
  writeFileSync(join(env.ufsDir, 'both', 'x'), 'x');
  await sleep(I + 50);
  // getStatus syncs /both itself; that must not count as a sync of its listing
  await env.fs.getStatus('/both', { syncIntervalMs: I });
  assert.equal(await names(env.fs, '/both', { syncIntervalMs: I }), ['x']);
});

test('per path (pathConf) interval, longest prefix wins', async () => {
  await env.fs.createDirectory('/pp/fast', { recursive: true });
  await env.fs.createDirectory('/pp/slow', { recursive: true });
  await env.fs.setPathConf('/pp', { 'metadata.sync.interval': '1h' });
  await env.fs.setPathConf('/pp/fast', { 'metadata.sync.interval': `${I}ms` });
  await names(env.fs, '/pp/fast', { syncIntervalMs: 0 });
  await names(env.fs, '/pp/slow', { syncIntervalMs: 0 });
  writeFileSync(join(env.ufsDir, 'pp', 'fast', 'f'), 'f');
  writeFileSync(join(env.ufsDir, 'pp', 'slow', 's'), 's');
  assert.equal(await names(env.fs, '/pp/fast'), []);
  await sleep(I + 50);
  assert.equal(await names(env.fs, '/pp/fast'), ['f'], 'fast path re-checked after its interval');
  assert.equal(await names(env.fs, '/pp/slow'), [], 'slow path (1h) not re-checked');
  // a per-call interval beats the path's
  assert.equal(await names(env.fs, '/pp/slow', { syncIntervalMs: 0 }), ['s']);
  await env.fs.removePathConf('/pp/fast');
  await env.fs.removePathConf('/pp');
});

test('per mount interval (mount option)', async () => {
  const d = await tempDir('strata-ufs-mi-');
  env.track(d);
  await env.fs.mount('/mi', fileUri(d), { options: { 'metadata.sync.interval': '0' } });
  assert.equal(await names(env.fs, '/mi'), []);
  writeFileSync(join(d, 'appears'), 'a');
  assert.equal(await names(env.fs, '/mi'), ['appears']);
});

test('mode-only change keeps the fileId; content change gives a new fileId and new bytes', async () => {
  await env.fs.createDirectory('/fp');
  const p = join(env.ufsDir, 'fp', 'f.txt');
  writeFileSync(p, 'AAAA');
  const st0 = await env.fs.getStatus('/fp/f.txt', { syncIntervalMs: 0 });
  assert.is(await readText(env.fs, '/fp/f.txt'), 'AAAA');
  assert.is((await env.fs.getStatus('/fp/f.txt')).cachedBytes, 4);
  chmodSync(p, 0o600);
  const st1 = await env.fs.getStatus('/fp/f.txt', { syncIntervalMs: 0 });
  assert.is(st1.fileId, st0.fileId, 'mode change keeps fileId');
  assert.is(st1.mode, 0o600);
  assert.is(st1.cachedBytes, 4, 'mode change keeps cached bytes');
  // same length, new content, new mtime
  const before = statSync(p).mtime;
  writeFileSync(p, 'BBBB');
  utimesSync(p, before, new Date(before.getTime() + 5000));
  const st2 = await env.fs.getStatus('/fp/f.txt', { syncIntervalMs: 0 });
  assert.is.not(st2.fileId, st0.fileId, 'content change gives a new fileId');
  assert.is(st2.cachedBytes, 0, 'stale blocks dropped');
  assert.is(await readText(env.fs, '/fp/f.txt', { syncIntervalMs: 0 }), 'BBBB');
  // the change is also caught by a listing sync
  writeFileSync(p, 'CCCC');
  utimesSync(p, before, new Date(before.getTime() + 10000));
  const l = await list(env.fs, '/fp', { syncIntervalMs: 0 });
  assert.is.not(l[0]!.fileId, st2.fileId);
  assert.is(await readText(env.fs, '/fp/f.txt'), 'CCCC');
});

test('a cached file whose UFS copy changed is never served stale after a sync', async () => {
  const data = Buffer.alloc(50_000, 1);
  await env.fs.writeFile('/fp/big', data);
  assert.is((await env.fs.getStatus('/fp/big')).cachedBytes, data.length);
  const p = join(env.ufsDir, 'fp', 'big');
  const m = statSync(p).mtime;
  writeFileSync(p, Buffer.alloc(50_000, 2));
  utimesSync(p, m, new Date(m.getTime() + 5000));
  const got = await readAll(env.fs.readFile('/fp/big', { syncIntervalMs: 0 }));
  assert.ok(got.equals(Buffer.alloc(50_000, 2)));
});

test('20 files deleted in the UFS then a synced listing: empty, cached bytes freed', async () => {
  await env.fs.createDirectory('/gone');
  for (let i = 0; i < 20; i++) await env.fs.writeFile(`/gone/f${i}`, Buffer.alloc(1000, i));
  const used = (await env.fs.getReport()).cache.usedBytes;
  assert.is((await names(env.fs, '/gone')).length, 20);
  for (let i = 0; i < 20; i++) rmSync(join(env.ufsDir, 'gone', `f${i}`));
  assert.is((await names(env.fs, '/gone')).length, 20, 'not synced yet (interval -1)');
  assert.equal(await names(env.fs, '/gone', { syncIntervalMs: 0 }), []);
  assert.is((await env.fs.getReport()).cache.usedBytes, used - 20_000);
});

test('a MUST_CACHE file with no UFS copy survives a forced sync', async () => {
  await env.fs.createDirectory('/keep');
  await env.fs.writeFile('/keep/mc', Buffer.from('only here'), { writeType: 'MUST_CACHE' });
  await env.fs.writeFile('/keep/pd', Buffer.from('persisted'));
  rmSync(join(env.ufsDir, 'keep', 'pd'));
  await env.fs.needsSync('/keep');
  assert.equal(await names(env.fs, '/keep'), ['mc']);
  assert.equal(await names(env.fs, '/keep', { syncIntervalMs: 0 }), ['mc']);
  assert.is(await readText(env.fs, '/keep/mc', { syncIntervalMs: 0 }), 'only here');
  const s = await env.fs.loadMetadata('/keep', { recursive: true });
  assert.is(s.deleted, 0);
  assert.is(await readText(env.fs, '/keep/mc'), 'only here');
  // a MUST_CACHE directory (no UFS copy) with a MUST_CACHE file survives a sync of its parent
  await env.fs.createDirectory('/keep/mcdir', { writeType: 'MUST_CACHE' });
  await env.fs.writeFile('/keep/mcdir/f', Buffer.from('deep'), { writeType: 'MUST_CACHE' });
  await env.fs.loadMetadata('/keep', { recursive: true });
  assert.is(await readText(env.fs, '/keep/mcdir/f', { syncIntervalMs: 0 }), 'deep');
});

test('a UFS directory named like a nested mount point never replaces the mount', async () => {
  const d = await tempDir('strata-ufs-nm-');
  env.track(d);
  writeFileSync(join(d, 'mounted-file'), 'm');
  await env.fs.createDirectory('/host');
  await env.fs.mount('/host/mp', fileUri(d));
  mkdirSync(join(env.ufsDir, 'host', 'mp'), { recursive: true });
  writeFileSync(join(env.ufsDir, 'host', 'mp', 'shadow'), 'shadow');
  writeFileSync(join(env.ufsDir, 'host', 'mpfile'), 'x');
  await names(env.fs, '/host', { syncIntervalMs: 0 });
  await env.fs.loadMetadata('/host', { recursive: true });
  await env.fs.getStatus('/host/mp', { syncIntervalMs: 0 });
  const st = await env.fs.getStatus('/host/mp');
  assert.is(st.isMountPoint, true);
  assert.is(st.mountPoint, '/host/mp');
  assert.equal(await names(env.fs, '/host/mp', { syncIntervalMs: 0 }), ['mounted-file']);
  // a file of the host UFS named like the mount point
  rmSync(join(env.ufsDir, 'host', 'mp'), { recursive: true });
  writeFileSync(join(env.ufsDir, 'host', 'mp'), 'file now');
  await names(env.fs, '/host', { syncIntervalMs: 0 });
  assert.is((await env.fs.getStatus('/host/mp', { syncIntervalMs: 0 })).isMountPoint, true);
  assert.is(await readText(env.fs, '/host/mp/mounted-file'), 'm');
});

test('after a restart the sync-time cache holds: a long-interval listing makes no UFS call', async () => {
  await env.fs.createDirectory('/st/a/b', { recursive: true });
  await env.fs.loadMetadata('/st', { recursive: true });
  await names(env.fs, '/st/a', { syncIntervalMs: 0 });
  await env.restart();
  const c = await ufsCounter(env.fs);
  await names(env.fs, '/st/a', { syncIntervalMs: LONG });
  await names(env.fs, '/st', { syncIntervalMs: LONG });
  await env.fs.getStatus('/st/a/b', { syncIntervalMs: LONG });
  await list(env.fs, '/st', { recursive: true, syncIntervalMs: LONG });
  assert.is(await c.total(), 0, JSON.stringify(await c.delta()));
});

test.run();
