// The web console in a real browser: Debian's chromium, headless, driven by puppeteer-core,
// against a real `strata server --web-port` process. Logs in, watches the overview while a
// recursive loadMetadata runs, pages through a 5,000-entry directory, pins a file as admin,
// and is refused admin actions as a user. Screenshots go to .tmp/screenshots/ (not committed).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';
import { ROOT, runCli, startServer, tempDir } from './helpers/server.js';
import type { ServerHandle } from './helpers/server.js';
import { ensureWebBuilt } from './helpers/web.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(ROOT, '.tmp', 'screenshots');
const admin = { name: 'alice', accessKeyId: 'ADMINKEY0001', secretKey: 'admin-secret-1', role: 'admin' };
const user = { name: 'bob', accessKeyId: 'USERKEY00001', secretKey: 'user-secret-1', role: 'user' };

let srv: ServerHandle;
let browser: Browser;
let page: Page;
let url: string;
let dataDir: string;
const pageErrors: string[] = [];

/** Save a screenshot (the whole page, or only the window for long listings). */
async function shot(name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

/** Wait (bounded) until `f` in the page returns truthy. */
async function until(f: string | (() => unknown), what: string, timeoutMs = 60_000): Promise<void> {
  try {
    await page.waitForFunction(f as () => unknown, { timeout: timeoutMs, polling: 100 });
  } catch (err) {
    await shot(`failed-${what.replace(/\W+/g, '-')}`).catch(() => {});
    throw new Error(`timed out waiting for ${what}: ${(err as Error).message}`);
  }
}

function text(selector: string): Promise<string> {
  return page.$eval(selector, (el) => (el as HTMLElement).innerText);
}

/** The value of a card's row (`dt` text) on the overview. */
function cardValue(card: string, label: string): Promise<string> {
  return page.evaluate((card, label) => {
    const rows = [...document.querySelectorAll(`#${card} dl div`)];
    const row = rows.find((r) => r.querySelector('dt')?.textContent === label);
    return row?.querySelector('dd')?.textContent ?? '';
  }, card, label);
}

async function login(key: string, secret: string): Promise<void> {
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('#akid', { timeout: 30_000 });
  await page.type('#akid', key);
  await page.type('#secret', secret);
  await page.click('button[type=submit]');
  await page.waitForSelector('header.top', { timeout: 30_000 });
}

async function go(hash: string, heading: string): Promise<void> {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await until(`document.querySelector('main h1')?.textContent === ${JSON.stringify(heading)}`, `page ${heading}`);
}

test.before(async () => {
  await ensureWebBuilt();
  await rm(SHOTS, { recursive: true, force: true });
  await mkdir(SHOTS, { recursive: true });
  dataDir = await tempDir('strata-web-');
  const ufs = join(dataDir, 'ufs');
  await mkdir(join(ufs, 'big'), { recursive: true });
  for (let i = 0; i < 5000; i += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, j) => writeFile(join(ufs, 'big', `f${String(i + j).padStart(5, '0')}`), 'x'.repeat((i + j) % 97))));
  }
  for (let d = 0; d < 30; d++) {
    await mkdir(join(ufs, 'tree', `d${d}`), { recursive: true });
    await Promise.all(Array.from({ length: 100 }, (_, j) => writeFile(join(ufs, 'tree', `d${d}`, `t${j}`), 'tree')));
  }
  await mkdir(join(ufs, 'files'));
  await writeFile(join(ufs, 'files', 'pinme.txt'), 'pin me\n'.repeat(1000));
  await writeFile(join(ufs, 'files', 'other.txt'), 'other\n');
  await writeFile(join(dataDir, 'users.json'), JSON.stringify({ users: [admin, user] }), { mode: 0o600 });
  srv = await startServer({ dataDir, args: ['--web-port', '0', '-D', 'web.sample.interval=500ms', '-D', 'persist.initial.wait=3s'], timeoutMs: 120_000 });
  for (let i = 0; i < 600 && !url; i++) {
    url = /strata web console on (http:\/\/\S+)/.exec(srv.stderr())?.[1] ?? '';
    if (!url) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(url, `no console line: ${srv.stderr()}`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install chromium)`);
  browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  page = await browser.newPage();
  // Script errors and CSP violations on any page fail the last test.
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(m.text());
  });
  await page.setViewport({ width: 1280, height: 900 });
});

test.after(async () => {
  await browser?.close().catch(() => {});
  if (srv) await srv.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('login: a wrong secret is refused on the form; the keyboard reaches the fields; then the overview', async () => {
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('#akid');
  await shot('01-login');
  await page.keyboard.press('Tab');
  assert.is(await page.evaluate(() => document.activeElement?.id), 'akid', 'Tab reaches the access key field first');
  await page.type('#akid', admin.accessKeyId);
  await page.type('#secret', 'not-the-secret');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.login .error');
  assert.match(await text('.login .error'), /PERMISSION_DENIED/);
  await login(admin.accessKeyId, admin.secretKey);
  await page.waitForSelector('#card-namespace');
  assert.match(await text('#who'), /alice/);
  const cookies = await browser.cookies();
  const c = cookies.find((x) => x.name === 'strata_session')!;
  assert.ok(c, 'session cookie set');
  assert.is(c.httpOnly, true);
  assert.is(c.sameSite, 'Strict');
  assert.is(await page.evaluate(() => document.cookie), '', 'the session cookie is not readable by scripts');
});

test('overview updates while a recursive loadMetadata runs', async () => {
  await go('#/overview', 'Overview');
  await page.waitForSelector('#card-namespace');
  await until(() => document.querySelectorAll('.chart canvas').length === 5, 'five charts');
  const first = await cardValue('card-namespace', 'Inodes');
  const token = `${admin.accessKeyId}:${admin.secretKey}`;
  const sync = runCli(['fs', '--address', srv.address, 'loadMetadata', '-R', '/tree'], { env: { STRATA_TOKEN: token }, timeoutMs: 120_000 });
  const seen = new Set<string>([first]);
  let done = false;
  void sync.finally(() => { done = true; });
  for (let i = 0; i < 600 && !done; i++) {
    seen.add(await cardValue('card-namespace', 'Inodes'));
    await new Promise((r) => setTimeout(r, 100));
  }
  const r = await sync;
  assert.is(r.code, 0, r.stderr);
  // After the sync, the overview shows the new tree (3,031 more inodes) within a few polls.
  await until(() => {
    const row = [...document.querySelectorAll('#card-namespace dl div')].find((d) => d.querySelector('dt')?.textContent === 'Inodes');
    return Number((row?.querySelector('dd')?.textContent ?? '0').replace(/,/g, '')) >= 3031;
  }, 'inode count after the sync', 60_000);
  seen.add(await cardValue('card-namespace', 'Inodes'));
  assert.ok(seen.size >= 2, `the inode count changed on the page: ${[...seen].join(' → ')}`);
  await until(() => {
    const row = [...document.querySelectorAll('#card-sync dl div')].find((d) => d.querySelector('dt')?.textContent === 'Entries synced');
    return Number((row?.querySelector('dd')?.textContent ?? '0').replace(/,/g, '')) >= 3000;
  }, 'sync entries counter', 60_000);
  // Let the charts draw a few more points, then keep the picture.
  await new Promise((r) => setTimeout(r, 1500));
  await shot('02-overview-after-sync');
});

test('an ASYNC_THROUGH persist queue fills and drains on the overview', async () => {
  const local = join(dataDir, 'local-async');
  await mkdir(local);
  await Promise.all(Array.from({ length: 200 }, (_, i) => writeFile(join(local, `a${i}.bin`), Buffer.alloc(4096, i))));
  const persisted = async () => Number((await cardValue('card-persist', 'Persisted')).replace(/,/g, '')) || 0;
  const before = await persisted();
  const copy = runCli(['fs', '--address', srv.address, 'copyFromLocal', '--write-type', 'ASYNC_THROUGH', local, '/async'],
    { env: { STRATA_TOKEN: `${admin.accessKeyId}:${admin.secretKey}` }, timeoutMs: 120_000 });
  let maxPending = 0;
  let done = false;
  let failed = false;
  void copy.then((x) => { failed = x.code !== 0; }, () => { failed = true; }).finally(() => { done = true; });
  // Watch the page (bounded): the queue has entries while the copy runs and the initial wait
  // holds them, then it drains to zero with every file persisted.
  for (let i = 0; i < 1200; i++) {
    const pending = Number((await cardValue('card-persist', 'Pending')).replace(/,/g, '')) || 0;
    maxPending = Math.max(maxPending, pending);
    if (failed) break;
    if (done && maxPending > 0 && pending === 0 && (await persisted()) >= before + 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const r = await copy;
  assert.is(r.code, 0, r.stderr);
  assert.ok(maxPending > 0, 'the page showed pending persists');
  assert.is(await cardValue('card-persist', 'Pending'), '0');
  assert.ok((await persisted()) >= before + 200, `persisted: ${await persisted()}`);
  await new Promise((r) => setTimeout(r, 1200));
  await shot('02b-overview-persist-drained');
});

test('browse into a 5,000-entry directory and page forward and back', async () => {
  await go('#/browse?path=%2F', 'Browse');
  await page.waitForSelector('a.dir');
  await page.evaluate(() => {
    const a = [...document.querySelectorAll('a.dir')].find((x) => x.textContent === 'big/') as HTMLAnchorElement;
    a.click();
  });
  await until(() => document.getElementById('page-info')?.textContent === 'Entries 1–100', 'first page of /big', 60_000);
  assert.is(await page.$$eval('table.listing tbody tr', (rows) => rows.length), 100);
  assert.is(await page.$eval('table.listing tbody tr', (r) => r.getAttribute('data-path')), '/big/f00000');
  await shot('03-browse-big-page1', false);
  const next = await page.evaluateHandle(() => [...document.querySelectorAll('.toolbar button')].find((b) => b.textContent === 'Next page'));
  await (next as any).click();
  await until(() => document.getElementById('page-info')?.textContent === 'Entries 101–200', 'second page');
  assert.is(await page.$eval('table.listing tbody tr', (r) => r.getAttribute('data-path')), '/big/f00100');
  for (let i = 0; i < 3; i++) {
    await (next as any).click();
    await until(`document.getElementById('page-info')?.textContent === 'Entries ${(i + 2) * 100 + 1}–${(i + 3) * 100}'`, `page ${i + 3}`);
  }
  await shot('04-browse-big-page5', false);
  const prev = await page.evaluateHandle(() => [...document.querySelectorAll('.toolbar button')].find((b) => b.textContent === 'Previous page'));
  await (prev as any).click();
  await until(() => document.getElementById('page-info')?.textContent === 'Entries 301–400', 'previous page');
  // A larger page size: 500 entries per page.
  await page.select('.toolbar select', '500');
  await until(() => document.getElementById('page-info')?.textContent === 'Entries 1–500', 'page of 500');
});

test('pin a file as admin and see its state change', async () => {
  await go('#/browse?path=%2Ffiles', 'Browse');
  await page.waitForSelector('tr[data-path="/files/pinme.txt"] button.link');
  assert.is(await text('tr[data-path="/files/pinme.txt"] td.pinned'), '');
  await page.click('tr[data-path="/files/pinme.txt"] button.link');
  await page.waitForSelector('.details[aria-label^="Selected"] button[data-op=pin]');
  // Admin sees the admin-only sync actions on the directory.
  assert.ok(await page.$('.details[aria-label="This directory"] button[data-op=startSync]'), 'admin sees Start active sync');
  await page.click('.details[aria-label^="Selected"] button[data-op=load]');
  await until(() => document.querySelector('.details[aria-label^="Selected"] .job')?.getAttribute('data-state') === 'done', 'load done');
  await page.click('.details[aria-label^="Selected"] button[data-op=pin]');
  await until(() => document.querySelector('tr[data-path="/files/pinme.txt"] td.pinned')?.textContent === 'pinned', 'pinned in the listing');
  assert.match(await text('.details[aria-label^="Selected"] .job'), /pin \/files\/pinme\.txt: done: 1 files/);
  assert.is(await text('.details[aria-label^="Selected"] [data-testid=pinned]'), 'yes');
  assert.match(await page.$eval('tr[data-path="/files/pinme.txt"]', (r) => (r as HTMLElement).innerText), /100 %/);
  await shot('05-browse-pinned');
  // The server agrees.
  const r = await runCli(['fs', '--address', srv.address, '--json', 'stat', '/files/pinme.txt'], { env: { STRATA_TOKEN: `${admin.accessKeyId}:${admin.secretKey}` } });
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).pinned, true);
});

test('mounts, sync reports and configuration pages render', async () => {
  // A loadMetadata from the console shows up in the recent sync reports.
  await go('#/browse?path=%2Ftree', 'Browse');
  await page.waitForSelector('.details[aria-label="This directory"] button[data-op=loadMetadata]');
  await page.click('.details[aria-label="This directory"] button[data-op=loadMetadata]');
  await until(() => document.querySelector('.details[aria-label="This directory"] .job')?.getAttribute('data-state') === 'done', 'loadMetadata from the console');
  await go('#/mounts', 'Mounts and sync');
  await until(() => [...document.querySelectorAll('td')].some((td) => td.textContent === 'loadMetadata'), 'the sync report');
  assert.ok(await page.$('form.mount-form'), 'admin sees the mount form');
  await shot('06-mounts');
  await go('#/config', 'Configuration');
  await until(() => [...document.querySelectorAll('td code')].some((c) => c.textContent === 'web.sample.interval'), 'configuration keys');
  // -D web.sample.interval=500ms: the value and where it came from, as getConf says.
  assert.match(await page.$eval('main', (m) => (m as HTMLElement).innerText), /500ms\s+-D/);
  await shot('07-config');
});

test('a narrow window keeps the pages usable (no horizontal page scroll)', async () => {
  await page.setViewport({ width: 390, height: 844 });
  for (const [hash, heading, name] of [['#/overview', 'Overview', '08-narrow-overview'], ['#/browse?path=%2Fbig', 'Browse', '09-narrow-browse']]) {
    await go(hash!, heading!);
    await new Promise((r) => setTimeout(r, 800));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${heading}: the page is ${overflow}px wider than the window`);
    await shot(name!, heading === 'Overview');
  }
  await page.setViewport({ width: 1280, height: 900 });
});

test('as a user: admin-only actions are hidden, and refused (403 PERMISSION_DENIED) when sent anyway', async () => {
  const logout = await page.evaluateHandle(() => [...document.querySelectorAll('header button')].find((b) => b.textContent === 'Log out'));
  await (logout as any).click();
  await page.waitForSelector('#akid');
  await login(user.accessKeyId, user.secretKey);
  await go('#/overview', 'Overview');
  await page.waitForSelector('.notice');
  assert.match(await text('.notice'), /admin role/);
  await shot('10-user-overview');
  await go('#/browse?path=%2Ffiles', 'Browse');
  await page.waitForSelector('.details[aria-label="This directory"] button[data-op=load]');
  assert.is(await page.$('.details[aria-label="This directory"] button[data-op=startSync]'), null, 'no Start active sync for a user');
  await go('#/mounts', 'Mounts and sync');
  await until(() => document.querySelectorAll('main table tbody tr').length > 0, 'mount table for a user');
  assert.is(await page.$('form.mount-form'), null, 'no mount form for a user');
  assert.is(await page.$$eval('main button', (bs) => bs.filter((b) => b.textContent === 'Unmount').length), 0);
  await shot('11-user-mounts');
  // Sent anyway from the page (same origin, right CSRF token): refused by the one access check.
  const refused = await page.evaluate(async () => {
    const s = await (await fetch('api/session')).json();
    const res = await fetch('api/action', {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken },
      body: JSON.stringify({ op: 'startSync', path: '/files' }),
    });
    return { status: res.status, body: await res.json() };
  });
  assert.is(refused.status, 403);
  assert.is(refused.body.error.code, 'PERMISSION_DENIED');
  assert.match(refused.body.error.message, /user bob may not startSync/);
  // And the page shows a refusal when the user opens the configuration.
  await go('#/config', 'Configuration');
  await page.waitForSelector('main .error');
  assert.match(await text('main .error'), /PERMISSION_DENIED/);
  await shot('12-user-config-refused');
});

test('no script error or Content-Security-Policy violation on any page', () => {
  assert.equal(pageErrors, []);
});

test.run();
