// Work stops when its client leaves, measured as the server's CPU time: a long call whose
// client disconnects mid-way must stop burning CPU. For each long path — a recursive
// listing streamed to the client over a deep local chain (its sync included), a recursive
// checkConsistency of a wide local tree (one UFS call per entry), and a recursive
// loadMetadata of a flat S3 prefix (the one-task flat tree sync on a worker, one key per
// listing page) — the utime+stime of the real server process (/proc/PID/stat) is sampled
// during the call and after the disconnect, and growth after must be a small fraction of
// growth during (a behaviour assertion with a wide margin, not a time limit).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { StrataClient } from '../src/client/tcp-client.js';
import { startServer, tempDir, type ServerHandle } from './helpers/server.js';
import { fileUri, sleep } from './helpers/fixture.js';
import { freshBucket, s3Options } from './helpers/s3.js';

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system, all threads) of process `pid` so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime, stime (fields 14, 15)
}

/**
 * Start `call` on a fresh connection, measure the server's CPU for `windowMs` while it runs,
 * close the connection, let in-flight pieces finish (`settleMs`), measure again for
 * `windowMs`. Returns both growths and how the call ended.
 */
async function cpuAroundDisconnect(srv: ServerHandle, call: (c: StrataClient) => Promise<unknown>, windowMs = 3000, settleMs = 1500):
  Promise<{ during: number; after: number; outcome: string }> {
  const pid = srv.proc.pid!;
  const leaver = await StrataClient.connect(srv.address, { token: srv.token });
  let settled = false;
  const outcome = call(leaver).then(() => 'completed', (err: { code?: string }) => err.code ?? String(err)).finally(() => { settled = true; });
  await sleep(800); // under way
  const d0 = cpuSeconds(pid);
  await sleep(windowMs);
  const during = cpuSeconds(pid) - d0;
  // (Not `${await outcome}` in the message: that would wait for the whole call first.)
  if (settled) assert.unreachable(`the call ended before the disconnect (${await outcome})`);
  await leaver.close();
  await sleep(settleMs);
  const a0 = cpuSeconds(pid);
  await sleep(windowMs);
  const after = cpuSeconds(pid) - a0;
  return { during, after, outcome: await outcome };
}

function assertStopped(what: string, r: { during: number; after: number; outcome: string }): void {
  // (A streamed listing just ends on the client when its connection closes.)
  assert.ok(r.outcome === 'CONNECTION_CLOSED' || r.outcome === 'completed', `${what}: the call ended with the connection (${r.outcome})`);
  // An idle server uses a few ticks per window; a running call uses a share of a core (less
  // on a loaded machine, where it mostly waits for the disk): after must be well below it.
  assert.ok(r.during > 0.05, `${what}: the server was busy during the call (${r.during.toFixed(2)} CPU s)`);
  assert.ok(r.after <= r.during * 0.4 + 0.03,
    `${what}: the server's CPU stopped growing after the client left (during ${r.during.toFixed(2)} s, after ${r.after.toFixed(2)} s)`);
  process.stdout.write(`  ${what}: CPU during ${r.during.toFixed(2)} s, after ${r.after.toFixed(2)} s\n`);
}

test('local mounts: server CPU stops growing when the client of a long listing or check leaves', async () => {
  const chain = await tempDir('strata-cancel-chain-');
  const wide = await tempDir('strata-cancel-wide-');
  let srv: ServerHandle | undefined;
  try {
    // A 800-level chain with a file per level: a long sync of one directory at a time.
    let p = chain;
    for (let i = 0; i < 800; i++) {
      p = join(p, 'd');
      mkdirSync(p);
      writeFileSync(join(p, 'f'), 'x');
    }
    // A wide tree: 40 directories × 100 files.
    for (let d = 0; d < 40; d++) {
      mkdirSync(join(wide, `d${d}`));
      for (let f = 0; f < 100; f++) writeFileSync(join(wide, `d${d}`, `f${f}`), 'x');
    }
    srv = await startServer({ args: ['-D', 'sync.parallelism=1', '-D', 'sync.prefetch.parallelism=1', '-D', 'path.max.depth=2000'] });
    const admin = await StrataClient.connect(srv.address, { token: srv.token });
    await admin.mount('/chain', fileUri(chain));
    await admin.mount('/wide', fileUri(wide));
    await admin.loadMetadata('/wide', { recursive: true });

    // The streamed recursive listing of the chain (its tree sync runs inside the call), again
    // and again with the sync due each time (one pass now takes about a second: a sync task
    // goes down the chain by itself).
    assertStopped('listStatus -R of a deep local chain', await cpuAroundDisconnect(srv, async (c) => {
      for (let i = 0; i < 1000; i++) {
        for await (const _page of c.listStatus('/chain', { recursive: true, syncIntervalMs: 0 })) { /* consume */ }
      }
    }));
    // checkConsistency -R of the wide tree (a UFS getStatus per entry), again and again.
    assertStopped('checkConsistency -R of a wide local tree', await cpuAroundDisconnect(srv, async (c) => {
      for (let i = 0; i < 1000; i++) await c.checkConsistency('/wide', { recursive: true });
    }));
    // The server still answers.
    assert.is((await admin.getStatus('/wide/d39/f99')).length, 1);
    await admin.close();
  } finally {
    await srv?.stop();
    if (srv) await rm(srv.dataDir, { recursive: true, force: true });
    await rm(chain, { recursive: true, force: true });
    await rm(wide, { recursive: true, force: true });
  }
});

test('S3 flat prefix: server CPU stops growing when the client of a recursive loadMetadata leaves', async () => {
  const bucket = await freshBucket('cancel-cpu');
  let srv: ServerHandle | undefined;
  try {
    const keys = Array.from({ length: 1200 }, (_, i) => `flat/k${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((Key) => bucket.client.send(new PutObjectCommand({ Bucket: bucket.bucket, Key, Body: 'x' }))));
    }
    // Two keys per listing page: a long flat sync (one worker task) of many small pages.
    srv = await startServer({ args: ['-D', 'sync.list.page.size=2'] });
    const admin = await StrataClient.connect(srv.address, { token: srv.token });
    await admin.mount('/s3', `s3://${bucket.bucket}`, { options: s3Options(bucket.server) });
    assertStopped('loadMetadata -R of a flat S3 prefix', await cpuAroundDisconnect(srv, (c) => c.loadMetadata('/s3/flat', { recursive: true })));
    // A new call completes what the first one left.
    const s = await admin.loadMetadata('/s3/flat', { recursive: true });
    assert.is(s.failed, 0);
    assert.is((await admin.getStatus('/s3/flat/k01199')).length, 1);
    await admin.close();
  } finally {
    await srv?.stop();
    if (srv) await rm(srv.dataDir, { recursive: true, force: true });
    await bucket.cleanup().catch(() => undefined);
  }
});

test.run();
