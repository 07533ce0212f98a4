#!/usr/bin/env python3
# POSIX conformance cases modelled on pjdfstest's categories (open, truncate, unlink, mkdir,
# rmdir, rename, chmod, chown, utimensat, link, symlink, mknod, ENAMETOOLONG, EXDEV), for the
# operations of the FUSE issue. Run as root: `fuse-conformance.py DIR` runs every case in a
# fresh subdirectory of DIR (some as `nobody` through setpriv) and prints one JSON line per
# case: {"id", "category", "ok", "why"}. Used by bench/fuse-conformance.ts on two mounts.

import errno
import json
import os
import stat
import subprocess
import sys
import time

BASE = sys.argv[1]
ONLY = sys.argv[2] if len(sys.argv) > 2 else None
NOBODY = int(subprocess.check_output(['id', '-u', 'nobody']).strip())
NOGROUP = int(subprocess.check_output(['id', '-g', 'nobody']).strip())
LONG = 'n' * 256
MAX = 'm' * 255
CASES = []


class Fail(Exception):
    pass


def case(category):
    def register(fn):
        CASES.append((category, fn))
        return fn
    return register


def expect_errno(names, fn, *args):
    """fn(*args) must fail with one of the errno names."""
    names = names if isinstance(names, (list, tuple)) else [names]
    try:
        fn(*args)
    except OSError as e:
        if errno.errorcode.get(e.errno) in names:
            return
        raise Fail(f'{fn.__name__}: got {errno.errorcode.get(e.errno)}, want {"/".join(names)}')
    raise Fail(f'{fn.__name__}: succeeded, want {"/".join(names)}')


def check(cond, why):
    if not cond:
        raise Fail(why)


def write(path, data=b'data', mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def as_nobody(code):
    """Run python code as nobody:nogroup; returns 'OK' or the errno name it ended with."""
    prog = ('import os, errno, sys\n'
            'try:\n' + ''.join('    ' + l + '\n' for l in code.strip().split('\n')) +
            '    print("OK")\n'
            'except OSError as e:\n'
            '    print(errno.errorcode.get(e.errno, e.errno))\n')
    out = subprocess.run(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', 'python3', '-c', prog],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip() or out.stderr.strip()[-200:]


# ---------------------------------------------------------------- open / create

@case('open')
def open_creat_mode(d):
    fd = os.open(f'{d}/f', os.O_CREAT | os.O_WRONLY, 0o640)
    os.close(fd)
    check(stat.S_IMODE(os.stat(f'{d}/f').st_mode) == 0o640, f'mode {oct(os.stat(f"{d}/f").st_mode)}')
    check(stat.S_ISREG(os.stat(f'{d}/f').st_mode), 'not a regular file')

@case('open')
def open_creat_excl_existing(d):
    write(f'{d}/f')
    expect_errno('EEXIST', os.open, f'{d}/f', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)

@case('open')
def open_creat_excl_new(d):
    os.close(os.open(f'{d}/f', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    check(os.path.exists(f'{d}/f'), 'not created')

@case('open')
def open_creat_excl_twice(d):
    os.close(os.open(f'{d}/f', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    expect_errno('EEXIST', os.open, f'{d}/f', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)

@case('open')
def open_missing(d):
    expect_errno('ENOENT', os.open, f'{d}/nope', os.O_RDONLY)

@case('open')
def open_missing_parent(d):
    expect_errno('ENOENT', os.open, f'{d}/nodir/f', os.O_CREAT | os.O_WRONLY, 0o644)

@case('open')
def open_through_file(d):
    write(f'{d}/f')
    expect_errno('ENOTDIR', os.open, f'{d}/f/x', os.O_RDONLY)

@case('open')
def open_dir_for_write(d):
    os.mkdir(f'{d}/sub')
    expect_errno('EISDIR', os.open, f'{d}/sub', os.O_WRONLY)

@case('open')
def open_trunc(d):
    write(f'{d}/f', b'x' * 1000)
    os.close(os.open(f'{d}/f', os.O_WRONLY | os.O_TRUNC))
    check(os.stat(f'{d}/f').st_size == 0, f'size {os.stat(f"{d}/f").st_size}')

@case('open')
def open_append(d):
    write(f'{d}/f', b'abc')
    fd = os.open(f'{d}/f', os.O_WRONLY | os.O_APPEND)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, b'def')
    os.close(fd)
    check(read(f'{d}/f') == b'abcdef', f'content {read(f"{d}/f")!r}')

@case('open')
def open_rdonly_write_ebadf(d):
    write(f'{d}/f')
    fd = os.open(f'{d}/f', os.O_RDONLY)
    try:
        expect_errno('EBADF', os.write, fd, b'x')
    finally:
        os.close(fd)

@case('open')
def open_rdwr_random(d):
    write(f'{d}/f', b'0123456789')
    fd = os.open(f'{d}/f', os.O_RDWR)
    os.pwrite(fd, b'AB', 3)
    os.pwrite(fd, b'Z', 12)
    check(os.pread(fd, 20, 0) == b'012AB56789\0\0Z', f'read back {os.pread(fd, 20, 0)!r}')
    os.close(fd)
    check(read(f'{d}/f') == b'012AB56789\0\0Z', f'after close {read(f"{d}/f")!r}')

@case('open')
def open_write_read_back(d):
    data = os.urandom(3 << 20)
    write(f'{d}/f', data)
    check(read(f'{d}/f') == data, 'content differs')
    check(os.stat(f'{d}/f').st_size == len(data), 'size differs')

@case('open')
def open_fsync(d):
    fd = os.open(f'{d}/f', os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b'sync')
    os.fsync(fd)
    os.close(fd)
    check(read(f'{d}/f') == b'sync', 'content')

@case('open')
def open_name_too_long(d):
    expect_errno('ENAMETOOLONG', os.open, f'{d}/{LONG}', os.O_CREAT | os.O_WRONLY, 0o644)

@case('open')
def open_name_max(d):
    write(f'{d}/{MAX}')
    check(os.path.exists(f'{d}/{MAX}'), '255-byte name not created')

@case('open')
def open_nobody_denied_read(d):
    write(f'{d}/f', b'secret', 0o600)
    os.chmod(f'{d}/f', 0o600)
    r = as_nobody(f"open('{d}/f').read()")
    check(r == 'EACCES', f'nobody read a 0600 root file: {r}')

@case('open')
def open_nobody_denied_write(d):
    write(f'{d}/f', b'x', 0o644)
    os.chmod(f'{d}/f', 0o644)
    r = as_nobody(f"os.open('{d}/f', os.O_WRONLY)")
    check(r == 'EACCES', f'nobody wrote a 0644 root file: {r}')

@case('open')
def open_nobody_create_in_root_dir(d):
    os.chmod(d, 0o755)
    r = as_nobody(f"os.open('{d}/n', os.O_CREAT | os.O_WRONLY, 0o644)")
    check(r == 'EACCES', f'nobody created in a 0755 root dir: {r}')

@case('open')
def open_nobody_creates_own(d):
    os.chmod(d, 0o777)
    r = as_nobody(f"os.close(os.open('{d}/n', os.O_CREAT | os.O_WRONLY, 0o644))")
    check(r == 'OK', f'create as nobody: {r}')
    st = os.stat(f'{d}/n')
    check(st.st_uid == NOBODY, f'owner {st.st_uid}, want nobody ({NOBODY})')

@case('open')
def readdir_lists_all(d):
    names = {f'e{i}' for i in range(300)}
    for n in names:
        write(f'{d}/{n}')
    got = set(os.listdir(d))
    check(got == names, f'{len(got)} names listed, want {len(names)}')

@case('open')
def statvfs_namemax(d):
    check(os.statvfs(d).f_namemax == 255, f'f_namemax {os.statvfs(d).f_namemax}')

# ---------------------------------------------------------------- truncate

@case('truncate')
def truncate_grow(d):
    write(f'{d}/f', b'ab')
    os.truncate(f'{d}/f', 10)
    check(read(f'{d}/f') == b'ab' + b'\0' * 8, f'content {read(f"{d}/f")!r}')

@case('truncate')
def truncate_shrink(d):
    write(f'{d}/f', b'abcdef')
    os.truncate(f'{d}/f', 2)
    check(read(f'{d}/f') == b'ab', f'content {read(f"{d}/f")!r}')

@case('truncate')
def truncate_zero(d):
    write(f'{d}/f', b'abcdef')
    os.truncate(f'{d}/f', 0)
    check(os.stat(f'{d}/f').st_size == 0, 'size')

@case('truncate')
def ftruncate_open(d):
    write(f'{d}/f', b'abcdef')
    fd = os.open(f'{d}/f', os.O_RDWR)
    os.ftruncate(fd, 3)
    os.close(fd)
    check(read(f'{d}/f') == b'abc', f'content {read(f"{d}/f")!r}')

@case('truncate')
def truncate_dir(d):
    os.mkdir(f'{d}/sub')
    expect_errno('EISDIR', os.truncate, f'{d}/sub', 0)

@case('truncate')
def truncate_missing(d):
    expect_errno('ENOENT', os.truncate, f'{d}/nope', 0)

@case('truncate')
def truncate_negative(d):
    write(f'{d}/f')
    expect_errno('EINVAL', os.truncate, f'{d}/f', -1)

@case('truncate')
def ftruncate_rdonly(d):
    write(f'{d}/f')
    fd = os.open(f'{d}/f', os.O_RDONLY)
    try:
        expect_errno(['EINVAL', 'EBADF'], os.ftruncate, fd, 0)
    finally:
        os.close(fd)

@case('truncate')
def truncate_nobody_denied(d):
    write(f'{d}/f', b'abc', 0o644)
    os.chmod(f'{d}/f', 0o644)
    r = as_nobody(f"os.truncate('{d}/f', 0)")
    check(r == 'EACCES', f'nobody truncated a 0644 root file: {r}')

# ---------------------------------------------------------------- unlink

@case('unlink')
def unlink_file(d):
    write(f'{d}/f')
    os.unlink(f'{d}/f')
    expect_errno('ENOENT', os.stat, f'{d}/f')

@case('unlink')
def unlink_missing(d):
    expect_errno('ENOENT', os.unlink, f'{d}/nope')

@case('unlink')
def unlink_dir(d):
    os.mkdir(f'{d}/sub')
    expect_errno(['EISDIR', 'EPERM'], os.unlink, f'{d}/sub')

@case('unlink')
def unlink_through_file(d):
    write(f'{d}/f')
    expect_errno('ENOTDIR', os.unlink, f'{d}/f/x')

@case('unlink')
def unlink_open_file(d):
    write(f'{d}/f', b'still here')
    fd = os.open(f'{d}/f', os.O_RDONLY)
    os.unlink(f'{d}/f')
    data = os.pread(fd, 100, 0)
    os.close(fd)
    check(data == b'still here', f'read after unlink {data!r}')
    check('f' not in os.listdir(d), 'name still listed')

@case('unlink')
def unlink_sticky(d):
    os.chmod(d, 0o1777)
    write(f'{d}/f')
    r = as_nobody(f"os.unlink('{d}/f')")
    check(r == 'EPERM', f'nobody removed root\'s file in a sticky dir: {r}')

@case('unlink')
def unlink_nobody_denied(d):
    os.chmod(d, 0o755)
    write(f'{d}/f')
    r = as_nobody(f"os.unlink('{d}/f')")
    check(r == 'EACCES', f'nobody removed a file in a 0755 root dir: {r}')

# ---------------------------------------------------------------- mkdir / rmdir

@case('mkdir')
def mkdir_mode(d):
    os.mkdir(f'{d}/sub', 0o750)
    st = os.stat(f'{d}/sub')
    check(stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o750, f'mode {oct(st.st_mode)}')

@case('mkdir')
def mkdir_existing(d):
    os.mkdir(f'{d}/sub')
    expect_errno('EEXIST', os.mkdir, f'{d}/sub')

@case('mkdir')
def mkdir_over_file(d):
    write(f'{d}/f')
    expect_errno('EEXIST', os.mkdir, f'{d}/f')

@case('mkdir')
def mkdir_missing_parent(d):
    expect_errno('ENOENT', os.mkdir, f'{d}/a/b')

@case('mkdir')
def mkdir_under_file(d):
    write(f'{d}/f')
    expect_errno('ENOTDIR', os.mkdir, f'{d}/f/sub')

@case('mkdir')
def mkdir_name_too_long(d):
    expect_errno('ENAMETOOLONG', os.mkdir, f'{d}/{LONG}')

@case('mkdir')
def mkdir_nobody_owner(d):
    os.chmod(d, 0o777)
    r = as_nobody(f"os.mkdir('{d}/nd')")
    check(r == 'OK', f'mkdir as nobody: {r}')
    check(os.stat(f'{d}/nd').st_uid == NOBODY, f'owner {os.stat(f"{d}/nd").st_uid}')

@case('rmdir')
def rmdir_empty(d):
    os.mkdir(f'{d}/sub')
    os.rmdir(f'{d}/sub')
    expect_errno('ENOENT', os.stat, f'{d}/sub')

@case('rmdir')
def rmdir_not_empty(d):
    os.mkdir(f'{d}/sub')
    write(f'{d}/sub/f')
    expect_errno(['ENOTEMPTY', 'EEXIST'], os.rmdir, f'{d}/sub')

@case('rmdir')
def rmdir_file(d):
    write(f'{d}/f')
    expect_errno('ENOTDIR', os.rmdir, f'{d}/f')

@case('rmdir')
def rmdir_missing(d):
    expect_errno('ENOENT', os.rmdir, f'{d}/nope')

@case('rmdir')
def rmdir_dot(d):
    os.mkdir(f'{d}/sub')
    expect_errno(['EINVAL', 'EBUSY'], os.rmdir, f'{d}/sub/.')

# ---------------------------------------------------------------- rename

@case('rename')
def rename_file(d):
    write(f'{d}/a', b'content')
    os.rename(f'{d}/a', f'{d}/b')
    expect_errno('ENOENT', os.stat, f'{d}/a')
    check(read(f'{d}/b') == b'content', 'content lost')

@case('rename')
def rename_replaces_file(d):
    write(f'{d}/a', b'new')
    write(f'{d}/b', b'old')
    os.rename(f'{d}/a', f'{d}/b')
    check(read(f'{d}/b') == b'new', 'not replaced')

@case('rename')
def rename_dir(d):
    os.mkdir(f'{d}/a')
    write(f'{d}/a/f', b'in')
    os.rename(f'{d}/a', f'{d}/b')
    check(read(f'{d}/b/f') == b'in', 'child lost')

@case('rename')
def rename_dir_onto_empty_dir(d):
    os.mkdir(f'{d}/a')
    os.mkdir(f'{d}/b')
    os.rename(f'{d}/a', f'{d}/b')
    check(not os.path.exists(f'{d}/a'), 'source still there')

@case('rename')
def rename_dir_onto_nonempty(d):
    os.mkdir(f'{d}/a')
    os.mkdir(f'{d}/b')
    write(f'{d}/b/f')
    expect_errno(['ENOTEMPTY', 'EEXIST'], os.rename, f'{d}/a', f'{d}/b')

@case('rename')
def rename_file_onto_dir(d):
    write(f'{d}/a')
    os.mkdir(f'{d}/b')
    expect_errno('EISDIR', os.rename, f'{d}/a', f'{d}/b')

@case('rename')
def rename_dir_onto_file(d):
    os.mkdir(f'{d}/a')
    write(f'{d}/b')
    expect_errno('ENOTDIR', os.rename, f'{d}/a', f'{d}/b')

@case('rename')
def rename_missing(d):
    expect_errno('ENOENT', os.rename, f'{d}/nope', f'{d}/b')

@case('rename')
def rename_into_itself(d):
    os.mkdir(f'{d}/a')
    expect_errno('EINVAL', os.rename, f'{d}/a', f'{d}/a/b')

@case('rename')
def rename_missing_target_dir(d):
    write(f'{d}/a')
    expect_errno('ENOENT', os.rename, f'{d}/a', f'{d}/nodir/b')

@case('rename')
def rename_name_too_long(d):
    write(f'{d}/a')
    expect_errno('ENAMETOOLONG', os.rename, f'{d}/a', f'{d}/{LONG}')

@case('rename')
def rename_exdev(d):
    write(f'{d}/a')
    target = f'/tmp/strata-conf-exdev-{os.getpid()}'
    try:
        expect_errno('EXDEV', os.rename, f'{d}/a', target)
    finally:
        if os.path.exists(target):
            os.unlink(target)

@case('rename')
def rename_open_file(d):
    write(f'{d}/a', b'open')
    fd = os.open(f'{d}/a', os.O_RDONLY)
    os.rename(f'{d}/a', f'{d}/b')
    data = os.pread(fd, 10, 0)
    os.close(fd)
    check(data == b'open', f'read after rename {data!r}')

# ---------------------------------------------------------------- chmod / chown

@case('chmod')
def chmod_file(d):
    write(f'{d}/f')
    os.chmod(f'{d}/f', 0o600)
    check(stat.S_IMODE(os.stat(f'{d}/f').st_mode) == 0o600, f'mode {oct(os.stat(f"{d}/f").st_mode)}')

@case('chmod')
def chmod_dir(d):
    os.mkdir(f'{d}/sub')
    os.chmod(f'{d}/sub', 0o700)
    check(stat.S_IMODE(os.stat(f'{d}/sub').st_mode) == 0o700, f'mode {oct(os.stat(f"{d}/sub").st_mode)}')

@case('chmod')
def chmod_kept_after_write(d):
    write(f'{d}/f')
    os.chmod(f'{d}/f', 0o640)
    with open(f'{d}/f', 'ab') as f:
        f.write(b'more')
    check(stat.S_IMODE(os.stat(f'{d}/f').st_mode) == 0o640, f'mode {oct(os.stat(f"{d}/f").st_mode)}')

@case('chmod')
def chmod_missing(d):
    expect_errno('ENOENT', os.chmod, f'{d}/nope', 0o644)

@case('chmod')
def chmod_nobody_denied(d):
    write(f'{d}/f')
    r = as_nobody(f"os.chmod('{d}/f', 0o777)")
    check(r == 'EPERM', f'nobody chmod of root\'s file: {r}')

@case('chmod')
def chmod_owner_nobody(d):
    os.chmod(d, 0o777)
    r = as_nobody(f"os.close(os.open('{d}/n', os.O_CREAT | os.O_WRONLY, 0o644)); os.chmod('{d}/n', 0o600)")
    check(r == 'OK', f'nobody chmod of its own file: {r}')
    check(stat.S_IMODE(os.stat(f'{d}/n').st_mode) == 0o600, 'mode')

@case('chmod')
def chmod_updates_ctime(d):
    write(f'{d}/f')
    before = os.stat(f'{d}/f').st_ctime_ns
    time.sleep(1.1)
    os.chmod(f'{d}/f', 0o600)
    check(os.stat(f'{d}/f').st_ctime_ns > before, 'ctime unchanged by chmod')

@case('chown')
def chown_root_gives(d):
    write(f'{d}/f')
    os.chown(f'{d}/f', NOBODY, NOGROUP)
    st = os.stat(f'{d}/f')
    check((st.st_uid, st.st_gid) == (NOBODY, NOGROUP), f'owner {st.st_uid}:{st.st_gid}')

@case('chown')
def chown_keep_minus_one(d):
    write(f'{d}/f')
    os.chown(f'{d}/f', NOBODY, -1)
    os.chown(f'{d}/f', -1, NOGROUP)
    st = os.stat(f'{d}/f')
    check((st.st_uid, st.st_gid) == (NOBODY, NOGROUP), f'owner {st.st_uid}:{st.st_gid}')

@case('chown')
def chown_nobody_denied(d):
    os.chmod(d, 0o777)
    write(f'{d}/f')
    r = as_nobody(f"os.chown('{d}/f', {NOBODY}, {NOGROUP})")
    check(r == 'EPERM', f'nobody took root\'s file: {r}')

@case('chown')
def chown_then_owner_reads(d):
    write(f'{d}/f', b'mine', 0o600)
    os.chmod(f'{d}/f', 0o600)
    os.chown(f'{d}/f', NOBODY, NOGROUP)
    r = as_nobody(f"assert open('{d}/f').read() == 'mine'")
    check(r == 'OK', f'new owner read: {r}')

@case('chown')
def chown_missing(d):
    expect_errno('ENOENT', os.chown, f'{d}/nope', 0, 0)

# ---------------------------------------------------------------- utimensat

@case('utimens')
def utime_both(d):
    write(f'{d}/f')
    os.utime(f'{d}/f', (1000000000, 1100000000))
    check(int(os.stat(f'{d}/f').st_mtime) == 1100000000, f'mtime {os.stat(f"{d}/f").st_mtime}')

@case('utimens')
def utime_mtime_only(d):
    write(f'{d}/f')
    subprocess.check_call(['touch', '-m', '-d', '@1200000000', f'{d}/f'])
    check(int(os.stat(f'{d}/f').st_mtime) == 1200000000, f'mtime {os.stat(f"{d}/f").st_mtime}')

@case('utimens')
def utime_now(d):
    write(f'{d}/f')
    os.utime(f'{d}/f', (1000000000, 1000000000))
    os.utime(f'{d}/f', None)
    check(abs(os.stat(f'{d}/f').st_mtime - time.time()) < 60, f'mtime {os.stat(f"{d}/f").st_mtime}')

@case('utimens')
def utime_dir(d):
    os.mkdir(f'{d}/sub')
    os.utime(f'{d}/sub', (1000000000, 1300000000))
    check(int(os.stat(f'{d}/sub').st_mtime) == 1300000000, f'mtime {os.stat(f"{d}/sub").st_mtime}')

@case('utimens')
def utime_nobody_denied(d):
    write(f'{d}/f')
    r = as_nobody(f"os.utime('{d}/f', (1, 1))")
    check(r == 'EPERM', f'nobody set times of root\'s file: {r}')

@case('utimens')
def utime_missing(d):
    expect_errno('ENOENT', os.utime, f'{d}/nope', (1, 1))

@case('utimens')
def write_updates_mtime(d):
    write(f'{d}/f')
    os.utime(f'{d}/f', (1000000000, 1000000000))
    with open(f'{d}/f', 'ab') as f:
        f.write(b'x')
    check(os.stat(f'{d}/f').st_mtime > 1000000000, 'mtime not updated by a write')

# ---------------------------------------------------------------- timestamps (atime, mtime, ctime)

PAST = 1000000000


def settle():
    """Let the clock move past the last change (the kernel stamps with a coarse clock)."""
    time.sleep(0.03)


def times(p):
    st = os.stat(p)
    return st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns


def dir_changes(d, op, *dirs):
    """op() must change the mtime and ctime of every directory in dirs (set to PAST first)."""
    dirs = dirs or (d,)
    before = {}
    for x in dirs:
        os.utime(x, (PAST, PAST))
        before[x] = times(x)
    settle()
    op()
    for x in dirs:
        a, m, c = times(x)
        check(m > PAST * 10**9, f'{x}: mtime unchanged')
        check(c > before[x][2], f'{x}: ctime unchanged')


def file_ctime_changes(p, op, mtime_too):
    os.utime(p, (PAST, PAST))
    _, _, c0 = times(p)
    settle()
    op()
    a, m, c = times(p)
    check(c > c0, 'ctime unchanged')
    if mtime_too:
        check(m > PAST * 10**9, 'mtime unchanged')
    else:
        check(m == PAST * 10**9, f'mtime changed to {m}')


def utimensat(p, atime, mtime):
    """utimensat(2) with UTIME_OMIT / UTIME_NOW ('omit', 'now') or (sec, nsec)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)

    class TS(ctypes.Structure):
        _fields_ = [('s', ctypes.c_long), ('ns', ctypes.c_long)]
    conv = lambda t: TS(0, (1 << 30) - 2) if t == 'omit' else TS(0, (1 << 30) - 1) if t == 'now' else TS(*t)
    arr = (TS * 2)(conv(atime), conv(mtime))
    if libc.utimensat(-100, p.encode(), arr, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))

@case('timestamps')
def ts_create_changes_dir(d):
    dir_changes(d, lambda: write(f'{d}/f'))

@case('timestamps')
def ts_mkdir_changes_dir(d):
    dir_changes(d, lambda: os.mkdir(f'{d}/sub'))

@case('timestamps')
def ts_unlink_changes_dir(d):
    write(f'{d}/f')
    dir_changes(d, lambda: os.unlink(f'{d}/f'))

@case('timestamps')
def ts_rmdir_changes_dir(d):
    os.mkdir(f'{d}/sub')
    dir_changes(d, lambda: os.rmdir(f'{d}/sub'))

@case('timestamps')
def ts_rename_changes_both_dirs(d):
    os.mkdir(f'{d}/a')
    os.mkdir(f'{d}/b')
    write(f'{d}/a/f')
    dir_changes(d, lambda: os.rename(f'{d}/a/f', f'{d}/b/f'), f'{d}/a', f'{d}/b')

@case('timestamps')
def ts_rename_over_file_changes_dir(d):
    write(f'{d}/f')
    write(f'{d}/g')
    dir_changes(d, lambda: os.rename(f'{d}/f', f'{d}/g'))

@case('timestamps')
def ts_rename_changes_ctime(d):
    write(f'{d}/f')
    os.utime(f'{d}/f', (PAST, PAST))
    _, _, c0 = times(f'{d}/f')
    settle()
    os.rename(f'{d}/f', f'{d}/g')
    a, m, c = times(f'{d}/g')
    check(c > c0, 'ctime unchanged by rename')
    check(m == PAST * 10**9 and a == PAST * 10**9, 'rename changed atime or mtime')

@case('timestamps')
def ts_overwrite_keeps_dir(d):
    write(f'{d}/f')
    os.utime(d, (PAST, PAST))
    write(f'{d}/f', b'other')
    check(times(d)[1] == PAST * 10**9, 'rewriting an existing file changed its directory\'s mtime')

@case('timestamps')
def ts_write_changes_mtime_ctime(d):
    write(f'{d}/f')
    def op():
        with open(f'{d}/f', 'ab') as f:
            f.write(b'x')
    file_ctime_changes(f'{d}/f', op, True)

@case('timestamps')
def ts_truncate_changes_mtime_ctime(d):
    write(f'{d}/f', b'x' * 100)
    file_ctime_changes(f'{d}/f', lambda: os.truncate(f'{d}/f', 10), True)

@case('timestamps')
def ts_ftruncate_changes_mtime_ctime(d):
    write(f'{d}/f', b'x' * 100)
    def op():
        fd = os.open(f'{d}/f', os.O_WRONLY)
        try:
            os.ftruncate(fd, 20)
        finally:
            os.close(fd)
    file_ctime_changes(f'{d}/f', op, True)

@case('timestamps')
def ts_otrunc_empty_changes_mtime_ctime(d):
    write(f'{d}/f', b'')
    file_ctime_changes(f'{d}/f', lambda: os.close(os.open(f'{d}/f', os.O_WRONLY | os.O_TRUNC)), True)

@case('timestamps')
def ts_otrunc_changes_mtime_ctime(d):
    write(f'{d}/f', b'some bytes')
    file_ctime_changes(f'{d}/f', lambda: os.close(os.open(f'{d}/f', os.O_WRONLY | os.O_TRUNC)), True)

@case('timestamps')
def ts_chmod_changes_ctime_only(d):
    write(f'{d}/f')
    file_ctime_changes(f'{d}/f', lambda: os.chmod(f'{d}/f', 0o600), False)

@case('timestamps')
def ts_chown_changes_ctime_only(d):
    write(f'{d}/f')
    file_ctime_changes(f'{d}/f', lambda: os.chown(f'{d}/f', NOBODY, NOGROUP), False)

@case('timestamps')
def ts_chmod_dir_changes_ctime(d):
    os.mkdir(f'{d}/sub')
    file_ctime_changes(f'{d}/sub', lambda: os.chmod(f'{d}/sub', 0o700), False)

@case('timestamps')
def ts_utime_sets_atime_and_ctime(d):
    write(f'{d}/f')
    _, _, c0 = times(f'{d}/f')
    settle()
    os.utime(f'{d}/f', ns=(1100000000123000000, 1200000000456000000))
    a, m, c = times(f'{d}/f')
    check(a == 1100000000123000000, f'atime {a}')
    check(m == 1200000000456000000, f'mtime {m}')
    check(c > c0, 'ctime unchanged by utime')

@case('timestamps')
def ts_touch_a_keeps_mtime(d):
    write(f'{d}/f')
    os.utime(f'{d}/f', (PAST, PAST))
    subprocess.check_call(['touch', '-a', '-d', '@1300000000', f'{d}/f'])
    a, m, _ = times(f'{d}/f')
    check(a == 1300000000 * 10**9, f'atime {a}')
    check(m == PAST * 10**9, f'mtime {m}')

@case('timestamps')
def ts_utime_omit_atime(d):
    write(f'{d}/f')
    os.utime(f'{d}/f', (PAST, PAST))
    utimensat(f'{d}/f', 'omit', (1400000000, 0))
    a, m, _ = times(f'{d}/f')
    check(a == PAST * 10**9, f'UTIME_OMIT atime changed to {a}')
    check(m == 1400000000 * 10**9, f'mtime {m}')

@case('timestamps')
def ts_utime_now_both(d):
    write(f'{d}/f')
    os.utime(f'{d}/f', (PAST, PAST))
    utimensat(f'{d}/f', 'now', 'now')
    a, m, _ = times(f'{d}/f')
    now = time.time_ns()
    check(abs(a - now) < 60 * 10**9 and abs(m - now) < 60 * 10**9, f'UTIME_NOW: atime {a}, mtime {m}')

@case('timestamps')
def ts_times_after_listing(d):
    write(f'{d}/f')
    os.utime(f'{d}/f', (1500000000, PAST))
    os.listdir(d)
    subprocess.run(['ls', '-l', d], capture_output=True)
    a, m, _ = times(f'{d}/f')
    check(a == 1500000000 * 10**9 and m == PAST * 10**9, f'after a listing: atime {a}, mtime {m}')

# ---------------------------------------------------------------- link / symlink / mknod (POSIX: they work)

@case('link')
def link_works(d):
    write(f'{d}/f')
    os.link(f'{d}/f', f'{d}/g')
    check(os.stat(f'{d}/f').st_nlink == 2, 'nlink')

@case('symlink')
def symlink_works(d):
    write(f'{d}/f')
    os.symlink('f', f'{d}/l')
    check(os.readlink(f'{d}/l') == 'f', 'readlink')

@case('mknod')
def mkfifo_works(d):
    os.mkfifo(f'{d}/p')
    check(stat.S_ISFIFO(os.stat(f'{d}/p').st_mode), 'not a fifo')

@case('mknod')
def mknod_regular(d):
    os.mknod(f'{d}/r', 0o644 | stat.S_IFREG)
    check(stat.S_ISREG(os.stat(f'{d}/r').st_mode), 'not a regular file')

@case('mknod')
def mknod_existing(d):
    write(f'{d}/f')
    expect_errno('EEXIST', os.mknod, f'{d}/f', 0o644 | stat.S_IFREG)

# ---------------------------------------------------------------- ENAMETOOLONG

@case('nametoolong')
def stat_name_too_long(d):
    expect_errno('ENAMETOOLONG', os.stat, f'{d}/{LONG}')

@case('nametoolong')
def unlink_name_too_long(d):
    expect_errno('ENAMETOOLONG', os.unlink, f'{d}/{LONG}')

@case('nametoolong')
def rmdir_name_too_long(d):
    expect_errno('ENAMETOOLONG', os.rmdir, f'{d}/{LONG}')


def main():
    results = []
    for i, (category, fn) in enumerate(CASES):
        if ONLY and fn.__name__ != ONLY:
            continue
        d = os.path.join(BASE, f'c{i:03d}-{fn.__name__}')
        os.mkdir(d)
        os.chmod(d, 0o777)
        try:
            fn(d)
            ok, why = True, ''
        except Fail as e:
            ok, why = False, str(e)
        except OSError as e:
            ok, why = False, f'unexpected {errno.errorcode.get(e.errno, e.errno)}: {e}'
        except Exception as e:  # noqa: BLE001 - a case must never stop the run
            ok, why = False, f'{type(e).__name__}: {e}'
        print(json.dumps({'id': fn.__name__, 'category': category, 'ok': ok, 'why': why}), flush=True)
    return results


if __name__ == '__main__':
    os.umask(0)
    main()
