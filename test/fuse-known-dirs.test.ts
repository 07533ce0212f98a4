// The directories a mount created and changed only itself are known whole for a moment: the
// failed lookup the kernel makes before every create of a new name there is answered ENOENT
// by the binding on the FUSE threads, with no call to the daemon's JavaScript. What the mount
// does meanwhile (create, unlink, rename in and out, mkdir, rmdir, a name turned from a
// directory into a file) is seen at once by the next lookup, and a long name is still
// ENAMETOOLONG.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { correctedBinding } from '../src/fuse/binding.js';
import { fuseSkipReason, openFuseEnv, sh, shOk } from './helpers/fuse.js';
import type { FuseEnv } from './helpers/fuse.js';

const skip = fuseSkipReason();

if (skip) {
  console.log(`FUSE tests skipped: ${skip}`);
  test.skip('lookups of absent names in known directories are answered by the binding', () => {});
} else {
  let f: FuseEnv;
  let getattrs: string[] = [];
  test.before(async () => {
    f = await openFuseEnv({ 'metadata.sync.interval': '-1' });
    const h = f.mount.handlers;
    const orig = h.getattr.bind(h);
    h.getattr = (p: string) => { getattrs.push(p); return orig(p); };
  });
  test.after(async () => {
    await f?.dispose();
  });

  test('creates in a directory the mount made send no lookup to JavaScript', async () => {
    assert.ok(correctedBinding(), 'the corrected binding is loaded');
    await shOk(`mkdir ${f.dir}/d`);
    getattrs = [];
    await shOk(`for i in $(seq 1 100); do echo $i > ${f.dir}/d/f$i; done`);
    assert.equal(getattrs, [], 'every failed lookup before a create answered by the binding');
    assert.is((await shOk(`cat ${f.dir}/d/f7 ${f.dir}/d/f100`)).trim(), '7\n100');
    assert.is((await shOk(`ls ${f.dir}/d | wc -l`)).trim(), '100');
  });

  test("the mount's own changes in a known directory are seen at once", async () => {
    const d = `${f.dir}/k`;
    const exists = async (p: string): Promise<string> => (await shOk(`test -e ${p} && echo yes || echo no`)).trim();
    await shOk(`mkdir ${d} && echo a > ${d}/a && mkdir ${d}/sub && echo s > ${d}/sub/s`);
    assert.is(await exists(`${d}/a`), 'yes');
    assert.is(await exists(`${d}/b`), 'no');
    await shOk(`rm ${d}/a`);
    assert.is(await exists(`${d}/a`), 'no', 'unlink');
    await shOk(`echo a2 > ${d}/a`);
    assert.is((await shOk(`cat ${d}/a`)).trim(), 'a2', 'created again');
    await shOk(`mv ${d}/a ${d}/moved`);
    assert.is(await exists(`${d}/a`), 'no', 'rename source');
    assert.is((await shOk(`cat ${d}/moved`)).trim(), 'a2', 'rename target');
    await shOk(`mv ${d}/moved ${f.dir}/d/moved-in`);
    assert.is((await shOk(`cat ${f.dir}/d/moved-in`)).trim(), 'a2', 'renamed into another known directory');
    assert.is(await exists(`${d}/moved`), 'no');
    await shOk(`rm ${d}/sub/s && rmdir ${d}/sub && echo file > ${d}/sub`);
    assert.is((await shOk(`cat ${d}/sub`)).trim(), 'file', 'a directory name turned into a file');
    await shOk(`mv ${d} ${f.dir}/k2`);
    assert.is(await exists(d), 'no', 'directory renamed');
    assert.is((await shOk(`cat ${f.dir}/k2/sub`)).trim(), 'file');
    assert.is(await exists(`${f.dir}/k2/nothing`), 'no');
  });

  test('a name written by the server (not through the mount) into a known directory is found once listed', async () => {
    await shOk(`mkdir ${f.dir}/outside`);
    await f.env.fs.writeFile('/outside/x', Buffer.from('x'));
    // Within the known window the mount answers from what it knows (as before); a listing
    // teaches it the name, and a lookup then finds it.
    await shOk(`ls ${f.dir}/outside > /dev/null`);
    assert.is((await shOk(`cat ${f.dir}/outside/x`)).trim(), 'x');
  });

  test('a name longer than 255 bytes in a known directory is ENAMETOOLONG', async () => {
    await shOk(`mkdir ${f.dir}/long`);
    const r = await sh(`stat ${f.dir}/long/${'n'.repeat(256)} 2>&1`);
    assert.ok(/File name too long/.test(r.stdout), r.stdout);
  });
}

test.run();
