// Who may connect: the users of a Strata server, each an access key id + secret with a role
// (`admin` or `user`) and optional path prefixes. The same keys authenticate the TCP protocol
// (hello credential), the S3 gateway (SigV4, so the secret itself is stored, protected by
// file permissions 0600) and the web console. On first start with no users configured the
// server creates an admin key in DATA_DIR/admin.key (mode 0600) that the CLI finds there.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, StrataError } from '../errors.js';

export type Role = 'admin' | 'user';
export const ROLES: readonly Role[] = ['admin', 'user'];

/** One user. `prefixes`, when set, limits the user to those namespace subtrees. */
export interface User {
  name: string;
  accessKeyId: string;
  secretKey: string;
  role: Role;
  prefixes?: string[];
}

/** The file of users under the data directory (JSON `{ users: User[] }`, mode 0600). */
export const USERS_FILE = 'users.json';
/** The admin credential created on first start (`ACCESSKEYID:SECRET`, mode 0600). */
export const ADMIN_KEY_FILE = 'admin.key';

/** A credential as carried by the hello frame, STRATA_TOKEN or `--token`: `ACCESSKEYID:SECRET`. */
export interface Credential { accessKeyId: string; secretKey: string }

/** Parse `ACCESSKEYID:SECRET`; BAD_REQUEST when it has no colon or an empty half. */
export function parseToken(token: string): Credential {
  const t = token.trim();
  const i = t.indexOf(':');
  if (i <= 0 || i === t.length - 1) {
    throw new StrataError(ErrorCode.BAD_REQUEST, 'a Strata token has the form ACCESSKEYID:SECRET');
  }
  return { accessKeyId: t.slice(0, i), secretKey: t.slice(i + 1) };
}

export function formatToken(c: Credential): string {
  return `${c.accessKeyId}:${c.secretKey}`;
}

/** A new random credential (access key ids look like AWS's: 20 upper-case characters). */
export function newCredential(): Credential {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const raw = randomBytes(20);
  let id = 'SK';
  for (let i = 0; id.length < 20; i++) id += alphabet[raw[i]! % alphabet.length];
  return { accessKeyId: id, secretKey: randomBytes(30).toString('base64url') };
}

/**
 * Constant-time comparison of two secrets of any length (the time tells neither the
 * content nor the length). Every comparison of a secret in Strata goes through this.
 */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Compare equal-length buffers always, so the time does not tell the length either.
  const n = Math.max(x.length, y.length, 1);
  const xa = Buffer.alloc(n);
  const ya = Buffer.alloc(n);
  x.copy(xa);
  y.copy(ya);
  return timingSafeEqual(xa, ya) && x.length === y.length;
}

function validateUser(u: unknown, where: string): User {
  const o = u as Record<string, unknown> | null;
  const bad = (what: string): never => {
    throw new StrataError(ErrorCode.INVALID_ARGUMENT, `${where}: ${what}`);
  };
  if (!o || typeof o !== 'object') bad('each user is an object');
  const { name, accessKeyId, secretKey, role, prefixes } = o!;
  if (typeof accessKeyId !== 'string' || !/^[A-Za-z0-9_.-]{3,128}$/.test(accessKeyId)) bad('accessKeyId must be 3-128 characters of [A-Za-z0-9_.-]');
  if (typeof secretKey !== 'string' || secretKey.length < 8) bad(`user ${String(accessKeyId)}: secretKey must be at least 8 characters`);
  if (role !== 'admin' && role !== 'user') bad(`user ${String(accessKeyId)}: role must be admin or user`);
  if (prefixes !== undefined && (!Array.isArray(prefixes) || prefixes.some((p) => typeof p !== 'string' || !p.startsWith('/')))) {
    bad(`user ${String(accessKeyId)}: prefixes must be absolute namespace paths`);
  }
  return {
    name: typeof name === 'string' && name ? name : String(accessKeyId),
    accessKeyId: accessKeyId as string,
    secretKey: secretKey as string,
    role: role as Role,
    ...(prefixes ? { prefixes: (prefixes as string[]).map((p) => (p.length > 1 ? p.replace(/\/+$/, '') : p)) } : {}),
  };
}

/** The users of one server, looked up by access key id. */
export class UserStore {
  private readonly byKey = new Map<string, User>();

  constructor(users: readonly User[]) {
    for (const u of users) {
      if (this.byKey.has(u.accessKeyId)) {
        throw new StrataError(ErrorCode.INVALID_ARGUMENT, `access key id ${u.accessKeyId} is defined twice`);
      }
      this.byKey.set(u.accessKeyId, u);
    }
  }

  /** Parse a users file (`{ "users": [...] }` or a bare array). */
  static fromFile(file: string): UserStore {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new StrataError(ErrorCode.INVALID_ARGUMENT, `cannot read the users file ${file}: ${(err as Error).message}`, { cause: err });
    }
    const list = Array.isArray(json) ? json : (json as { users?: unknown })?.users;
    if (!Array.isArray(list)) throw new StrataError(ErrorCode.INVALID_ARGUMENT, `${file}: expected { "users": [ ... ] }`);
    return new UserStore(list.map((u, i) => validateUser(u, `${file}: users[${i}]`)));
  }

  /**
   * The users of a server: `usersFile` when given, else DATA_DIR/users.json; when neither
   * exists, a new admin user is created and its token written to DATA_DIR/admin.key (0600).
   * `created` is the path of that key file when this call made it.
   */
  static openForServer(dataDir: string, usersFile?: string): { store: UserStore; created?: string } {
    if (usersFile) return { store: UserStore.fromFile(usersFile) };
    const file = join(dataDir, USERS_FILE);
    if (existsSync(file)) return { store: UserStore.fromFile(file) };
    const cred = newCredential();
    const admin: User = { name: 'admin', ...cred, role: 'admin' };
    writePrivate(file, JSON.stringify({ users: [admin] }, null, 2) + '\n');
    const keyFile = join(dataDir, ADMIN_KEY_FILE);
    writePrivate(keyFile, formatToken(cred) + '\n');
    return { store: new UserStore([admin]), created: keyFile };
  }

  get(accessKeyId: string): User | undefined {
    return this.byKey.get(accessKeyId);
  }

  /** The user whose key and secret match (constant-time on the secret), else undefined. */
  verify(cred: Credential): User | undefined {
    const u = this.byKey.get(cred.accessKeyId);
    // Compare against a dummy when the key is unknown, so timing does not reveal which keys exist.
    const ok = sameSecret(u?.secretKey ?? '\0unknown-user-secret\0', cred.secretKey);
    return ok && u ? u : undefined;
  }

  list(): User[] {
    return [...this.byKey.values()];
  }
}

/** Write a file readable by its owner only (atomically: temp file, chmod, rename). */
export function writePrivate(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
