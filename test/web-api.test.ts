// The web console's API against a real console on a real Coordinator (and one real
// `strata server --web-port` process): login with a user's key and secret, cookie flags, CSRF
// and Origin refusals, roles and prefixes decided by withUser, paging of a 5,000-entry
// directory one listStatus page at a time, actions as jobs, the metrics history, and assets.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserStore } from '../src/auth/users.js';
import type { User } from '../src/auth/users.js';
import { ServerConfig } from '../src/config/keys.js';
import { startWebConsole } from '../src/web/console.js';
import type { WebConsole } from '../src/web/console.js';
import { openEnv } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';
import { runCli, startServer, tempDir } from './helpers/server.js';
import { ConsoleClient, ensureWebBuilt } from './helpers/web.js';

const admin: User = { name: 'alice', accessKeyId: 'ADMINKEY0001', secretKey: 'admin-secret-1', role: 'admin' };
const user: User = { name: 'bob', accessKeyId: 'USERKEY00001', secretKey: 'user-secret-1', role: 'user', prefixes: ['/team'] };

let env: Env;
let web: WebConsole;
const N = 5000;

test.before(async () => {
  await ensureWebBuilt();
  env = await openEnv({ 'metadata.sync.interval': '-1', 'cache.capacity': '64MB' });
  await mkdir(join(env.ufsDir, 'big'));
  for (let i = 0; i < N; i += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, j) => writeFile(join(env.ufsDir, 'big', `f${String(i + j).padStart(5, '0')}`), '')));
  }
  await mkdir(join(env.ufsDir, 'team'));
  await writeFile(join(env.ufsDir, 'team', 'a.txt'), 'hello team\n');
  await mkdir(join(env.ufsDir, 'private'));
  await writeFile(join(env.ufsDir, 'private', 'secret.txt'), 'no\n');
  web = await startWebConsole({
    fs: env.fs, users: new UserStore([admin, user]), host: '127.0.0.1', port: 0, version: 'test',
    config: new ServerConfig([{ 'cache.capacity': '64MB' }]), sampleIntervalMs: 100, historyMs: 60_000,
  });
});

test.after(async () => {
  await web?.close();
  await env?.dispose();
});

test('login: a wrong secret or unknown key is 401; a good one sets an HttpOnly SameSite=Strict session cookie', async () => {
  const c = new ConsoleClient(web.url);
  let r = await c.login(admin.accessKeyId, 'wrong-secret');
  assert.is(r.status, 401);
  assert.is(r.body.error.code, 'PERMISSION_DENIED');
  assert.is(r.headers.get('set-cookie'), null);
  r = await c.login('NOSUCHKEY', admin.secretKey);
  assert.is(r.status, 401);
  assert.is((await c.get('/api/session')).status, 401);

  r = await c.login(admin.accessKeyId, admin.secretKey);
  assert.is(r.status, 200);
  const cookie = r.headers.get('set-cookie')!;
  assert.match(cookie, /^strata_session=[A-Za-z0-9_-]{43};/);
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; SameSite=Strict/);
  assert.match(cookie, /; Path=\//);
  assert.match(cookie, /; Max-Age=\d+/);
  assert.is(r.body.user.role, 'admin');
  assert.ok(r.body.csrfToken.length >= 40);
  assert.not.ok(JSON.stringify(r.body).includes(admin.secretKey), 'the secret never comes back');
  const s = await c.get('/api/session');
  assert.is(s.status, 200);
  assert.is(s.body.user.name, 'alice');

  // Two logins are two different random sessions.
  const c2 = new ConsoleClient(web.url);
  await c2.login(admin.accessKeyId, admin.secretKey);
  assert.is.not(c2.cookie, c.cookie);
  assert.is.not(c2.csrf, c.csrf);

  // Logout ends the session.
  assert.is((await c2.post('/api/logout')).status, 200);
  assert.is((await c2.get('/api/session')).status, 401);
  assert.is((await c.get('/api/session')).status, 200);
});

test('CSRF: a POST without the token, with a wrong token, from another origin or as a form is refused', async () => {
  const c = new ConsoleClient(web.url);
  await c.login(admin.accessKeyId, admin.secretKey);
  const body = { op: 'needsSync', path: '/team' };
  let r = await c.post('/api/action', body, { 'x-csrf-token': '' });
  assert.is(r.status, 403);
  assert.is(r.body.error.code, 'PERMISSION_DENIED');
  assert.match(r.body.error.message, /x-csrf-token/);
  r = await c.post('/api/action', body, { 'x-csrf-token': 'A'.repeat(43) });
  assert.is(r.status, 403);
  r = await c.post('/api/action', body, { origin: 'http://evil.example' });
  assert.is(r.status, 403);
  assert.match(r.body.error.message, /cross-origin/);
  r = await c.post('/api/action', 'op=needsSync&path=/team', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.is(r.status, 400);
  r = await c.post('/api/login', { accessKeyId: admin.accessKeyId, secretKey: admin.secretKey }, { origin: 'http://evil.example' });
  assert.is(r.status, 403);
  // A session-less POST is 401, never an action.
  r = await new ConsoleClient(web.url).post('/api/action', body);
  assert.is(r.status, 401);
  // The right token and a same-origin Origin pass.
  const u = new URL(web.url);
  r = await c.post('/api/action', body, { origin: `http://${u.host}` });
  assert.is(r.status, 202);
});

test('a foreign Host name is refused on a loopback console (DNS rebinding)', async () => {
  const u = new URL(web.url);
  const res = await new Promise<number>((resolve, reject) => {
    import('node:http').then(({ request }) => {
      const req = request({ host: u.hostname, port: u.port, path: '/api/session', headers: { host: 'attacker.example' } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    }, reject);
  });
  assert.is(res, 421);
});

test('roles: a user is refused admin-only calls with 403 PERMISSION_DENIED and sees only its prefixes', async () => {
  const c = new ConsoleClient(web.url);
  assert.is((await c.login(user.accessKeyId, user.secretKey)).status, 200);
  for (const path of ['/api/overview', '/api/metrics', '/api/config']) {
    const r = await c.get(path);
    assert.is(r.status, 403, path);
    assert.is(r.body.error.code, 'PERMISSION_DENIED', path);
  }
  for (const body of [{ op: 'startSync', path: '/team' }, { op: 'mount', path: '/team/m', ufsUri: 'file:///tmp' }, { op: 'unmount', path: '/team' }]) {
    const r = await c.post('/api/action', body);
    assert.is(r.status, 403, body.op);
    assert.is(r.body.error.code, 'PERMISSION_DENIED');
    assert.match(r.body.error.message, /user bob may not/);
  }
  // Outside the prefix: refused; the root listing shows only the way down to /team.
  const outside = await c.get('/api/list?path=/private');
  assert.is(outside.status, 403);
  assert.is((await c.post('/api/action', { op: 'pin', path: '/private/secret.txt' })).status, 403);
  const root = await c.get('/api/list?path=/');
  assert.is(root.status, 200);
  assert.equal(root.body.entries.map((e: { name: string }) => e.name), ['team']);
  // Inside: cache actions are the user's to run.
  const pin = await c.action({ op: 'pin', path: '/team/a.txt' });
  assert.is(pin.body.state, 'done', JSON.stringify(pin.body));
  assert.is((await c.get('/api/status?path=/team/a.txt')).body.pinned, true);
  // The mount table is readable (redacted) by a user.
  assert.is((await c.get('/api/mounts')).status, 200);
  // Jobs of other users are not visible to a user.
  const a = new ConsoleClient(web.url);
  await a.login(admin.accessKeyId, admin.secretKey);
  const job = (await a.action({ op: 'needsSync', path: '/big' })).body;
  assert.is((await c.get(`/api/jobs/${job.id}`)).status, 404);
  assert.is((await a.get(`/api/jobs/${job.id}`)).status, 200);
});

test('paging: a 5,000-entry directory comes one page at a time from one listStatus stream', async () => {
  const c = new ConsoleClient(web.url);
  await c.login(admin.accessKeyId, admin.secretKey);
  const opsBefore = (await env.fs.getReport()).ops.listStatus ?? 0;
  let r = await c.get('/api/list?path=/big&pageSize=500');
  assert.is(r.status, 200);
  assert.is(r.body.status.type, 'directory');
  const names: string[] = [];
  const offsets: number[] = [];
  for (let i = 0; i < 100 && r.status === 200; i++) {
    assert.ok(r.body.entries.length <= 500);
    offsets.push(r.body.offset);
    names.push(...r.body.entries.map((e: { name: string }) => e.name));
    if (!r.body.cursor) break;
    r = await c.get(`/api/list?cursor=${r.body.cursor}`);
  }
  assert.is(names.length, N);
  assert.is(new Set(names).size, N);
  assert.is(names[0], 'f00000');
  assert.is(names[N - 1], 'f04999');
  assert.equal(offsets.slice(0, 3), [0, 500, 1000]);
  // One listStatus call for the whole walk (pages continue the same stream).
  assert.is((await env.fs.getReport()).ops.listStatus ?? 0, opsBefore + 1);
  // Entries carry what the browser shows.
  const e = (await c.get('/api/list?path=/big&pageSize=1')).body.entries[0];
  for (const k of ['path', 'length', 'mtimeMs', 'persistenceState', 'cachedBytes', 'pinned', 'mountPoint', 'ufsPath']) assert.ok(k in e, k);
  // The page size is capped; a cursor of another session is unknown.
  const big = await c.get('/api/list?path=/big&pageSize=100000');
  assert.is(big.body.entries.length, 1000);
  const other = new ConsoleClient(web.url);
  await other.login(admin.accessKeyId, admin.secretKey);
  assert.is((await other.get(`/api/list?cursor=${big.body.cursor}`)).status, 404);
  // A file is not a directory listing; a bad path is a 400 with its code.
  assert.is((await c.get('/api/list?path=/team/a.txt')).status, 400);
  const bad = await c.get('/api/list?path=/a/../b');
  assert.is(bad.status, 400);
  assert.is(bad.body.error.code, 'INVALID_PATH');
  assert.is((await c.get('/api/list?path=/nope')).status, 404);
});

test('actions run as jobs with results: load, pin/unpin, setTtl, free, loadMetadata, checkConsistency; bad ones are 400', async () => {
  const c = new ConsoleClient(web.url);
  await c.login(admin.accessKeyId, admin.secretKey);
  await writeFile(join(env.ufsDir, 'team', 'b.bin'), Buffer.alloc(100_000, 7));
  let r = await c.action({ op: 'loadMetadata', path: '/team', recursive: true });
  assert.is(r.body.state, 'done');
  assert.ok(r.body.result.created >= 1, JSON.stringify(r.body.result));
  r = await c.action({ op: 'load', path: '/team/b.bin' });
  assert.is(r.body.state, 'done');
  assert.equal(r.body.result, { files: 1, bytes: 100_000 });
  assert.is((await c.get('/api/status?path=/team/b.bin')).body.cachedBytes, 100_000);
  r = await c.action({ op: 'pin', path: '/team/b.bin' });
  assert.is((await c.get('/api/status?path=/team/b.bin')).body.pinned, true);
  r = await c.action({ op: 'unpin', path: '/team/b.bin' });
  assert.is((await c.get('/api/status?path=/team/b.bin')).body.pinned, false);
  r = await c.action({ op: 'setTtl', path: '/team/b.bin', ttl: '1h', action: 'free' });
  assert.is(r.body.state, 'done');
  assert.is((await c.get('/api/status?path=/team/b.bin')).body.ttlMs, 3600_000);
  r = await c.action({ op: 'free', path: '/team/b.bin' });
  assert.is(r.body.state, 'done');
  assert.is((await c.get('/api/status?path=/team/b.bin')).body.cachedBytes, 0);
  r = await c.action({ op: 'checkConsistency', path: '/team', recursive: true });
  assert.is(r.body.state, 'done');
  assert.equal(r.body.result.inconsistent, []);
  // A failing action is a failed job with the Strata code.
  r = await c.action({ op: 'load', path: '/team/missing' });
  assert.is(r.body.state, 'failed');
  assert.is(r.body.error.code, 'NOT_FOUND');
  // Bad requests never start a job.
  assert.is((await c.post('/api/action', { op: 'rm', path: '/team' })).status, 400);
  assert.is((await c.post('/api/action', { op: 'setTtl', path: '/team', ttl: 'soon' })).status, 400);
  assert.is((await c.post('/api/action', '{not json')).status, 400);
  assert.is((await c.post('/api/action', { op: 'load' })).status, 400);
  // The sync reports of the Mounts page keep loadMetadata and checkConsistency runs.
  const m = await c.get('/api/mounts');
  const ops = m.body.reports.map((j: { op: string }) => j.op);
  assert.ok(ops.includes('loadMetadata') && ops.includes('checkConsistency'), ops.join(','));
});

test('recent sync reports hold every client\'s runs (here library calls, as the CLI makes them), admins only', async () => {
  await writeFile(join(env.ufsDir, 'team', 'cli.txt'), 'from the cli\n');
  await env.fs.loadMetadata('/team', { recursive: true });
  await env.fs.checkConsistency('/team', { recursive: true });
  const c = new ConsoleClient(web.url);
  await c.login(admin.accessKeyId, admin.secretKey);
  const reports = (await c.get('/api/mounts')).body.reports as Array<{ op: string; path: string; user: string; state: string; result?: Record<string, number>; startedMs: number }>;
  const sync = reports.find((j) => j.op === 'loadMetadata' && j.user === '—');
  assert.ok(sync, JSON.stringify(reports));
  assert.is(sync!.path, '/team');
  assert.is(sync!.state, 'done');
  assert.is(typeof sync!.result?.created, 'number');
  const check = reports.find((j) => j.op === 'checkConsistency' && j.user === '—');
  assert.ok(check && check.state === 'done' && check.result?.inconsistent === 0, JSON.stringify(check));
  for (let i = 1; i < reports.length; i++) assert.ok(reports[i - 1]!.startedMs >= reports[i]!.startedMs, 'newest first');
  // The report carries them too (fsadmin report): running ones first, then finished, newest first.
  const runs = (await env.fs.getReport()).recentRuns ?? [];
  assert.ok(runs.some((r) => r.op === 'checkConsistency' && r.path === '/team' && r.finishedMs !== undefined));
  // A user cannot read the server's report: only the console jobs it started itself.
  const u = new ConsoleClient(web.url);
  await u.login(user.accessKeyId, user.secretKey);
  const mine = (await u.get('/api/mounts')).body.reports as Array<{ user: string }>;
  assert.ok(mine.every((j) => j.user === user.name), JSON.stringify(mine));
});

test('mount table redacts secrets; mount/unmount work for an admin', async () => {
  const c = new ConsoleClient(web.url);
  await c.login(admin.accessKeyId, admin.secretKey);
  const dir = join(env.dataDir, '..', `${env.dataDir.split('/').pop()}-m`);
  await mkdir(dir, { recursive: true });
  env.track(dir);
  let r = await c.action({ op: 'mount', path: '/m', ufsUri: `file://${dir}`, readOnly: true, options: { 'metadata.sync.interval': '5s', 'secretAccessKey': 'hunter2' } });
  assert.is(r.body.state, 'done', JSON.stringify(r.body));
  const m = (await c.get('/api/mounts')).body.mounts.find((x: { path: string }) => x.path === '/m');
  assert.ok(m, 'the new mount is listed');
  assert.is(m.readOnly, true);
  assert.is(m.options.secretAccessKey, '***');
  assert.equal(m.sync['metadata.sync.interval'], { value: '5s', source: 'mount' });
  assert.is(m.sync['metadata.load.type'].source, 'default');
  r = await c.action({ op: 'unmount', path: '/m' });
  assert.is(r.body.state, 'done');
  assert.not.ok((await c.get('/api/mounts')).body.mounts.some((x: { path: string }) => x.path === '/m'));
});

test('metrics history: rates derived from the report counters, the same numbers as getReport', async () => {
  const c = new ConsoleClient(web.url);
  await c.login(admin.accessKeyId, admin.secretKey);
  await web.sampler.sample();
  const t0 = web.sampler.latest()!.t;
  const before = (await env.fs.getReport()).ops.getStatus ?? 0;
  for (let i = 0; i < 20; i++) await env.fs.getStatus('/team/a.txt');
  await web.sampler.sample();
  const r = await c.get('/api/metrics');
  assert.is(r.status, 200);
  assert.ok(r.body.points.length >= 2);
  const last = r.body.points[r.body.points.length - 1];
  // The timer samples too: the getStatus calls show as a rate in some point after t0.
  const after = r.body.points.filter((p: { t: number }) => p.t > t0);
  assert.ok(after.some((p: { opsPerSec: number }) => p.opsPerSec > 0), JSON.stringify(after));
  assert.is(last.inodes, (await env.fs.getReport()).namespace.inodes);
  assert.is((await env.fs.getReport()).ops.getStatus, before + 20);
  const since = await c.get(`/api/metrics?since=${last.t}`);
  assert.ok(since.body.points.every((p: { t: number }) => p.t > last.t));
  const cfg = await c.get('/api/config');
  const cap = cfg.body.server.find((x: { key: string }) => x.key === 'cache.capacity');
  // The same value and source as `strata fs getConf` reports (one description of the configuration).
  const conf = (await env.fs.getConf('cache.capacity'))[0]!;
  assert.equal([cap.value, cap.source], ['64MB', conf.source]);
  assert.is.not(conf.source, 'default');
  assert.is(cfg.body.server.find((x: { key: string }) => x.key === 'write.type').source, 'default');
});

test('assets: index.html revalidated, hashed bundle cached immutable with content types and gzip; no CDN', async () => {
  const c = new ConsoleClient(web.url);
  const index = await c.get('/');
  assert.is(index.status, 200);
  assert.match(index.headers.get('content-type')!, /^text\/html/);
  assert.is(index.headers.get('cache-control'), 'no-cache');
  assert.match(index.headers.get('content-security-policy')!, /default-src 'self'/);
  const html = index.body as string;
  assert.not.match(html, /https?:\/\//, 'no external URL in the page');
  const js = /assets\/(main-[A-Z0-9]+\.js)/.exec(html)![1];
  const css = /assets\/(main-[A-Z0-9]+\.css)/.exec(html)![1];
  const j = await fetch(new URL(`assets/${js}`, web.url), { headers: { 'accept-encoding': 'gzip' } });
  assert.is(j.status, 200);
  assert.match(j.headers.get('content-type')!, /^text\/javascript/);
  assert.is(j.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  const jsText = await j.text();
  assert.not.match(jsText, /https?:\/\/(cdn|unpkg|fonts)/);
  const s = await c.get(`/assets/${css}`);
  assert.match(s.headers.get('content-type')!, /^text\/css/);
  assert.is((await c.get('/assets/..%2fpackage.json')).status, 404);
  assert.is((await c.get('/nope')).status, 404);
});

test('`strata server --web-port 0` serves the console; the admin key of DATA_DIR/admin.key logs in', async () => {
  const srv = await startServer({ args: ['--web-port', '0', '-D', 'web.sample.interval=200ms'], timeoutMs: 120_000 });
  try {
    const until = Date.now() + 30_000;
    let url: string | undefined;
    for (let i = 0; i < 600 && !url && Date.now() < until; i++) {
      url = /strata web console on (http:\/\/\S+)/.exec(srv.stderr())?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(url, `no console line in: ${srv.stderr()}`);
    const [id, secret] = (await readFile(join(srv.dataDir, 'admin.key'), 'utf8')).trim().split(':');
    const c = new ConsoleClient(url!);
    assert.is((await c.login(id!, 'bad-secret-x')).status, 401);
    assert.is((await c.login(id!, secret!)).status, 200);
    const o = await c.get('/api/overview');
    assert.is(o.status, 200);
    assert.is(o.body.report.server.version, '0.1.0');
    assert.is((await c.action({ op: 'loadMetadata', path: '/', recursive: true })).body.state, 'done');
    assert.is((await c.get('/')).status, 200);
  } finally {
    assert.is(await srv.stop(), 0);
  }
});

test('a bad --web-port is refused before the server starts (exit 2, INVALID_ARGUMENT naming the option)', async () => {
  const dir = await tempDir();
  env.track(dir);
  const r = await runCli(['server', '--port', '0', '--data-dir', dir, '--web-port', 'eighty'], { timeoutMs: 60_000 });
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /INVALID_ARGUMENT: --web-port: "eighty"/);
});

test.run();
