// `strata fsadmin …` as a real process against a real server: the report's counters (UFS
// calls, cache), per-path configuration add/list/remove, and that a hot read makes no UFS
// call at all.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, startServer, tempDir } from './helpers/server.js';
import type { CliResult, ServerHandle } from './helpers/server.js';

let srv: ServerHandle;
let local: string;

const admin = (...args: string[]): Promise<CliResult> => runCli(['fsadmin', '--address', srv.address, ...args]);
const fs = (...args: string[]): Promise<CliResult> => runCli(['fs', '--address', srv.address, ...args]);

async function report(): Promise<any> {
  const r = await admin('report', '--json');
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const total = (calls: Record<string, number>): number => Object.values(calls).reduce((a, b) => a + b, 0);

test.before(async () => {
  srv = await startServer();
  local = await tempDir();
});

test.after(async () => {
  if (srv) await srv.stop();
  if (local) await rm(local, { recursive: true, force: true });
  if (srv) await rm(srv.dataDir, { recursive: true, force: true });
});

test('report --json carries UFS calls by operation and the cache counters', async () => {
  const r = await report();
  assert.type(r.ufsCalls, 'object');
  for (const v of Object.values(r.ufsCalls)) assert.type(v, 'number');
  for (const k of ['hits', 'misses', 'usedBytes', 'capacityBytes', 'hitRatio']) assert.type(r.cache[k], 'number', k);
  assert.ok(r.cache.capacityBytes > 0);
  assert.type(r.sync, 'object');
  assert.type(r.persist, 'object');
  const human = await admin('report');
  assert.is(human.code, 0, human.stderr);
  assert.match(human.stdout, /UFS calls/);
  assert.match(human.stdout, /hit ratio/);
  assert.match(human.stdout, /Persist queue/);
});

test('report lists recent loadMetadata and checkConsistency runs of any client, human and --json', async () => {
  assert.is((await fs('loadMetadata', '-R', '/')).code, 0);
  assert.is((await fs('checkConsistency', '/')).code, 0);
  const r = await report();
  const ops = (r.recentRuns as Array<{ op: string; path: string; finishedMs?: number }>).map((x) => `${x.op} ${x.path} ${x.finishedMs !== undefined}`);
  assert.ok(ops.includes('loadMetadata / true') && ops.includes('checkConsistency / true'), ops.join('; '));
  const human = await admin('report');
  assert.match(human.stdout, /Recent syncs and checks/);
  assert.match(human.stdout, /checkConsistency -R \/ .*inconsistent 0/);
  assert.match(human.stdout, /loadMetadata -R \/ .*created \d+/);
});

test('a hot read (cat twice) makes no new UFS call', async () => {
  const file = join(local, 'hot.bin');
  const data = randomBytes(256 * 1024);
  await writeFile(file, data);
  assert.is((await fs('copyFromLocal', '--write-type', 'CACHE_THROUGH', file, '/hot.bin')).code, 0);
  const first = await fs('cat', '/hot.bin');
  assert.ok(first.stdoutBytes.equals(data));
  const before = await report();
  const second = await fs('cat', '/hot.bin');
  assert.ok(second.stdoutBytes.equals(data));
  const after = await report();
  assert.equal(after.ufsCalls, before.ufsCalls, 'the second read must not touch the UFS');
  assert.is(total(after.ufsCalls), total(before.ufsCalls));
  assert.ok(after.cache.hits > before.cache.hits, 'the second read is a cache hit');
});

test('pathConf add / list / remove', async () => {
  const add = await admin('pathConf', 'add', '--property', 'metadata.sync.interval=0', '--property', 'write.type=THROUGH', '/data/hot');
  assert.is(add.code, 0, add.stderr);
  const list = await admin('--json', 'pathConf', 'list');
  assert.is(list.code, 0, list.stderr);
  const entry = JSON.parse(list.stdout).find((e: { path: string }) => e.path === '/data/hot');
  assert.ok(entry, list.stdout);
  assert.is(entry.properties['metadata.sync.interval'], '0');
  assert.is(entry.properties['write.type'], 'THROUGH');
  assert.match((await admin('pathConf', 'list')).stdout, /\/data\/hot\s+.*metadata\.sync\.interval=0/);
  const remove = await admin('pathConf', 'remove', '/data/hot');
  assert.is(remove.code, 0, remove.stderr);
  const after = JSON.parse((await admin('pathConf', 'list', '--json')).stdout);
  assert.not.ok(after.some((e: { path: string }) => e.path === '/data/hot'));
});

test('pathConf add refuses unknown keys, server-wide keys and bad values', async () => {
  for (const [prop, mention] of [['no.such.key=1', 'no.such.key'], ['cache.capacity=1GB', 'cache.capacity'], ['metadata.load.type=SOMETIMES', 'SOMETIMES']]) {
    const r = await admin('pathConf', 'add', '--property', prop!, '/x');
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /^strata: INVALID_ARGUMENT: /m);
    assert.ok(r.stderr.includes(mention!), r.stderr);
  }
  const none = await admin('--json', 'pathConf', 'add', '/x');
  assert.is(none.code, 2);
  assert.is(JSON.parse(none.stdout).error.code, 'INVALID_ARGUMENT');
});

test.run();
