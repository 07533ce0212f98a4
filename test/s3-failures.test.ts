// S3 failures seen through the namespace (issue 4 item 6), on the real radosgw: wrong
// credentials and a missing bucket refused at mount time with PERMISSION_DENIED / NOT_FOUND;
// an S3 server that hangs (accepts, never answers) or is gone gives UFS_UNAVAILABLE within the
// mount's ufs.timeout while '/' and a local mount keep serving, and the mount serves again
// when the server comes back; secrets never appear in the mount table or in error messages.
// The outage is made by a TCP proxy in front of radosgw that this test controls. No tight
// timing asserts: "bounded" means well under a generous limit.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeOf, fileUri, names, openEnv, readText, tempDir } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';
import { ensureS3Server, freshBucket, s3Options } from './helpers/s3.js';
import type { FreshBucket, S3Server } from './helpers/s3.js';
import { s3Proxy } from './helpers/tcp-proxy.js';

/** Settles within `ms` (or fails): its error code and message ('RESOLVED' when it did not fail). */
async function bounded(p: Promise<unknown>, ms: number, what: string): Promise<{ code: string; message: string }> {
  let timer: NodeJS.Timeout | undefined;
  const settled = p.then(
    () => ({ code: 'RESOLVED', message: '' }),
    (e: { code?: string; message?: string; stack?: string }) => ({ code: e?.code ?? `non-coded: ${String(e)}`, message: `${e?.message}\n${e?.stack}` }),
  );
  return Promise.race([
    settled,
    new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`${what} did not settle within ${ms}ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** Asserts a bounded call failed with `code`, showing its message otherwise. */
function failedWith(r: { code: string; message: string }, code: string, what: string): void {
  assert.is(r.code, code, `${what}: ${r.message}`);
}

let env: Env;
let srv: S3Server;
let bucket: FreshBucket;
let localDir: string;

test.before(async () => {
  srv = await ensureS3Server();
  bucket = await freshBucket('s3-failures');
  env = await openEnv();
  localDir = await tempDir('strata-ufs-local-');
  env.track(localDir);
  writeFileSync(join(localDir, 'here.txt'), 'local');
  await env.fs.createDirectory('/data');
  await env.fs.mount('/data/local', fileUri(localDir));
});
test.after(async () => {
  await env?.dispose();
  await bucket?.cleanup();
});

test('wrong credentials at mount: PERMISSION_DENIED, the secret never in the message, nothing mounted', async () => {
  const bad = s3Options(srv, { secretAccessKey: 'wrongSecretKeyValue12345' });
  let err: { code?: string; message?: string } = {};
  await env.fs.mount('/data/bad', `s3://${bucket.bucket}/p`, { options: bad }).catch((e) => { err = e; });
  assert.is(err.code, 'PERMISSION_DENIED', String(err.message));
  assert.not.ok(String(err.message).includes('wrongSecretKeyValue12345'), err.message);
  const unknownKey = s3Options(srv, { accessKeyId: 'NOSUCHACCESSKEY00000' });
  assert.is(await codeOf(env.fs.mount('/data/bad', `s3://${bucket.bucket}/p`, { options: unknownKey })), 'PERMISSION_DENIED');
  assert.is(await env.fs.exists('/data/bad'), false);
  assert.not.ok((await env.fs.getMountTable()).some((m) => m.path === '/data/bad'));
});

test('missing bucket at mount: NOT_FOUND naming the bucket', async () => {
  let err: { code?: string; message?: string } = {};
  await env.fs.mount('/data/nob', 's3://no-such-bucket-strata-test/p', { options: s3Options(srv) }).catch((e) => { err = e; });
  assert.is(err.code, 'NOT_FOUND', String(err.message));
  assert.ok(String(err.message).includes('no-such-bucket-strata-test'), err.message);
  assert.is(await env.fs.exists('/data/nob'), false);
});

test('mounting an S3 endpoint that hangs or is closed: UFS_UNAVAILABLE within a bounded time', async () => {
  const p = await s3Proxy(new URL(srv.endpoint));
  p.setMode('hang');
  const r1 = await bounded(env.fs.mount('/data/hung', `s3://${bucket.bucket}/h`, { options: s3Options(srv, { endpoint: p.endpoint, 'ufs.timeout': '1s' }) }), 30_000, 'mount on a hanging server');
  failedWith(r1, 'UFS_UNAVAILABLE', 'mount on a hanging server');
  await p.close();
  const r2 = await bounded(env.fs.mount('/data/hung', `s3://${bucket.bucket}/h`, { options: s3Options(srv, { endpoint: p.endpoint, 'ufs.timeout': '1s' }) }), 30_000, 'mount on a closed port');
  failedWith(r2, 'UFS_UNAVAILABLE', 'mount on a closed port');
  assert.is(await env.fs.exists('/data/hung'), false);
  assert.equal(await names(env.fs, '/data'), ['local']);
});

test('S3 server hangs, then comes back, then is gone: UFS_UNAVAILABLE under /data/s3 while / and the local mount keep serving', async () => {
  const p = await s3Proxy(new URL(srv.endpoint));
  try {
    // 3s rather than 1s: the local work below must finish while the S3 calls still hang,
    // which must not depend on a loaded machine doing it within 1s.
    await env.fs.mount('/data/s3', `s3://${bucket.bucket}/out`, { options: s3Options(srv, { endpoint: p.endpoint, 'ufs.timeout': '3s' }) });
    await env.fs.writeFile('/data/s3/f.txt', Buffer.from('in s3'), { writeType: 'THROUGH' });
    await env.fs.createDirectory('/data/s3/dir');
    assert.equal(await names(env.fs, '/data/s3', { syncIntervalMs: 0 }), ['dir', 'f.txt']);

    p.setMode('hang');
    // S3 calls in flight against a server that never answers...
    const hungStatus = bounded(env.fs.getStatus('/data/s3/f.txt', { syncIntervalMs: 0 }), 30_000, 'getStatus on a hanging S3');
    const hungList = bounded(names(env.fs, '/data/s3', { syncIntervalMs: 0 }), 30_000, 'listStatus on a hanging S3');
    let settled = false;
    void Promise.allSettled([hungStatus, hungList]).then(() => { settled = true; });
    // ...do not hold up the rest of the namespace
    assert.equal(await names(env.fs, '/', { syncIntervalMs: 0 }), ['data']);
    assert.ok((await names(env.fs, '/data')).includes('local'));
    assert.equal(await names(env.fs, '/data/local', { syncIntervalMs: 0 }), ['here.txt']);
    assert.is(await readText(env.fs, '/data/local/here.txt'), 'local');
    await env.fs.writeFile('/root-file', Buffer.from('root'));
    assert.is(await readText(env.fs, '/root-file', { syncIntervalMs: 0 }), 'root');
    assert.not.ok(settled, 'the local work finished while the S3 calls were still hanging');
    const [s, l] = await Promise.all([hungStatus, hungList]);
    failedWith(s, 'UFS_UNAVAILABLE', 'getStatus');
    failedWith(l, 'UFS_UNAVAILABLE', 'listStatus');
    // a cold read needs the UFS too; metadata with interval -1 is still served from Strata
    failedWith(await bounded(readText(env.fs, '/data/s3/f.txt', { syncIntervalMs: -1 }), 30_000, 'cold read on a hanging S3'), 'UFS_UNAVAILABLE', 'cold read');
    assert.is((await env.fs.getStatus('/data/s3/f.txt', { syncIntervalMs: -1 })).length, 5);
    // a write through fails cleanly, too
    failedWith(await bounded(env.fs.writeFile('/data/s3/new', Buffer.from('x'), { writeType: 'THROUGH' }), 30_000, 'write on a hanging S3'), 'UFS_UNAVAILABLE', 'write');

    p.setMode('forward');
    assert.equal(await names(env.fs, '/data/s3', { syncIntervalMs: 0 }), ['dir', 'f.txt'], 'serves again when S3 is back');
    assert.is(await readText(env.fs, '/data/s3/f.txt'), 'in s3');

    await p.close(); // connection refused from now on
    const gone = await bounded(env.fs.getStatus('/data/s3/dir', { syncIntervalMs: 0 }), 30_000, 'getStatus on a closed S3');
    failedWith(gone, 'UFS_UNAVAILABLE', 'getStatus on a closed S3');
    failedWith(await bounded(names(env.fs, '/data/s3', { syncIntervalMs: 0 }), 30_000, 'list on a closed S3'), 'UFS_UNAVAILABLE', 'list on a closed S3');
    assert.equal(await names(env.fs, '/data/local', { syncIntervalMs: 0 }), ['here.txt']);
    assert.is((await env.fs.getStatus('/', { syncIntervalMs: 0 })).type, 'directory');
  } finally {
    await p.close().catch(() => undefined);
    await env.fs.unmount('/data/s3').catch(() => undefined);
  }
});

test('secrets never appear in the mount table', async () => {
  await env.fs.mount('/data/sec', `s3://${bucket.bucket}/sec`, { options: s3Options(srv, { sessionToken: 'tokenValueThatIsSecret' }) });
  const table = await env.fs.getMountTable();
  const row = table.find((m) => m.path === '/data/sec')!;
  assert.ok(row, 'mounted');
  const text = JSON.stringify(table);
  assert.not.ok(text.includes(srv.secretAccessKey), text);
  assert.not.ok(text.includes('tokenValueThatIsSecret'), text);
  assert.is(row.options.secretAccessKey, '***');
  assert.is(row.options.accessKeyId, srv.accessKeyId);
  assert.is(row.options.endpoint, srv.endpoint);
  // the same after a restart (the stored table is read back)
  await env.restart();
  const again = JSON.stringify(await env.fs.getMountTable());
  assert.not.ok(again.includes(srv.secretAccessKey), again);
  assert.ok(again.includes('/data/sec'));
});

test.run();
