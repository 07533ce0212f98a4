// What a mount may reach (mount.allowed.roots): by default only the root UFS; a listed
// directory and what lies below it after symlinks are resolved; never the data directory or
// a directory containing it; S3 only for listed bucket + prefix + endpoint, so the server's
// own credentials (-D s3.*, AWS environment) never reach an endpoint that is not listed
// (fake HTTP listeners on loopback record every request that arrives).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { StrataError } from '../src/errors.js';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { ServerConfig } from '../src/config/keys.js';
import { codeOf, fileUri, openEnv, readText, tempDir, type Env } from './helpers/fixture.js';

interface Listener { endpoint: string; requests: { url: string; auth: string }[]; close(): Promise<void> }

/** An HTTP listener that records each request and answers 403 (an S3 AccessDenied). */
async function listener(): Promise<Listener> {
  const requests: Listener['requests'] = [];
  const srv = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', auth: String(req.headers.authorization ?? '') });
    req.resume();
    res.writeHead(403, { 'content-type': 'application/xml' });
    res.end('<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>no</Message></Error>');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    endpoint: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }),
  };
}

async function deniedWith(p: Promise<unknown>, part: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, StrataError);
    assert.is((err as StrataError).code, 'PERMISSION_DENIED', (err as Error).message);
    assert.ok((err as Error).message.includes(part), `${(err as Error).message} mentions ${part}`);
    return;
  }
  assert.unreachable('the mount was allowed');
}

test('by default only the root UFS may be reached: another directory is refused', async () => {
  const env = await openEnv({ 'mount.allowed.roots': '' });
  const other = await tempDir('strata-other-');
  env.track(other);
  try {
    await deniedWith(env.fs.mount('/o', fileUri(other)), 'not under mount.allowed.roots');
    await deniedWith(env.fs.mount('/etc', 'file:///etc'), 'not under mount.allowed.roots');
    assert.is(await codeOf(env.fs.getStatus('/o')), 'NOT_FOUND');
  } finally {
    await env.dispose();
  }
});

test('a listed directory may be mounted below; symlinks out of it, /etc and the data directory may not', async () => {
  const allowed = await tempDir('strata-allowed-');
  mkdirSync(join(allowed, 'a'));
  writeFileSync(join(allowed, 'a', 'f.txt'), 'in a');
  symlinkSync('/etc', join(allowed, 'etc-link'));
  // The data directory in a directory of its own, apart from the root UFS.
  const home = await tempDir('strata-home-');
  const ufs = await tempDir('strata-root-');
  const dataDir = join(home, 'data');
  const fs = await Coordinator.open({ dataDir, rootUfs: fileUri(ufs), config: new ServerConfig([{ 'mount.allowed.roots': `${fileUri(allowed)},file:///` }]) });
  try {
    await fs.mount('/a', fileUri(join(allowed, 'a')));
    assert.is(await readText(fs, '/a/f.txt'), 'in a');
    // The data directory, a part of it, and any directory containing it: never, whatever the list says.
    await deniedWith(fs.mount('/meta', fileUri(dataDir)), 'data directory');
    await deniedWith(fs.mount('/meta2', fileUri(join(dataDir, 'meta'))), 'data directory');
    await deniedWith(fs.mount('/up', fileUri(home)), 'data directory');
    await deniedWith(fs.mount('/up2', fileUri(join(dataDir, 'meta', '..', '..'))), 'data directory');
    // A symlink to the data directory from inside an allowed root is resolved first.
    symlinkSync(dataDir, join(allowed, 'data-link'));
    await deniedWith(fs.mount('/dl', fileUri(join(allowed, 'data-link'))), 'data directory');
    symlinkSync(home, join(allowed, 'home-link'));
    await deniedWith(fs.mount('/hl', fileUri(join(allowed, 'home-link'))), 'data directory');
  } finally {
    await fs.close();
    for (const d of [home, ufs]) await rm(d, { recursive: true, force: true });
  }
  const narrow = await openEnv({ 'mount.allowed.roots': fileUri(allowed) });
  narrow.track(allowed);
  try {
    await deniedWith(narrow.fs.mount('/e', fileUri(join(allowed, 'etc-link'))), 'not under');
    await deniedWith(narrow.fs.mount('/e2', 'file:///etc'), 'not under');
    await deniedWith(narrow.fs.mount('/e3', fileUri(join(allowed, 'a', '..', '..', 'elsewhere'))), 'not under');
  } finally {
    await narrow.dispose();
  }
});

test('the server\'s S3 credentials never reach an endpoint or bucket that is not listed', async () => {
  const good = await listener();
  const evil = await listener();
  const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = 'ENVKEYIDSERVER000001';
  process.env.AWS_SECRET_ACCESS_KEY = 'env-secret-of-the-server';
  const env = await openEnv({
    'mount.allowed.roots': `s3://allowed-bucket/data?endpoint=${good.endpoint}`,
    's3.endpoint': good.endpoint, 's3.accessKeyId': 'DKEYIDSERVER00000001', 's3.secretAccessKey': 'd-secret-of-the-server',
    'ufs.timeout': '5s',
  });
  try {
    // A client points a mount at its own listener: refused before any request.
    await deniedWith(env.fs.mount('/x', 's3://allowed-bucket/data', { options: { endpoint: evil.endpoint, maxAttempts: '1' } }), evil.endpoint.slice(7));
    await deniedWith(env.fs.mount('/x', 's3://anything', { options: { 's3.endpoint': evil.endpoint } }), 'not allowed');
    // A bucket (or a prefix) not on the list at the server's own endpoint: refused too.
    await deniedWith(env.fs.mount('/y', 's3://private-bucket'), 'not allowed');
    await deniedWith(env.fs.mount('/y', 's3://allowed-bucket/other'), 'not allowed');
    await deniedWith(env.fs.mount('/y', 's3://allowed-bucket'), 'not allowed');
    // An endpoint on no list, with the client's own keys: still refused (no SSRF at all).
    await deniedWith(env.fs.mount('/z', 's3://bbb-bucket', { options: { endpoint: evil.endpoint, accessKeyId: 'CLIENTKEY', secretAccessKey: 'client-secret' } }), 'not allowed');
    assert.is(evil.requests.length, 0, 'no request reached the unlisted endpoint');
    assert.is(good.requests.length, 0, 'no request for unlisted buckets');
    // The listed target is tried (the listener refuses it): with the server's -D key.
    const code = await codeOf(env.fs.mount('/ok', 's3://allowed-bucket/data/sub', { options: { maxAttempts: '1' } }));
    assert.is(code, 'PERMISSION_DENIED');
    assert.ok(good.requests.length > 0, 'the listed endpoint was asked');
    assert.ok(good.requests.every((r) => r.auth.includes('Credential=DKEYIDSERVER00000001/')), 'signed with the server key');
    assert.is(evil.requests.length, 0);
  } finally {
    if (savedEnv.id === undefined) delete process.env.AWS_ACCESS_KEY_ID; else process.env.AWS_ACCESS_KEY_ID = savedEnv.id;
    if (savedEnv.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY; else process.env.AWS_SECRET_ACCESS_KEY = savedEnv.secret;
    await env.dispose();
    await good.close();
    await evil.close();
  }
});

test('without any S3 entry, no S3 mount is allowed (the AWS environment of the server notwithstanding)', async () => {
  const evil = await listener();
  const env = await openEnv({ 'mount.allowed.roots': '', 's3.endpoint': evil.endpoint });
  try {
    await deniedWith(env.fs.mount('/s', 's3://some-bucket'), 'not allowed');
    await deniedWith(env.fs.mount('/s', 's3://some-bucket', { options: { endpoint: 'https://s3.amazonaws.com' } }), 'not allowed');
    assert.is(evil.requests.length, 0);
    assert.is(await codeOf(openEnv({ 'mount.allowed.roots': 'ftp://x' })), 'INVALID_ARGUMENT');
  } finally {
    await env.dispose();
    await evil.close();
  }
});


test('an unknown scheme can neither be mounted nor listed in mount.allowed.roots; prototype names are no schemes', async () => {
  const env = await openEnv({ 'mount.allowed.roots': '' });
  try {
    assert.is(await codeOf(env.fs.mount('/h', 'hdfs://namenode/x')), 'INVALID_ARGUMENT');
    assert.is(await codeOf(env.fs.mount('/c', 'constructor://x')), 'INVALID_ARGUMENT');
    assert.is(await codeOf(env.fs.mount('/t', 'toString://x')), 'INVALID_ARGUMENT');
    assert.is(await codeOf(env.fs.getStatus('/h')), 'NOT_FOUND');
  } finally {
    await env.dispose();
  }
  const err = await openEnv({ 'mount.allowed.roots': 'hdfs://namenode/x' }).then(
    async (e) => { await e.dispose(); return undefined; },
    (e: Error) => e,
  );
  assert.instance(err, StrataError);
  assert.is((err as StrataError).code, 'INVALID_ARGUMENT');
  assert.match((err as Error).message, /must be one of file:\/\/\/dir, s3:\/\/bucket/);
});

test.run();
