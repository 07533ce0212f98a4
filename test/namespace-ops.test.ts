// Namespace operations of the FileSystem interface, run twice with one parameterised suite:
// on the Coordinator in library mode and through a real TCP server + StrataClient.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileSystem } from '../src/fs.js';
import { codeOf, list, names, openEnv, readAll, readText, serveTcp } from './helpers/fixture.js';
import type { Env, TcpEnv } from './helpers/fixture.js';

function namespaceSuite(mode: 'library' | 'tcp') {
  const ctx: { env?: Env; tcp?: TcpEnv; fs?: FileSystem } = {};
  const test = suite(`namespace ops (${mode})`);
  const fs = () => ctx.fs!;

  test.before(async () => {
    ctx.env = await openEnv();
    if (mode === 'tcp') {
      ctx.tcp = await serveTcp(ctx.env.fs);
      ctx.fs = ctx.tcp.client;
    } else {
      ctx.fs = ctx.env.fs;
    }
  });
  test.after(async () => {
    await ctx.tcp?.close();
    await ctx.env?.dispose();
  });

  test('creates and mkdirs in flight together in one directory leave its mtime and ctime at the last one', async () => {
    await fs().createDirectory('/times', { writeType: 'MUST_CACHE' });
    const PAST = 1_000_000_000_000;
    for (let round = 0; round < 3; round++) {
      await fs().setAttributes('/times', { mtimeMs: PAST });
      assert.is((await fs().getStatus('/times')).mtimeMs, PAST);
      const t0 = Date.now();
      const made = await Promise.all(Array.from({ length: 16 }, (_, i) => i % 4 === 3
        ? fs().createDirectory(`/times/d${round}-${i}`, { writeType: 'MUST_CACHE' })
        : fs().writeFile(`/times/f${round}-${i}`, Buffer.from(`x${i}`), { writeType: 'MUST_CACHE' })));
      const t1 = Date.now();
      const dir = await fs().getStatus('/times');
      assert.ok(dir.mtimeMs >= t0 && dir.mtimeMs <= t1, `directory mtime ${dir.mtimeMs} not within [${t0}, ${t1}]`);
      assert.is(dir.ctimeMs, dir.mtimeMs);
      // No create came after the directory's last change.
      for (const m of made) assert.ok((m.ctimeMs ?? m.mtimeMs) <= dir.mtimeMs, `${m.path} changed at ${m.ctimeMs ?? m.mtimeMs}, after its directory's mtime ${dir.mtimeMs}`);
    }
  });

  test('mkdir -p creates every level, in Strata and in the UFS; mkdir of an existing dir', async () => {
    const info = await fs().createDirectory('/a/b/c', { recursive: true });
    assert.is(info.type, 'directory');
    assert.is(info.path, '/a/b/c');
    assert.ok(existsSync(join(ctx.env!.ufsDir, 'a/b/c')));
    assert.is((await fs().getStatus('/a/b')).type, 'directory');
    assert.is(await codeOf(fs().createDirectory('/a/b/c')), 'ALREADY_EXISTS');
    // -p on an existing directory succeeds
    assert.is((await fs().createDirectory('/a/b/c', { recursive: true })).path, '/a/b/c');
    assert.is(await codeOf(fs().createDirectory('/x/y')), 'NOT_FOUND');
  });

  test('writeFile then readFile: whole, ranged, tail', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    const info = await fs().writeFile('/a/f.txt', data);
    assert.is(info.length, 20);
    assert.is(info.type, 'file');
    assert.is(readFileSync(join(ctx.env!.ufsDir, 'a/f.txt'), 'utf8'), data.toString());
    assert.is(await readText(fs(), '/a/f.txt'), data.toString());
    assert.is(await readText(fs(), '/a/f.txt', { offset: 5, length: 4 }), '5678');
    assert.is(await readText(fs(), '/a/f.txt', { offset: 15 }), 'fghij');
    assert.is(await readText(fs(), '/a/f.txt', { tail: 3 }), 'hij');
    assert.is(await readText(fs(), '/a/f.txt', { tail: 100 }), data.toString());
    // streamed source in chunks
    async function* chunks() { for (let i = 0; i < 5; i++) yield Buffer.from(`chunk${i};`); }
    await fs().writeFile('/a/streamed', chunks());
    assert.is(await readText(fs(), '/a/streamed'), 'chunk0;chunk1;chunk2;chunk3;chunk4;');
  });

  test('write without overwrite refuses an existing file; overwrite replaces it', async () => {
    await fs().writeFile('/a/ow', Buffer.from('one'));
    assert.is(await codeOf(fs().writeFile('/a/ow', Buffer.from('two'))), 'ALREADY_EXISTS');
    assert.is(await readText(fs(), '/a/ow'), 'one');
    await fs().writeFile('/a/ow', Buffer.from('second'), { overwrite: true });
    assert.is(await readText(fs(), '/a/ow'), 'second');
    assert.is((await fs().getStatus('/a/ow')).length, 6);
  });

  test('error codes: NOT_FOUND, IS_A_DIRECTORY, NOT_A_DIRECTORY', async () => {
    assert.is(await codeOf(fs().getStatus('/nope')), 'NOT_FOUND');
    assert.is(await fs().exists('/nope'), false);
    assert.is(await fs().exists('/a/f.txt'), true);
    assert.is(await codeOf(readAll(fs().readFile('/nope'))), 'NOT_FOUND');
    assert.is(await codeOf(readAll(fs().readFile('/a'))), 'IS_A_DIRECTORY');
    assert.is(await codeOf(fs().writeFile('/a', Buffer.from('x'), { overwrite: true })), 'IS_A_DIRECTORY');
    assert.is(await codeOf(fs().writeFile('/a/f.txt/child', Buffer.from('x'))), 'NOT_A_DIRECTORY');
    assert.is(await codeOf(fs().createDirectory('/a/f.txt/d', { recursive: true })), 'NOT_A_DIRECTORY');
    assert.is(await codeOf(fs().writeFile('/missing/dir/f', Buffer.from('x'))), 'NOT_FOUND');
    assert.is(await codeOf(fs().delete('/nope')), 'NOT_FOUND');
    assert.is(await codeOf(fs().rename('/nope', '/nope2')), 'NOT_FOUND');
  });

  test('writeFile with recursive creates parents', async () => {
    await fs().writeFile('/r1/r2/r3/f', Buffer.from('deep'), { recursive: true });
    assert.is(await readText(fs(), '/r1/r2/r3/f'), 'deep');
    assert.is((await fs().getStatus('/r1/r2')).type, 'directory');
  });

  test('listStatus: one level, recursive parents first, file itself', async () => {
    await fs().createDirectory('/l/d1/d2', { recursive: true });
    await fs().writeFile('/l/f1', Buffer.from('1'));
    await fs().writeFile('/l/d1/f2', Buffer.from('22'));
    await fs().writeFile('/l/d1/d2/f3', Buffer.from('333'));
    assert.equal(await names(fs(), '/l'), ['d1', 'f1']);
    const rec = await list(fs(), '/l', { recursive: true });
    const paths = rec.map((f) => f.path);
    assert.equal([...paths].sort(), ['/l/d1', '/l/d1/d2', '/l/d1/d2/f3', '/l/d1/f2', '/l/f1']);
    assert.ok(paths.indexOf('/l/d1') < paths.indexOf('/l/d1/f2'));
    assert.ok(paths.indexOf('/l/d1/d2') < paths.indexOf('/l/d1/d2/f3'));
    const self = await list(fs(), '/l/f1');
    assert.is(self.length, 1);
    assert.is(self[0]!.path, '/l/f1');
    assert.is(await codeOf(list(fs(), '/l/none')), 'NOT_FOUND');
  });

  test('listStatus pages a directory of 2,600 entries', async () => {
    await fs().createDirectory('/big');
    const N = 2600;
    const want: string[] = [];
    for (let i = 0; i < N; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => {
        const name = `f${String(i + j).padStart(5, '0')}`;
        want.push(name);
        return fs().writeFile(`/big/${name}`, Buffer.from('x'), { writeType: 'MUST_CACHE' });
      }));
    }
    let pages = 0;
    const got: string[] = [];
    for await (const page of fs().listStatus('/big', { pageSize: 500 })) {
      pages++;
      assert.ok(page.length <= 500, `page of ${page.length}`);
      got.push(...page.map((f) => f.name));
    }
    assert.ok(pages >= 6, `pages: ${pages}`);
    assert.equal(got, want.sort());
    // default page size (server cap) still pages
    let defaultPages = 0;
    let total = 0;
    for await (const page of fs().listStatus('/big')) { defaultPages++; total += page.length; }
    assert.is(total, N);
    assert.ok(defaultPages >= 3, `default pages: ${defaultPages}`);
    const rec = await list(fs(), '/big', { recursive: true, pageSize: 700 });
    assert.is(rec.length, N);
    assert.is(new Set(rec.map((f) => f.path)).size, N);
  });

  test('delete: file, empty dir, non-empty refused without recursive, recursive', async () => {
    await fs().createDirectory('/del/sub', { recursive: true });
    await fs().writeFile('/del/sub/f', Buffer.from('x'));
    await fs().writeFile('/del/g', Buffer.from('y'));
    assert.is(await codeOf(fs().delete('/del')), 'DIRECTORY_NOT_EMPTY');
    assert.ok(await fs().exists('/del/sub/f'));
    assert.ok(existsSync(join(ctx.env!.ufsDir, 'del/sub/f')));
    await fs().delete('/del/g');
    assert.not.ok(await fs().exists('/del/g'));
    assert.not.ok(existsSync(join(ctx.env!.ufsDir, 'del/g')));
    await fs().createDirectory('/del/empty');
    await fs().delete('/del/empty');
    assert.not.ok(await fs().exists('/del/empty'));
    await fs().delete('/del', { recursive: true });
    assert.not.ok(await fs().exists('/del'));
    assert.not.ok(await fs().exists('/del/sub/f'));
    assert.not.ok(existsSync(join(ctx.env!.ufsDir, 'del')));
    assert.is(await codeOf(fs().delete('/')), 'INVALID_PATH');
  });

  test('rename: file, directory, into an existing directory, onto an existing file', async () => {
    await fs().createDirectory('/mv/src/inner', { recursive: true });
    await fs().writeFile('/mv/src/inner/f', Buffer.from('inner'));
    await fs().writeFile('/mv/file', Buffer.from('file'));
    const before = await fs().getStatus('/mv/file');
    await fs().rename('/mv/file', '/mv/file2');
    assert.not.ok(await fs().exists('/mv/file'));
    const after = await fs().getStatus('/mv/file2');
    assert.is(after.fileId, before.fileId);
    assert.is(await readText(fs(), '/mv/file2'), 'file');
    assert.ok(existsSync(join(ctx.env!.ufsDir, 'mv/file2')));
    assert.not.ok(existsSync(join(ctx.env!.ufsDir, 'mv/file')));
    // directory rename carries the subtree
    await fs().rename('/mv/src', '/mv/dst');
    assert.is(await readText(fs(), '/mv/dst/inner/f'), 'inner');
    assert.not.ok(await fs().exists('/mv/src'));
    // into an existing directory: lands below it under its own name
    await fs().createDirectory('/mv/target');
    await fs().rename('/mv/file2', '/mv/target');
    assert.is(await readText(fs(), '/mv/target/file2'), 'file');
    assert.ok(existsSync(join(ctx.env!.ufsDir, 'mv/target/file2')));
    // onto an existing file: refused, nothing changes
    await fs().writeFile('/mv/a', Buffer.from('A'));
    await fs().writeFile('/mv/b', Buffer.from('B'));
    assert.is(await codeOf(fs().rename('/mv/a', '/mv/b')), 'ALREADY_EXISTS');
    assert.is(await readText(fs(), '/mv/a'), 'A');
    assert.is(await readText(fs(), '/mv/b'), 'B');
    // into itself: refused
    assert.is(await codeOf(fs().rename('/mv/dst', '/mv/dst/inner/x')), 'INVALID_PATH');
    // missing destination parent
    assert.is(await codeOf(fs().rename('/mv/a', '/mv/nodir/a')), 'NOT_FOUND');
    assert.ok(await fs().exists('/mv/a'));
  });

  test('getStatus fields', async () => {
    const st = await fs().getStatus('/a/f.txt');
    assert.is(st.name, 'f.txt');
    assert.is(st.mountPoint, '/');
    assert.ok(st.ufsPath.startsWith('file://'));
    assert.ok(st.ufsPath.endsWith('/a/f.txt'));
    assert.is(st.persistenceState, 'PERSISTED');
    assert.type(st.fileId, 'number');
    const root = await fs().getStatus('/');
    assert.is(root.type, 'directory');
  });

  return test;
}

namespaceSuite('library').run();
namespaceSuite('tcp').run();
