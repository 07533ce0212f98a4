// ASYNC_THROUGH into an S3 mount while the S3 server is unreachable: the writes are
// acknowledged from the cache, the persists fail with UFS_UNAVAILABLE and pause (the error
// shows in the file status and the report), and when the server answers again the queue
// resumes on its own — well before the persist back-off would have retried — and every
// file lands in the bucket byte for byte. The outage is a TCP proxy the test controls.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { ServerConfig } from '../src/config/keys.js';
import { TEST_ALLOWED_ROOTS } from './helpers/fixture.js';
import { freshBucket, s3Options } from './helpers/s3.js';
import type { FreshBucket } from './helpers/s3.js';
import { s3Proxy } from './helpers/tcp-proxy.js';
import type { S3Proxy } from './helpers/tcp-proxy.js';

let dir: string;
let fs: Coordinator;
let bucket: FreshBucket;
let proxy: S3Proxy;

async function until(what: string, cond: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-outage-'));
  bucket = await freshBucket('outage');
  proxy = await s3Proxy(bucket.server.endpoint);
  // A long back-off: only the outage probe can bring the files in quickly.
  fs = await Coordinator.open({
    dataDir: dir,
    config: new ServerConfig([{ 'persist.initial.wait': '0ms', 'persist.max.interval': '10min', 'mount.allowed.roots': TEST_ALLOWED_ROOTS }]),
  });
  await fs.createDirectory('/data');
  await fs.mount('/data/s3', `s3://${bucket.bucket}/p`, { options: s3Options(bucket.server, { endpoint: proxy.endpoint, 'ufs.timeout': '1s' }) });
});

test.after(async () => {
  await fs.close();
  await proxy.close();
  await bucket.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('writes during an S3 outage are kept, reported, and persisted when S3 is back', async () => {
  proxy.setMode('hang');
  const files = Array.from({ length: 5 }, (_, i) => ({ path: `/data/s3/f${i}.bin`, bytes: Buffer.alloc(1000 + i * 7919, i + 1) }));
  for (const f of files) {
    const info = await fs.writeFile(f.path, f.bytes, { writeType: 'ASYNC_THROUGH' });
    assert.is(info.persistenceState, 'TO_BE_PERSISTED');
  }
  // The persists fail and the queue pauses: the error is visible, nothing is lost.
  await until('a failed persist with its error', async () => {
    const st = await fs.getStatus(files[0]!.path);
    return (st.persistAttempts ?? 0) > 0 && !!st.lastPersistError;
  });
  const st = await fs.getStatus(files[0]!.path);
  assert.is(st.persistenceState, 'TO_BE_PERSISTED');
  assert.ok(st.pinned, 'unpersisted data is pinned');
  assert.match(st.lastPersistError ?? '', /UFS_UNAVAILABLE/);
  await until('the queue paused for the outage', async () => {
    const r = await fs.getReport();
    return r.persist.pausedByOutage! >= 1 && r.persist.pending === files.length;
  });
  // Still readable from the cache while S3 is away.
  for (const f of files) {
    const parts: Uint8Array[] = [];
    for await (const c of fs.readFile(f.path)) parts.push(c);
    assert.ok(Buffer.concat(parts).equals(f.bytes), `${f.path} readable during the outage`);
  }
  const atOutage = (await fs.getReport()).persist;
  // While paused, no job is tried again (only those in flight at the pause finish failing).
  await new Promise((r) => setTimeout(r, 1500));
  const whilePaused = ((await fs.getReport()).persist.attempts ?? 0) - (atOutage.attempts ?? 0);
  assert.ok(whilePaused <= files.length, `${whilePaused} attempts while paused`);

  proxy.setMode('forward');
  await until('every file PERSISTED after the outage', async () => {
    for (const f of files) if ((await fs.getStatus(f.path)).persistenceState !== 'PERSISTED') return false;
    return true;
  });
  // A job leaves the queue just after its PERSISTED commit (blocks made evictable first), so
  // the queue drains a moment after the last file shows PERSISTED.
  await until('the queue drained', async () => (await fs.getReport()).persist.pending === 0);
  const r = await fs.getReport();
  assert.is(r.persist.pending, 0);
  assert.is(r.persist.pausedByOutage, 0);
  assert.ok((r.persist.outages ?? 0) >= 1, 'the outage is counted');
  // Paused jobs burnt no attempts while the UFS was down (beyond the ones that found it down):
  // after the outage each file took one successful attempt, and every other attempt is a
  // counted failure (a slow S3 on a loaded machine may still time one out).
  const attempts = (r.persist.attempts ?? 0) - (atOutage.attempts ?? 0);
  const failures = (r.persist.failures ?? 0) - (atOutage.failures ?? 0);
  assert.is(attempts - failures, files.length, `resumed once per file: ${attempts} attempts, ${failures} failures`);
  for (const f of files) {
    const obj = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.bucket, Key: `p/${f.path.slice('/data/s3/'.length)}` }));
    const body = Buffer.from(await obj.Body!.transformToByteArray());
    assert.ok(body.equals(f.bytes), `${f.path} byte-identical in the bucket`);
  }
});

test.run();
