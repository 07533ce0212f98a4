// The daemon's listing cache and the stat seeded at create: a directory listed whole is
// listed again without a server call within the attribute timeout, every change the mount
// makes in it (create, unlink, mkdir, rename in and out, rmdir) shows in the next listing at
// once, and a file being created shows its real size to stat while open and after close;
// -o fuse.xattrs=false serves no extended attributes (the kernel stops asking).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FileSystem } from '../src/fs.js';
import { fuseSkipReason, openFuseEnv, shOk } from './helpers/fuse.js';
import type { FuseEnv } from './helpers/fuse.js';

const skip = fuseSkipReason();

if (skip) {
  console.log(`FUSE tests skipped: ${skip}`);
  test.skip('listing cache', () => {});
} else {
  let f: FuseEnv;
  let lists = 0;
  let dir: string;
  test.before(async () => {
    f = await openFuseEnv({ 'metadata.sync.interval': '-1' });
    // A second view whose listStatus calls are counted.
    const fs = f.env.fs;
    const counted = new Proxy(fs, {
      get(target, key) {
        const v = (target as unknown as Record<PropertyKey, unknown>)[key];
        if (key === 'listStatus') return (...a: unknown[]) => { lists++; return (v as (...x: unknown[]) => unknown).apply(target, a); };
        return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
      },
    }) as FileSystem;
    dir = (await f.mountMore({ fs: counted })).dir;
  });
  test.after(async () => {
    await f?.dispose();
  });

  const ls = async (d: string): Promise<string> => (await shOk(`ls ${d} | tr '\\n' ' '`)).trim();

  test('a second listing makes no server call', async () => {
    await shOk(`mkdir ${dir}/d && for i in 1 2 3; do echo $i > ${dir}/d/f$i; done`);
    assert.is(await ls(`${dir}/d`), 'f1 f2 f3');
    const before = lists;
    for (let i = 0; i < 3; i++) assert.is(await ls(`${dir}/d`), 'f1 f2 f3');
    assert.is(lists, before, 'listings answered from the cache');
  });

  test("the mount's own changes show in the next listing at once", async () => {
    const d = `${dir}/d`;
    await ls(d);
    await shOk(`echo new > ${d}/g`);
    assert.is(await ls(d), 'f1 f2 f3 g', 'create');
    await shOk(`rm ${d}/f1`);
    assert.is(await ls(d), 'f2 f3 g', 'unlink');
    await shOk(`mkdir ${d}/sub`);
    assert.is(await ls(d), 'f2 f3 g sub', 'mkdir');
    await shOk(`mv ${d}/g ${d}/sub/g2`);
    assert.is(await ls(d), 'f2 f3 sub', 'rename out');
    assert.is(await ls(`${d}/sub`), 'g2', 'rename in');
    await shOk(`mv ${d}/sub/g2 ${d}/h && rmdir ${d}/sub`);
    assert.is(await ls(d), 'f2 f3 h', 'rename back and rmdir');
    // A file being written (not in Strata yet) is listed while open.
    const open = await shOk(`exec 3>${d}/w; ls ${d} | tr '\\n' ' '; exec 3>&-`);
    assert.is(open.trim(), 'f2 f3 h w');
    assert.is(await ls(d), 'f2 f3 h w');
  });

  test('a created file shows its size while open and after close', async () => {
    const out = await shOk(`python3 -c "
import os
p = '${dir}/d/sized'
fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
a = os.stat(p).st_size
os.write(fd, b'hello')
b = os.stat(p).st_size
os.write(fd, b' world')
c = os.fstat(fd).st_size
os.close(fd)
d = os.stat(p)
print(a, b, c, d.st_size, oct(d.st_mode & 0o777))
"`);
    assert.is(out.trim(), '0 5 11 11 0o640');
    const t = await shOk(`touch -d @1000000000 ${dir}/d/touched && stat -c '%s %Y' ${dir}/d/touched`);
    assert.is(t.trim(), '0 1000000000');
  });

  test('-o fuse.xattrs=false: no extended attributes, ls -l still works', async () => {
    const nox = await f.mountMore({ options: ['fuse.xattrs=false'] });
    const out = await shOk(`ls -l ${nox.dir}/d | wc -l`);
    assert.ok(Number(out.trim()) > 3);
    const r = await shOk(`python3 -c "
import os, errno
try:
    os.getxattr('${nox.dir}/d/f2', 'user.strata.fileId'); print('value')
except OSError as e:
    print(errno.errorcode[e.errno])
"`);
    assert.ok(['EOPNOTSUPP', 'ENOTSUP'].includes(r.trim()), r); // the same number on Linux
    // The default mount still serves them.
    const v = await shOk(`python3 -c "import os;print(os.getxattr('${dir}/d/f2','user.strata.persistenceState').decode())"`);
    assert.ok(v.trim().length > 0);
  });
}

test.run();
