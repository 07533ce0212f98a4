// ASYNC_THROUGH crash safety against a REAL server process: rounds of ASYNC_THROUGH writes
// (small and multi-block) into a local mount, each ended by SIGKILL at a random moment
// (mid-write, mid-persist, between upload and metadata update), then a restart on the same
// data dir. Every acknowledged file must read back byte-identical through Strata, reach the
// UFS byte-identical and PERSISTED once the queue drains, and no `.strata-tmp-*` file may
// be left in the UFS. A write that was not acknowledged is either absent or complete.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataClient } from '../src/client/tcp-client.js';
import { fileUri, openEnv, readAll, sleep, tempDir, waitFor } from './helpers/fixture.js';
import { startServer } from './helpers/server.js';
import type { ServerHandle } from './helpers/server.js';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 21);
const WAITS = ['0ms', '50ms', '200ms'];
const BLOCK = 64 * 1024;

let dataDir: string;
let rootUfs: string;
let mountUfs: string;
let server: ServerHandle | undefined;
let client: StrataClient | undefined;

/** Every acknowledged file: Strata path -> bytes. */
const acked = new Map<string, Buffer>();
/** Writes that were in flight at the kill: they may exist, but only complete. */
const unacked = new Map<string, Buffer>();

async function boot(initialWait: string): Promise<void> {
  server = await startServer({
    dataDir,
    args: ['--root-ufs', fileUri(rootUfs), '-D', `persist.initial.wait=${initialWait}`, '-D', 'cache.block.size=64KB', '-D', 'persist.max.interval=500ms'],
  });
  client = await StrataClient.connect(server.address, { token: server.token });
}

async function crash(): Promise<void> {
  await server!.kill();
  await client!.close().catch(() => undefined);
  server = undefined;
  client = undefined;
}

function tempFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.startsWith('.strata-tmp-')) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

const ufsFileOf = (p: string): string => join(mountUfs, p.replace(/^\/local\//, ''));

async function expectReadable(c: StrataClient, files: Map<string, Buffer>, what: string): Promise<void> {
  for (const [p, data] of files) {
    const got = await readAll(c.readFile(p));
    assert.ok(got.equals(data), `${what}: ${p} reads back byte-identical (${got.length} vs ${data.length} bytes)`);
  }
}

test.before(async () => {
  dataDir = await tempDir('strata-crash-data-');
  rootUfs = await tempDir('strata-crash-root-');
  mountUfs = await tempDir('strata-crash-mount-');
});

test.after(async () => {
  await client?.close().catch(() => undefined);
  await server?.kill().catch(() => undefined);
  for (const d of [dataDir, rootUfs, mountUfs]) await rm(d, { recursive: true, force: true });
});

test(`kill -9 at random moments over ${ROUNDS} rounds loses no acknowledged ASYNC_THROUGH file`, async () => {
  await boot('0ms');
  await mkdir(mountUfs, { recursive: true });
  await client!.mount('/local', fileUri(mountUfs));

  let killedMidWrite = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const wait = WAITS[round % WAITS.length]!;
    if (!server) await boot(wait);
    const c = client!;
    // Whatever survived the previous crash is readable now, before any new write.
    await expectReadable(c, acked, `round ${round} start`);

    const n = randomInt(4, 9);
    const writes: Promise<void>[] = [];
    let inFlight = 0;
    for (let i = 0; i < n; i++) {
      const p = `/local/r${round}/f${i}`;
      const size = i % 2 === 0 ? randomInt(1, 5000) : BLOCK * randomInt(2, 6) + randomInt(0, BLOCK);
      const data = randomBytes(size);
      inFlight++;
      writes.push(c.writeFile(p, data, { writeType: 'ASYNC_THROUGH', recursive: true }).then(
        (info) => {
          assert.is(info.persistenceState, 'TO_BE_PERSISTED');
          acked.set(p, data);
        },
        () => { unacked.set(p, data); },
      ).finally(() => { inFlight--; }));
    }
    // Kill at a random moment: while writes are in flight (odd rounds), or after they were
    // acknowledged, while persists run (even rounds).
    if (round % 2 === 1) {
      await sleep(randomInt(0, 60));
    } else {
      await Promise.all(writes);
      await sleep(randomInt(0, 250));
    }
    if (inFlight > 0) killedMidWrite++;
    await crash();
    await Promise.all(writes);
    // The next round restarts with another persist.initial.wait on the same data dir.
  }
  assert.ok(acked.size >= ROUNDS * 2, `enough acknowledged writes (${acked.size})`);

  await boot('0ms');
  const c = client!;
  await expectReadable(c, acked, 'after the last restart');
  for (const [p, data] of unacked) {
    if (acked.has(p)) continue;
    const exists = await c.exists(p);
    if (exists) assert.ok((await readAll(c.readFile(p))).equals(data), `an unacknowledged write that is visible is complete: ${p}`);
  }

  // The queue drains (bounded wait).
  const end = Date.now() + 60_000;
  for (;;) {
    const r = await c.getReport();
    if (r.persist.pending === 0 && r.persist.inFlight === 0) break;
    if (Date.now() > end) assert.unreachable(`persist queue did not drain: ${JSON.stringify(r.persist)}`);
    await sleep(50);
  }
  for (const [p, data] of acked) {
    const st = await c.getStatus(p);
    assert.is(st.persistenceState, 'PERSISTED', `${p} is PERSISTED`);
    assert.is(st.length, data.length);
    const f = ufsFileOf(p);
    assert.ok(existsSync(f), `${p} is in the UFS`);
    assert.ok(readFileSync(f).equals(data), `${p} is byte-identical in the UFS`);
  }
  // Temp files of the crashed writes are swept in the background after the start.
  await waitFor(() => tempFiles(mountUfs).length === 0, `the temp files of the mount UFS to be swept: ${tempFiles(mountUfs).join(', ')}`, 20_000);
  await waitFor(() => tempFiles(rootUfs).length === 0, `the temp files of the root UFS to be swept: ${tempFiles(rootUfs).join(', ')}`, 20_000);
  const r = await c.getReport();
  assert.is(r.persist.failed, 0);
  assert.is(r.cache.bytesByState.unevictable, 0, `persisted data is evictable: ${JSON.stringify(r.cache.bytesByState)}`);
  assert.ok(typeof r.persist.oldestPendingMs === 'number');
  console.log(`  ${ROUNDS} rounds, ${acked.size} acknowledged files, ${unacked.size} interrupted writes, ${killedMidWrite} kills mid-write`);
  await client!.close();
  client = undefined;
  await server!.stop();
  server = undefined;
});

test('a crash between the PERSISTED commit and the clean-up: the restart finishes it', async () => {
  const env = await openEnv({ 'persist.initial.wait': '0ms', 'cache.block.size': '64KB' });
  try {
    const data = randomBytes(BLOCK * 3 + 5);
    await env.fs.writeFile('/f', data, { writeType: 'ASYNC_THROUGH' });
    await waitFor(async () => (await env.fs.getReport()).persist.pending === 0 && (await env.fs.getReport()).persist.inFlight === 0, 'persist');
    const st = await env.fs.getStatus('/f');
    assert.is(st.persistenceState, 'PERSISTED');
    // The state a kill -9 leaves right after the PERSISTED commit: the job still queued and
    // the blocks not yet evictable.
    const inodeId = env.fs.tree.resolve('/f').inode!.id;
    await env.fs.store.transact((tx) => tx.put('persist', st.fileId, { inodeId, fileId: st.fileId, enqueuedMs: Date.now(), nextMs: 0, attempts: 0 }));
    await env.fs.blocks.setEvictable(st.fileId, false);
    await env.restart();
    await waitFor(async () => {
      const r = await env.fs.getReport();
      return r.persist.pending === 0 && r.persist.inFlight === 0;
    }, 'the leftover job to finish', 10_000);
    const r = await env.fs.getReport();
    assert.is(r.cache.bytesByState.unevictable, 0, `blocks evictable again: ${JSON.stringify(r.cache.bytesByState)}`);
    const after = await env.fs.getStatus('/f');
    assert.is(after.persistenceState, 'PERSISTED');
    assert.is(after.fileId, st.fileId);
    assert.ok(readFileSync(join(env.ufsDir, 'f')).equals(data));
    assert.ok((await readAll(env.fs.readFile('/f'))).equals(data));
  } finally {
    await env.dispose();
  }
});

test.run();
