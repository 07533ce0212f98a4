// The POSIX conformance cases of bench/fuse-conformance.py (pjdfstest's categories: open
// flags, O_EXCL, O_APPEND, truncate, unlink/rename/mkdir/rmdir errnos, chmod/chown/utimens as
// root and as nobody, atime/mtime/ctime after each operation, link/symlink/mknod, ENAMETOOLONG,
// EXDEV) inside a real mount of an
// in-process Coordinator: every case passes except the refusals documented in docs/fuse.md.
// (bench/fuse-conformance.ts runs the same cases beside an rclone mount and prints both rates.)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { correctedBinding } from '../src/fuse/binding.js';
import { fuseSkipReason, openFuseEnv } from './helpers/fuse.js';
import type { FuseEnv } from './helpers/fuse.js';

const skip = fuseSkipReason() ?? ((process.getuid?.() ?? 1) !== 0 ? 'the cases switch to nobody: they run as root' : undefined);
const CASES = fileURLToPath(new URL('../bench/fuse-conformance.py', import.meta.url));

/** Failures docs/fuse.md explains (Strata has no hard links). */
const DOCUMENTED = new Set(['link_works']);
/** What the stock binding cannot do (docs/fuse.md, "The corrected binding"). */
const STOCK_ONLY = new Set(['utime_mtime_only', 'open_nobody_creates_own', 'mkdir_nobody_owner', 'utime_both', 'utime_dir',
  'ts_utime_sets_atime_and_ctime', 'ts_touch_a_keeps_mtime', 'ts_utime_omit_atime', 'ts_times_after_listing']);

interface Result { id: string; category: string; ok: boolean; why: string }

if (skip) {
  console.log(`FUSE tests skipped: ${skip}`);
  test.skip('POSIX conformance cases in a mount', () => {});
} else {
  let f: FuseEnv;
  test.before(async () => {
    f = await openFuseEnv();
  });
  test.after(async () => {
    await f?.dispose();
  });

  test('every conformance case passes but the documented refusals', async () => {
    const dir = `${f.dir}/conformance`;
    await mkdir(dir);
    // Asynchronous: the mount is served by this process.
    const out = await new Promise<string>((resolve, reject) => {
      execFile('python3', [CASES, dir], { timeout: 300_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
    const results = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Result);
    assert.ok(results.length >= 80, `only ${results.length} cases ran`);
    const allowed = correctedBinding() ? DOCUMENTED : new Set([...DOCUMENTED, ...STOCK_ONLY]);
    const failed = results.filter((r) => !r.ok && !allowed.has(r.id));
    assert.equal(failed.map((r) => `${r.id}: ${r.why}`), []);
    for (const id of DOCUMENTED) assert.ok(results.some((r) => r.id === id), `case ${id} is gone: update DOCUMENTED and docs/fuse.md`);
  });
}

test.run();
