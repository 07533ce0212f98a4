// Error codes that tell the truth, fixed in the UFS error mapping and the cache: a name
// longer than the UFS allows is INVALID_PATH at once for every write type (never
// acknowledged and then retried by ASYNC_THROUGH as an outage), getStatus of one is
// INVALID_PATH, not UFS_UNAVAILABLE; a file system error ENOSPC is RESOURCE_EXHAUSTED;
// `mount /x s3://` (no bucket) is INVALID_ARGUMENT; and a cached block that is shorter than
// its inode (damaged on disk) is never persisted; a cold read on a full cache is served
// from the UFS and counted.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { codeOf, openEnv, readAll } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';
import { WRITE_TYPES } from '../src/types.js';
import { toStrataError } from '../src/errors.js';
import { LocalUfs } from '../src/ufs/local/local-ufs.js';
import { S3Ufs } from '../src/ufs/s3/s3-ufs.js';
import { mapS3Error } from '../src/ufs/s3/s3-errors.js';

let env: Env;

test.before(async () => {
  env = await openEnv({ 'persist.initial.wait': '50ms', 'cache.block.size': '64KB' });
});
test.after(() => env.dispose());

const LONG = 'n'.repeat(400);

test('a 400-byte name is INVALID_PATH at once for every write type, and nothing is queued', async () => {
  await env.fs.createDirectory('/d');
  for (const wt of WRITE_TYPES) {
    const p = `/d/${LONG}-${wt}`;
    assert.is(await codeOf(env.fs.writeFile(p, Buffer.from('x'), { writeType: wt })), 'INVALID_PATH', wt);
    assert.is(await codeOf(env.fs.createDirectory(p, { writeType: wt })), 'INVALID_PATH', `mkdir ${wt}`);
  }
  assert.is(await codeOf(env.fs.getStatus(`/d/${LONG}`)), 'INVALID_PATH', 'getStatus: a bad path, not an outage');
  const r = await env.fs.getReport();
  assert.is(r.persist.pending ?? 0, 0, 'no persist job was queued');
  assert.is(r.persist.outages ?? 0, 0, 'no outage declared');
  assert.equal(readdirSync(join(env.ufsDir, 'd')), []);
});

test('the UFS error mappings: ENAMETOOLONG and S3 KeyTooLong are INVALID_PATH, ENOSPC RESOURCE_EXHAUSTED', async () => {
  const local = new LocalUfs(`file://${env.ufsDir}`);
  assert.is(await codeOf(local.getStatus(LONG)), 'INVALID_PATH');
  assert.is(await codeOf(readAll(local.read(LONG))), 'INVALID_PATH');
  assert.throws(() => local.validatePath(`a/${LONG}`), /longer than the 255/);
  const s3 = new S3Ufs('s3://bucket/prefix', { endpoint: 'http://127.0.0.1:1', region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b' });
  try {
    assert.throws(() => s3.validatePath('k'.repeat(1020)), /longer than/);
    s3.validatePath(LONG); // S3 keys may be 1024 bytes long
  } finally {
    await s3.close();
  }
  assert.is(mapS3Error({ name: 'KeyTooLongError', $metadata: { httpStatusCode: 400 } }, 'write s3://b/k', 'e').code, 'INVALID_PATH');
  assert.is(toStrataError(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })).code, 'RESOURCE_EXHAUSTED');
});

test('mount /x s3:// (no bucket) is INVALID_ARGUMENT, not MOUNT_CONFLICT', async () => {
  assert.is(await codeOf(env.fs.mount('/x', 's3://')), 'INVALID_ARGUMENT');
  assert.is(await codeOf(env.fs.mount('/x', 's3:///prefix')), 'INVALID_ARGUMENT');
  assert.is(await env.fs.exists('/x'), false);
});

test('a cached block shorter than its inode is never persisted (FAILED_PRECONDITION, nothing in the UFS)', async () => {
  const data = Buffer.alloc(200_000, 7);
  const info = await env.fs.writeFile('/short', data, { writeType: 'MUST_CACHE' });
  // Damage block 1 on disk as a full disk or a crash could have.
  const blockFile = join(env.dataDir, 'cache', (info.fileId & 0xff).toString(16).padStart(2, '0'), `${info.fileId}-1`);
  assert.ok(existsSync(blockFile));
  truncateSync(blockFile, 1000);
  const err = await env.fs.persist('/short').then(() => null, (e: { code: string; message: string }) => e);
  assert.is(err?.code, 'FAILED_PRECONDITION');
  assert.match(err!.message, /block 1 of \/short/);
  assert.not.ok(existsSync(join(env.ufsDir, 'short')), 'nothing persisted from a short block');
  assert.is((await env.fs.getStatus('/short')).persistenceState, 'NOT_PERSISTED');
  // Reading it says so too, rather than serving the short block.
  assert.is(await codeOf(readAll(env.fs.readFile('/short'))), 'FAILED_PRECONDITION');
});

test('a cold read of a persisted file while the cache is full is served from the UFS uncached and counted (cache.bypassOnFull)', async () => {
  const small = await openEnv({ 'cache.capacity': '128KB', 'cache.block.size': '64KB' });
  try {
    for (let i = 0; i < 2; i++) await small.fs.writeFile(`/mc${i}`, Buffer.alloc(65_536, i), { writeType: 'MUST_CACHE' });
    const data = Buffer.alloc(100_000, 9);
    await small.fs.writeFile('/cold', data, { writeType: 'THROUGH' });
    assert.ok((await readAll(small.fs.readFile('/cold'))).equals(data));
    assert.is((await small.fs.getStatus('/cold')).cachedBytes, 0);
    assert.ok(((await small.fs.getReport()).cache.bypassOnFull ?? 0) >= 2, 'both blocks bypassed the full cache');
  } finally {
    await small.dispose();
  }
});

test.run();
