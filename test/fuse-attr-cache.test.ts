// The binding's attribute cache: after a listing, stat of its entries is answered on the
// libfuse threads (no getattr reaches the daemon's JavaScript), and the mount's own changes
// — write, truncate, chmod, utimens, unlink, rename, a directory rename — are seen at once by
// the next stat through the same mount, never an old size, mode or mtime.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { correctedBinding } from '../src/fuse/binding.js';
import { fuseSkipReason, openFuseEnv, shOk } from './helpers/fuse.js';
import type { FuseEnv } from './helpers/fuse.js';

const skip = fuseSkipReason();

if (skip) {
  console.log(`FUSE tests skipped: ${skip}`);
  test.skip('the binding answers getattr from its attribute cache', () => {});
} else {
  let f: FuseEnv;
  let getattrs = 0;
  test.before(async () => {
    // A sync interval of -1: long attribute timeouts (kernel, daemon and binding caches).
    f = await openFuseEnv({ 'metadata.sync.interval': '-1' });
    const h = f.mount.handlers;
    const orig = h.getattr.bind(h);
    h.getattr = (p: string) => { getattrs++; return orig(p); };
  });
  test.after(async () => {
    await f?.dispose();
  });

  test('stat after a listing makes no getattr call to the daemon', async () => {
    assert.ok(correctedBinding(), 'the corrected binding is loaded');
    await shOk(`mkdir ${f.dir}/d && for i in $(seq 1 200); do echo $i > ${f.dir}/d/f$i; done`);
    // Another mount's kernel knows none of these names: use a second view of the namespace.
    const other = await f.mountMore({});
    await shOk(`ls ${other.dir}/d > /dev/null`);
    const h = other.mount.handlers;
    let otherGetattrs = 0;
    const orig = h.getattr.bind(h);
    h.getattr = (p: string) => { otherGetattrs++; return orig(p); };
    const out = await shOk(`cd ${other.dir}/d && stat -c '%n %s' f* | sort -V | head -3`);
    assert.is(out.trim(), 'f1 2\nf2 2\nf3 2');
    assert.is(otherGetattrs, 0, 'all 200 lookups answered by the binding');
  });

  test("the mount's own changes are seen at once", async () => {
    const d = `${f.dir}/d`;
    await shOk(`ls -l ${d} > /dev/null`); // caches every entry
    const stat = (name: string, fmt = '%s') => shOk(`stat -c '${fmt}' ${d}/${name}`).then((s) => s.trim());
    await shOk(`echo longer-content-now >> ${d}/f1`);
    assert.is(await stat('f1'), String(2 + 19), 'append: new size');
    await shOk(`truncate -s 1 ${d}/f2`);
    assert.is(await stat('f2'), '1', 'truncate: new size');
    await shOk(`chmod 600 ${d}/f3`);
    assert.is(await stat('f3', '%a'), '600', 'chmod: new mode');
    await shOk(`touch -m -d @1000000000 ${d}/f4`);
    assert.is(await stat('f4', '%Y'), '1000000000', 'utimens: new mtime');
    await shOk(`rm ${d}/f5`);
    assert.is((await shOk(`test -e ${d}/f5 && echo yes || echo no`)).trim(), 'no', 'unlink');
    await shOk(`mv ${d}/f6 ${d}/f6-moved && echo replaced > ${d}/f7 && mv ${d}/f7 ${d}/f8`);
    assert.is((await shOk(`test -e ${d}/f6 && echo yes || echo no`)).trim(), 'no', 'rename: source gone');
    assert.is(await stat('f6-moved'), '2');
    assert.is(await stat('f8'), '9', 'rename over a cached file: the new one');
    await shOk(`mkdir ${f.dir}/e && mv ${d} ${f.dir}/e/d2`);
    assert.is((await shOk(`test -e ${d} && echo yes || echo no`)).trim(), 'no', 'directory rename');
    assert.is((await shOk(`stat -c '%s' ${f.dir}/e/d2/f8`)).trim(), '9');
    assert.ok(getattrs > 0);
  });
}

test.run();
