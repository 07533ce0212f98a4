// POSIX timestamps through a real FUSE mount of an in-process Coordinator: atime, mtime and
// ctime as stat(2) shows them after each operation (create, mkdir, unlink, rmdir, rename in
// one and across two directories, write, truncate, open with O_TRUNC, chmod, chown, touch -d,
// touch -a / -m, utimensat with UTIME_NOW and UTIME_OMIT), the same times through the TCP
// client's getStatus and listStatus, through a listing (the binding's attribute cache), and
// ctime loaded from the UFS by a sync. No timing asserts: every "changed" check compares with a
// time set far in the past or with the clock read just before the operation (same machine).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stat as fsStat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fuseSkipReason, openFuseEnv, sh, shOk } from './helpers/fuse.js';
import type { FuseEnv } from './helpers/fuse.js';
import { list, serveTcp } from './helpers/fixture.js';
import type { TcpEnv } from './helpers/fixture.js';
import { utimensFixed } from '../src/fuse/binding.js';

const skip = fuseSkipReason();
let f: FuseEnv;
let tcp: TcpEnv;

/** The three times of a path as stat(2) reports them, in whole ms (python3: ns precision). */
interface Times { a: number; m: number; c: number; size: number }

async function times(p: string): Promise<Times> {
  const out = await shOk(`python3 -c 'import os,sys,json; s=os.stat(sys.argv[1]); print(json.dumps([s.st_atime_ns // 10**6, s.st_mtime_ns // 10**6, s.st_ctime_ns // 10**6, s.st_size]))' ${p}`);
  const [a, m, c, size] = JSON.parse(out) as number[];
  return { a: a!, m: m!, c: c!, size: size! };
}

/** Set atime and mtime (ms) with utimensat; 'omit' and 'now' are UTIME_OMIT and UTIME_NOW. */
async function utimensat(p: string, atime: number | 'omit' | 'now', mtime: number | 'omit' | 'now'): Promise<void> {
  const ts = (t: number | 'omit' | 'now'): string => (t === 'omit' ? '(0, UTIME_OMIT)' : t === 'now' ? '(0, UTIME_NOW)' : `(${Math.floor(t / 1000)}, ${(t % 1000) * 1e6})`);
  const py = [
    'import ctypes, os, sys',
    'libc = ctypes.CDLL(None, use_errno=True)',
    'class TS(ctypes.Structure): _fields_ = [("s", ctypes.c_long), ("ns", ctypes.c_long)]',
    'UTIME_NOW = (1 << 30) - 1; UTIME_OMIT = (1 << 30) - 2',
    `a = TS(*${ts(atime)}); m = TS(*${ts(mtime)})`,
    'arr = (TS * 2)(a, m)',
    'r = libc.utimensat(-100, sys.argv[1].encode(), arr, 0)',
    'sys.exit(0 if r == 0 else ctypes.get_errno())',
  ].join('\n');
  await shOk(`python3 -c '${py}' ${p}`);
}

const PAST = Date.UTC(2001, 1, 3, 4, 5, 6, 789); // 2001-02-03T04:05:06.789Z

if (skip) {
  console.log(`FUSE tests skipped: ${skip}`);
  test.skip('FUSE timestamps', () => {});
} else {
  test.before(async () => {
    f = await openFuseEnv();
    tcp = await serveTcp(f.env.fs);
  });

  test.after(async () => {
    await tcp?.close();
    await f?.dispose();
  });

  test('create, mkdir, unlink and rmdir change the directory\'s mtime and ctime', async () => {
    const d = join(f.dir, 'dirops');
    await shOk(`mkdir ${d}`);
    const ops: Array<[string, string]> = [
      ['create', `: > ${d}/f`],
      ['mkdir', `mkdir ${d}/sub`],
      ['unlink', `rm ${d}/f`],
      ['rmdir', `rmdir ${d}/sub`],
      ['create by write', `echo hi > ${d}/g`],
    ];
    for (const [what, cmd] of ops) {
      await utimensat(d, PAST, PAST);
      const before = await times(d);
      assert.is(before.m, PAST, `${what}: the directory's mtime was set`);
      const t0 = Date.now();
      await shOk(cmd);
      const after = await times(d);
      assert.ok(after.m >= t0, `${what}: directory mtime ${after.m} not updated (op at ${t0})`);
      assert.ok(after.c >= t0, `${what}: directory ctime ${after.c} not updated`);
      assert.is(after.a, PAST, `${what}: the directory's atime stays`);
      // The server has the same times (one transaction set both).
      const info = await f.env.fs.getStatus('/dirops');
      assert.is(info.mtimeMs, after.m, `${what}: server mtime`);
      assert.is(info.ctimeMs, after.c, `${what}: server ctime`);
    }
  });

  test('overwriting a file keeps the directory\'s times; rename changes both directories and the file\'s ctime', async () => {
    await shOk(`mkdir ${f.dir}/r1 ${f.dir}/r2 && echo one > ${f.dir}/r1/a`);
    await utimensat(`${f.dir}/r1`, PAST, PAST);
    await utimensat(`${f.dir}/r1/a`, PAST, PAST);
    await shOk(`echo two > ${f.dir}/r1/a`);
    assert.is((await times(`${f.dir}/r1`)).m, PAST, 'rewriting an existing name does not change its directory');
    const file = await times(`${f.dir}/r1/a`);
    assert.ok(file.m > PAST && file.c >= file.m, 'the rewritten file has a new mtime and ctime');
    // Rename within one directory.
    await utimensat(`${f.dir}/r1/a`, PAST, PAST);
    let t0 = Date.now();
    await shOk(`mv ${f.dir}/r1/a ${f.dir}/r1/b`);
    let dir = await times(`${f.dir}/r1`);
    let moved = await times(`${f.dir}/r1/b`);
    assert.ok(dir.m >= t0 && dir.c >= t0, 'rename in one directory: its mtime and ctime');
    assert.is(moved.m, PAST, 'rename keeps the mtime of what it moves');
    assert.is(moved.a, PAST, 'rename keeps the atime of what it moves');
    assert.ok(moved.c >= t0, 'rename changes the ctime of what it moves');
    // Rename across two directories.
    await utimensat(`${f.dir}/r1`, PAST, PAST);
    await utimensat(`${f.dir}/r2`, PAST, PAST);
    t0 = Date.now();
    await shOk(`mv ${f.dir}/r1/b ${f.dir}/r2/c`);
    dir = await times(`${f.dir}/r1`);
    const to = await times(`${f.dir}/r2`);
    moved = await times(`${f.dir}/r2/c`);
    assert.ok(dir.m >= t0 && dir.c >= t0, 'the source directory changed');
    assert.ok(to.m >= t0 && to.c >= t0, 'the destination directory changed');
    assert.ok(moved.c >= t0 && moved.m === PAST, 'the moved file: new ctime, same mtime');
  });

  test('write, truncate and O_TRUNC update mtime and ctime; O_TRUNC commits the empty file at open', async () => {
    const p = join(f.dir, 'w.txt');
    await writeFile(p, 'hello');
    for (const [what, cmd] of [['append', `echo more >> ${p}`], ['truncate', `truncate -s 3 ${p}`], ['truncate up', `truncate -s 100 ${p}`]]) {
      await utimensat(p, PAST, PAST);
      const t0 = Date.now();
      await shOk(cmd!);
      const t = await times(p);
      assert.ok(t.m >= t0 && t.c >= t0, `${what}: mtime ${t.m}, ctime ${t.c} (op at ${t0})`);
    }
    // An empty file opened with O_TRUNC and closed unwritten: its times change all the same.
    await shOk(`: > ${f.dir}/empty`);
    await utimensat(`${f.dir}/empty`, PAST, PAST);
    let t0 = Date.now();
    await shOk(`python3 -c 'import os,sys; os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC))' ${f.dir}/empty`);
    const e = await times(`${f.dir}/empty`);
    assert.ok(e.m >= t0 && e.c >= t0, `O_TRUNC of an empty file: mtime ${e.m}, ctime ${e.c}`);
    // A non-empty file is empty in Strata as soon as the open returns (before any write or close).
    await writeFile(p, 'x'.repeat(5000));
    await utimensat(p, PAST, PAST);
    t0 = Date.now();
    const marker = join(f.env.dataDir, 'trunc-done');
    const py = 'import os,sys,time; fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)\nwhile not os.path.exists(sys.argv[2]): time.sleep(0.02)\nos.close(fd)';
    const child = sh(`python3 -c '${py}' ${p} ${marker}`, { timeoutMs: 60_000 });
    let info = await f.env.fs.getStatus('/w.txt');
    for (let i = 0; i < 400 && info.length !== 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      info = await f.env.fs.getStatus('/w.txt');
    }
    await writeFile(marker, '');
    assert.is((await child).code, 0, 'the open with O_TRUNC succeeded');
    assert.is(info.length, 0, 'the truncated file is committed while still open');
    assert.ok(info.mtimeMs >= t0, 'with a new mtime');
  });

  test('chmod and chown change the ctime only; touch -d, -a and -m; utimensat with UTIME_NOW and UTIME_OMIT', async () => {
    const p = join(f.dir, 't.txt');
    await writeFile(p, 'data');
    await utimensat(p, PAST, PAST);
    for (const [what, cmd] of [['chmod', `chmod 600 ${p}`], ['chown', `chown 1234:1234 ${p}`]]) {
      const t0 = Date.now();
      await shOk(cmd!);
      const t = await times(p);
      assert.is(t.m, PAST, `${what}: mtime unchanged`);
      assert.is(t.a, PAST, `${what}: atime unchanged`);
      assert.ok(t.c >= t0, `${what}: ctime ${t.c} (op at ${t0})`);
    }
    if (!utimensFixed) {
      console.log('stock fuse-native binding: atime/mtime separation not checked');
      return;
    }
    await shOk(`touch -d '2003-04-05 06:07:08.5 UTC' ${p}`);
    let t = await times(p);
    assert.is(t.m, Date.UTC(2003, 3, 5, 6, 7, 8, 500), 'touch -d sets the mtime');
    assert.is(t.a, Date.UTC(2003, 3, 5, 6, 7, 8, 500), 'touch -d sets the atime');
    await shOk(`touch -a -d '2004-01-01 00:00:00 UTC' ${p}`);
    t = await times(p);
    assert.is(t.a, Date.UTC(2004, 0, 1), 'touch -a sets the atime');
    assert.is(t.m, Date.UTC(2003, 3, 5, 6, 7, 8, 500), 'touch -a leaves the mtime (UTIME_OMIT)');
    await shOk(`touch -m -d '2005-01-01 00:00:00 UTC' ${p}`);
    t = await times(p);
    assert.is(t.m, Date.UTC(2005, 0, 1), 'touch -m sets the mtime');
    assert.is(t.a, Date.UTC(2004, 0, 1), 'touch -m leaves the atime');
    // utimensat straight: one omitted, the other now; both omitted changes nothing, not even the ctime.
    let t0 = Date.now();
    await utimensat(p, 'omit', 'now');
    t = await times(p);
    assert.is(t.a, Date.UTC(2004, 0, 1), 'UTIME_OMIT atime');
    assert.ok(t.m >= t0 && t.c >= t0, 'UTIME_NOW mtime and the ctime');
    t0 = Date.now();
    await utimensat(p, 'now', 'omit');
    const t2 = await times(p);
    assert.ok(t2.a >= t0, 'UTIME_NOW atime');
    assert.is(t2.m, t.m, 'UTIME_OMIT mtime');
    await utimensat(p, 'omit', 'omit');
    const t3 = await times(p);
    assert.equal(t3, t2, 'both omitted: nothing changes');
    // Exact times through os.utime(ns=…).
    await shOk(`python3 -c 'import os,sys; os.utime(sys.argv[1], ns=(1111111111222000000, 1222222222333000000))' ${p}`);
    t = await times(p);
    assert.is(t.a, 1111111111222);
    assert.is(t.m, 1222222222333);
  });

  test('the TCP client\'s getStatus and listStatus, and a listing through the mount, show the same three times', async () => {
    await shOk(`mkdir ${f.dir}/same && echo a > ${f.dir}/same/x && echo b > ${f.dir}/same/y`);
    await utimensat(`${f.dir}/same/x`, Date.UTC(2006, 0, 1), PAST);
    const info = await tcp.client.getStatus('/same/x');
    assert.is(info.atimeMs, Date.UTC(2006, 0, 1));
    assert.is(info.mtimeMs, PAST);
    assert.ok(typeof info.ctimeMs === 'number' && info.ctimeMs > PAST);
    const listed = (await list(tcp.client, '/same')).find((e) => e.name === 'x')!;
    assert.is(listed.atimeMs, info.atimeMs, 'listStatus (columnar page) atime');
    assert.is(listed.ctimeMs, info.ctimeMs, 'listStatus (columnar page) ctime');
    assert.is(listed.mtimeMs, info.mtimeMs);
    // ls -l fills the daemon's status cache and the binding's attribute cache: stat after it answers from there.
    await shOk(`ls -l ${f.dir}/same > /dev/null`);
    for (const name of ['x', 'y']) {
      const t = await times(`${f.dir}/same/${name}`);
      const s = await tcp.client.getStatus(`/same/${name}`);
      assert.equal([t.a, t.m, t.c], [s.atimeMs, s.mtimeMs, s.ctimeMs], `${name}: stat through the mount = getStatus over TCP`);
    }
  });

  test('a file loaded from the UFS has the UFS\'s ctime; a file without ctime or atime shows its mtime', async () => {
    const ufsFile = join(f.env.ufsDir, 'fromufs.txt');
    await writeFile(ufsFile, 'from the ufs');
    const { utimes } = await import('node:fs/promises');
    const past = Math.floor(PAST / 1000) * 1000;
    await utimes(ufsFile, past / 1000, past / 1000); // mtime in the past, ctime now
    const u = await fsStat(ufsFile, { bigint: true });
    const t = await times(join(f.dir, 'fromufs.txt'));
    assert.is(t.m, past);
    assert.is(t.c, Number(u.ctimeMs), 'ctime from the UFS');
    assert.ok(t.c > past);
    assert.is(t.a, past, 'atime: the mtime');
  });

  test('an ASYNC_THROUGH persist keeps an mtime set after the write', async () => {
    const fs = f.env.fs;
    await fs.writeFile('/async.txt', Buffer.from('later'), { writeType: 'ASYNC_THROUGH' });
    await fs.setAttributes('/async.txt', { mtimeMs: PAST });
    for (let i = 0; i < 400 && (await fs.getStatus('/async.txt')).persistenceState !== 'PERSISTED'; i++) await new Promise((r) => setTimeout(r, 50));
    const info = await fs.getStatus('/async.txt');
    assert.is(info.persistenceState, 'PERSISTED');
    assert.is(info.mtimeMs, PAST, 'the persist did not put the UFS write time in place of the user\'s mtime');
    assert.is((await times(join(f.dir, 'async.txt'))).m, PAST);
  });
}

test.run();
