// The one place that decides whether a user may make a call: the role table (admin-only
// operations) and the user's path prefixes. The TCP server, the S3 gateway, the FUSE daemon
// and the web console all go through `authorize` (usually via `withUser`), so a rule lives
// here once. A refusal is PERMISSION_DENIED naming the user, the operation and the path.

import { ErrorCode, StrataError } from '../errors.js';
import type { FileSystem } from '../fs.js';
import type { FileInfo } from '../types.js';
import { columnLister, LIST_COLUMNS } from '../protocol/page-codec.js';
import type { ColumnLister } from '../protocol/page-codec.js';
import type { User } from './users.js';

/** Operations only an admin may call: mounts, configuration, sync points, server reports. */
export const ADMIN_OPS: ReadonlySet<string> = new Set([
  'mount', 'unmount', 'setPathConf', 'removePathConf', 'listPathConf',
  'startSync', 'stopSync', 'getReport',
]);

function within(path: string, prefix: string): boolean {
  return prefix === '/' || path === prefix || path.startsWith(prefix + '/');
}

/** True when `path` is an ancestor of one of the user's prefixes (traversal only). */
function ancestorOfPrefix(user: User, path: string): boolean {
  return (user.prefixes ?? []).some((p) => within(p, path) && p !== path);
}

/** May `user` reach `path` at all (it is within one of the prefixes, or there are none)? */
export function canAccess(user: User, path: string): boolean {
  return !user.prefixes || user.prefixes.some((p) => within(path, p));
}

function denied(user: User, op: string, path: string | undefined, why: string): StrataError {
  return new StrataError(ErrorCode.PERMISSION_DENIED,
    `user ${user.name} may not ${op}${path !== undefined ? ` ${path}` : ''}: ${why}`);
}

/**
 * Throw PERMISSION_DENIED unless `user` may call `op` on `paths`. Read-only status calls
 * (getStatus, exists, listStatus) are allowed on ancestors of a user's prefixes so that a
 * client can walk down to them; listings of those ancestors are filtered by `withUser`.
 */
export function authorize(user: User, op: string, paths: readonly string[] = []): void {
  if (ADMIN_OPS.has(op) && user.role !== 'admin') throw denied(user, op, paths[0], 'admin role required');
  for (const p of paths) {
    if (canAccess(user, p)) continue;
    const traversal = op === 'getStatus' || op === 'exists' || op === 'listStatus';
    if (traversal && ancestorOfPrefix(user, p)) continue;
    throw denied(user, op, p, `outside the user's prefixes (${user.prefixes!.join(', ')})`);
  }
}

/** May `user` see that `path` exists (inside its prefixes, or on the way down to one)? */
function mayWalk(user: User, path: string): boolean {
  return canAccess(user, path) || ancestorOfPrefix(user, path);
}

/** Keep only the entries of a listing page the user may see. */
function visible(user: User, page: FileInfo[]): FileInfo[] {
  if (!user.prefixes) return page;
  return page.filter((f) => mayWalk(user, f.path));
}

/** The LIST_COLUMNS capability of `fs` as `user` may use it (none when pages must be filtered). */
function columnsFor(fs: FileSystem, user: User, check: (op: string, ...paths: string[]) => void): Partial<ColumnLister> {
  const lister = columnLister(fs);
  if (!lister || user.prefixes) return {};
  return {
    [LIST_COLUMNS]: (p: string, o?: Record<string, unknown>) => ({
      async *[Symbol.asyncIterator]() {
        check('listStatus', p);
        yield* lister.call(fs, p, o);
      },
    }),
  };
}

/** `fs` as seen by `user`: every call authorized first, listings filtered by prefixes. */
export function withUser(fs: FileSystem, user: User): FileSystem {
  const check = (op: string, ...paths: string[]): void => authorize(user, op, paths);
  return {
    getStatus: async (p, o) => { check('getStatus', p); return fs.getStatus(p, o); },
    exists: async (p, o) => { check('exists', p); return fs.exists(p, o); },
    listStatus: (p, o) => ({
      async *[Symbol.asyncIterator]() {
        check('listStatus', p);
        for await (const page of fs.listStatus(p, o)) {
          const v = visible(user, page);
          if (v.length) yield v;
        }
      },
    }),
    // Columnar listings pass through for a user who sees whole pages (no prefixes to filter by).
    ...columnsFor(fs, user, check),
    createDirectory: async (p, o) => { check('createDirectory', p); return fs.createDirectory(p, o); },
    createNode: async (p, o) => { check('createNode', p); return fs.createNode(p, o); },
    writeFile: async (p, d, o) => { check('writeFile', p); return fs.writeFile(p, d, o); },
    readFile: (p, o) => ({
      async *[Symbol.asyncIterator]() {
        check('readFile', p);
        yield* fs.readFile(p, o);
      },
    }),
    delete: async (p, o) => { check('delete', p); return fs.delete(p, o); },
    rename: async (s, d, o) => { check('rename', s, d); return fs.rename(s, d, o); },
    setAttributes: async (p, a) => { check('setAttributes', p); return fs.setAttributes(p, a); },
    mount: async (p, u, o) => { check('mount', p); return fs.mount(p, u, o); },
    unmount: async (p) => { check('unmount', p); return fs.unmount(p); },
    // A prefix user sees only the mounts and sync points it can reach (or walk through).
    getMountTable: async () => (await fs.getMountTable()).filter((m) => mayWalk(user, m.path)),
    loadMetadata: async (p, o) => { check('loadMetadata', p); return fs.loadMetadata(p, o); },
    checkConsistency: async (p, o) => { check('checkConsistency', p); return fs.checkConsistency(p, o); },
    needsSync: async (p) => { check('needsSync', p); return fs.needsSync(p); },
    load: async (p, o) => { check('load', p); return fs.load(p, o); },
    free: async (p, o) => { check('free', p); return fs.free(p, o); },
    persist: async (p, o) => { check('persist', p); return fs.persist(p, o); },
    setPinned: async (p, v, o) => { check('setPinned', p); return fs.setPinned(p, v, o); },
    setTtl: async (p, t, a) => { check('setTtl', p); return fs.setTtl(p, t, a); },
    setXattr: async (p, x) => { check('setXattr', p); return fs.setXattr(p, x); },
    startSync: async (p) => { check('startSync', p); return fs.startSync(p); },
    stopSync: async (p) => { check('stopSync', p); return fs.stopSync(p); },
    getSyncPathList: async () => (await fs.getSyncPathList()).filter((s) => mayWalk(user, s.path)),
    setPathConf: async (p, props) => { check('setPathConf', p); return fs.setPathConf(p, props); },
    listPathConf: async () => { check('listPathConf'); return fs.listPathConf(); },
    removePathConf: async (p) => { check('removePathConf', p); return fs.removePathConf(p); },
    getReport: async () => { check('getReport'); return fs.getReport(); },
    // Readable by every user: values of secrets are redacted by the server.
    getConf: async (key) => fs.getConf(key),
    // Closing a user's view never closes the shared file system under it.
    close: async () => {},
  };
}
