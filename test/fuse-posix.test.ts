// POSIX rules that pjdfstest (bench/pjdfstest.sh) checks, on a real mount served by this
// process: the errno of a path longer than Strata's path limit, the set-user-ID and
// set-group-ID bits cleared by a chown of the owner, the stat(2) of open-but-unlinked files.
// Every call is made by python3 (errno names) as root, or as uid/gid 65534/65533 with
// setresgid/setgroups/setresuid in the child, as pjdfstest's -u/-g do.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { MAX_PATH_BYTES } from '../src/meta/path.js';
import { fuseSkipReason, openFuseEnv, shOk } from './helpers/fuse.js';
import type { FuseEnv } from './helpers/fuse.js';

const skip = fuseSkipReason();
let f: FuseEnv;

/**
 * Run python3 statements (with `os`, `errno`, `sys` imported and `d` the test directory) in
 * `dir`, as `who` ([uid, gids...]) when given; prints what the statements print.
 */
async function py(dir: string, body: string, who?: number[]): Promise<string> {
  const become = who ? `os.setgroups(${JSON.stringify(who.slice(1))}); os.setresgid(${who[1]}, ${who[1]}, ${who[1]}); os.setresuid(${who[0]}, ${who[0]}, ${who[0]})` : 'pass';
  const script = [
    'import os, errno, sys',
    'def e(fn, *a):',
    '    try:',
    '        fn(*a)',
    '        return "0"',
    '    except OSError as x:',
    '        return errno.errorcode[x.errno]',
    become,
    'd = sys.argv[1]',
    body,
  ].join('\n');
  return (await shOk(`python3 - ${dir} <<'PY'\n${script}\nPY`)).trim();
}

if (skip) {
  console.log(`FUSE tests skipped: ${skip}`);
  test.skip('FUSE POSIX rules', () => {});
} else {
  test.before(async () => {
    f = await openFuseEnv();
  });

  test.after(async () => {
    await f?.dispose();
  });

  test('a path longer than Strata\'s limit is ENAMETOOLONG (not EINVAL), one within it works', async () => {
    const d = join(f.dir, 'deep');
    await shOk(`mkdir ${d}`);
    // Components of 200 bytes, created one level at a time through chdir (each call's own
    // path stays short, as pjdfstest's dirgen_max does relative to its directory).
    const out = await py(d, [
      'os.chdir(d)',
      `depth = ${Math.floor(MAX_PATH_BYTES / 201)}`,
      'for i in range(depth):',
      '    n = ("%03d" % i) + "x" * 197',
      '    os.mkdir(n)',
      '    os.chdir(n)',
      'print(e(os.mkdir, "y" * 200))',        // /deep + depth*201 + 201 bytes: over the limit
      'print(e(lambda p: os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)), "z" * 200))',
      'print(e(os.mkdir, "short"))',          // within the limit
      'print(e(os.rmdir, "short"))',
    ].join('\n'));
    assert.equal(out.split('\n'), ['ENAMETOOLONG', 'ENAMETOOLONG', '0', '0']);
    await shOk(`rm -rf ${d}`);
  });

  test('a name longer than 255 bytes is ENAMETOOLONG for create, mkdir, rename and lookups', async () => {
    const d = join(f.dir, 'names');
    await shOk(`mkdir ${d} && touch ${d}/f`);
    const out = await py(d, [
      'long = os.path.join(d, "n" * 256)',
      'print(e(os.mkdir, long))',
      'print(e(lambda p: os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)), long))',
      'print(e(os.rename, os.path.join(d, "f"), long))',
      'print(e(os.stat, long))',
      'print(e(os.mkdir, os.path.join(d, "m" * 255)))',
    ].join('\n'));
    assert.equal(out.split('\n'), ['ENAMETOOLONG', 'ENAMETOOLONG', 'ENAMETOOLONG', 'ENAMETOOLONG', '0']);
  });

  test('chown by the owner to one of its groups clears set-user-ID and set-group-ID; chown -1 -1 is allowed to anyone', async () => {
    const d = join(f.dir, 'suid');
    await shOk(`mkdir ${d} && chmod 777 ${d} && touch ${d}/f && chown 65534:65533 ${d}/f && chmod 06555 ${d}/f`);
    const mode = async () => (await shOk(`stat -c %a,%u,%g ${d}/f`)).trim();
    assert.is(await mode(), '6555,65534,65533');
    // The owner changes the group to another of its groups: both bits go.
    assert.is(await py(d, 'print(e(os.chown, os.path.join(d, "f"), 65534, 65532))', [65534, 65533, 65532]), '0');
    assert.is(await mode(), '555,65534,65532');
    await shOk(`chmod 06555 ${d}/f`);
    assert.is(await py(d, 'print(e(os.chown, os.path.join(d, "f"), -1, 65533))', [65534, 65533, 65532]), '0');
    assert.is(await mode(), '555,65534,65533');
    // Not the owner: EPERM, nothing changes; uid and gid -1 (of a file without set-ID bits,
    // which the kernel would try to clear as the caller): success for anyone.
    await shOk(`chmod 06555 ${d}/f`);
    assert.is(await py(d, 'print(e(os.chown, os.path.join(d, "f"), 65533, -1))', [65533, 65533]), 'EPERM');
    assert.is(await mode(), '6555,65534,65533');
    await shOk(`chmod 0644 ${d}/f`);
    assert.is(await py(d, 'print(e(os.chown, os.path.join(d, "f"), -1, -1))', [65533, 65533]), '0');
    assert.is(await mode(), '644,65534,65533');
    // The owner may not give the file to a group it is not in.
    assert.is(await py(d, 'print(e(os.chown, os.path.join(d, "f"), -1, 65531))', [65534, 65533]), 'EPERM');
  });

  test('an open file that is unlinked keeps its content; fstat of it works', async () => {
    const d = join(f.dir, 'unlinked');
    await shOk(`mkdir ${d}`);
    const out = await py(d, [
      'p = os.path.join(d, "f")',
      'fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)',
      'os.write(fd, b"Hello, World!")',
      'os.unlink(p)',
      'print(os.path.exists(p))',
      'print(os.pread(fd, 100, 0).decode())',
      'print(os.fstat(fd).st_size)',
      'os.close(fd)',
    ].join('\n'));
    assert.equal(out.split('\n'), ['False', 'Hello, World!', '13']);
  });
}

test.run();
