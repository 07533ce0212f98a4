// End to end as a user would do it (issue 4 "How it will be checked"): a REAL `strata server`
// process and `strata fs …` processes; an S3 bucket on the real radosgw mounted at /data/s3
// nested in the local root with `--option` credentials; a ~20 MB file copied in with each
// write type and copied back byte-identical; `fs ls` of a prefix holding 5,000 keys written by
// another program; the mount listing redacts the secret; and an S3 outage (a proxy in front
// of radosgw, closed) gives clear UFS_UNAVAILABLE errors under the S3 mount while / still works.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { runCli, startServer, tempDir } from './helpers/server.js';
import type { CliResult, ServerHandle } from './helpers/server.js';
import { freshBucket } from './helpers/s3.js';
import type { FreshBucket } from './helpers/s3.js';
import { s3Proxy } from './helpers/tcp-proxy.js';
import type { S3Proxy } from './helpers/tcp-proxy.js';
import { parallel } from './helpers/ufs-kinds.js';
import { waitFor } from './helpers/fixture.js';

let srv: ServerHandle;
let bucket: FreshBucket;
let local: string;
let data: Buffer;
let dataFile: string;
let proxy: S3Proxy | undefined;

const PREFIX = 'team/datasets';
const N = 5000;
const MANY = Array.from({ length: N }, (_, i) => `part-${String(i).padStart(5, '0')}.csv`);
const fs = (...args: string[]): Promise<CliResult> => runCli(['fs', '--address', srv.address, ...args], { timeoutMs: 120_000 });

function ok(r: CliResult, what: string): CliResult {
  assert.is(r.code, 0, `${what} failed (${r.code}): ${r.stderr}`);
  return r;
}

function mountArgs(path: string, uri: string, endpoint: string, extra: string[] = []): string[] {
  const s = bucket.server;
  return ['mount', '--option', `endpoint=${endpoint}`, '--option', `accessKeyId=${s.accessKeyId}`,
    '--option', `secretAccessKey=${s.secretAccessKey}`, '--option', `region=${s.region}`, '--option', 'pathStyle=true',
    ...extra, path, uri];
}

async function objectBytes(key: string): Promise<Buffer | null> {
  try {
    const r = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.bucket, Key: key }));
    return Buffer.from(await r.Body!.transformToByteArray());
  } catch {
    return null;
  }
}

test.before(async () => {
  bucket = await freshBucket('cli-s3');
  srv = await startServer({ args: ['-D', 'persist.initial.wait=100ms'] });
  local = await tempDir();
  data = randomBytes(20 * 1024 * 1024 + 4321);
  dataFile = join(local, 'twenty.bin');
  await writeFile(dataFile, data);
  // data already in the bucket before it is mounted, as a user's would be: 5,000 keys under one prefix
  await parallel(MANY, 64, (n) => bucket.client.send(new PutObjectCommand({ Bucket: bucket.bucket, Key: `${PREFIX}/many/${n}`, Body: n })));
});

test.after(async () => {
  await proxy?.close();
  if (srv) await srv.stop();
  if (local) await rm(local, { recursive: true, force: true });
  if (srv) await rm(srv.dataDir, { recursive: true, force: true });
  await bucket?.cleanup();
});

test('fs mkdir /data, fs mount an S3 prefix at /data/s3 with --option credentials', async () => {
  ok(await fs('mkdir', '/data'), 'mkdir /data');
  ok(await fs(...mountArgs('/data/s3', `s3://${bucket.bucket}/${PREFIX}`, bucket.server.endpoint)), 'mount');
  const st = JSON.parse(ok(await fs('--json', 'stat', '/data/s3'), 'stat').stdout);
  assert.is(st.type, 'directory');
  assert.is(st.mountPoint, '/data/s3');
  assert.equal(JSON.parse(ok(await fs('--json', 'ls', '/data/s3'), 'ls').stdout).map((f: { name: string }) => f.name), ['many']);
});

for (const [writeType, state] of [
  ['MUST_CACHE', 'NOT_PERSISTED'],
  ['THROUGH', 'PERSISTED'],
  ['CACHE_THROUGH', 'PERSISTED'],
  ['ASYNC_THROUGH', 'PERSISTED'],
] as const) {
  test(`copyFromLocal --write-type ${writeType} of a 20 MB file, copyToLocal back byte-identical; S3 holds it (${state})`, async () => {
    const path = `/data/s3/in/${writeType}.bin`;
    ok(await fs('mkdir', '-p', '/data/s3/in'), 'mkdir -p');
    ok(await fs('copyFromLocal', '--write-type', writeType, dataFile, path), 'copyFromLocal');
    if (writeType === 'THROUGH') {
      assert.is(JSON.parse(ok(await fs('--json', 'stat', path), 'stat').stdout).cachedBytes, 0, 'THROUGH caches nothing');
    }
    const back = join(local, `${writeType}.back`);
    ok(await fs('copyToLocal', path, back), 'copyToLocal');
    assert.ok((await readFile(back)).equals(data), 'copyToLocal output differs from the original');
    await rm(back);
    const key = `${PREFIX}/in/${writeType}.bin`;
    if (writeType === 'ASYNC_THROUGH') {
      await waitFor(async () => JSON.parse(ok(await fs('--json', 'stat', path), 'stat').stdout).persistenceState === 'PERSISTED', 'persisted', 60_000);
    }
    const st = JSON.parse(ok(await fs('--json', 'stat', path), 'stat').stdout);
    assert.is(st.persistenceState, state);
    assert.is(st.length, data.length);
    assert.is(st.ufsPath, `s3://${bucket.bucket}/${key}`);
    const obj = await objectBytes(key);
    if (writeType === 'MUST_CACHE') assert.is(obj, null, 'MUST_CACHE writes nothing to S3');
    else assert.ok(obj?.equals(data), 'the S3 object is byte-identical');
    if (writeType === 'THROUGH') {
      // read again, NO_CACHE: straight from S3
      const again = join(local, 'through.again');
      ok(await fs('copyToLocal', '--read-type', 'NO_CACHE', path, again), 'copyToLocal again');
      assert.ok((await readFile(again)).equals(data));
      await rm(again);
    }
  });
}

test('fs ls of a prefix holding 5,000 keys written outside Strata shows 5,000 entries', async () => {
  const names = MANY;
  const human = ok(await fs('ls', '/data/s3/many'), 'ls').stdout.trim().split('\n');
  assert.is(human.length, N, 'one line per key');
  assert.ok(human[0]!.includes('/data/s3/many/part-00000.csv'), human[0]);
  const json = JSON.parse(ok(await fs('--json', 'ls', '-f', '/data/s3/many'), 'ls --json -f').stdout) as Array<{ name: string }>;
  assert.is(json.length, N);
  assert.equal(json.map((f) => f.name).sort(), names);
  const count = ok(await fs('count', '/data/s3/many'), 'count').stdout;
  assert.match(count, /5000/);
  assert.is(ok(await fs('cat', '/data/s3/many/part-04999.csv'), 'cat').stdout, 'part-04999.csv');
});

test('fs mount (no arguments) lists the S3 mount with the secret redacted', async () => {
  const human = ok(await fs('mount'), 'mount list').stdout;
  assert.ok(human.includes('/data/s3'), human);
  assert.ok(human.includes(`s3://${bucket.bucket}/${PREFIX}`), human);
  assert.not.ok(human.includes(bucket.server.secretAccessKey), `secret printed: ${human}`);
  const rows = JSON.parse(ok(await fs('--json', 'mount'), 'mount --json').stdout) as Array<{ path: string; options: Record<string, string> }>;
  const row = rows.find((r) => r.path === '/data/s3')!;
  assert.ok(row, 'row for /data/s3');
  assert.is(row.options.secretAccessKey, '***');
  assert.is(row.options.accessKeyId, bucket.server.accessKeyId);
  assert.not.ok(JSON.stringify(rows).includes(bucket.server.secretAccessKey));
  assert.not.ok(srv.stderr().includes(bucket.server.secretAccessKey), 'secret in the server log');
});

test('S3 server gone: clear UFS_UNAVAILABLE errors under the S3 mount, / and the other mount still work', async () => {
  proxy = await s3Proxy(bucket.server.endpoint);
  ok(await fs(...mountArgs('/data/s3b', `s3://${bucket.bucket}/other`, proxy.endpoint, ['--option', 'ufs.timeout=2s'])), 'mount via proxy');
  ok(await fs('copyFromLocal', '--write-type', 'THROUGH', dataFile, '/data/s3b/x.bin'), 'copy in');
  await proxy.close(); // the S3 server is gone for this mount
  for (const args of [['ls', '-f', '/data/s3b'], ['stat', '--sync-interval', '0', '/data/s3b/x.bin'], ['cat', '/data/s3b/x.bin']]) {
    const r = await fs(...args);
    assert.ok(r.code !== 0, `${args.join(' ')} should fail`);
    assert.match(r.stderr, /^strata: UFS_UNAVAILABLE: .+/m, `${args.join(' ')}: ${r.stderr}`);
    assert.not.ok(r.stderr.includes(bucket.server.secretAccessKey));
  }
  const json = await fs('--json', 'ls', '-f', '/data/s3b');
  assert.is(JSON.parse(json.stdout).error.code, 'UFS_UNAVAILABLE');
  // the rest of the namespace keeps serving
  assert.match(ok(await fs('ls', '-f', '/'), 'ls /').stdout, /\/data$/m);
  ok(await fs('mkdir', '/still-works'), 'mkdir on the root');
  assert.match(ok(await fs('ls', '-f', '/data/s3/in'), 'ls the healthy S3 mount').stdout, /CACHE_THROUGH\.bin/);
  ok(await fs('unmount', '/data/s3b'), 'unmount the broken mount');
});

test.run();
