// The UFS contract: what every `Ufs` promises the rest of Strata, as one uvu suite run against
// each registered UFS (test/ufs-contract.test.ts). Listing order and paging, NOT_FOUND /
// NOT_A_DIRECTORY / IS_A_DIRECTORY, invalid paths, ranged reads, atomic writes (no partial
// object is ever visible; a failed or aborted write leaves nothing), rename, deletes, mkdir,
// getStatus fields and fingerprints, and the optional capabilities it declares. A new UFS
// (HDFS, GCS) registers itself with one `ufsContract({...})` line and starts with these tests;
// what only one engine does (S3 markers, local symlinks) stays in that engine's own test file.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';

import type { Ufs, UfsCapability, UfsStatus } from '../../src/ufs/ufs.js';
import { ufsCapabilities } from '../../src/ufs/ufs.js';
import { ErrorCode, StrataError } from '../../src/errors.js';
import { listAll, readAll, rejects } from './assert.js';

/** One UFS under test. */
export interface ContractTarget {
  /** Suite name, e.g. 'local' or 's3'. */
  name: string;
  /** Called once before the tests (start servers, make a bucket); returns the UFS maker. */
  setUp(): Promise<{
    /** A Ufs on a fresh, empty root (each test gets its own). */
    fresh(): Promise<Ufs>;
    /** Remove everything setUp and fresh made. */
    dispose(): Promise<void>;
  }>;
  /** The optional capabilities this UFS has (checked both ways: present and absent). */
  capabilities: UfsCapability[];
  /** Whether rename is atomic (local: rename(2)); false for copy + delete (S3). */
  atomicRename: boolean;
}

async function* chunks(...parts: Array<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}

const names = (es: UfsStatus[]): string[] => es.map((e) => `${e.name}${e.type === 'directory' ? '/' : ''}`);
const text = async (ufs: Ufs, path: string): Promise<string> => (await readAll(ufs.read(path))).toString();

/** A source that yields `first`, then waits until `release()` before yielding `rest` (or failing). */
function gatedSource(first: string, rest: string): { source: AsyncGenerator<Uint8Array>; started: Promise<void>; release(fail?: Error): void } {
  let release!: (fail?: Error) => void;
  let started!: () => void;
  const gate = new Promise<Error | undefined>((r) => { release = r; });
  const startedP = new Promise<void>((r) => { started = r; });
  async function* source(): AsyncGenerator<Uint8Array> {
    yield Buffer.from(first);
    started();
    const fail = await gate;
    if (fail) throw fail;
    yield Buffer.from(rest);
  }
  return { source: source(), started: startedP, release };
}

/** Wait (bounded) until the UFS has pulled the first chunk of a gated source. */
async function pulled(started: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([started, new Promise<void>((_, reject) => { timer = setTimeout(() => reject(new Error('the UFS never read the source')), 30_000); })]);
  clearTimeout(timer);
}

/** Register and run the contract suite for one UFS. */
export function ufsContract(target: ContractTarget): void {
  const t = suite(`ufs contract: ${target.name}`);
  let env: Awaited<ReturnType<ContractTarget['setUp']>> | undefined;
  const made: Ufs[] = [];
  const fresh = async (): Promise<Ufs> => {
    const u = await env!.fresh();
    made.push(u);
    return u;
  };

  t.before(async () => { env = await target.setUp(); });
  t.after(async () => {
    for (const u of made) await u.close().catch(() => undefined);
    await env?.dispose();
  });

  t('capabilities: exactly the declared optional members, each callable', async () => {
    const ufs = await fresh();
    assert.equal(ufsCapabilities(ufs).sort(), [...target.capabilities].sort());
    await ufs.check();
    if (ufs.validatePath) {
      ufs.validatePath('a/b.txt');
      assert.throws(() => ufs.validatePath!('../x'));
    }
    if (ufs.watcher) {
      // Built without I/O (start() would set it up); its shape is what active sync relies on.
      const w = ufs.watcher({
        dir: '', label: '/contract', log: { info() {}, warn() {} } as never,
        cb: { onReady() {}, onEvents() {}, onLost() {}, onDegraded() {} },
      });
      assert.type(w.kind, 'string');
      assert.type(w.start, 'function');
      assert.type(w.stop, 'function');
    }
    if (ufs.cleanupInterruptedWrites) {
      await ufs.write('kept/file', chunks('committed'));
      const ac = new AbortController();
      ac.abort();
      await rejects(ufs.write('kept/aborted', chunks('x'), { signal: ac.signal }), 'CANCELLED');
      const n = await ufs.cleanupInterruptedWrites();
      assert.ok(Number.isInteger(n) && n >= 0);
      assert.is(await ufs.cleanupInterruptedWrites({ before: Date.now() + 1000 }), 0, 'nothing interrupted is left by a failed write');
      assert.equal(names((await listAll(ufs, 'kept')).entries), ['file']);
      assert.is(await text(ufs, 'kept/file'), 'committed');
    }
  });

  t('invalid paths are INVALID_PATH before any I/O', async () => {
    const ufs = await fresh();
    for (const bad of ['..', 'a/../b', '/etc/passwd', 'a\0b', 'a//b', 'a/', './a']) {
      await rejects(() => ufs.getStatus(bad), 'INVALID_PATH');
      await rejects(() => ufs.write(bad, chunks('x')), 'INVALID_PATH');
      await rejects(() => listAll(ufs, bad), 'INVALID_PATH');
    }
  });

  t('getStatus: fields of files, directories and the root; null when absent', async () => {
    const ufs = await fresh();
    const written = await ufs.write('a/b/c.txt', chunks('hello ', 'world'));
    assert.is(written.name, 'c.txt');
    assert.is(written.type, 'file');
    assert.is(written.length, 11);
    const st = (await ufs.getStatus('a/b/c.txt'))!;
    for (const k of ['name', 'type', 'length', 'mtimeMs', 'contentHash', 'metaHash'] as const) assert.equal(st[k], written[k], k);
    assert.ok(Number.isFinite(st.mtimeMs) && st.mtimeMs > 0, `mtimeMs ${st.mtimeMs}`);
    assert.type(st.contentHash, 'string');
    assert.ok(st.contentHash.length > 0 && st.metaHash.length > 0);
    const dir = (await ufs.getStatus('a/b'))!;
    assert.is(dir.type, 'directory');
    assert.is(dir.name, 'b');
    assert.is(dir.length, 0);
    const root = (await ufs.getStatus(''))!;
    assert.is(root.type, 'directory');
    assert.is(root.name, '');
    assert.is(await ufs.getStatus('nope'), null);
    assert.is(await ufs.getStatus('a/b/c'), null);
    assert.is(await ufs.getStatus('a/b/c.txt/under-a-file'), null);
    // A listing says what getStatus says.
    const listed = (await listAll(ufs, 'a/b')).entries.find((e) => e.name === 'c.txt')!;
    for (const k of ['type', 'length', 'mtimeMs', 'contentHash', 'metaHash'] as const) assert.equal(listed[k], st[k], k);
  });

  t('fingerprints: new content changes contentHash; a directory\'s does not follow its children', async () => {
    const ufs = await fresh();
    const a = await ufs.write('f', chunks('abc'));
    assert.is((await ufs.getStatus('f'))!.contentHash, a.contentHash, 'stable while unchanged');
    const b = await ufs.write('f', chunks('abcdef'));
    assert.is.not(b.contentHash, a.contentHash);
    await ufs.mkdir('d');
    const d1 = (await ufs.getStatus('d'))!;
    await ufs.write('d/child', chunks('x'));
    const d2 = (await ufs.getStatus('d'))!;
    assert.is(d2.contentHash, d1.contentHash);
    // A read pinned to a fingerprint serves that version or nothing.
    assert.is(await text(ufs, 'f'), 'abcdef');
    assert.is((await readAll(ufs.read('f', { fingerprint: b.contentHash }))).toString(), 'abcdef');
    await rejects(readAll(ufs.read('f', { fingerprint: a.contentHash })), 'FAILED_PRECONDITION');
  });

  t('list: sorted by name, paged, empty directories, NOT_FOUND / NOT_A_DIRECTORY', async () => {
    const ufs = await fresh();
    for (const n of ['b', 'B', 'a.txt', 'a-z', 'a0']) await ufs.write(n, chunks(n));
    await ufs.write('a/inner', chunks('i'));
    await ufs.mkdir('empty');
    assert.equal(names((await listAll(ufs, '')).entries), ['B', 'a/', 'a-z', 'a.txt', 'a0', 'b', 'empty/']);
    assert.equal((await listAll(ufs, 'empty')).entries, []);
    await rejects(listAll(ufs, 'missing'), 'NOT_FOUND');
    await rejects(listAll(ufs, 'b'), 'NOT_A_DIRECTORY');
    await rejects(listAll(ufs, '', { pageSize: 0 }), 'INVALID_ARGUMENT');
    // Paging: no page over pageSize, no empty page, nothing lost or repeated, order kept.
    const want: string[] = [];
    for (let i = 0; i < 23; i++) {
      const n = `f${String(i).padStart(2, '0')}`;
      want.push(n);
      await ufs.write(`many/${n}`, chunks('x'.repeat(i)));
    }
    await ufs.mkdir('many/sub');
    want.push('sub');
    const { pages, entries } = await listAll(ufs, 'many', { pageSize: 5 });
    assert.ok(pages.length >= 5, `pages: ${pages.length}`);
    assert.ok(pages.every((p) => p.length > 0 && p.length <= 5), `page sizes ${pages.map((p) => p.length)}`);
    assert.equal(entries.map((e) => e.name), want);
    assert.is(entries[7]!.length, 7);
    assert.is(entries.at(-1)!.type, 'directory');
    // A consumer that stops early does not hang.
    for await (const page of ufs.list('many', { pageSize: 5 })) {
      assert.ok(page.length > 0);
      break;
    }
  });

  t('list recursive: names relative, parents before children, no duplicates, paged', async () => {
    const ufs = await fresh();
    const expected = new Set<string>();
    for (const d of ['x', 'x/y', 'x/y/z', 'w']) expected.add(d);
    for (const f of ['x/1', 'x/y/2', 'x/y/z/3', 'x/y/z/4', 'w/5', 'top']) {
      await ufs.write(`t/${f}`, chunks(f));
      expected.add(f);
    }
    await ufs.mkdir('t/x/emptydir');
    expected.add('x/emptydir');
    const { pages, entries } = await listAll(ufs, 't', { recursive: true, pageSize: 3 });
    // Paged, no empty page. An object store's page holds `pageSize` keys plus the directories
    // it synthesises from them, so a recursive page may be longer than pageSize (S3).
    assert.ok(pages.length >= 3 && pages.every((p) => p.length > 0), `page sizes ${pages.map((p) => p.length)}`);
    const got = entries.map((e) => e.name);
    assert.is(new Set(got).size, got.length, 'no duplicates');
    assert.equal(new Set(got), expected);
    const seen = new Set<string>();
    for (const n of got) {
      const parent = n.includes('/') ? n.slice(0, n.lastIndexOf('/')) : '';
      assert.ok(parent === '' || seen.has(parent), `${n} listed before its parent`);
      seen.add(n);
    }
    assert.is(entries.find((e) => e.name === 'x/y/z/3')!.length, 'x/y/z/3'.length);
  });

  t('read: whole, ranged, past the end, errors, abort', async () => {
    const ufs = await fresh();
    const data = randomBytes(3 * 1024 * 1024 + 17);
    await ufs.write('r.bin', chunks(data));
    assert.ok((await readAll(ufs.read('r.bin'))).equals(data));
    assert.ok((await readAll(ufs.read('r.bin', { offset: 1000, length: 5000 }))).equals(data.subarray(1000, 6000)));
    assert.ok((await readAll(ufs.read('r.bin', { offset: data.length - 10 }))).equals(data.subarray(data.length - 10)));
    assert.ok((await readAll(ufs.read('r.bin', { offset: data.length - 10, length: 100 }))).equals(data.subarray(data.length - 10)));
    assert.is((await readAll(ufs.read('r.bin', { offset: data.length }))).length, 0);
    assert.is((await readAll(ufs.read('r.bin', { offset: 5, length: 0 }))).length, 0);
    await ufs.write('empty', chunks());
    assert.is((await readAll(ufs.read('empty'))).length, 0);
    assert.is((await ufs.getStatus('empty'))!.length, 0);
    await rejects(readAll(ufs.read('r.bin', { offset: -1 })), 'INVALID_ARGUMENT');
    await rejects(readAll(ufs.read('missing')), 'NOT_FOUND');
    await rejects(readAll(ufs.read('missing', { offset: 3, length: 0 })), 'NOT_FOUND');
    await ufs.mkdir('dir');
    await rejects(readAll(ufs.read('dir')), 'IS_A_DIRECTORY');
    const ac = new AbortController();
    ac.abort();
    await rejects(readAll(ufs.read('r.bin', { signal: ac.signal })), 'CANCELLED');
  });

  t('write: overwrite, overwrite=false, recursive=false, the root and directories refused', async () => {
    const ufs = await fresh();
    await ufs.write('f', chunks('one'));
    await rejects(ufs.write('f', chunks('two'), { overwrite: false }), 'ALREADY_EXISTS');
    assert.is(await text(ufs, 'f'), 'one');
    await ufs.write('f', chunks('three'));
    assert.is(await text(ufs, 'f'), 'three');
    assert.is((await ufs.write('g', chunks('new'), { overwrite: false })).length, 3);
    await rejects(ufs.write('x/y', chunks('z'), { recursive: false }), 'NOT_FOUND');
    await rejects(ufs.write('f/under', chunks('z'), { recursive: false }), 'NOT_A_DIRECTORY');
    await rejects(ufs.write('', chunks('z')), 'IS_A_DIRECTORY');
    await ufs.mkdir('d');
    await rejects(ufs.write('d', chunks('z')), 'IS_A_DIRECTORY');
    await ufs.write('d/x', chunks('x'), { recursive: false });
    assert.equal(names((await listAll(ufs, '')).entries), ['d/', 'f', 'g']);
  });

  t('write is atomic: while it runs readers see the old file or nothing; it lands whole', async () => {
    const ufs = await fresh();
    await ufs.write('old', chunks('before'));
    const before = names((await listAll(ufs, '', { recursive: true })).entries);
    for (const path of ['old', 'new']) {
      const g = gatedSource('partial-', 'rest');
      const writing = ufs.write(path, g.source);
      await pulled(g.started);
      if (path === 'old') assert.is(await text(ufs, 'old'), 'before');
      else assert.is(await ufs.getStatus('new'), null);
      assert.equal(names((await listAll(ufs, '', { recursive: true })).entries), before, 'nothing partial is listed');
      g.release();
      const st = await writing;
      assert.is(st.length, 'partial-rest'.length);
      assert.is(await text(ufs, path), 'partial-rest');
    }
  });

  t('beforePlace: awaited before the file can appear; its failure fails the write with nothing placed', async () => {
    const ufs = await fresh();
    await ufs.write('old', chunks('before'));
    for (const path of ['old', 'new', 'sub/new']) {
      let calls = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => { release = r; });
      let entered!: () => void;
      const waiting = new Promise<void>((r) => { entered = r; });
      const writing = ufs.write(path, chunks('after'), { beforePlace: () => { calls++; entered(); return gate; } });
      await waiting;
      // Held in beforePlace: the old content (or nothing) is all a reader can see.
      if (path === 'old') assert.is(await text(ufs, 'old'), 'before');
      else assert.is(await ufs.getStatus(path), null);
      release();
      assert.is((await writing).length, 5);
      assert.is(await text(ufs, path), 'after');
      assert.is(calls, 1);
    }
    for (const path of ['old', 'fresh', 'sub/fresh']) {
      const failing = ufs.write(path, chunks('never'), { beforePlace: () => Promise.reject(new Error('intent not durable')) });
      await failing.then(() => assert.unreachable('must fail'), () => undefined);
    }
    assert.is(await text(ufs, 'old'), 'after');
    assert.is(await ufs.getStatus('fresh'), null);
    assert.is(await ufs.getStatus('sub/fresh'), null);
    assert.equal(names((await listAll(ufs, '', { recursive: true })).entries), ['new', 'old', 'sub/', 'sub/new']);
  });

  t('afterPlace: called once the file is visible, with its status; write waits for it and fails with it', async () => {
    const ufs = await fresh();
    let seen: UfsStatus | undefined;
    let visible: string | undefined;
    let done = false;
    const st = await ufs.write('a/placed', chunks('content'), {
      afterPlace: async (s) => {
        seen = s;
        visible = await text(ufs, 'a/placed');
        await new Promise((r) => setTimeout(r, 20));
        done = true;
      },
    });
    assert.ok(done, 'write resolved after afterPlace');
    assert.is(visible, 'content', 'the file is readable when afterPlace runs');
    assert.is(seen?.contentHash, st.contentHash);
    assert.is(seen?.length, 7);
    await rejects(ufs.write('a/placed', chunks('second'), { afterPlace: () => Promise.reject(new StrataError(ErrorCode.UFS_UNAVAILABLE, 'commit failed')) }), 'UFS_UNAVAILABLE');
    assert.is(await text(ufs, 'a/placed'), 'second', 'placed before afterPlace ran: it stays');
  });

  t('a failed write leaves nothing: the old file stays, a new one never appears', async () => {
    const ufs = await fresh();
    await ufs.write('keep', chunks('old'));
    for (const path of ['keep', 'fresh', 'sub/fresh']) {
      const g = gatedSource('partial', 'never');
      const writing = ufs.write(path, g.source);
      writing.catch(() => undefined);
      await pulled(g.started);
      g.release(new Error('source broke'));
      await writing.then(() => assert.unreachable('must fail'), () => undefined);
    }
    assert.is(await text(ufs, 'keep'), 'old');
    assert.is(await ufs.getStatus('fresh'), null);
    assert.is(await ufs.getStatus('sub/fresh'), null);
    assert.equal(names((await listAll(ufs, '', { recursive: true })).entries).filter((n) => n !== 'sub/'), ['keep']);
  });

  t('abort of a write: CANCELLED, before or during; nothing left, the old file intact', async () => {
    const ufs = await fresh();
    await ufs.write('keep', chunks('old'));
    const ac = new AbortController();
    ac.abort();
    await rejects(ufs.write('early', chunks('x'), { signal: ac.signal }), 'CANCELLED');
    for (const path of ['keep', 'late']) {
      const mid = new AbortController();
      const g = gatedSource('half', 'other half');
      const writing = ufs.write(path, g.source, { signal: mid.signal });
      writing.catch(() => undefined);
      await pulled(g.started);
      mid.abort();
      g.release();
      await rejects(writing, 'CANCELLED');
    }
    assert.is(await text(ufs, 'keep'), 'old');
    assert.is(await ufs.getStatus('early'), null);
    assert.is(await ufs.getStatus('late'), null);
    assert.equal(names((await listAll(ufs, '')).entries), ['keep']);
  });

  t('mkdir: recursive or not, existing, under a file', async () => {
    const ufs = await fresh();
    await ufs.mkdir('a');
    await rejects(ufs.mkdir('a'), 'ALREADY_EXISTS');
    await ufs.mkdir('a', { recursive: true });
    await rejects(ufs.mkdir('x/y/z'), 'NOT_FOUND');
    await ufs.mkdir('x/y/z', { recursive: true });
    assert.is((await ufs.getStatus('x/y'))!.type, 'directory');
    assert.is((await ufs.getStatus('x/y/z'))!.type, 'directory');
    await ufs.mkdir('', { recursive: true });
    await ufs.write('file', chunks('x'));
    await rejects(ufs.mkdir('file', { recursive: true }), 'NOT_A_DIRECTORY');
    await rejects(ufs.mkdir('file'), 'ALREADY_EXISTS');
    await rejects(ufs.mkdir('file/sub'), 'NOT_A_DIRECTORY');
  });

  t('delete: files, empty and non-empty directories, missing is fine, the root refused, the parent stays', async () => {
    const ufs = await fresh();
    await ufs.write('d/e/f', chunks('x'));
    await ufs.write('g', chunks('x'));
    await ufs.delete('g');
    assert.is(await ufs.getStatus('g'), null);
    await ufs.delete('g');
    await ufs.delete('no/such/thing');
    await rejects(ufs.delete('d'), 'DIRECTORY_NOT_EMPTY');
    await ufs.delete('d/e/f');
    assert.is((await ufs.getStatus('d/e'))?.type, 'directory', 'deleting the last child keeps its directory');
    await ufs.delete('d/e');
    assert.is((await ufs.getStatus('d'))?.type, 'directory');
    await ufs.write('d/h', chunks('x'));
    await ufs.write('d/i/j', chunks('x'));
    await ufs.delete('d', { recursive: true });
    assert.is(await ufs.getStatus('d'), null);
    assert.is(await ufs.getStatus('d/i/j'), null);
    await rejects(ufs.delete(''), 'INVALID_PATH');
    assert.equal((await listAll(ufs, '')).entries, []);
  });

  t(`rename: files and directories${target.atomicRename ? '' : ' (copy + delete: the end state, not atomicity)'}`, async () => {
    const ufs = await fresh();
    await ufs.write('a', chunks('A'));
    await ufs.write('b', chunks('B'));
    await rejects(ufs.rename('a', 'b'), 'ALREADY_EXISTS');
    assert.is(await text(ufs, 'a'), 'A');
    assert.is(await text(ufs, 'b'), 'B');
    await ufs.rename('a', 'new/dir/a2');
    assert.is(await ufs.getStatus('a'), null);
    assert.is(await text(ufs, 'new/dir/a2'), 'A');
    await ufs.write('d1/x', chunks('x'));
    await ufs.write('d1/sub/y', chunks('y'));
    await ufs.mkdir('d1/empty');
    await ufs.mkdir('d2');
    await rejects(ufs.rename('d1', 'd2'), 'ALREADY_EXISTS');
    await rejects(ufs.rename('d1', 'b'), 'ALREADY_EXISTS');
    await ufs.rename('d1', 'moved/d3');
    assert.is(await ufs.getStatus('d1'), null);
    assert.equal(names((await listAll(ufs, 'moved/d3', { recursive: true })).entries).sort(), ['empty/', 'sub/', 'sub/y', 'x']);
    assert.is(await text(ufs, 'moved/d3/sub/y'), 'y');
    await rejects(ufs.rename('missing', 'z'), 'NOT_FOUND');
    await rejects(ufs.rename('moved', 'moved/inside'), 'INVALID_PATH');
    // The source's parent stays a directory after its last child moved away.
    await ufs.write('p/only', chunks('o'));
    await ufs.rename('p/only', 'only');
    assert.is((await ufs.getStatus('p'))?.type, 'directory');
    assert.is(await text(ufs, 'only'), 'o');
  });

  t.run();
}
