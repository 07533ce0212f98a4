// Special files and directory link counts on a real FUSE mount: symbolic links (ln -s,
// readlink, lstat, cp -a and tar round trips), a FIFO with a reader and a writer, device
// nodes and a socket made by root, their types in ls -l and stat, rename/chmod/chown/utimens
// and unlink on them, a sync of their directory keeping them, a directory's st_nlink of
// 2 + its subdirectories (and the count rebuilt by the metadata format upgrade); the same
// over TCP (a real `strata server` and `strata fuse mount --address`), through a restart.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, StrataError } from '../src/errors.js';
import { forceUnmount } from '../src/fuse/binding.js';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { lmdbUri, openStrataStore } from '../src/meta/tables.js';
import { fileUri, openEnv } from './helpers/fixture.js';
import { fuseSkipReason, openFuseEnv, sh, shOk } from './helpers/fuse.js';
import type { FuseEnv } from './helpers/fuse.js';
import { BIN, ROOT, startServer, tempDir } from './helpers/server.js';
import type { ServerHandle } from './helpers/server.js';

const skip = fuseSkipReason();
let f: FuseEnv;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof StrataError ? err.code : String(err);
  }
}

/** `stat -c FORMAT` of each path (lstat: links are not followed). */
async function stat(format: string, ...paths: string[]): Promise<string[]> {
  return (await shOk(`stat -c '${format}' ${paths.join(' ')}`)).trim().split('\n');
}

/** Special files of every kind in `d` (root makes the devices), then what `stat` says of them. */
async function makeAll(d: string): Promise<void> {
  await shOk(`mkdir -p ${d} && cd ${d} && printf data > f && ln -s f link && ln -s /no/such/target dangling && mkfifo -m 0640 fifo && mknod chr c 1 3 && mknod -m 0600 blk b 7 1`);
  await shOk(`python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.bind("${d}/sock")'`);
}

async function checkAll(d: string): Promise<void> {
  assert.equal(await stat('%n %F', ...['f', 'link', 'dangling', 'fifo', 'chr', 'blk', 'sock'].map((n) => join(d, n))), [
    `${d}/f regular file`, `${d}/link symbolic link`, `${d}/dangling symbolic link`, `${d}/fifo fifo`,
    `${d}/chr character special file`, `${d}/blk block special file`, `${d}/sock socket`,
  ]);
  assert.is((await shOk(`readlink ${d}/link ${d}/dangling`)).trim(), 'f\n/no/such/target');
  assert.is(await shOk(`cat ${d}/link`), 'data'); // followed by the kernel
  assert.equal(await stat('%s %a', `${d}/link`, `${d}/fifo`, `${d}/blk`), ['1 777', '0 640', '0 600']);
  assert.equal(await stat('%t:%T', `${d}/chr`, `${d}/blk`), ['1:3', '7:1']);
  const ls = (await shOk(`cd ${d} && ls -l f link dangling fifo chr blk sock | cut -c1`)).trim().split('\n').join('');
  assert.is(ls, 'bcl-pls'); // ls's order: blk chr dangling f fifo link sock
}

if (skip) {
  console.log(`FUSE tests skipped: ${skip}`);
  test.skip('FUSE special files', () => {});
} else {
  test.before(async () => {
    f = await openFuseEnv();
  });

  test.after(async () => {
    await f?.dispose();
  });

  test('symbolic links, a FIFO, devices and a socket: made, typed in stat and ls -l, kept by Strata', async () => {
    const d = join(f.dir, 'sp');
    await makeAll(d);
    await checkAll(d);
    const link = await f.env.fs.getStatus('/sp/link');
    assert.is(link.node, 'symlink');
    assert.is(link.target, 'f');
    assert.is(link.persistenceState, 'NOT_PERSISTED');
    const chr = await f.env.fs.getStatus('/sp/chr');
    assert.is(chr.node, 'char');
    assert.ok(chr.rdev! > 0);
    // Metadata only: nothing of them in the UFS.
    assert.is((await shOk(`ls ${f.env.ufsDir}/sp`)).trim(), 'f');
    // readlink of something else is EINVAL; a name taken is EEXIST.
    assert.match((await sh(`readlink -v ${d}/f`)).stderr, 'Invalid argument');
    assert.match((await sh(`ln -s x ${d}/f`)).stderr, 'File exists');
    assert.match((await sh(`mkfifo ${d}/link`)).stderr, 'File exists');
  });

  test('a FIFO in the mount carries bytes from a writer to a reader', async () => {
    const d = join(f.dir, 'pipe');
    await shOk(`mkdir ${d} && mkfifo ${d}/p`);
    const out = await shOk(`(printf 'through the fifo' > ${d}/p &) ; timeout 30 cat ${d}/p`);
    assert.is(out, 'through the fifo');
  });

  test('rename, chmod, chown, utimens (touch -h) and unlink of special files', async () => {
    const d = join(f.dir, 'ops');
    await shOk(`mkdir ${d} && cd ${d} && ln -s target l && mkfifo p && mknod c c 4 5`);
    await shOk(`cd ${d} && mv l l2 && mv p p2 && mkdir sub && mv c sub/c2`);
    assert.is((await shOk(`readlink ${d}/l2`)).trim(), 'target');
    await shOk(`chmod 0600 ${d}/p2 && chown -h 1234:4321 ${d}/l2 ${d}/p2 && touch -h -d @1000000000 ${d}/l2 && touch -d @1100000000 ${d}/p2`);
    assert.equal(await stat('%a %u %g %Y', `${d}/l2`, `${d}/p2`), ['777 1234 4321 1000000000', '600 1234 4321 1100000000']);
    assert.equal(await stat('%F %t:%T', `${d}/sub/c2`), ['character special file 4:5']);
    await shOk(`rm ${d}/l2 ${d}/p2 ${d}/sub/c2 && rmdir ${d}/sub`);
    assert.is((await shOk(`ls -A ${d}`)).trim(), '');
  });

  test('cp -a and tar round trips of a tree with symbolic links', async () => {
    const src = join(f.dir, 'tree');
    await shOk(`mkdir -p ${src}/a/b && printf one > ${src}/a/one && ln -s one ${src}/a/l1 && ln -s ../a/b ${src}/a/b/up && ln -s /etc/hostname ${src}/abs && mkfifo ${src}/a/fifo`);
    await shOk(`cp -a ${src} ${f.dir}/copy`);
    await shOk(`mkdir ${f.dir}/untar && tar -C ${src} -cf - . | tar -C ${f.dir}/untar -xf -`);
    for (const t of [`${f.dir}/copy`, `${f.dir}/untar`]) {
      assert.is((await shOk(`cd ${t} && readlink a/l1 a/b/up abs`)).trim(), 'one\n../a/b\n/etc/hostname', t);
      assert.is(await shOk(`cat ${t}/a/l1`), 'one');
      assert.equal(await stat('%F', `${t}/a/fifo`), ['fifo']);
    }
    // The archive of the mount's tree and of the copy list the same entries and types.
    const listing = (t: string) => shOk(`cd ${t} && find . | sort | while read p; do stat -c '%n %F' "$p"; done`);
    assert.is(await listing(`${f.dir}/copy`), await listing(src));
    assert.is(await listing(`${f.dir}/untar`), await listing(src));
  });

  test('a sync of the directory keeps special files (and shows what the UFS gained)', async () => {
    const d = join(f.dir, 'synced');
    await makeAll(d);
    await writeFile(join(f.env.ufsDir, 'synced', 'outside'), 'from the ufs');
    await f.env.fs.needsSync('/synced');
    await f.env.fs.loadMetadata('/synced', { recursive: true });
    await f.env.fs.checkConsistency('/synced', { recursive: true, repair: true });
    const names: string[] = [];
    for await (const page of f.env.fs.listStatus('/synced', { syncIntervalMs: 0 })) names.push(...page.map((i) => i.name));
    assert.equal(names.sort(), ['blk', 'chr', 'dangling', 'f', 'fifo', 'link', 'outside', 'sock']);
    await checkAll(d);
    // Persisting the directory leaves them in the namespace only.
    await f.env.fs.persist('/synced', { recursive: true });
    assert.is((await shOk(`ls ${f.env.ufsDir}/synced`)).trim().split('\n').sort().join(','), 'f,outside');
    assert.is((await f.env.fs.getStatus('/synced/fifo')).persistenceState, 'NOT_PERSISTED');
  });

  test('a directory has 2 + its subdirectories links, through mkdir, rename, rmdir and rm -r', async () => {
    const d = join(f.dir, 'links');
    await shOk(`mkdir -p ${d}/a/x ${d}/a/y ${d}/a/z/deep ${d}/b && touch ${d}/a/file`);
    assert.equal(await stat('%h', `${d}`, `${d}/a`, `${d}/a/x`, `${d}/a/z`, `${d}/a/file`), ['4', '5', '2', '3', '1']);
    await shOk(`mv ${d}/a/x ${d}/b/x && mv ${d}/a/y ${d}/a/y2`);
    assert.equal(await stat('%h', `${d}/a`, `${d}/b`), ['4', '3']);
    await shOk(`rmdir ${d}/b/x && rm -r ${d}/a/z`);
    assert.equal(await stat('%h', `${d}/a`, `${d}/b`), ['3', '2']);
    assert.is((await f.env.fs.getStatus('/links')).subdirs, 2);
    assert.is((await f.env.fs.getStatus('/links/b')).subdirs, undefined);
    // The listing carries the counts too (ls -l after a readdir).
    const byName = new Map<string, number | undefined>();
    for await (const page of f.env.fs.listStatus('/links')) for (const i of page) byName.set(i.name, i.subdirs);
    assert.is(byName.get('a'), 1);
    // A directory the UFS gained is counted when a sync loads it.
    await mkdir(join(f.env.ufsDir, 'links', 'b', 'from-ufs'));
    await f.env.fs.loadMetadata('/links/b');
    assert.is((await f.env.fs.getStatus('/links/b')).subdirs, 1);
  });

  test('createNode checks its options and readFile refuses special files', async () => {
    const fs = f.env.fs;
    assert.is(await code(fs.createNode('/bad1', {} as never)), ErrorCode.BAD_REQUEST);
    assert.is(await code(fs.createNode('/bad2', { kind: 'door' } as never)), ErrorCode.BAD_REQUEST);
    assert.is(await code(fs.createNode('/bad3', { kind: 'symlink' })), ErrorCode.INVALID_ARGUMENT);
    assert.is(await code(fs.createNode('/bad4', { kind: 'symlink', target: 'x'.repeat(4096) })), ErrorCode.INVALID_ARGUMENT);
    assert.is(await code(fs.createNode('/bad5', { kind: 'fifo', target: 'x' })), ErrorCode.BAD_REQUEST);
    assert.is(await code(fs.createNode('/bad6', { kind: 'fifo', rdev: 5 })), ErrorCode.BAD_REQUEST);
    assert.is(await code(fs.createNode('/bad7', { kind: 'char', rdev: -1 })), ErrorCode.BAD_REQUEST);
    assert.is(await code(fs.createNode('/no/parent', { kind: 'fifo' })), ErrorCode.NOT_FOUND);
    const l = await fs.createNode('/api-link', { kind: 'symlink', target: 'x'.repeat(4095), uid: 7, gid: 8 });
    assert.is(l.length, 4095);
    assert.is(l.uid, 7);
    assert.is(await code(fs.createNode('/api-link', { kind: 'fifo' })), ErrorCode.ALREADY_EXISTS);
    assert.is(await code((async () => { for await (const _ of fs.readFile('/api-link')) { /* nothing */ } })()), ErrorCode.INVALID_ARGUMENT);
    await fs.delete('/api-link');
  });

  test('the metadata upgrade counts subdirectories of a store written without counts', async () => {
    const env = await openEnv();
    try {
      for (const p of ['/upg', '/upg/a', '/upg/b', '/upg/c', '/upg/c/d']) await env.fs.createDirectory(p);
      await env.fs.close();
      // The store as a version-2 build left it: no counts.
      const store = openStrataStore(lmdbUri(join(env.dataDir, 'meta')));
      await store.transact((tx) => {
        for (const { key } of tx.range('subdirs', {})) tx.del('subdirs', key);
        tx.put('sys', 'format', { ...(tx.get<object>('sys', 'format')!), version: 2 });
      });
      await store.close();
      env.fs = await Coordinator.open({ dataDir: env.dataDir, rootUfs: fileUri(env.ufsDir), config: env.config });
      assert.is((await env.fs.getStatus('/upg')).subdirs, 3);
      assert.is((await env.fs.getStatus('/upg/c')).subdirs, 1);
      assert.is((await env.fs.getStatus('/upg/a')).subdirs, undefined);
      assert.is((await env.fs.getStatus('/')).subdirs, 1);
    } finally {
      await env.dispose();
    }
  });

  // ------------------------------------------------------------------ over TCP

  test('over TCP: special files and link counts through a server restart', async () => {
    const daemons: ChildProcess[] = [];
    const dirs: string[] = [];
    let srv: ServerHandle | undefined;
    const mountAt = async (address: string, token: string | undefined): Promise<{ dir: string; proc: ChildProcess; exited: Promise<unknown> }> => {
      const dir = await tempDir('strata-fuse-special-');
      dirs.push(dir);
      const proc = spawn(process.execPath, [BIN, 'fuse', 'mount', dir, '--address', address], {
        cwd: ROOT, env: { ...process.env, STRATA_LOG_LEVEL: 'warn', ...(token ? { STRATA_TOKEN: token } : {}) }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      daemons.push(proc);
      let out = '';
      let err = '';
      proc.stderr!.on('data', (b: Buffer) => { err += b; });
      const exited = new Promise((r) => proc.once('exit', r));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no mounted line\n${err}`)), 90_000);
        proc.stdout!.on('data', (b: Buffer) => {
          out += b;
          if (/^strata fuse mounted /m.test(out)) { clearTimeout(timer); resolve(); }
        });
        void exited.then(() => { clearTimeout(timer); reject(new Error(`the daemon exited\n${err}`)); });
      });
      return { dir, proc, exited };
    };
    try {
      srv = await startServer({ timeoutMs: 180_000 });
      const m1 = await mountAt(srv.address, srv.token);
      const d = join(m1.dir, 'tcp');
      await makeAll(d);
      await shOk(`mkdir -p ${d}/s1 ${d}/s2/s3`);
      await checkAll(d);
      assert.equal(await stat('%h', d, `${d}/s2`), ['4', '3']);
      assert.is(await shOk(`(printf 'tcp fifo' > ${d}/fifo &) ; timeout 30 cat ${d}/fifo`), 'tcp fifo');
      m1.proc.kill('SIGTERM');
      await m1.exited;
      await srv.stop();
      srv = await startServer({ dataDir: srv.dataDir, timeoutMs: 180_000 });
      const m2 = await mountAt(srv.address, srv.token);
      await checkAll(join(m2.dir, 'tcp'));
      assert.equal(await stat('%h', join(m2.dir, 'tcp'), join(m2.dir, 'tcp', 's2')), ['4', '3']);
      m2.proc.kill('SIGTERM');
      await m2.exited;
    } finally {
      for (const p of daemons) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      for (const dir of dirs) {
        await forceUnmount(dir).catch(() => undefined);
        await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      }
      await srv?.stop();
      if (srv) await rm(srv.dataDir, { recursive: true, force: true });
    }
  });
}

test.run();
