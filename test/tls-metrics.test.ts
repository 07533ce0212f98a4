// Network exposure: the protocol port over TLS with a self-signed certificate made here
// (openssl), trusted by the client through `ca` / `--ca`; a plain-TCP or untrusting client
// gets nowhere. The Prometheus endpoint binds loopback and, with metrics.token, answers 401
// without `Authorization: Bearer <token>`.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataClient } from '../src/client/tcp-client.js';
import { runCli, startServer, tempDir, type ServerHandle } from './helpers/server.js';
import { codeOf, waitFor } from './helpers/fixture.js';

let srv: ServerHandle;
let dir: string;
let cert: string;
let metricsPort = 0;

test.before(async () => {
  dir = await tempDir('strata-tls-');
  cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  srv = await startServer({
    args: ['--tls-cert', cert, '--tls-key', join(dir, 'key.pem'), '-D', 'metrics.port=0', '-D', 'metrics.token=scrape-me-please'],
    env: { STRATA_LOG_LEVEL: 'info' },
  });
  await waitFor(() => /Prometheus metrics on http:\/\/127\.0\.0\.1:(\d+)/.test(srv.stderr()), 'the metrics line');
  metricsPort = Number(/Prometheus metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(srv.stderr())![1]);
});

test.after(async () => {
  await srv?.stop();
  if (srv) await rm(srv.dataDir, { recursive: true, force: true });
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a client trusting the certificate is served over TLS', async () => {
  const c = await StrataClient.connect(srv.address, { token: srv.token, tls: { ca: readFileSync(cert) } });
  try {
    assert.is(c.user, 'admin');
    assert.ok((await c.getMountTable()).length >= 1);
  } finally {
    await c.close();
  }
});

test('plain TCP and a client that does not trust the certificate get nowhere', async () => {
  const plain = await codeOf(StrataClient.connect(srv.address, { token: srv.token, timeoutMs: 5000 }));
  assert.ok(['CONNECTION_CLOSED', 'TIMEOUT'].includes(plain), plain);
  assert.is(await codeOf(StrataClient.connect(srv.address, { token: srv.token, tls: true, timeoutMs: 5000 })), 'CONNECTION_CLOSED');
});

test('the CLI connects with --ca (and the token of the data dir)', async () => {
  const r = await runCli(['fs', '--address', srv.address, '--ca', cert, 'ls', '/']);
  assert.is(r.code, 0, r.stderr);
  const noCa = await runCli(['fs', '--address', srv.address, '--tls', 'ls', '/']);
  assert.is(noCa.code, 1);
});

test('metrics: loopback only, bearer token required', async () => {
  const url = `http://127.0.0.1:${metricsPort}/metrics`;
  assert.is((await fetch(url)).status, 401);
  assert.is((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  const ok = await fetch(url, { headers: { authorization: 'Bearer scrape-me-please' } });
  assert.is(ok.status, 200);
  assert.match(await ok.text(), /strata_/);
});

test.run();
