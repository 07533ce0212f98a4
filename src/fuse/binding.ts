// The one place that knows the FUSE binding (fuse-native 2.2.6, libfuse 2.9 high-level API).
// Everything else in src/fuse/ implements `FuseHandlers` (promises, thrown errno) and asks
// `mountFuse` for a mount, so the binding can be replaced by touching only this file.

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const run = promisify(execFile);

/** POSIX errno numbers (positive), as the kernel knows them. */
export const E = osConstants.errno;

/** An error carrying the errno a FUSE handler answers with. */
export class FuseErrno extends Error {
  constructor(readonly errno: number, message?: string) {
    super(message ?? `errno ${errno}`);
  }
}

/** What a handler returns for getattr. Times in ms since the epoch. */
export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  mtimeMs: number;
  atimeMs: number;
  ctimeMs: number;
  blksize?: number;
  blocks?: number;
  /** Device number of a character or block device node. */
  rdev?: number;
}

export interface FuseStatfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  namemax: number;
}

/** The user making a call (only with the corrected binding: see loadBinding). */
export interface FuseCaller { uid: number; gid: number }

/**
 * The file system operations, by path (libfuse's high-level API). Handlers reject with a
 * FuseErrno (or anything else: mapped through `errnoOf` given to mountFuse). `fh` is the
 * handle number returned by open/create (≥ 1).
 */
/** A time given to utimens: ms since the epoch, the current time, or "leave it as it is". */
export type FuseTime = number | 'now' | 'omit';

export interface FuseHandlers {
  getattr(path: string): Promise<FuseStat>;
  /** Every name of a directory at once (the stock binding, which has no offsets). */
  readdir(path: string): Promise<string[]>;
  /** Open a directory for a paged listing; resolves to its handle (≥ 1). */
  opendir(path: string): Promise<number>;
  /**
   * The names of directory handle `fh` from entry number `offset` on ("." is 0, ".." is 1),
   * as many as the handler likes (an empty array: the end); `whole` says they are the entire
   * directory (libfuse then keeps them and asks no more). The corrected binding only.
   */
  readdirPage(path: string, fh: number, offset: number): Promise<{ names: string[]; whole: boolean }>;
  releasedir(path: string, fh: number): Promise<void>;
  open(path: string, flags: number): Promise<number>;
  create(path: string, mode: number, caller?: FuseCaller): Promise<number>;
  /** Fill `buf` (its length is the request size); resolves to the bytes filled (0 at EOF). */
  read(path: string, fh: number, buf: Buffer, position: number): Promise<number>;
  /** `data` is a copy the handler may keep. Resolves to the bytes written. */
  write(path: string, fh: number, data: Buffer, position: number): Promise<number>;
  flush(path: string, fh: number): Promise<void>;
  release(path: string, fh: number): Promise<void>;
  fsync(path: string, fh: number, datasync: boolean): Promise<void>;
  truncate(path: string, size: number): Promise<void>;
  ftruncate(path: string, fh: number, size: number): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, mode: number, caller?: FuseCaller): Promise<void>;
  rmdir(path: string): Promise<void>;
  rename(src: string, dst: string): Promise<void>;
  utimens(path: string, atime: FuseTime, mtime: FuseTime): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  chown(path: string, uid: number, gid: number): Promise<void>;
  statfs(path: string): Promise<FuseStatfs>;
  getxattr(path: string, name: string): Promise<Buffer | null>;
  setxattr(path: string, name: string, value: Buffer): Promise<void>;
  listxattr(path: string): Promise<string[]>;
  removexattr(path: string, name: string): Promise<void>;
  symlink(target: string, path: string, caller?: FuseCaller): Promise<void>;
  link(src: string, dst: string): Promise<void>;
  mknod(path: string, mode: number, dev: number, caller?: FuseCaller): Promise<void>;
  readlink(path: string): Promise<string>;
  /**
   * The mount's attribute cache in the binding, once mounted (the corrected binding only):
   * statuses put there are answered on the FUSE threads until they expire or are removed.
   */
  attachAttrCache?(cache: AttrCache): void;
  /** The mount's known directories in the binding, once mounted (the corrected binding only). */
  attachKnownDirs?(known: KnownDirs): void;
}

/** One entry of the binding's attribute cache: a mount-relative path and its stat. */
export interface AttrEntry {
  path: string;
  stat: FuseStat;
  /** Wall-clock time (ms) until which getattr may be answered from it. */
  untilMs: number;
}

/**
 * The binding's copy of the directories a mount knows completely (mount paths): a lookup of a
 * name a known directory lacks is answered ENOENT there until the directory's expiry time.
 * `known` takes the full paths of the names present.
 */
export interface KnownDirs {
  known(dir: string, paths: readonly string[], untilMs: number): void;
  present(path: string, untilMs: number): void;
  gone(path: string, untilMs: number): void;
  forgetDir(dir: string): void;
  clear(): void;
}

/** The binding's attribute cache of one mount (see FuseHandlers.attachAttrCache). */
export interface AttrCache {
  put(entries: readonly AttrEntry[]): void;
  /** Forget one path. */
  remove(path: string): void;
  /** Forget every path of the mount. */
  clear(): void;
}

export interface FuseMountOptions {
  /** Mount options passed to libfuse as `-o a,b=c` (e.g. allow_other, default_permissions, ro). */
  options: string[];
  /** errno (positive) for a rejection that is not a FuseErrno. */
  errnoOf(err: unknown): number;
  /** Per-operation timeout of the binding in ms (false: none); commits are never timed out. */
  timeoutMs?: number | false;
  /**
   * Serve extended attributes (default true). False: no xattr operation is given to libfuse,
   * which answers ENOSYS, and the kernel then asks no more (every xattr call fails at once).
   */
  xattrs?: boolean;
}

export interface FuseMount {
  readonly mountpoint: string;
  /** Unmount (lazily when busy) and stop the FUSE threads. */
  unmount(): Promise<void>;
}

/** True when this machine can mount: /dev/fuse is usable and the binding loads. */
export function fuseAvailable(): { ok: true } | { ok: false; why: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('node:fs').accessSync('/dev/fuse', 6);
  } catch (err) {
    return { ok: false, why: `/dev/fuse is not usable: ${(err as Error).message}` };
  }
  try {
    utimensFixed = loadBinding().fixedUtimens;
    require('fuse-native');
  } catch (err) {
    return { ok: false, why: `the FUSE binding (fuse-native) does not load: ${(err as Error).message}` };
  }
  return { ok: true };
}

/** Force-unmount a mount point (a stale one too): fusermount3 -u -z, then fusermount, then umount -l. */
export async function forceUnmount(mountpoint: string): Promise<boolean> {
  for (const [cmd, args] of [['fusermount3', ['-u', '-z']], ['fusermount', ['-u', '-z']], ['umount', ['-l']]] as const) {
    try {
      await run(cmd, [...args, mountpoint]);
      return true;
    } catch {
      // next tool
    }
  }
  return false;
}

type Cb = (code: number, ...rest: unknown[]) => void;

/**
 * fuse-native 2.2.6 hands `utimens` the access time twice (its C passes `atime` where `mtime`
 * belongs), so no mtime set by rsync or cp -p would arrive, and it does not tell who calls, so
 * a created file could not be owned by its creator. When a C compiler is there, the binding's
 * own source is compiled once with exact edits for both (into node_modules/.cache, keyed by the
 * source's hash) and loaded instead of the prebuilt one. Without a compiler the prebuilt
 * binary is used: mtimes come from the access time and new files belong to the default owner.
 */
const UTIMENS_WRONG = 'FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)';

/** Sentinels of utimens times in ms (beyond any real date, exact as doubles). */
export const UTIME_OMIT_MS = 2 ** 52;
export const UTIME_NOW_MS = 2 ** 52 + 1;

/**
 * C added to the binding: the utimens sentinels, our xattr prefix, and direct reads (a table
 * handle → local files with their end offsets, read with pread on the FUSE thread under a
 * read lock; set and cleared from JavaScript around open and release).
 */
const DIRECT_READ_C = `
#include <errno.h>
#define STRATA_TIME_MS(ts) ((ts).tv_nsec == UTIME_OMIT ? (size_t) ${UTIME_OMIT_MS} : (ts).tv_nsec == UTIME_NOW ? (size_t) ${UTIME_NOW_MS} : (size_t) timespec_to_uint64(&(ts)))
#define STRATA_XATTR_PREFIX "user.strata."
#define STRATA_DIRECT_BUCKETS 1024
typedef struct strata_direct_s {
  uint64_t fh;
  uint32_t n;
  int32_t *fds;
  double *ends;
  struct strata_direct_s *next;
} strata_direct_t;
static strata_direct_t *strata_direct_tab[STRATA_DIRECT_BUCKETS];
static pthread_rwlock_t strata_direct_lock = PTHREAD_RWLOCK_INITIALIZER;

static int strata_direct_read (uint64_t fh, char *buf, size_t len, off_t offset, int *res) {
  pthread_rwlock_rdlock(&strata_direct_lock);
  strata_direct_t *d = strata_direct_tab[fh % STRATA_DIRECT_BUCKETS];
  while (d != NULL && d->fh != fh) d = d->next;
  if (d == NULL) {
    pthread_rwlock_unlock(&strata_direct_lock);
    return 0;
  }
  size_t done = 0;
  double pos = (double) offset;
  uint32_t i = 0;
  int err = 0;
  while (i < d->n && d->ends[i] <= pos) i++;
  while (done < len && i < d->n) {
    double start = i == 0 ? 0 : d->ends[i - 1];
    size_t want = (size_t) (d->ends[i] - pos);
    if (want > len - done) want = len - done;
    ssize_t r = pread(d->fds[i], buf + done, want, (off_t) (pos - start));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { err = -errno; break; }
    if (r == 0) { err = -EIO; break; }
    done += (size_t) r;
    pos += (double) r;
    if (pos >= d->ends[i]) i++;
  }
  pthread_rwlock_unlock(&strata_direct_lock);
  *res = err != 0 ? err : (int) done;
  return 1;
}

static void strata_direct_remove (uint64_t fh) {
  strata_direct_t **at = &strata_direct_tab[fh % STRATA_DIRECT_BUCKETS];
  while (*at != NULL && (*at)->fh != fh) at = &(*at)->next;
  if (*at == NULL) return;
  strata_direct_t *d = *at;
  *at = d->next;
  free(d->fds);
  free(d->ends);
  free(d);
}

NAPI_METHOD(strata_direct_set) {
  NAPI_ARGV(3)
  NAPI_ARGV_UINT32(fh, 0)
  NAPI_ARGV_BUFFER_CAST(int32_t *, fds, 1)
  NAPI_ARGV_BUFFER_CAST(double *, ends, 2)
  uint32_t n = (uint32_t) (fds_len / sizeof(int32_t));
  if (ends_len / sizeof(double) != n) {
    napi_throw_error(env, NULL, "strata_direct_set: one end offset per descriptor");
    return NULL;
  }
  strata_direct_t *d = calloc(1, sizeof(strata_direct_t));
  d->fh = fh;
  d->n = n;
  d->fds = malloc(n * sizeof(int32_t) + 1);
  d->ends = malloc(n * sizeof(double) + 1);
  memcpy(d->fds, fds, n * sizeof(int32_t));
  memcpy(d->ends, ends, n * sizeof(double));
  pthread_rwlock_wrlock(&strata_direct_lock);
  strata_direct_remove(fh);
  d->next = strata_direct_tab[fh % STRATA_DIRECT_BUCKETS];
  strata_direct_tab[fh % STRATA_DIRECT_BUCKETS] = d;
  pthread_rwlock_unlock(&strata_direct_lock);
  return NULL;
}

NAPI_METHOD(strata_direct_clear) {
  NAPI_ARGV(1)
  NAPI_ARGV_UINT32(fh, 0)
  pthread_rwlock_wrlock(&strata_direct_lock);
  strata_direct_remove(fh);
  pthread_rwlock_unlock(&strata_direct_lock);
  return NULL;
}
`;

/**
 * C added to the binding: an attribute cache answered on the FUSE threads. JavaScript puts the
 * statuses a listing just returned (per mount, with an expiry time) and removes what its own
 * mutations change; getattr (and so every lookup) of a cached path never hops to JavaScript.
 */
/** Pages per FUSE request asked of the kernel (FUSE_MAX_PAGES): 1 MiB reads and writes. */
export const MAX_PAGES = 256;

/** Numbers per entry of the attribute cache (see strata_attr_put). */
const ATTR_NUMS = 10;

const ATTR_CACHE_C = `
#include <time.h>
#include <math.h>
#define STRATA_ATTR_BUCKETS 262144
#define STRATA_ATTR_MAX 200000
#define STRATA_ATTR_NUMS ${ATTR_NUMS}
typedef struct strata_attr {
  struct strata_attr *next;
  void *fuse;
  double until_ms;
  struct stat st;
  char path[];
} strata_attr_t;
static strata_attr_t *strata_attr_tab[STRATA_ATTR_BUCKETS];
static uint32_t strata_attr_count = 0;
static pthread_rwlock_t strata_attr_lock = PTHREAD_RWLOCK_INITIALIZER;

static uint32_t strata_attr_bucket (void *fuse, const char *path) {
  uint64_t h = 1469598103934665603ULL ^ (uint64_t) (uintptr_t) fuse;
  for (const unsigned char *c = (const unsigned char *) path; *c; c++) { h ^= *c; h *= 1099511628211ULL; }
  return (uint32_t) (h % STRATA_ATTR_BUCKETS);
}

static double strata_now_ms (void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

static int strata_attr_get (void *fuse, const char *path, struct stat *out) {
  int hit = 0;
  pthread_rwlock_rdlock(&strata_attr_lock);
  for (strata_attr_t *a = strata_attr_tab[strata_attr_bucket(fuse, path)]; a != NULL; a = a->next) {
    if (a->fuse == fuse && strcmp(a->path, path) == 0) {
      if (a->until_ms > strata_now_ms()) { memcpy(out, &a->st, sizeof(struct stat)); hit = 1; }
      break;
    }
  }
  pthread_rwlock_unlock(&strata_attr_lock);
  return hit;
}

static void strata_attr_remove_locked (void *fuse, const char *path) {
  strata_attr_t **pp = &strata_attr_tab[strata_attr_bucket(fuse, path)];
  while (*pp != NULL) {
    strata_attr_t *a = *pp;
    if (a->fuse == fuse && strcmp(a->path, path) == 0) { *pp = a->next; free(a); strata_attr_count--; return; }
    pp = &a->next;
  }
}

static void strata_attr_clear_locked (void *fuse) {
  for (uint32_t b = 0; b < STRATA_ATTR_BUCKETS; b++) {
    strata_attr_t **pp = &strata_attr_tab[b];
    while (*pp != NULL) {
      strata_attr_t *a = *pp;
      if (fuse == NULL || a->fuse == fuse) { *pp = a->next; free(a); strata_attr_count--; }
      else pp = &a->next;
    }
  }
}

static void *strata_attr_fuse_of (napi_env env, napi_value buf) {
  void *data;
  size_t len;
  if (napi_get_buffer_info(env, buf, &data, &len) != napi_ok || len < sizeof(fuse_thread_t)) return NULL;
  return (void *) ((fuse_thread_t *) data)->fuse;
}

static struct timespec strata_ts (double ms) {
  struct timespec ts;
  ms = floor(ms); /* whole ms, as fuse-native's getattr reply has them */
  double sec = floor(ms / 1000.0);
  ts.tv_sec = (time_t) sec;
  ts.tv_nsec = (long) ((ms - sec * 1000.0) * 1e6);
  if (ts.tv_nsec < 0) ts.tv_nsec = 0;
  if (ts.tv_nsec > 999999999) ts.tv_nsec = 999999999;
  return ts;
}

/* (thread buffer, NUL-terminated paths one after another, STRATA_ATTR_NUMS doubles per path:
   mode uid gid size mtimeMs nlink blocks untilMs atimeMs ctimeMs) */
NAPI_METHOD(strata_attr_put) {
  NAPI_ARGV(3)
  void *fuse = strata_attr_fuse_of(env, argv[0]);
  NAPI_ARGV_BUFFER_CAST(char *, paths, 1)
  NAPI_ARGV_BUFFER_CAST(double *, nums, 2)
  if (fuse == NULL) return NULL;
  size_t n = nums_len / (STRATA_ATTR_NUMS * sizeof(double));
  size_t at = 0;
  pthread_rwlock_wrlock(&strata_attr_lock);
  for (size_t i = 0; i < n && at < paths_len; i++) {
    const char *path = paths + at;
    size_t plen = strnlen(path, paths_len - at);
    if (at + plen >= paths_len) break;
    at += plen + 1;
    const double *v = nums + i * STRATA_ATTR_NUMS;
    strata_attr_remove_locked(fuse, path);
    if (strata_attr_count >= STRATA_ATTR_MAX) strata_attr_clear_locked(NULL);
    strata_attr_t *a = calloc(1, sizeof(strata_attr_t) + plen + 1);
    if (a == NULL) break;
    memcpy(a->path, path, plen + 1);
    a->fuse = fuse;
    a->until_ms = v[7];
    a->st.st_mode = (mode_t) v[0];
    a->st.st_uid = (uid_t) v[1];
    a->st.st_gid = (gid_t) v[2];
    a->st.st_size = (off_t) v[3];
    a->st.st_mtim = strata_ts(v[4]);
    a->st.st_atim = strata_ts(v[8]);
    a->st.st_ctim = strata_ts(v[9]);
    a->st.st_nlink = (nlink_t) v[5];
    a->st.st_blocks = (blkcnt_t) v[6];
    a->st.st_blksize = 1 << 20;
    uint32_t b = strata_attr_bucket(fuse, path);
    a->next = strata_attr_tab[b];
    strata_attr_tab[b] = a;
    strata_attr_count++;
  }
  pthread_rwlock_unlock(&strata_attr_lock);
  return NULL;
}

/* (thread buffer, path): forget one path; (thread buffer): forget the whole mount. */
NAPI_METHOD(strata_attr_del) {
  NAPI_ARGV(2)
  void *fuse = strata_attr_fuse_of(env, argv[0]);
  if (fuse == NULL) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  pthread_rwlock_wrlock(&strata_attr_lock);
  if (t == napi_string) {
    char path[4096];
    size_t len = 0;
    if (napi_get_value_string_utf8(env, argv[1], path, sizeof(path), &len) == napi_ok && len < sizeof(path) - 1) strata_attr_remove_locked(fuse, path);
    else strata_attr_clear_locked(fuse);
  } else {
    strata_attr_clear_locked(fuse);
  }
  pthread_rwlock_unlock(&strata_attr_lock);
  return NULL;
}
`;

/**
 * C added to the binding: the directories the mount knows completely (DirNames, mirrored), so
 * that the lookup of a name such a directory lacks — the failed lookup the kernel makes before
 * every create — is answered ENOENT on the FUSE thread. Two kinds of entries in one table, by
 * mount and path: a known directory with its expiry time, and a name present in one. A name
 * entry left behind (its directory forgotten, then known again) only sends a lookup on to
 * JavaScript, which answers it; past STRATA_KNOWN_MAX entries the table is emptied.
 */
const KNOWN_C = `
#define STRATA_KNOWN_BUCKETS 65536
#define STRATA_KNOWN_MAX 1000000
typedef struct strata_known {
  struct strata_known *next;
  void *fuse;
  int is_dir;
  double until_ms;
  char path[];
} strata_known_t;
static strata_known_t *strata_known_tab[STRATA_KNOWN_BUCKETS];
static uint32_t strata_known_count = 0;
static pthread_rwlock_t strata_known_lock = PTHREAD_RWLOCK_INITIALIZER;

static uint32_t strata_known_bucket (void *fuse, int is_dir, const char *path, size_t len) {
  uint64_t h = 1469598103934665603ULL ^ (uint64_t) (uintptr_t) fuse ^ (uint64_t) is_dir;
  for (size_t i = 0; i < len; i++) { h ^= (unsigned char) path[i]; h *= 1099511628211ULL; }
  return (uint32_t) (h % STRATA_KNOWN_BUCKETS);
}

static strata_known_t **strata_known_find (void *fuse, int is_dir, const char *path, size_t len) {
  strata_known_t **pp = &strata_known_tab[strata_known_bucket(fuse, is_dir, path, len)];
  for (; *pp != NULL; pp = &(*pp)->next) {
    strata_known_t *k = *pp;
    if (k->fuse == fuse && k->is_dir == is_dir && strncmp(k->path, path, len) == 0 && k->path[len] == 0) break;
  }
  return pp;
}

/* Length of the parent of a mount path ("/" for a name in the root). */
static size_t strata_parent_len (const char *path) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL || slash == path) return 1;
  return (size_t) (slash - path);
}

static void strata_known_clear_locked (void *fuse) {
  for (uint32_t b = 0; b < STRATA_KNOWN_BUCKETS; b++) {
    strata_known_t **pp = &strata_known_tab[b];
    while (*pp != NULL) {
      strata_known_t *k = *pp;
      if (fuse == NULL || k->fuse == fuse) { *pp = k->next; free(k); strata_known_count--; }
      else pp = &k->next;
    }
  }
}

static void strata_known_put_locked (void *fuse, int is_dir, const char *path, size_t len, double until_ms) {
  strata_known_t **pp = strata_known_find(fuse, is_dir, path, len);
  if (*pp != NULL) { (*pp)->until_ms = until_ms; return; }
  if (strata_known_count >= STRATA_KNOWN_MAX) {
    strata_known_clear_locked(NULL);
    if (!is_dir) return; /* its directory went too */
    pp = strata_known_find(fuse, is_dir, path, len);
  }
  strata_known_t *k = calloc(1, sizeof(strata_known_t) + len + 1);
  if (k == NULL) return;
  k->fuse = fuse;
  k->is_dir = is_dir;
  k->until_ms = until_ms;
  memcpy(k->path, path, len);
  k->path[len] = 0;
  *pp = k;
  strata_known_count++;
}

static void strata_known_del_locked (void *fuse, int is_dir, const char *path, size_t len) {
  strata_known_t **pp = strata_known_find(fuse, is_dir, path, len);
  if (*pp == NULL) return;
  strata_known_t *k = *pp;
  *pp = k->next;
  free(k);
  strata_known_count--;
}

/* Is \`path\` known not to exist: its directory is known (not expired) and lacks the name? */
static int strata_known_absent (void *fuse, const char *path) {
  size_t plen = strata_parent_len(path);
  size_t len = strlen(path);
  int absent = 0;
  /* A name over 255 bytes or a long path: JavaScript answers (ENAMETOOLONG). */
  const char *slash = strrchr(path, '/');
  if (slash == NULL || strlen(slash + 1) > 255 || len > 2048) return 0;
  pthread_rwlock_rdlock(&strata_known_lock);
  strata_known_t *dir = *strata_known_find(fuse, 1, path, plen);
  if (dir != NULL && dir->until_ms > strata_now_ms()) absent = *strata_known_find(fuse, 0, path, len) == NULL;
  pthread_rwlock_unlock(&strata_known_lock);
  return absent;
}

/* (thread buffer, op, path, untilMs, names): op 0 known dir (names: NUL-terminated full paths
   present in it), 1 present name, 2 gone name, 3 forget dir, 4 forget the whole mount. */
NAPI_METHOD(strata_known_op) {
  NAPI_ARGV(5)
  void *fuse = strata_attr_fuse_of(env, argv[0]);
  NAPI_ARGV_UINT32(op, 1)
  if (fuse == NULL) return NULL;
  char path[4096];
  size_t len = 0;
  if (op != 4 && (napi_get_value_string_utf8(env, argv[2], path, sizeof(path), &len) != napi_ok || len >= sizeof(path) - 1)) op = 4;
  double until_ms = 0;
  napi_get_value_double(env, argv[3], &until_ms);
  pthread_rwlock_wrlock(&strata_known_lock);
  if (op == 0) {
    void *names = NULL;
    size_t names_len = 0;
    napi_valuetype t;
    napi_typeof(env, argv[4], &t);
    if (t == napi_object && napi_get_buffer_info(env, argv[4], &names, &names_len) == napi_ok) {
      for (size_t at = 0; at < names_len;) {
        const char *n = (const char *) names + at;
        size_t nlen = strnlen(n, names_len - at);
        if (at + nlen >= names_len) break;
        strata_known_put_locked(fuse, 0, n, nlen, 0);
        at += nlen + 1;
      }
    }
    strata_known_put_locked(fuse, 1, path, len, until_ms);
  } else if (op == 1 || op == 2) {
    if (op == 1) strata_known_put_locked(fuse, 0, path, len, 0);
    else { strata_known_del_locked(fuse, 0, path, len); strata_known_del_locked(fuse, 1, path, len); }
    strata_known_t *dir = *strata_known_find(fuse, 1, path, strata_parent_len(path));
    if (dir != NULL && until_ms > 0) dir->until_ms = until_ms; /* the same expiry as DirNames' */
  } else if (op == 3) {
    strata_known_del_locked(fuse, 1, path, len);
  } else {
    strata_known_clear_locked(fuse);
  }
  pthread_rwlock_unlock(&strata_known_lock);
  return NULL;
}
`;

/**
 * C added to the binding: the mount's channel wrapped in one of ours (libfuse 2.9's public
 * fuse_chan_new), which reads and writes /dev/fuse as libfuse's own does, with two changes.
 * Its buffer holds a 1 MiB write (libfuse caps max_write at its channel's buffer, 128 KiB), and
 * the INIT reply asks for FUSE_MAX_PAGES (256 pages) when the kernel offers it: libfuse 2.9
 * speaks protocol 7.19 and never asks, so every read and write request was at most 32 pages
 * (128 KiB) whatever max_read/max_write said. Nothing else of the protocol changes (the reply
 * keeps libfuse's minor version; the kernel reads max_pages by its flag alone).
 */
const CHAN_C = `
#include <sys/uio.h>
#define STRATA_FUSE_INIT 26
#define STRATA_FUSE_MAX_PAGES (1u << 22)
#define STRATA_MAX_PAGES ${MAX_PAGES}
#define STRATA_CHAN_BUFSIZE (STRATA_MAX_PAGES * 4096 + 0x2000)
typedef struct { uint64_t init_unique; int want_max_pages; } strata_chan_t;

static int strata_chan_receive (struct fuse_chan **chp, char *buf, size_t size) {
  struct fuse_chan *ch = *chp;
  struct fuse_session *se = fuse_chan_session(ch);
  ssize_t res;
  int err;
restart:
  res = read(fuse_chan_fd(ch), buf, size);
  err = errno;
  if (se != NULL && fuse_session_exited(se)) return 0;
  if (res == -1) {
    if (err == ENOENT) goto restart; /* the operation was interrupted: safe to restart */
    if (err == ENODEV) { if (se != NULL) fuse_session_exit(se); return 0; } /* unmounted */
    if (err != EINTR && err != EAGAIN) perror("fuse: reading device");
    return -err;
  }
  if ((size_t) res < 40) { fprintf(stderr, "short read on fuse device\\n"); return -EIO; }
  uint32_t opcode;
  memcpy(&opcode, buf + 4, 4);
  if (opcode == STRATA_FUSE_INIT && (size_t) res >= 40 + 16) {
    strata_chan_t *c = (strata_chan_t *) fuse_chan_data(ch);
    uint32_t major, minor, flags;
    memcpy(&major, buf + 40, 4);
    memcpy(&minor, buf + 44, 4);
    memcpy(&flags, buf + 52, 4);
    memcpy(&c->init_unique, buf + 8, 8);
    c->want_max_pages = major == 7 && minor >= 28 && (flags & STRATA_FUSE_MAX_PAGES) != 0;
  }
  return (int) res;
}

static int strata_chan_send (struct fuse_chan *ch, const struct iovec iov[], size_t count) {
  if (iov == NULL) return 0;
  strata_chan_t *c = (strata_chan_t *) fuse_chan_data(ch);
  struct iovec patched[2];
  char hdr[16];
  char init[64];
  if (c->want_max_pages && count == 2 && iov[0].iov_len == 16 && iov[1].iov_len >= 24 && iov[1].iov_len <= sizeof(init)) {
    uint64_t unique;
    int32_t error;
    memcpy(&error, (const char *) iov[0].iov_base + 4, 4);
    memcpy(&unique, (const char *) iov[0].iov_base + 8, 8);
    if (unique == c->init_unique && error == 0) {
      c->want_max_pages = 0;
      memset(init, 0, sizeof(init));
      memcpy(init, iov[1].iov_base, iov[1].iov_len);
      uint32_t flags;
      memcpy(&flags, init + 12, 4);
      flags |= STRATA_FUSE_MAX_PAGES;
      memcpy(init + 12, &flags, 4);
      uint16_t max_pages = STRATA_MAX_PAGES;
      memcpy(init + 28, &max_pages, 2); /* fuse_init_out.max_pages (time_gran at 24 stays 0: unchanged) */
      size_t outlen = iov[1].iov_len < 32 ? 32 : iov[1].iov_len;
      uint32_t len = (uint32_t) (16 + outlen);
      memcpy(hdr, iov[0].iov_base, 16);
      memcpy(hdr, &len, 4);
      patched[0].iov_base = hdr;
      patched[0].iov_len = 16;
      patched[1].iov_base = init;
      patched[1].iov_len = outlen;
      iov = patched;
    }
  }
  ssize_t res = writev(fuse_chan_fd(ch), iov, count);
  int err = errno;
  if (res == -1) {
    struct fuse_session *se = fuse_chan_session(ch);
    if ((se == NULL || !fuse_session_exited(se)) && err != ENOENT) perror("fuse: writing device");
    return -err;
  }
  return 0;
}

/* The descriptor is the mount's channel's: fuse_unmount closes it. */
static void strata_chan_destroy (struct fuse_chan *ch) {
  free(fuse_chan_data(ch));
}

static struct fuse_chan_ops strata_chan_ops = { .receive = strata_chan_receive, .send = strata_chan_send, .destroy = strata_chan_destroy };

/* Our channel over the mount's descriptor (the mount's own channel when that fails). */
static struct fuse_chan *strata_wrap_chan (struct fuse_chan *ch) {
  strata_chan_t *c = calloc(1, sizeof(strata_chan_t));
  if (c == NULL) return ch;
  struct fuse_chan *w = fuse_chan_new(&strata_chan_ops, fuse_chan_fd(ch), STRATA_CHAN_BUFSIZE, c);
  if (w == NULL) { free(c); return ch; }
  return w;
}
`;

/** Exact text edits of fuse-native 2.2.6's source; undefined when one of them does not apply. */
function patchSource(source: string): string | undefined {
  const edits: Array<[string, string]> = [
    // utimens: the mtime, not the atime a second time.
    [UTIMENS_WRONG, 'FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)'],
    // The calling user, read on the FUSE thread for every call.
    ['  gid_t gid;\n  size_t atime;', '  gid_t gid;\n  uid_t cuid;\n  gid_t cgid;\n  size_t atime;'],
    ['  l->op_fn = fuse_native_dispatch_##name;\\\n',
      '  l->op_fn = fuse_native_dispatch_##name;\\\n  { struct fuse_context *fc = fuse_get_context(); l->cuid = fc->uid; l->cgid = fc->gid; }\\\n'],
    // ... handed to create, mkdir, mknod and symlink as two more arguments.
    ['FUSE_METHOD(create, 2, 1, (const char *path, mode_t mode, struct fuse_file_info *info), {\n  l->path = path;\n  l->mode = mode;\n  l->info = info;\n}, {\n  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\n  napi_create_uint32(env, l->mode, &(argv[3]));\n',
      'FUSE_METHOD(create, 4, 1, (const char *path, mode_t mode, struct fuse_file_info *info), {\n  l->path = path;\n  l->mode = mode;\n  l->info = info;\n}, {\n  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\n  napi_create_uint32(env, l->mode, &(argv[3]));\n  napi_create_uint32(env, l->cuid, &(argv[4]));\n  napi_create_uint32(env, l->cgid, &(argv[5]));\n'],
    ['FUSE_METHOD_VOID(mkdir, 2, 0, (const char *path, mode_t mode), {\n  l->path = path;\n  l->mode = mode;\n}, {\n  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\n  napi_create_uint32(env, l->mode, &(argv[3]));\n',
      'FUSE_METHOD_VOID(mkdir, 4, 0, (const char *path, mode_t mode), {\n  l->path = path;\n  l->mode = mode;\n}, {\n  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\n  napi_create_uint32(env, l->mode, &(argv[3]));\n  napi_create_uint32(env, l->cuid, &(argv[4]));\n  napi_create_uint32(env, l->cgid, &(argv[5]));\n'],
    ['  napi_create_uint32(env, l->dev, &(argv[4]));\n})', '  napi_create_uint32(env, l->dev, &(argv[4]));\n  napi_create_uint32(env, l->cuid, &(argv[5]));\n  napi_create_uint32(env, l->cgid, &(argv[6]));\n})'],
    ['FUSE_METHOD_VOID(mknod, 3, 0,', 'FUSE_METHOD_VOID(mknod, 5, 0,'],
    ['  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));\n})\n\nFUSE_METHOD_VOID(mkdir,',
      '  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));\n  napi_create_uint32(env, l->cuid, &(argv[4]));\n  napi_create_uint32(env, l->cgid, &(argv[5]));\n})\n\nFUSE_METHOD_VOID(mkdir,'],
    ['FUSE_METHOD_VOID(symlink, 2, 0,', 'FUSE_METHOD_VOID(symlink, 4, 0,'],
    // utimens: UTIME_OMIT and UTIME_NOW as two sentinels, and libfuse told that we take them
    // (flag_utime_omit_ok): without it libfuse 2.9 drops a setattr that sets only the mtime.
    ['  l->atime = timespec_to_uint64(&tv[0]);\n  l->mtime = timespec_to_uint64(&tv[1]);\n',
      '  l->atime = STRATA_TIME_MS(tv[0]);\n  l->mtime = STRATA_TIME_MS(tv[1]);\n'],
    ['  if (implemented[op_init]) ops.init = fuse_native_init;\n',
      '  if (implemented[op_init]) ops.init = fuse_native_init;\n  ops.flag_utime_omit_ok = 1;\n'],
    // getxattr of a name that is not ours, answered on the FUSE thread with no hop to JavaScript:
    // outside the user namespace (security.capability on every write, the ACL and SELinux names
    // of every `ls -l`) EOPNOTSUPP — the namespace is not supported, and ls, like other callers,
    // then stops asking for the rest of the device; another user.* name: ENODATA (no such name).
    ['FUSE_METHOD(getxattr, 4, 1, (const char *path, const char *name, char *value, size_t size), {\n',
      'FUSE_METHOD(getxattr, 4, 1, (const char *path, const char *name, char *value, size_t size), {\n  if (strncmp(name, "user.", 5) != 0) return -EOPNOTSUPP;\n  if (strncmp(name, STRATA_XATTR_PREFIX, sizeof(STRATA_XATTR_PREFIX) - 1) != 0) return -ENODATA;\n'],
    // readdir in pages: the offset and the directory handle reach JavaScript, which answers the
    // names from that offset on; each entry is filled with its offset (libfuse's paged mode).
    ['FUSE_METHOD(readdir, 1, 2,', 'FUSE_METHOD(readdir, 4, 3,'],
    ['  napi_value raw_names = argv[2];\n', '  napi_value raw_names = argv[2];\n  uint32_t paged = 0;\n  napi_get_value_uint32(env, argv[4], &paged);\n'],
    ['  l->readdir_filler = filler;\n}, {\n  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\n}',
      '  l->readdir_filler = filler;\n}, {\n  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\n  FUSE_UINT64_TO_INTS_ARGV(l->offset, 3)\n  napi_create_uint32(env, l->info != NULL ? l->info->fh : 0, &(argv[5]));\n}'],
    ['int err = l->readdir_filler((char *) l->buf, name, NULL, 0);', 'int err = l->readdir_filler((char *) l->buf, name, NULL, paged ? l->offset + i + 1 : 0);'],
    ['int err = l->readdir_filler((char *) l->buf, name, (struct stat *) &st, 0);', 'int err = l->readdir_filler((char *) l->buf, name, (struct stat *) &st, paged ? l->offset + i + 1 : 0);'],
    // Reads of a file registered with strata_direct_set are served on the FUSE thread from
    // local files (the cached block files of an embedded mount): no hop to JavaScript.
    ['FUSE_METHOD(read, 6, 2, (const char *path, char *buf, size_t len, off_t offset, struct fuse_file_info *info), {\n',
      'FUSE_METHOD(read, 6, 2, (const char *path, char *buf, size_t len, off_t offset, struct fuse_file_info *info), {\n  { int strata_res; if (info != NULL && strata_direct_read(info->fh, buf, len, offset, &strata_res)) return strata_res; }\n'],
    ['// Methods\n', `${DIRECT_READ_C}\n${ATTR_CACHE_C}\n${KNOWN_C}\n${CHAN_C}\n// Methods\n`],
    // libfuse's session runs on our channel (1 MiB requests); the mount's own channel is kept
    // for fuse_unmount, which closes the descriptor.
    ['fuse_new(ch, &args, &ops', 'fuse_new(strata_wrap_chan(ch), &args, &ops'],
    // getattr (every lookup) of a path in the attribute cache: answered here, no hop.
    ['FUSE_METHOD(getattr, 1, 1, (const char *path, struct stat *stat), {\n',
      'FUSE_METHOD(getattr, 1, 1, (const char *path, struct stat *stat), {\n  if (strata_attr_get(fuse_get_context()->fuse, path, stat)) return 0;\n  if (strata_known_absent(fuse_get_context()->fuse, path)) return -ENOENT;\n'],
    // The /dev/fuse descriptor close-on-exec: libfuse 2.9 opens it (or receives it from
    // fusermount) without O_CLOEXEC, so every program the daemon spawns would hold the mount's
    // channel open (a child outliving the daemon keeps the mount from ever answering ENOTCONN).
    ['    napi_throw_error(env, "fuse failed", "fuse failed");\n    return NULL;\n  }\n\n  struct fuse *fuse = fuse_new(',
      '    napi_throw_error(env, "fuse failed", "fuse failed");\n    return NULL;\n  }\n  { int strata_fd = fuse_chan_fd(ch); if (strata_fd >= 0) fcntl(strata_fd, F_SETFD, fcntl(strata_fd, F_GETFD) | FD_CLOEXEC); }\n\n  struct fuse *fuse = fuse_new('],
    ['#include <sys/wait.h>\n', '#include <sys/wait.h>\n#include <fcntl.h>\n'],
    ['  NAPI_EXPORT_FUNCTION(fuse_native_mount)\n',
      '  NAPI_EXPORT_FUNCTION(fuse_native_mount)\n  NAPI_EXPORT_FUNCTION(strata_direct_set)\n  NAPI_EXPORT_FUNCTION(strata_direct_clear)\n  NAPI_EXPORT_FUNCTION(strata_attr_put)\n  NAPI_EXPORT_FUNCTION(strata_attr_del)\n  NAPI_EXPORT_FUNCTION(strata_known_op)\n'],
  ];
  let out = source;
  for (const [from, to] of edits) {
    if (out.split(from).length !== 2) return undefined;
    out = out.replace(from, to);
  }
  return out;
}

function loadBinding(): { fixedUtimens: boolean } {
  const fuseDir = dirname(require.resolve('fuse-native'));
  const prebuilt: string = require('node-gyp-build').path(fuseDir);
  if (require.cache[prebuilt]) return { fixedUtimens: loadedFixed };
  if (process.env.STRATA_FUSE_STOCK_BINDING === '1') return { fixedUtimens: false };
  const source = readFileSync(join(fuseDir, 'fuse-native.c'), 'utf8');
  const fixed = patchSource(source);
  if (!fixed) return { fixedUtimens: !source.includes(UTIMENS_WRONG) }; // another release: use it as it is
  const hash = createHash('sha256').update(fixed).update(process.version).digest('hex').slice(0, 16);
  const cacheDir = join(fuseDir, '..', '.cache', 'strata-fuse-native');
  const out = join(cacheDir, `fuse-${hash}.node`);
  try {
    if (!existsSync(out)) {
      mkdirSync(cacheDir, { recursive: true });
      const src = join(cacheDir, `fuse-native-${hash}.c`);
      writeFileSync(src, fixed);
      writeFileSync(join(cacheDir, 'semaphore.h'), readFileSync(join(fuseDir, 'semaphore.h')));
      const nodeInclude = join(dirname(process.execPath), '..', 'include', 'node');
      const tmp = `${out}.${process.pid}.tmp`;
      execFileSync('cc', [
        '-shared', '-fPIC', '-O2', '-D_FILE_OFFSET_BITS=64', `-I${nodeInclude}`, '-I/usr/include/node',
        `-I${dirname(require.resolve('napi-macros'))}`, `-I${require('fuse-shared-library-linux').include}`,
        '-o', tmp, src, join(dirname(prebuilt), 'libfuse.so'), '-lm', `-Wl,-rpath,${dirname(prebuilt)}`,
      ], { stdio: 'ignore', timeout: 120_000 });
      renameSync(tmp, out);
    }
    const m = { exports: {} as unknown };
    process.dlopen(m, out);
    const mod = new (require('node:module').Module)(prebuilt);
    mod.filename = prebuilt;
    mod.loaded = true;
    mod.exports = m.exports;
    require.cache[prebuilt] = mod;
    loadedFixed = true;
    return { fixedUtimens: true };
  } catch {
    return { fixedUtimens: false };
  }
}
let loadedFixed = false;

/** Whether the corrected binding is loaded: utimens receives the real mtime, create/mkdir the caller. */
export let utimensFixed = false;

/**
 * Whether the corrected binding (built from fuse-native's source with our edits) is loaded:
 * paged readdir, mtime-only utimens, xattrs not ours answered in C, direct reads.
 */
export function correctedBinding(): boolean {
  loadBinding();
  return loadedFixed;
}

interface DirectBinding { strata_direct_set(fh: number, fds: Buffer, ends: Buffer): void; strata_direct_clear(fh: number): void }
interface AttrBinding {
  strata_attr_put(thread: Buffer, paths: Buffer, nums: Buffer): void;
  strata_attr_del(thread: Buffer, path?: string): void;
  strata_known_op?(thread: Buffer, op: number, path: string, untilMs: number, names?: Buffer): void;
}

function attrBinding(): AttrBinding | undefined {
  if (!loadedFixed) return undefined;
  const fuseDir = dirname(require.resolve('fuse-native'));
  const mod = require.cache[require('node-gyp-build').path(fuseDir)]?.exports as Partial<AttrBinding> | undefined;
  return typeof mod?.strata_attr_put === 'function' && typeof mod.strata_attr_del === 'function' ? mod as AttrBinding : undefined;
}

/** The attribute cache of the mount whose binding thread buffer is `thread`. */
function attrCacheOf(b: AttrBinding, thread: Buffer): AttrCache {
  return {
    put(entries) {
      if (!entries.length) return;
      const paths = Buffer.from(entries.map((e) => `${e.path}\0`).join(''));
      const nums = new Float64Array(entries.length * ATTR_NUMS);
      entries.forEach((e, i) => {
        const s = e.stat;
        nums.set([s.mode, s.uid, s.gid, s.size, s.mtimeMs, s.nlink, s.blocks ?? Math.ceil(s.size / 512), e.untilMs, s.atimeMs, s.ctimeMs], i * ATTR_NUMS);
      });
      b.strata_attr_put(thread, paths, Buffer.from(nums.buffer));
    },
    remove(path) { b.strata_attr_del(thread, path); },
    clear() { b.strata_attr_del(thread); },
  };
}

/** The known directories of the mount whose binding thread buffer is `thread` (see KNOWN_C). */
function knownDirsOf(b: AttrBinding, thread: Buffer): KnownDirs | undefined {
  const op = b.strata_known_op?.bind(b);
  if (!op) return undefined;
  return {
    known(dir, paths, untilMs) {
      op(thread, 0, dir, untilMs, paths.length ? Buffer.from(paths.map((p) => `${p}\0`).join('')) : undefined);
    },
    present(path, untilMs) { op(thread, 1, path, untilMs); },
    gone(path, untilMs) { op(thread, 2, path, untilMs); },
    forgetDir(dir) { op(thread, 3, dir, 0); },
    clear() { op(thread, 4, '', 0); },
  };
}

function directBinding(): DirectBinding | undefined {
  if (!loadedFixed) return undefined;
  const fuseDir = dirname(require.resolve('fuse-native'));
  const mod = require.cache[require('node-gyp-build').path(fuseDir)]?.exports as Partial<DirectBinding> | undefined;
  return typeof mod?.strata_direct_set === 'function' ? mod as DirectBinding : undefined;
}

/**
 * Serve every read of open file `fh` on the FUSE threads from local files: `fds[i]` holds the
 * bytes of the file from `ends[i-1]` (0 for the first) to `ends[i]`. The descriptors must stay
 * open until `clearDirectReads(fh)`. False when the binding cannot (stock binary): read in JS.
 * Handle numbers are process-wide (one table for every mount of the process).
 */
export function setDirectReads(fh: number, fds: readonly number[], ends: readonly number[]): boolean {
  const b = directBinding();
  if (!b || fds.length !== ends.length) return false;
  b.strata_direct_set(fh, Buffer.from(Int32Array.from(fds).buffer), Buffer.from(Float64Array.from(ends).buffer));
  return true;
}

/** Stop serving `fh` from local files (before its descriptors are closed). */
export function clearDirectReads(fh: number): void {
  directBinding()?.strata_direct_clear(fh);
}

/** Mount `handlers` at `mountpoint`; resolves once the kernel has initialised the mount. */
export async function mountFuse(mountpoint: string, handlers: FuseHandlers, opts: FuseMountOptions): Promise<FuseMount> {
  utimensFixed = loadBinding().fixedUtimens;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Fuse = require('fuse-native') as new (mnt: string, ops: object, opts: object) => {
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
  };
  const errno = (err: unknown): number => -(err instanceof FuseErrno ? err.errno : opts.errnoOf(err));
  const done = (p: Promise<unknown>, cb: Cb): void => { p.then(() => cb(0), (err) => cb(errno(err))); };
  const value = <T>(p: Promise<T>, cb: Cb): void => { p.then((v) => cb(0, v), (err) => cb(errno(err))); };
  const count = (p: Promise<number>, cb: Cb): void => { p.then((n) => cb(n), (err) => cb(errno(err))); };
  const stat = (s: FuseStat) => ({
    mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, nlink: s.nlink,
    mtime: s.mtimeMs, atime: s.atimeMs, ctime: s.ctimeMs,
    blksize: s.blksize ?? 4096, blocks: s.blocks ?? Math.ceil(s.size / 512),
    ...(s.rdev ? { rdev: s.rdev } : {}),
  });
  const ops = {
    init: (cb: Cb) => cb(0),
    getattr: (p: string, cb: Cb) => handlers.getattr(p).then((s) => cb(0, stat(s)), (err) => cb(errno(err))),
    readdir: (p: string, cb: Cb) => value(handlers.readdir(p), cb),
    opendir: (p: string, _flags: number, cb: Cb) => value(handlers.opendir(p), cb),
    releasedir: (p: string, fh: number, cb: Cb) => done(handlers.releasedir(p, fh), cb),
    open: (p: string, flags: number, cb: Cb) => value(handlers.open(p, flags), cb),
    create: (p: string, mode: number, cb: Cb, caller?: FuseCaller) => value(handlers.create(p, mode, caller), cb),
    read: (p: string, fh: number, buf: Buffer, len: number, pos: number, cb: Cb) =>
      count(handlers.read(p, fh, len === buf.length ? buf : buf.subarray(0, len), pos), cb),
    // The binding's buffer is only valid during the call: the handler gets a copy.
    write: (p: string, fh: number, buf: Buffer, len: number, pos: number, cb: Cb) =>
      count(handlers.write(p, fh, Buffer.from(buf.subarray(0, len)), pos), cb),
    flush: (p: string, fh: number, cb: Cb) => done(handlers.flush(p, fh), cb),
    release: (p: string, fh: number, cb: Cb) => done(handlers.release(p, fh), cb),
    fsync: (p: string, datasync: number, fh: number, cb: Cb) => done(handlers.fsync(p, fh, !!datasync), cb),
    truncate: (p: string, size: number, cb: Cb) => done(handlers.truncate(p, size), cb),
    ftruncate: (p: string, fh: number, size: number, cb: Cb) => done(handlers.ftruncate(p, fh, size), cb),
    unlink: (p: string, cb: Cb) => done(handlers.unlink(p), cb),
    mkdir: (p: string, mode: number, cb: Cb, caller?: FuseCaller) => done(handlers.mkdir(p, mode, caller), cb),
    rmdir: (p: string, cb: Cb) => done(handlers.rmdir(p), cb),
    rename: (s: string, d: string, cb: Cb) => done(handlers.rename(s, d), cb),
    utimens: (p: string, atime: number, mtime: number, cb: Cb) => done(handlers.utimens(p, ...times(atime, mtime)), cb),
    chmod: (p: string, mode: number, cb: Cb) => done(handlers.chmod(p, mode), cb),
    chown: (p: string, uid: number, gid: number, cb: Cb) => done(handlers.chown(p, uid, gid), cb),
    statfs: (p: string, cb: Cb) => value(handlers.statfs(p), cb),
    getxattr: (p: string, name: string, _pos: number, cb: Cb) => value(handlers.getxattr(p, name), cb),
    setxattr: (p: string, name: string, v: Buffer, _pos: number, _flags: number, cb: Cb) =>
      done(handlers.setxattr(p, name, Buffer.from(v)), cb),
    listxattr: (p: string, cb: Cb) => value(handlers.listxattr(p), cb),
    removexattr: (p: string, name: string, cb: Cb) => done(handlers.removexattr(p, name), cb),
    symlink: (target: string, p: string, cb: Cb, caller?: FuseCaller) => done(handlers.symlink(target, p, caller), cb),
    link: (s: string, d: string, cb: Cb) => done(handlers.link(s, d), cb),
    mknod: (p: string, mode: number, dev: number, cb: Cb, caller?: FuseCaller) => done(handlers.mknod(p, mode, dev, caller), cb),
    readlink: (p: string, cb: Cb) => value(handlers.readlink(p), cb),
  };
  // The binding builds `-o …` from a fixed list of camel-cased options; big_writes, max_write,
  // atomic_o_trunc and ro are not on it, so the option string is ours.
  // The corrected binding passes UTIME_OMIT/UTIME_NOW as sentinels; the stock one passes the
  // access time twice, with both special values as a tiny number (tv_sec 0).
  const special = Math.floor(((1 << 30) - 2) / 1e6);
  const fixed = loadedFixed;
  const time = (t: number): FuseTime => (t === UTIME_OMIT_MS ? 'omit' : t === UTIME_NOW_MS ? 'now' : t);
  const times = (atime: number, mtime: number): [FuseTime, FuseTime] => {
    if (fixed) return [time(atime), time(mtime)];
    const t = atime <= special ? 'now' : atime;
    return [t, utimensFixed ? (mtime <= special ? 'now' : mtime) : t];
  };
  const callerOf = (uid: unknown, gid: unknown): FuseCaller | undefined =>
    (typeof uid === 'number' && typeof gid === 'number' ? { uid, gid } : undefined);
  class StrataFuseNative extends Fuse {
    _fuseOptions(): string {
      return opts.options.length ? '-o' + opts.options.join(',') : '';
    }

    // The corrected binding appends the caller's uid and gid to these four calls.
    _op_create(signal: Cb, path: string, mode: number, uid?: number, gid?: number): void {
      ops.create(path, mode, (err, fd) => signal(err, fd), callerOf(uid, gid));
    }

    _op_mkdir(signal: Cb, path: string, mode: number, uid?: number, gid?: number): void {
      ops.mkdir(path, mode, (err) => signal(err), callerOf(uid, gid));
    }

    _op_mknod(signal: Cb, path: string, mode: number, dev: number, uid?: number, gid?: number): void {
      ops.mknod(path, mode, dev, (err) => signal(err), callerOf(uid, gid));
    }

    _op_symlink(signal: Cb, target: string, path: string, uid?: number, gid?: number): void {
      ops.symlink(target, path, (err) => signal(err), callerOf(uid, gid));
    }

    // The corrected binding passes the offset and the directory handle: one page per call.
    // The stock one passes the path only: the whole directory at once.
    _op_readdir(signal: Cb, path: string, offLow?: number, offHigh?: number, fh?: number): void {
      const page = fixed && typeof offLow === 'number' && typeof offHigh === 'number' && fh
        ? handlers.readdirPage(path, fh, offLow + offHigh * 4294967296)
        : handlers.readdir(path).then((names) => ({ names, whole: true }));
      page.then((p) => signal(0, p.names, [], p.whole ? 0 : 1), (err) => signal(errno(err)));
    }

    _op_opendir(signal: Cb, path: string): void {
      if (!fixed) return signal(0, 0); // no handle: readdir lists the whole directory
      handlers.opendir(path).then((fh) => signal(0, fh), (err) => signal(errno(err)));
    }
  }
  // Commits (flush, fsync, release) of a large CACHE_THROUGH file may take as long as the UFS
  // needs: they have no binding timeout; every other call fails with ETIMEDOUT after timeoutMs.
  const timeout = opts.timeoutMs ? { default: opts.timeoutMs, flush: false, fsync: false, release: false } : false;
  if (opts.xattrs === false) {
    for (const k of ['getxattr', 'setxattr', 'listxattr', 'removexattr'] as const) delete (ops as Partial<typeof ops>)[k];
  }
  const fuse = new StrataFuseNative(mountpoint, ops, { timeout });
  // The binding throws a failed mount (busy or non-empty mount point, bad option) from inside
  // an fs callback: catch it there for the time of the mount and turn it into a rejection.
  await new Promise<void>((resolve, reject) => {
    const onThrow = (err: Error & { code?: string }): void => {
      if (err?.code !== 'fuse failed') throw err;
      reject(new Error(`libfuse refused to mount ${mountpoint} (see its message above: busy or non-empty mount point, or a bad -o option)`));
    };
    process.once('uncaughtException', onThrow);
    fuse.mount((err: Error | null) => {
      process.removeListener('uncaughtException', onThrow);
      if (err) reject(err);
      else resolve();
    });
  });
  const attrB = attrBinding();
  const thread = (fuse as unknown as { _thread?: Buffer })._thread;
  const attrCache = attrB && Buffer.isBuffer(thread) ? attrCacheOf(attrB, thread) : undefined;
  if (attrCache) handlers.attachAttrCache?.(attrCache);
  const knownDirs = attrB && Buffer.isBuffer(thread) ? knownDirsOf(attrB, thread) : undefined;
  if (knownDirs) handlers.attachKnownDirs?.(knownDirs);
  let unmounting: Promise<void> | undefined;
  return {
    mountpoint,
    unmount() {
      // The cache is keyed by the mount's libfuse handle, whose address a later mount may reuse.
      attrCache?.clear();
      knownDirs?.clear();
      unmounting ??= new Promise<void>((resolve, reject) => {
        fuse.unmount((err: Error | null) => (err ? reject(err) : resolve()));
      }).finally(() => { attrCache?.clear(); knownDirs?.clear(); });
      return unmounting;
    },
  };
}
