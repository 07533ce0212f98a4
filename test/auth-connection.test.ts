// Credentials on every connection, against a real `strata server` process: no credential
// and a wrong one are refused with PERMISSION_DENIED before any frame is served; the admin
// key created on first start (0600) is found by the CLI through --data-dir / STRATA_DATA_DIR
// with no other step; a users file gives other keys; --insecure-no-auth is loopback only.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataClient } from '../src/client/tcp-client.js';
import { PROTOCOL_VERSION } from '../src/protocol/messages.js';
import { encodeFrame as encode } from '../src/protocol/codec.js';
import { runCli, startServer, tempDir, type ServerHandle } from './helpers/server.js';
import { rawConnect, within } from './helpers/raw-socket.js';
import { codeOf } from './helpers/fixture.js';

let srv: ServerHandle;
/** The directory holding the server's data dir, named like the default (./strata-data). */
let home: string;

test.before(async () => {
  home = await tempDir('strata-home-');
  srv = await startServer({ dataDir: join(home, 'strata-data'), env: { STRATA_LOG_LEVEL: 'info' } });
});

test.after(async () => {
  await srv?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

test('first start writes DATA_DIR/admin.key (mode 0600) and says where, on stderr only', async () => {
  const file = join(srv.dataDir, 'admin.key');
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.is(statSync(join(srv.dataDir, 'users.json')).mode & 0o777, 0o600);
  assert.match(srv.token!, /^[A-Z0-9]{20}:\S+$/);
  assert.ok(srv.stderr().includes(file), 'the log names the key file');
});

test('a hello without a credential is refused before the request sent with it is served', async () => {
  const r = await rawConnect(srv.address);
  // hello and a request in one write: the request must never be answered.
  r.sock.write(Buffer.concat([
    Buffer.from(encode({ t: 'hello', v: PROTOCOL_VERSION, client: 'anon' })),
    Buffer.from(encode({ t: 'req', id: 1, op: 'mount', args: ['/etc', 'file:///etc'] })),
  ]));
  await within(r.closed, 5000, 'connection closed');
  assert.is(r.error()?.code, 'PERMISSION_DENIED');
  assert.not.ok(r.frames.some((f) => f.t === 'res' || f.t === 'hello'), 'nothing but the error frame');
});

test('a wrong secret and an unknown key id are refused alike', async () => {
  const [id] = srv.token!.split(':');
  for (const cred of [{ id: id!, secret: 'wrong-secret-value' }, { id: 'NOSUCHKEYID', secret: 'whatever-secret' }]) {
    const r = await rawConnect(srv.address);
    r.send({ t: 'hello', v: PROTOCOL_VERSION, cred });
    r.send({ t: 'req', id: 1, op: 'getMountTable', args: [] });
    await within(r.closed, 5000, 'connection closed');
    assert.is(r.error()?.code, 'PERMISSION_DENIED');
    assert.is(r.error()?.message, 'invalid credential (unknown access key id or wrong secret)');
    assert.not.ok(r.frames.some((f) => f.t === 'res'));
  }
  assert.is(await codeOf(StrataClient.connect(srv.address, { token: `${id}:not-the-secret` })), 'PERMISSION_DENIED');
});

test('the library client with the admin token is served as admin', async () => {
  const c = await StrataClient.connect(srv.address, { token: srv.token });
  try {
    assert.is(c.user, 'admin');
    assert.ok((await c.getMountTable()).length >= 1);
  } finally {
    await c.close();
  }
});

test('the CLI finds the admin key through --data-dir and STRATA_DATA_DIR, with no token given', async () => {
  const cwd = await tempDir('strata-cwd-');
  try {
    const noToken = { STRATA_TOKEN: '' };
    const a = await runCli(['fs', '--address', srv.address, '--data-dir', srv.dataDir, 'ls', '/'], { env: noToken, cwd });
    assert.is(a.code, 0, a.stderr);
    const b = await runCli(['fs', '--address', srv.address, 'ls', '/'], { env: { ...noToken, STRATA_DATA_DIR: srv.dataDir }, cwd });
    assert.is(b.code, 0, b.stderr);
    // Without any credential the server refuses, and the CLI says how to give one.
    const c = await runCli(['fs', '--address', srv.address, 'ls', '/'], { env: noToken, cwd });
    assert.is(c.code, 1);
    assert.match(c.stderr, /PERMISSION_DENIED.*credential/);
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
});

test('run from the directory of the default data dir (./strata-data), `strata fs ls /` needs no token', async () => {
  const r = await runCli(['fs', '--address', srv.address, 'ls', '/'], { env: { STRATA_TOKEN: '' }, cwd: home });
  assert.is(r.code, 0, r.stderr);
});

test('--users FILE: its keys connect, others do not; no admin.key is written', async () => {
  const dir = await tempDir('strata-users-');
  const users = join(dir, 'users.json');
  writeFileSync(users, JSON.stringify({ users: [
    { name: 'alice', accessKeyId: 'ALICEKEY', secretKey: 'alice-secret-1', role: 'user' },
    { name: 'root', accessKeyId: 'ROOTKEY', secretKey: 'root-secret-12', role: 'admin' },
  ] }), { mode: 0o600 });
  let s: ServerHandle | undefined;
  try {
    s = await startServer({ args: ['--users', users] });
    assert.is(s.token, undefined);
    const alice = await StrataClient.connect(s.address, { token: 'ALICEKEY:alice-secret-1' });
    assert.is(alice.user, 'alice');
    await alice.close();
    assert.is(await codeOf(StrataClient.connect(s.address, { token: 'ALICEKEY:root-secret-12' })), 'PERMISSION_DENIED');
    const r = await runCli(['fs', '--address', s.address, '--token', 'ROOTKEY:root-secret-12', 'mount']);
    assert.is(r.code, 0, r.stderr);
  } finally {
    await s?.stop();
    await rm(dir, { recursive: true, force: true });
    if (s) await rm(s.dataDir, { recursive: true, force: true });
  }
});

test('--insecure-no-auth is refused on a non-loopback address (before anything listens)', async () => {
  const dataDir = await tempDir();
  try {
    const r = await runCli(['server', '--port', '0', '--data-dir', dataDir, '--host', '0.0.0.0', '--insecure-no-auth']);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /insecure-no-auth is refused on 0\.0\.0\.0/);
    assert.is(r.stdout, '');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test.run();
