// Active sync when inotify cannot watch: a missing inotifywait, or the watch limit
// (fs.inotify.max_user_watches) exhausted — simulated by an `inotifywait` on PATH that
// prints inotifywait's own error — degrades the sync point with a message, and interval
// reconciliation still makes outside changes visible. A killed inotifywait leads to a full
// resync (counted) and a restarted watcher that follows new changes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openEnv, tempDir, waitFor } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;
const NEVER = { loadType: 'NEVER' as const };
const exists = (p: string) => env.fs.exists(p, NEVER).catch(() => false);
const point = async (p: string) => (await env.fs.getSyncPathList()).find((s) => s.path === p);

test.before(async () => {
  env = await openEnv({ 'metadata.sync.interval': '-1', 'active.sync.interval': '300ms' });
});
test.after(() => env.dispose());

/** Run `fn` with PATH replaced (spawn reads process.env at call time). */
async function withPath<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = path;
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

test('no inotifywait: degraded with a message, interval reconciliation keeps it fresh', async () => {
  await env.fs.createDirectory('/nobin');
  const empty = await tempDir('strata-nopath-');
  env.track(empty);
  await withPath(empty, () => env.fs.startSync('/nobin'));
  await waitFor(async () => (await point('/nobin'))?.state === 'degraded', 'degraded', 10_000);
  assert.match((await point('/nobin'))!.message ?? '', /inotifywait/);
  assert.ok(((await point('/nobin'))!.degradedAtMs ?? 0) > 0, 'says when it degraded');
  writeFileSync(join(env.ufsDir, 'nobin', 'x'), 'x');
  await waitFor(() => exists('/nobin/x'), 'visible (initial resync or reconciliation)', 10_000);
  // The degraded point's first full resync may still be running when x lands; a file written
  // once reconciliation has run is seen by reconciliation alone.
  await waitFor(async () => ((await env.fs.getReport()).activeSync.reconciliations ?? 0) >= 1, 'a reconciliation', 10_000);
  writeFileSync(join(env.ufsDir, 'nobin', 'y'), 'y');
  await waitFor(() => exists('/nobin/y'), 'visible by reconciliation', 10_000);
  const r = (await env.fs.getReport()).activeSync;
  assert.ok((r.degraded ?? 0) >= 1 && (r.reconciliations ?? 0) >= 1);
  await env.fs.stopSync('/nobin');
});

test('watch limit exhausted: degraded (never silent), reconciliation makes changes visible', async () => {
  await env.fs.createDirectory('/limit');
  const bin = await tempDir('strata-fakebin-');
  env.track(bin);
  // What inotifywait prints when fs.inotify.max_user_watches is exhausted, then it waits.
  writeFileSync(join(bin, 'inotifywait'), '#!/bin/sh\necho "Setting up watches.  Beware: since -r was given, this may take a while!" >&2\n' +
    'echo "Failed to watch $9; upper limit on inotify watches reached!" >&2\necho "Please increase the amount of inotify watches allowed per user via \\`/proc/sys/fs/inotify/max_user_watches\\`." >&2\nexec sleep 600\n');
  chmodSync(join(bin, 'inotifywait'), 0o755);
  await withPath(`${bin}:${process.env.PATH}`, () => env.fs.startSync('/limit'));
  await waitFor(async () => (await point('/limit'))?.state === 'degraded', 'degraded', 10_000);
  assert.match((await point('/limit'))!.message ?? '', /max_user_watches/);
  mkdirSync(join(env.ufsDir, 'limit', 'd'));
  writeFileSync(join(env.ufsDir, 'limit', 'd', 'y'), 'y');
  await waitFor(() => exists('/limit/d/y'), 'visible by reconciliation', 10_000);
  await env.fs.stopSync('/limit');
});

/** Pids of inotifywait processes that are children of this process and watch `dir`. */
function inotifywaitsOf(dir: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (ppid === process.pid && cmd[0]?.endsWith('inotifywait') && cmd.includes(dir)) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

test('a killed inotifywait: full resync (counted) and the watcher is restarted', async () => {
  await env.fs.createDirectory('/kill');
  await env.fs.setPathConf('/kill', { 'active.sync.interval': '1h' });
  await env.fs.startSync('/kill');
  await waitFor(async () => (await point('/kill'))?.state === 'active', 'active', 10_000);
  const dir = join(env.ufsDir, 'kill');
  await waitFor(() => inotifywaitsOf(dir).length === 1, 'inotifywait running', 10_000);
  const [pid] = inotifywaitsOf(dir);
  const before = (await env.fs.getReport()).activeSync;
  process.kill(pid!, 'SIGKILL');
  writeFileSync(join(dir, 'during'), 'd'); // made while no watcher runs
  await waitFor(async () => ((await env.fs.getReport()).activeSync.lostStreams ?? 0) > (before.lostStreams ?? 0), 'loss counted', 10_000);
  await waitFor(() => exists('/kill/during'), 'change made while the watcher was dead', 10_000);
  assert.ok(((await env.fs.getReport()).activeSync.fullResyncs ?? 0) > (before.fullResyncs ?? 0), 'full resync counted');
  await waitFor(() => inotifywaitsOf(dir).some((p) => p !== pid), 'watcher restarted', 10_000);
  await waitFor(async () => (await point('/kill'))?.state === 'active', 'still active', 10_000);
  // Events flow again (reconciliation is 1h here, so this is the new watcher).
  await new Promise((r) => setTimeout(r, 300));
  writeFileSync(join(dir, 'after'), 'a');
  await waitFor(() => exists('/kill/after'), 'change after the restart', 10_000);
  await env.fs.stopSync('/kill');
});

test.run();
