// The mount's /dev/fuse descriptor is close-on-exec: libfuse 2.9 opens it without O_CLOEXEC,
// and the corrected binding sets the flag right after the mount. A child the mounting
// process spawns (a shell, a tool) must not hold the channel: if it did, a child outliving
// the daemon would keep the dead mount from ever answering ENOTCONN, and `fuser` on
// /dev/fuse would name every child. Checked from the kernel's side: /proc/PID/fdinfo flags
// of this process's descriptor, and the descriptors of a spawned child.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { correctedBinding } from '../src/fuse/binding.js';
import { fuseSkipReason, openFuseEnv, sh, shOk } from './helpers/fuse.js';
import type { FuseEnv } from './helpers/fuse.js';

const skip = fuseSkipReason();
const O_CLOEXEC = 0o2000000;

/** This process's descriptors open on /dev/fuse. */
function fuseFds(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === '/dev/fuse') out.push(Number(name));
    } catch { /* closed meanwhile */ }
  }
  return out;
}

if (skip) {
  console.log(`FUSE tests skipped: ${skip}`);
  test.skip('the /dev/fuse descriptor is close-on-exec', () => {});
} else {
  let f: FuseEnv;
  test.before(async () => {
    f = await openFuseEnv();
  });
  test.after(async () => {
    await f?.dispose();
  });

  test('the /dev/fuse descriptor is close-on-exec; a spawned child does not hold it', async () => {
    assert.ok(correctedBinding(), 'the corrected binding is loaded (cc and the node headers are installed here)');
    const fds = fuseFds();
    assert.ok(fds.length >= 1, 'the mount holds /dev/fuse');
    for (const fd of fds) {
      const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      assert.ok(flags !== undefined, `fdinfo of ${fd}`);
      assert.ok((parseInt(flags!, 8) & O_CLOEXEC) !== 0, `fd ${fd} on /dev/fuse has O_CLOEXEC (flags ${flags})`);
    }
    // A child of this process (bash, then what it runs) sees none of them.
    const r = await sh('for f in /proc/$$/fd/*; do readlink "$f"; done; sleep 0.2 & p=$!; for f in /proc/$p/fd/*; do readlink "$f"; done; wait');
    assert.is(r.code, 0, r.stderr);
    assert.not.match(r.stdout, /\/dev\/fuse/, 'a spawned child holds no /dev/fuse descriptor');
    // And the mount still serves.
    await shOk(`echo hello > ${f.dir}/x && cat ${f.dir}/x`);
    assert.is((await shOk(`cat ${f.dir}/x`)).trim(), 'hello');
  });
}

test.run();
