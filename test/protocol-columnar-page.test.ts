// listStatus pages as columns (protocol version 3): every entry decodes to an object equal to
// the one the server listed (odd entries included, through msgpack at unaligned offsets; the
// atime/ctime columns, and pages without them from older servers); a
// malformed page is BAD_REQUEST; a real Coordinator listed over TCP gives what it gives in
// process; a version-2 hello is refused with UNSUPPORTED_VERSION.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { ErrorCode, StrataError } from '../src/errors.js';
import { FrameDecoder, encodeFrame } from '../src/protocol/codec.js';
import { parseServerMessage, type ServerMessage } from '../src/protocol/messages.js';
import { decodePage, encodePage } from '../src/protocol/page-codec.js';
import { StrataServer } from '../src/server/tcp-server.js';
import { StrataClient } from '../src/client/tcp-client.js';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { ServerConfig } from '../src/config/keys.js';
import type { FileInfo } from '../src/types.js';

const quiet = pino({ level: 'silent' });

function entry(dir: string, name: string, over: Partial<FileInfo> = {}): FileInfo {
  return {
    path: dir === '/' ? `/${name}` : `${dir}/${name}`, name, type: 'file', length: name.length * 1000, mtimeMs: 1_700_000_000_123.5,
    fileId: 2 ** 40 + name.length, persistenceState: 'PERSISTED', cachedBytes: 0, pinned: false, mountPoint: '/m',
    ufsPath: `file:///data${dir}/${name}`, mode: 0o644, ttlMs: -1, ttlAction: 'free', ...over,
  };
}

/** Through msgpack and the frame decoder, at an odd offset inside a larger chunk. */
function overTheWire(page: FileInfo[]): FileInfo[] {
  const frame = encodeFrame({ t: 'data', id: 7, chunk: encodePage(page) });
  const buf = new Uint8Array(frame.length + 3);
  buf.set(frame, 3);
  const dec = new FrameDecoder<ServerMessage>({ validate: parseServerMessage });
  const out = dec.decode(buf.subarray(3));
  assert.is(out.length, 1);
  return decodePage((out[0] as { chunk: unknown }).chunk);
}

test('a page of ordinary and odd entries decodes to equal objects', () => {
  const page: FileInfo[] = [
    entry('/m/d', 'a'),
    entry('/m/d', 'dir', { type: 'directory', length: 0, mode: 0o755, ttlMs: 5000, ttlAction: 'delete' }),
    entry('/m/d', 'pinned', { pinned: true, cachedBytes: 12345, persistenceState: 'TO_BE_PERSISTED', persistAttempts: 2, lastPersistError: 'EIO' }),
    entry('/m/d', 'owned', { uid: 1000, gid: 100, xattr: { 'content-type': 'text/plain' }, ufsEtag: 'abc' }),
    entry('/m/d', 'nested', { type: 'directory', isMountPoint: true, mountPoint: '/m/d/nested', ufsPath: 's3://b/x' }),
    entry('/m/d', 'no-mode', { mode: undefined, ttlMs: undefined, ttlAction: undefined }),
    entry('/m/d/sub', 'deeper'), // another directory of a recursive listing: another prefix
    { ...entry('/m/d', 'renamed'), path: '/elsewhere/entirely' }, // a path that does not end with the name
    entry('/m/d', 'ünïcødé name with spaces'),
    { ...entry('/m/d', 'x'), type: 'symlink' as FileInfo['type'] }, // not a column value: sent whole
    { ...entry('/m/d', 'y'), length: Number.NaN }, // NaN is the columns' "absent": sent whole
    { ...entry('/m/d', 'z'), future: { field: 1 } } as FileInfo,
  ];
  for (const e of page) for (const k of Object.keys(e)) if ((e as unknown as Record<string, unknown>)[k] === undefined) delete (e as unknown as Record<string, unknown>)[k];
  const back = overTheWire(page);
  assert.equal(back.map((e) => JSON.stringify(e, Object.keys(e).sort())), page.map((e) => JSON.stringify(e, Object.keys(e).sort())));
  // NaN does not survive JSON: compare it directly
  assert.ok(Number.isNaN(back[10]!.length));
});

test('constant columns and an empty page', () => {
  const page = Array.from({ length: 1000 }, (_, i) => entry('/m/big', `entry-${String(i).padStart(4, '0')}`, { length: 0, fileId: i }));
  const enc = encodePage(page);
  assert.is(enc.len, 0); // one number for the whole column
  assert.is(enc.pp.length, 1);
  assert.is(enc.x.length, 0);
  assert.equal(overTheWire(page), page);
  assert.equal(overTheWire([]), []);
});

test('access and status-change times travel as columns; a page without them (an older server) decodes without them', () => {
  const page = [
    entry('/d', 'a', { ctimeMs: 1_700_000_001_000, atimeMs: 1_600_000_000_000 }),
    entry('/d', 'b', { ctimeMs: 1_700_000_002_500 }),
    entry('/d', 'c'),
  ];
  const enc = encodePage(page);
  assert.equal(enc.x, [], 'no entry needs the extras list for its times');
  assert.equal(overTheWire(page), page);
  const { at: _a, ct: _c, ...old } = enc;
  const decoded = decodePage(old);
  assert.is(decoded[0]!.ctimeMs, undefined);
  assert.is(decoded[0]!.atimeMs, undefined);
  assert.is(decoded[0]!.mtimeMs, page[0]!.mtimeMs);
  assert.throws(() => decodePage({ ...enc, ct: new Uint8Array(5) }), (e: unknown) => (e as StrataError).code === ErrorCode.BAD_REQUEST);
});

test('time columns equal to the modification times travel as one marker, not as numbers', () => {
  const page = Array.from({ length: 500 }, (_, i) => {
    const t = 1_700_000_000_000 + i * 1000;
    return entry('/d', `e${i}`, { mtimeMs: t, atimeMs: t, ctimeMs: t });
  });
  const enc = encodePage(page);
  assert.is(enc.at, 'mt');
  assert.is(enc.ct, 'mt');
  assert.equal(overTheWire(page), page);
  const touched = page.map((e, i) => (i === 7 ? { ...e, atimeMs: e.mtimeMs + 1 } : e));
  const enc2 = encodePage(touched);
  assert.ok(enc2.at instanceof Uint8Array, 'one different access time: the column travels whole');
  assert.is(enc2.ct, 'mt');
  assert.equal(overTheWire(touched), touched);
  const size = (p: unknown): number => encodeFrame({ t: 'data', id: 1, chunk: p }).length;
  assert.ok(size(enc) + 500 * 8 <= size(enc2), `the marker saves the column's bytes (${size(enc)} vs ${size(enc2)})`);
  for (const bad of ['MT', 'ct', '', 'mtime']) {
    assert.throws(() => decodePage({ ...enc, at: bad }), (e: unknown) => (e as StrataError).code === ErrorCode.BAD_REQUEST, `at: '${bad}'`);
  }
});

test('a malformed page is BAD_REQUEST', () => {
  const good = encodePage([entry('/m', 'a'), entry('/m', 'b')]) as unknown as Record<string, unknown>;
  const cases: Array<Record<string, unknown> | unknown> = [
    null, [], 'x', { ...good, f: 2 }, { ...good, n: -1 }, { ...good, names: ['a'] }, { ...good, fl: new Uint8Array(1) },
    { ...good, mt: new Uint8Array(3) }, { ...good, pi: new Uint8Array(4).fill(9) }, { ...good, pp: [1] }, { ...good, x: [[5, {}]] },
    { ...good, fl: new Uint8Array(2) }, // persistence state 0
  ];
  for (const c of cases) {
    try {
      decodePage(c);
      assert.unreachable(`accepted ${JSON.stringify(c)}`);
    } catch (err) {
      assert.instance(err, StrataError);
      assert.is((err as StrataError).code, ErrorCode.BAD_REQUEST);
    }
  }
});

test('a Coordinator listed over TCP gives the entries it gives in process; a version-2 client is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-colpage-'));
  const ufs = join(dir, 'ufs');
  mkdirSync(join(ufs, 'sub', 'inner'), { recursive: true });
  for (let i = 0; i < 1200; i++) writeFileSync(join(ufs, `f${i}`), 'x'.repeat(i % 7));
  writeFileSync(join(ufs, 'sub', 'inner', 'deep'), 'deep');
  const config = new ServerConfig([{ 'mount.allowed.roots': 'file:///' }]);
  const c = await Coordinator.open({ dataDir: join(dir, 'data'), config, logger: quiet });
  const server = new StrataServer(c, { port: 0, logger: quiet, insecureNoAuth: true });
  let client: StrataClient | undefined;
  try {
    const { port } = await server.listen();
    await c.mount('/m', pathToFileURL(ufs).href);
    await c.writeFile('/m/sub/mine', new Uint8Array(10), { writeType: 'MUST_CACHE' });
    await c.setAttributes('/m/f3', { mode: 0o600, uid: 12, gid: 34 } as never).catch(() => undefined);
    await c.setPinned('/m/f1', true);
    await c.setXattr('/m/f2', { k: 'v' });
    client = await StrataClient.connect({ host: '127.0.0.1', port });
    // The whole tree loaded first: a directory's subdirectory count (FileInfo.subdirs) grows
    // when its children are first loaded, which the recursive listing below would do between
    // the in-process listing and the TCP one.
    await c.loadMetadata('/m', { recursive: true });
    for (const opts of [{}, { recursive: true }, { pageSize: 7, startAfter: 'f5' }]) {
      const local: FileInfo[] = [];
      for await (const p of c.listStatus('/m', { ...opts, syncIntervalMs: -1 })) local.push(...p);
      const remote: FileInfo[] = [];
      let pages = 0;
      for await (const p of client.listStatus('/m', { ...opts, syncIntervalMs: -1 })) { remote.push(...p); pages++; }
      assert.ok(local.length > 10);
      assert.equal(remote, local);
      assert.ok(pages >= 1);
    }
    const one: FileInfo[] = [];
    for await (const p of client.listStatus('/m/f1')) one.push(...p);
    assert.equal(one, [await c.getStatus('/m/f1')]);

    // A client of version 2 gets UNSUPPORTED_VERSION naming both versions, then the close.
    const sock = net.connect({ host: '127.0.0.1', port });
    const dec = new FrameDecoder<ServerMessage>({ validate: parseServerMessage });
    const frames: ServerMessage[] = [];
    sock.on('data', (b) => dec.push(b, (m) => frames.push(m)));
    sock.on('error', () => {});
    sock.write(encodeFrame({ t: 'hello', v: 2, client: 'old' }));
    await new Promise<void>((resolve) => sock.on('close', () => resolve()));
    assert.is(frames.length, 1);
    const err = (frames[0] as { err: { code: string; message: string } }).err;
    assert.is(err.code, ErrorCode.UNSUPPORTED_VERSION);
    assert.match(err.message, /version 2.*version 3/);
  } finally {
    await client?.close();
    await server.close();
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
