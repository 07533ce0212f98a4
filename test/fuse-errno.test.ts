// The one errno table of the FUSE mount, row by row (every Strata code, unknown errors,
// ENAMETOOLONG), the mount option parser, the kernel cache times derived from the sync
// interval, and setAttributes (mode, uid, gid, mtime kept in the inode) over library mode
// and TCP, with withUser in front. No mount needed.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { constants } from 'node:os';
import { ErrorCode, StrataError } from '../src/errors.js';
import { withUser } from '../src/auth/access.js';
import { FuseErrno } from '../src/fuse/binding.js';
import { ERRNO_OF_CODE, errnoOf } from '../src/fuse/errno.js';
import { parseMountOptions, timeoutForInterval } from '../src/fuse/mount.js';
import { codeOf, openEnv, serveTcp } from './helpers/fixture.js';

const E = constants.errno;

test('every row of the table the issue names', () => {
  const rows: Array<[ErrorCode, number]> = [
    [ErrorCode.NOT_FOUND, E.ENOENT], [ErrorCode.ALREADY_EXISTS, E.EEXIST], [ErrorCode.NOT_A_DIRECTORY, E.ENOTDIR],
    [ErrorCode.IS_A_DIRECTORY, E.EISDIR], [ErrorCode.DIRECTORY_NOT_EMPTY, E.ENOTEMPTY], [ErrorCode.READ_ONLY, E.EROFS],
    [ErrorCode.PERMISSION_DENIED, E.EACCES], [ErrorCode.INVALID_PATH, E.EINVAL], [ErrorCode.RESOURCE_EXHAUSTED, E.ENOSPC],
    [ErrorCode.UFS_UNAVAILABLE, E.EIO],
  ];
  for (const [code, errno] of rows) {
    assert.is(errnoOf(new StrataError(code, 'x')), errno, code);
    assert.is(ERRNO_OF_CODE[code], errno, code);
  }
});

test('every Strata code has an answer; unknown ones and foreign errors are EIO and logged', () => {
  const logged: unknown[] = [];
  const log = { warn: (o: unknown) => logged.push(o) } as never;
  for (const code of Object.values(ErrorCode)) {
    const n = errnoOf(new StrataError(code, 'x'), log);
    assert.ok(Number.isInteger(n) && n > 0, code);
  }
  logged.length = 0;
  assert.is(errnoOf(new StrataError(ErrorCode.INTERNAL, 'bug'), log), E.EIO);
  assert.is(errnoOf(new Error('plain'), log), E.EIO);
  assert.is(logged.length, 2, 'both EIO answers were logged');
  logged.length = 0;
  assert.is(errnoOf(new StrataError(ErrorCode.NOT_FOUND, 'lookup'), log), E.ENOENT);
  assert.is(logged.length, 0, 'an expected ENOENT is not logged');
  assert.is(errnoOf(Object.assign(new Error('disk'), { code: 'ENOSPC' }), log), E.ENOSPC);
  assert.is(errnoOf(new FuseErrno(E.EXDEV)), E.EXDEV);
  assert.is(errnoOf(new StrataError(ErrorCode.INVALID_PATH, 'long'), undefined, `/a/${'n'.repeat(256)}`), E.ENAMETOOLONG);
});

test('mount options: Strata keys apart from libfuse options; bad ones refused', () => {
  const { strata, fuse } = parseMountOptions(['fuse.attr.timeout=5s,allow_other', 'write.type=MUST_CACHE', 'max_readahead=65536']);
  assert.equal(strata, { 'fuse.attr.timeout': '5s', 'write.type': 'MUST_CACHE' });
  assert.equal(fuse, ['allow_other', 'max_readahead=65536']);
  assert.throws(() => parseMountOptions(['fuse.nope=1']), /unknown mount option fuse.nope/);
  assert.throws(() => parseMountOptions(['fuse.attr.timeout']), /needs a value/);
  assert.throws(() => parseMountOptions(['bad option']), /bad FUSE mount option/);
});

test('kernel cache times follow the sync interval', () => {
  assert.is(timeoutForInterval(0), 0);
  assert.is(timeoutForInterval(-1), 300_000);
  assert.is(timeoutForInterval(undefined), 300_000);
  assert.is(timeoutForInterval(5_000), 5_000);
  assert.is(timeoutForInterval(3_600_000), 300_000);
});

test('setAttributes keeps mode, uid, gid and mtime in the inode, over TCP and through withUser', async () => {
  const env = await openEnv();
  const tcp = await serveTcp(env.fs);
  try {
    await env.fs.writeFile('/f', new Uint8Array([1, 2, 3]));
    const a = await env.fs.setAttributes('/f', { mode: 0o600, uid: 1234, gid: 99, mtimeMs: 1_500_000_000_000 });
    assert.equal([a.mode, a.uid, a.gid, a.mtimeMs], [0o600, 1234, 99, 1_500_000_000_000]);
    const b = await tcp.client.setAttributes('/f', { mode: 0o640 });
    assert.equal([b.mode, b.uid, b.gid], [0o640, 1234, 99], 'absent attributes stay');
    const s = await tcp.client.getStatus('/f');
    assert.equal([s.mode, s.uid, s.gid, s.length], [0o640, 1234, 99, 3]);
    assert.is(await codeOf(tcp.client.setAttributes('/f', { mode: 0o10000 })), ErrorCode.INVALID_ARGUMENT);
    assert.is(await codeOf(tcp.client.setAttributes('/f', { uid: -1 })), ErrorCode.INVALID_ARGUMENT);
    assert.is(await codeOf(tcp.client.setAttributes('/nope', { mode: 0o600 })), ErrorCode.NOT_FOUND);
    // A restart keeps them (they live in the inode).
    await tcp.close();
    await env.restart();
    assert.is((await env.fs.getStatus('/f')).uid, 1234);
    const user = withUser(env.fs, { name: 'u', accessKeyId: 'AK', secretKey: 'S', role: 'user', prefixes: ['/mine'] });
    assert.is(await codeOf(user.setAttributes('/f', { mode: 0o600 })), ErrorCode.PERMISSION_DENIED);
  } finally {
    await tcp.close().catch(() => undefined);
    await env.dispose();
  }
});

test.run();
