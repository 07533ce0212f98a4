// The mount daemon as a user runs it: a REAL `strata server` process and `strata fuse mount`
// processes over TCP. The one "mounted" line, reads and writes seen by `strata fs`, a --root
// subtree, SIGTERM unmounting cleanly, a daemon killed with SIGKILL leaving a stale mount
// ("Transport endpoint is not connected") that the next mount cleans, --background with
// `strata fuse unmount`, and an S3 bucket (radosgw) mounted in Strata seen through FUSE.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { forceUnmount } from '../src/fuse/binding.js';
import { isStaleMount } from '../src/fuse/mount.js';
import { BIN, ROOT, runCli, startServer, tempDir } from './helpers/server.js';
import type { ServerHandle } from './helpers/server.js';
import { fuseSkipReason, sh, shOk } from './helpers/fuse.js';
import { freshBucket } from './helpers/s3.js';
import type { FreshBucket } from './helpers/s3.js';

const skip = fuseSkipReason();
let srv: ServerHandle;
const mountDirs: string[] = [];
const daemons: ChildProcess[] = [];

interface Daemon { proc: ChildProcess; line: string; stderr(): string; exited: Promise<number | string> }

/** Start `strata fuse mount DIR --address … [args]` and wait for its mounted line. */
async function startMount(dir: string, args: string[] = []): Promise<Daemon> {
  const proc = spawn(process.execPath, [BIN, 'fuse', 'mount', dir, '--address', srv.address, ...args], {
    cwd: ROOT, env: { ...process.env, STRATA_LOG_LEVEL: 'warn', ...(srv.token ? { STRATA_TOKEN: srv.token } : {}) }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  daemons.push(proc);
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => { err += d; });
  const exited = new Promise<number | string>((r) => proc.once('exit', (c, s) => r(c ?? s ?? -1)));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no mounted line within 90 s\nstderr: ${err}`)), 90_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /^strata fuse mounted .*$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    void exited.then((c) => {
      clearTimeout(timer);
      reject(new Error(`the daemon exited (${c}) before mounting\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  return { proc, line, stderr: () => err, exited };
}

async function mountDir(): Promise<string> {
  const d = await tempDir('strata-fuse-cli-');
  mountDirs.push(d);
  return d;
}

const fsCli = (...args: string[]) => runCli(['fs', '--address', srv.address, ...args]);

if (skip) {
  console.log(`FUSE tests skipped: ${skip}`);
  test.skip('FUSE daemon', () => {});
} else {
  test.before(async () => {
    srv = await startServer({ timeoutMs: 180_000 }); // a loaded machine starts slowly
  });

  test.after(async () => {
    for (const p of daemons) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const d of mountDirs) {
      await forceUnmount(d).catch(() => undefined);
      await rm(d, { recursive: true, force: true }).catch(() => undefined);
    }
    await srv?.stop();
    if (srv) await rm(srv.dataDir, { recursive: true, force: true });
  });

  test('mount over TCP: one mounted line, writes seen by strata fs, SIGTERM unmounts cleanly', async () => {
    const dir = await mountDir();
    const d = await startMount(dir);
    assert.match(d.line, `strata fuse mounted ${srv.address}/ at ${dir}`);
    await shOk(`mkdir ${dir}/docs && printf 'through fuse' > ${dir}/docs/a.txt && head -c 2000000 /dev/urandom > ${dir}/docs/big`);
    const cat = await fsCli('cat', '/docs/a.txt');
    assert.is(cat.stdout, 'through fuse');
    const stat = JSON.parse((await fsCli('--json', 'stat', '/docs/big')).stdout);
    assert.is(stat.length, 2_000_000);
    assert.is(stat.persistenceState, 'PERSISTED'); // CACHE_THROUGH, the default write type
    assert.is((await shOk(`cmp ${dir}/docs/big ${srv.dataDir}/ufs/docs/big && echo same`)).trim(), 'same');
    // Written by another client: visible through the mount.
    const c = await runCli(['fs', '--address', srv.address, 'touch', '/docs/empty']);
    assert.is(c.code, 0, c.stderr);
    assert.is((await shOk(`ls ${dir}/docs`)).split('\n').filter(Boolean).sort().join(','), 'a.txt,big,empty');
    d.proc.kill('SIGTERM');
    assert.is(await d.exited, 0, d.stderr());
    assert.is(await isStaleMount(dir), false);
    assert.is((await sh(`grep -c " ${dir} " /proc/mounts`)).stdout.trim(), '0');
  });

  test('--root shows a subtree; --read-only refuses writes', async () => {
    const dir = await mountDir();
    const d = await startMount(dir, ['--root', '/docs', '--read-only']);
    assert.match(d.line, `${srv.address}/docs at ${dir}`);
    assert.is(await shOk(`cat ${dir}/a.txt`), 'through fuse');
    assert.match((await sh(`echo x > ${dir}/new`)).stderr, 'Read-only file system');
    d.proc.kill('SIGINT');
    assert.is(await d.exited, 0, d.stderr());
  });

  test('a killed daemon leaves a stale mount; the next mount cleans it and serves again', async () => {
    const dir = await mountDir();
    const d = await startMount(dir);
    d.proc.kill('SIGKILL');
    await d.exited;
    const st = await sh(`stat ${dir}`);
    assert.match(st.stderr, 'Transport endpoint is not connected');
    assert.is(await isStaleMount(dir), true);
    const again = await startMount(dir);
    assert.is(await shOk(`cat ${dir}/docs/a.txt`), 'through fuse');
    again.proc.kill('SIGTERM');
    assert.is(await again.exited, 0, again.stderr());
  });

  test('--background returns once mounted; strata fuse unmount ends the daemon', async () => {
    const dir = await mountDir();
    const log = `${dir}.log`;
    const r = await runCli(['fuse', 'mount', dir, '--address', srv.address, '--background', '--log-file', log], { timeoutMs: 120_000 });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, `strata fuse mounted ${srv.address}/ at ${dir}`);
    const pid = Number(/pid (\d+)/.exec(r.stdout)![1]);
    assert.is(await shOk(`cat ${dir}/docs/a.txt`), 'through fuse');
    const u = await runCli(['fuse', 'unmount', dir]);
    assert.is(u.code, 0, u.stderr);
    // The daemon notices and exits (bounded wait).
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      try {
        process.kill(pid, 0);
        await new Promise((res) => setTimeout(res, 100));
      } catch {
        alive = false;
      }
    }
    assert.is(alive, false, 'the background daemon exited after unmount');
    await rm(log, { force: true });
  });

  test('an S3 bucket mounted in Strata, read and written through FUSE', async () => {
    let bucket: FreshBucket;
    try {
      bucket = await freshBucket('fuse');
    } catch (err) {
      console.log(`S3 part skipped: ${(err as Error).message}`);
      return;
    }
    try {
      const s = bucket.server;
      await bucket.client.send(new PutObjectCommand({ Bucket: bucket.bucket, Key: 'in/hello.txt', Body: 'from s3' }));
      const m = await fsCli('mount', '--option', `endpoint=${s.endpoint}`, '--option', `accessKeyId=${s.accessKeyId}`,
        '--option', `secretAccessKey=${s.secretAccessKey}`, '--option', 'pathStyle=true', '--option', `region=${s.region}`,
        '/s3', `s3://${bucket.bucket}/`);
      assert.is(m.code, 0, m.stderr);
      const dir = await mountDir();
      const d = await startMount(dir);
      assert.is(await shOk(`cat ${dir}/s3/in/hello.txt`), 'from s3');
      await shOk(`head -c 1500000 /dev/urandom > ${dir}/local.bin && cp ${dir}/local.bin ${dir}/s3/in/copied.bin && cmp ${dir}/local.bin ${dir}/s3/in/copied.bin`);
      const obj = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.bucket, Key: 'in/copied.bin' }));
      assert.is(Number(obj.ContentLength), 1_500_000);
      // mv from the local root to the S3 mount: EXDEV inside, so mv copies and deletes.
      await shOk(`echo moving > ${dir}/m.txt && mv ${dir}/m.txt ${dir}/s3/m.txt`);
      const moved = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.bucket, Key: 'm.txt' }));
      assert.is(await moved.Body!.transformToString(), 'moving\n');
      assert.is((await sh(`test -e ${dir}/m.txt`)).code, 1);
      await shOk(`mkdir ${dir}/s3/newdir && echo z > ${dir}/s3/newdir/z && ls ${dir}/s3`);
      d.proc.kill('SIGTERM');
      assert.is(await d.exited, 0, d.stderr());
    } finally {
      await bucket.cleanup().catch(() => undefined);
    }
  });
}

test.run();

