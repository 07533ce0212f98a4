// One live process per data directory: a second server or embedded Coordinator on a data
// directory in use fails at once, naming the holder's pid; the lock dies with its process
// (a kill -9 leaves a stale lock that the next opener takes over). A server whose port is
// taken prints one line `strata: … address in use` and exits non-zero.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { rejects } from './helpers/assert.js';
import { runCli, startServer, tempDir } from './helpers/server.js';
import type { ServerHandle } from './helpers/server.js';

const dirs: string[] = [];
const servers: ServerHandle[] = [];
test.after(async () => {
  for (const s of servers) await s.kill().catch(() => undefined);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('a second embedded Coordinator on one data directory fails naming the pid; close releases it', async () => {
  const dir = await tempDir('strata-lock-');
  dirs.push(dir);
  const a = await Coordinator.open({ dataDir: dir });
  try {
    const err = await rejects(Coordinator.open({ dataDir: dir }), 'FAILED_PRECONDITION');
    assert.match(err.message, `pid ${process.pid}`);
  } finally {
    await a.close();
  }
  const b = await Coordinator.open({ dataDir: dir });
  await b.close();
});

test('a second server on a data directory in use exits non-zero with one line naming the pid', async () => {
  const s = await startServer();
  servers.push(s);
  dirs.push(s.dataDir);
  const r = await runCli(['server', '--port', '0', '--data-dir', s.dataDir]);
  assert.is.not(r.code, 0);
  // Log lines (JSON, such as the admin key created for the new data directory) aside, the
  // failure is one line.
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('{'));
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^strata: FAILED_PRECONDITION: .*in use by another Strata process \(pid \d+/);
  assert.match(lines[0]!, `pid ${s.proc.pid}`);
  assert.is(r.stdout, '', 'never says listening');
  // The first server still serves.
  assert.is((await runCli(['fs', '--address', s.address, 'ls', '/'])).code, 0);
});

test('after kill -9 the stale lock is taken over; a lock of a dead pid too', async () => {
  const s = await startServer();
  servers.push(s);
  dirs.push(s.dataDir);
  await s.kill();
  const again = await startServer({ dataDir: s.dataDir });
  servers.push(again);
  const lock = JSON.parse(readFileSync(join(s.dataDir, 'strata.lock'), 'utf8')) as { pid: number };
  assert.is(lock.pid, again.proc.pid);
  assert.is(await again.stop(), 0);
  // A lock left by a process that no longer exists (pid far above pid_max).
  writeFileSync(join(s.dataDir, 'strata.lock'), JSON.stringify({ pid: 999_999_999, since: 'then' }));
  const c = await Coordinator.open({ dataDir: s.dataDir });
  await c.close();
});

test('a taken port: one line `strata: … address in use`, exit non-zero, no stack trace', async () => {
  const s = await startServer();
  servers.push(s);
  dirs.push(s.dataDir);
  const other = await tempDir('strata-lock-port-');
  dirs.push(other);
  const port = s.address.split(':').pop()!;
  const r = await runCli(['server', '--port', port, '--data-dir', other]);
  assert.is.not(r.code, 0);
  // Log lines (JSON, such as the admin key created for the new data directory) aside, the
  // failure is one line.
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('{'));
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^strata: .*address in use$/);
  // The data directory is free again: the lock was released on the way out.
  const c = await Coordinator.open({ dataDir: other });
  await c.close();
});

test.run();
