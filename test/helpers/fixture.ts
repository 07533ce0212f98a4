// Test fixtures for behaviour tests of the coordinator: real temporary directories (a data
// dir and a local UFS root), the real Coordinator in library mode, and an optional real TCP
// server + client on 127.0.0.1. Small helpers read streams and count UFS calls.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StrataClient } from '../../src/client/tcp-client.js';
import { ServerConfig } from '../../src/config/keys.js';
import { Coordinator } from '../../src/coordinator/coordinator.js';
import type { FileSystem } from '../../src/fs.js';
import { StrataServer } from '../../src/server/tcp-server.js';
import { UserStore, type User } from '../../src/auth/users.js';
import type { FileInfo, ListStatusOptions } from '../../src/types.js';
import { readAll } from './assert.js';
export { readAll };

export { ServerConfig };

export async function tempDir(prefix = 'strata-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export const fileUri = (dir: string): string => pathToFileURL(dir).href;

export interface Env {
  dataDir: string;
  /** The local directory behind the root mount. */
  ufsDir: string;
  fs: Coordinator;
  config: ServerConfig;
  /** Close and reopen the coordinator on the same data dir. */
  restart(): Promise<Coordinator>;
  /** Close everything and remove the temp dirs. */
  dispose(): Promise<void>;
  /** Extra temp dirs to remove on dispose. */
  track(dir: string): void;
}

/**
 * What the tests may mount (`mount.allowed.roots`): temp directories and any bucket of an
 * S3 server on loopback (radosgw and the fault proxies in front of it). The default of a
 * real server is narrower: the root UFS only.
 */
export const TEST_ALLOWED_ROOTS = `${pathToFileURL(tmpdir()).href},s3://*?endpoint=http://127.0.0.1:*`;

/** A fresh data dir and root UFS dir, and a Coordinator on them (allowed roots: TEST_ALLOWED_ROOTS unless set). */
export async function openEnv(settings: Record<string, string> = {}): Promise<Env> {
  const dataDir = await tempDir('strata-data-');
  const ufsDir = await tempDir('strata-ufs-');
  const config = new ServerConfig([{ 'mount.allowed.roots': TEST_ALLOWED_ROOTS }, settings]);
  const extra: string[] = [];
  const env: Env = {
    dataDir,
    ufsDir,
    config,
    fs: await Coordinator.open({ dataDir, rootUfs: fileUri(ufsDir), config }),
    async restart() {
      await env.fs.close();
      env.fs = await Coordinator.open({ dataDir, rootUfs: fileUri(ufsDir), config });
      return env.fs;
    },
    async dispose() {
      await env.fs.close().catch(() => undefined);
      for (const d of [dataDir, ufsDir, ...extra]) await rm(d, { recursive: true, force: true });
    },
    track(dir) { extra.push(dir); },
  };
  return env;
}

export interface TcpEnv {
  client: StrataClient;
  server: StrataServer;
  close(): Promise<void>;
}

/** An admin credential for servers the tests start in process. */
export const TEST_ADMIN: User = { name: 'test-admin', accessKeyId: 'TESTADMINKEY', secretKey: 'test-admin-secret', role: 'admin' };
export const TEST_ADMIN_TOKEN = `${TEST_ADMIN.accessKeyId}:${TEST_ADMIN.secretKey}`;

/** Serve `fs` over TCP on 127.0.0.1 (any port, users: `users` or one admin) and connect a client as that admin. */
export async function serveTcp(fs: FileSystem, users: UserStore = new UserStore([TEST_ADMIN])): Promise<TcpEnv> {
  const server = new StrataServer(fs, { host: '127.0.0.1', port: 0, users });
  const addr = await server.listen();
  const client = await StrataClient.connect(addr, { token: TEST_ADMIN_TOKEN });
  return {
    client, server,
    async close() {
      await client.close().catch(() => undefined);
      await server.close();
    },
  };
}

/** Every entry of a listing, pages flattened. */
export async function list(fs: FileSystem, path: string, options: ListStatusOptions = {}): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const page of fs.listStatus(path, options)) out.push(...page);
  return out;
}

export async function names(fs: FileSystem, path: string, options: ListStatusOptions = {}): Promise<string[]> {
  return (await list(fs, path, options)).map((f) => f.name).sort();
}

/** The bytes of a read stream. */

export async function readText(fs: FileSystem, path: string, options = {}): Promise<string> {
  return (await readAll(fs.readFile(path, options))).toString('utf8');
}

/** The error code a promise rejects with (fails when it resolves). */
export async function codeOf(p: Promise<unknown> | (() => Promise<unknown>)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return (err as { code?: string }).code ?? `non-coded error: ${String(err)}`;
  }
  return 'RESOLVED';
}

/** Snapshot of UFS call counts; `delta()` is what was called since. */
export async function ufsCounter(fs: FileSystem): Promise<{ delta(): Promise<Record<string, number>>; total(): Promise<number> }> {
  const before = (await fs.getReport()).ufsCalls;
  const delta = async (): Promise<Record<string, number>> => {
    const now = (await fs.getReport()).ufsCalls;
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(now)) {
      const d = v - (before[k] ?? 0);
      if (d) out[k] = d;
    }
    return out;
  };
  return {
    delta,
    async total() {
      const d = await delta();
      // Count calls, not bytes.
      return Object.entries(d).filter(([k]) => !k.endsWith('Bytes') && k !== 'listPage').reduce((a, [, v]) => a + v, 0);
    },
  };
}

/** Poll `cond` every 20 ms until true; fails after `maxMs` (a bound, not an assertion on timing). */
export async function waitFor(cond: () => Promise<boolean> | boolean, what: string, maxMs = 20_000): Promise<void> {
  const end = Date.now() + maxMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
