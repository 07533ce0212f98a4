// FUSE requests of 1 MiB: the binding asks the kernel for FUSE_MAX_PAGES (libfuse 2.9 never
// does, so every read and write request was at most 128 KiB whatever max_read and max_write
// said) and gives libfuse a channel buffer that holds a 1 MiB write. A `dd bs=1M` through the
// mount reaches the daemon as 1 MiB writes and, read back through JavaScript (no direct block
// reads), as 1 MiB reads; the bytes are the same. The mount's kernel read-ahead is 4 MiB, so
// a sequential reader keeps several such requests in flight.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { correctedBinding } from '../src/fuse/binding.js';
import { DEFAULT_READ_AHEAD } from '../src/fuse/mount.js';
import { fuseSkipReason, openFuseEnv, shOk } from './helpers/fuse.js';
import type { FuseEnv } from './helpers/fuse.js';

const skip = fuseSkipReason();

if (skip) {
  console.log(`FUSE tests skipped: ${skip}`);
  test.skip('reads and writes reach the daemon in 1 MiB requests', () => {});
} else {
  let f: FuseEnv;
  test.before(async () => {
    f = await openFuseEnv({});
  });
  test.after(async () => {
    await f?.dispose();
  });

  test('reads and writes reach the daemon in 1 MiB requests', async () => {
    assert.ok(correctedBinding(), 'the corrected binding is loaded');
    // A second view of the Coordinator without its block files: reads go through JavaScript.
    const m = await f.mountMore({ fs: f.env.fs });
    const h = m.mount.handlers;
    const writes: number[] = [];
    const reads: number[] = [];
    const write = h.write.bind(h);
    const read = h.read.bind(h);
    h.write = (p, fh, data, pos) => { writes.push(data.length); return write(p, fh, data, pos); };
    h.read = (p, fh, buf, pos) => { reads.push(buf.length); return read(p, fh, buf, pos); };
    const src = `/tmp/fuse-large-src-${process.pid}`;
    await shOk(`head -c 8388608 /dev/urandom > ${src} && dd if=${src} of=${m.dir}/big.bin bs=1M 2>/dev/null`);
    assert.ok(writes.length > 0 && writes.length <= 16, `8 MiB in ${writes.length} writes: ${writes.join(',')}`);
    assert.is(Math.max(...writes), 1 << 20);
    await shOk(`dd if=${m.dir}/big.bin iflag=nocache count=0 2>/dev/null`);
    const same = await shOk(`cmp ${m.dir}/big.bin ${src} && echo same; rm -f ${src}`);
    assert.is(same.trim(), 'same');
    assert.ok(reads.length > 0, 'read through JavaScript');
    assert.is(Math.max(...reads), 1 << 20, `read requests: ${reads.join(',')}`);
  });

  test('the kernel read-ahead of a mount made by root is 4 MiB (several 1 MiB requests in flight)', async () => {
    if (process.getuid?.() !== 0) return; // only root may set it
    const line = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((l) => l.split(' ')[4] === f.dir);
    const dev = line?.split(' ')[2];
    assert.ok(dev, `${f.dir} in mountinfo`);
    assert.is((await readFile(`/sys/class/bdi/${dev}/read_ahead_kb`, 'utf8')).trim(), String(DEFAULT_READ_AHEAD / 1024));
    assert.is(DEFAULT_READ_AHEAD, 4 << 20);
  });
}

test.run();
