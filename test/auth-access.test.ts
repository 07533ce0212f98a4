// Roles and path prefixes over the real TCP server and coordinator: a `user` is refused the
// admin operations (mount, unmount, pathConf, startSync/stopSync, report) with
// PERMISSION_DENIED naming the user, the operation and the path; a prefix user reads and
// writes only below its prefixes, walks down to them, and sees only what lies on that way.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StrataClient } from '../src/client/tcp-client.js';
import { UserStore, type User } from '../src/auth/users.js';
import { StrataError } from '../src/errors.js';
import { TEST_ADMIN, TEST_ADMIN_TOKEN, fileUri, names, openEnv, readText, serveTcp, tempDir, type Env, type TcpEnv } from './helpers/fixture.js';

const BOB: User = { name: 'bob', accessKeyId: 'BOBKEY', secretKey: 'bob-secret-1', role: 'user' };
const CAROL: User = { name: 'carol', accessKeyId: 'CAROLKEY', secretKey: 'carol-secret-1', role: 'user', prefixes: ['/teams/carol', '/shared'] };

let env: Env;
let tcp: TcpEnv;
let bob: StrataClient;
let carol: StrataClient;
let extDir: string;

const data = async function* (s: string): AsyncGenerator<Uint8Array> { yield Buffer.from(s); };

async function denied(p: Promise<unknown>, ...parts: string[]): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, StrataError);
    assert.is((err as StrataError).code, 'PERMISSION_DENIED');
    for (const part of parts) assert.ok((err as Error).message.includes(part), `${(err as Error).message} names ${part}`);
    return;
  }
  assert.unreachable(`expected PERMISSION_DENIED (${parts.join(' ')})`);
}

test.before(async () => {
  extDir = await tempDir('strata-ext-');
  writeFileSync(join(extDir, 'x.txt'), 'x');
  env = await openEnv();
  env.track(extDir);
  mkdirSync(join(env.ufsDir, 'teams', 'carol'), { recursive: true });
  mkdirSync(join(env.ufsDir, 'teams', 'dave'), { recursive: true });
  mkdirSync(join(env.ufsDir, 'shared'), { recursive: true });
  writeFileSync(join(env.ufsDir, 'teams', 'dave', 'secret.txt'), 'dave only');
  writeFileSync(join(env.ufsDir, 'top.txt'), 'top');
  tcp = await serveTcp(env.fs, new UserStore([TEST_ADMIN, BOB, CAROL]));
  const addr = tcp.server.address();
  bob = await StrataClient.connect(addr, { token: `${BOB.accessKeyId}:${BOB.secretKey}` });
  carol = await StrataClient.connect(addr, { token: `${CAROL.accessKeyId}:${CAROL.secretKey}` });
  assert.is(TEST_ADMIN_TOKEN.length > 0, true);
});

test.after(async () => {
  await bob?.close();
  await carol?.close();
  await tcp?.close();
  await env?.dispose();
});

test('a user may use the namespace', async () => {
  await bob.writeFile('/bob.txt', data('mine'));
  assert.is(await readText(bob, '/bob.txt'), 'mine');
  assert.ok((await names(bob, '/')).includes('top.txt'));
});

test('a user is refused mount, unmount, pathConf, startSync/stopSync and report, naming user, op and path', async () => {
  await denied(bob.mount('/ext', fileUri(extDir)), 'user bob', 'mount', '/ext', 'admin');
  await denied(bob.unmount('/'), 'user bob', 'unmount');
  await denied(bob.setPathConf('/teams', { 'metadata.sync.interval': '0' }), 'user bob', 'setPathConf', '/teams');
  await denied(bob.removePathConf('/teams'), 'user bob', 'removePathConf');
  await denied(bob.listPathConf(), 'user bob', 'listPathConf');
  await denied(bob.startSync('/teams'), 'user bob', 'startSync', '/teams');
  await denied(bob.stopSync('/teams'), 'user bob', 'stopSync');
  await denied(bob.getReport(), 'user bob', 'getReport');
  // Nothing was mounted.
  assert.not.ok((await tcp.client.getMountTable()).some((m) => m.path === '/ext'));
  // The admin may.
  await tcp.client.mount('/ext', fileUri(extDir));
  assert.is(await readText(tcp.client, '/ext/x.txt'), 'x');
  await tcp.client.unmount('/ext');
});

test('a prefix user reads and writes only below its prefixes', async () => {
  await carol.writeFile('/teams/carol/a.txt', data('a'));
  assert.is(await readText(carol, '/teams/carol/a.txt'), 'a');
  await carol.createDirectory('/shared/x');
  await denied(carol.writeFile('/teams/dave/b.txt', data('b')), 'user carol', 'writeFile', '/teams/dave/b.txt', 'prefixes');
  await denied(readText(carol, '/teams/dave/secret.txt'), 'user carol', 'readFile', '/teams/dave/secret.txt');
  await denied(readText(carol, '/top.txt'), 'readFile', '/top.txt');
  await denied(carol.delete('/teams/dave', { recursive: true }), 'delete', '/teams/dave');
  await denied(carol.rename('/teams/carol/a.txt', '/teams/dave/a.txt'), 'rename', '/teams/dave/a.txt');
  await denied(carol.loadMetadata('/', { recursive: true }), 'loadMetadata', '/');
  await denied(carol.getStatus('/teams/dave'), 'getStatus', '/teams/dave');
  // Walking down: the ancestors list only what leads to the prefixes.
  assert.equal(await names(carol, '/'), ['shared', 'teams']);
  assert.equal(await names(carol, '/teams'), ['carol']);
  assert.is((await carol.getStatus('/teams')).type, 'directory');
  const mounts = await carol.getMountTable();
  assert.equal(mounts.map((m) => m.path), ['/']);
  assert.is(await readText(tcp.client, '/teams/dave/secret.txt'), 'dave only');
});

test.run();
