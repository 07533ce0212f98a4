// The frame codec on byte arrays alone: one frame, a frame split at every byte boundary,
// coalesced frames, zero-copy data frames, and refusal of oversized, malformed and invalid
// frames with BAD_REQUEST (after which the decoder stays poisoned).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Unpackr, pack } from 'msgpackr';
import { ErrorCode, StrataError } from '../src/errors.js';
import { FrameDecoder, decodeAnswerFrame, decodeRequestFrame, encodeAnswerFrame, encodeRequestFrame, encodeDataFrameHead, encodeFrame } from '../src/protocol/codec.js';
import { parseClientMessage, parseServerMessage, type Message } from '../src/protocol/messages.js';

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

function frameOf(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

function expectBadRequest(fn: () => unknown, pattern?: RegExp): StrataError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, StrataError);
    assert.is((err as StrataError).code, ErrorCode.BAD_REQUEST);
    if (pattern) assert.match((err as StrataError).message, pattern);
    return err as StrataError;
  }
  assert.unreachable('expected a BAD_REQUEST error');
  throw new Error('unreachable');
}

const req = { t: 'req', id: 7, op: 'getStatus', args: ['/a/b', { syncIntervalMs: 0 }] };

test('a single frame decodes to the same message', () => {
  const bytes = encodeFrame(req);
  assert.is(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0), bytes.length - 4);
  const dec = new FrameDecoder();
  const out = dec.decode(bytes);
  assert.equal(out, [req]);
  assert.ok(dec.idle);
});

test('a frame split at every byte boundary decodes once', () => {
  const bytes = encodeFrame(req);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const dec = new FrameDecoder();
    const a = dec.decode(bytes.slice(0, cut));
    const b = dec.decode(bytes.slice(cut));
    assert.equal([...a, ...b], [req], `cut at ${cut}`);
    assert.ok(dec.idle);
  }
});

test('a frame fed one byte at a time decodes once', () => {
  const bytes = encodeFrame(req);
  const dec = new FrameDecoder();
  const out: Message[] = [];
  for (const b of bytes) out.push(...dec.decode(Uint8Array.of(b)));
  assert.equal(out, [req]);
});

test('coalesced frames come out in order, whatever the chunking', () => {
  const msgs = Array.from({ length: 50 }, (_, i) => ({ t: 'res', id: i, ok: { n: i, s: 'x'.repeat(i * 7) } }));
  const all = concat(msgs.map(encodeFrame));
  for (const step of [1, 3, 7, 64, 1000, all.length]) {
    const dec = new FrameDecoder();
    const out: Message[] = [];
    for (let off = 0; off < all.length; off += step) out.push(...dec.decode(all.slice(off, off + step)));
    assert.equal(out, msgs, `step ${step}`);
  }
});

test('a data frame encoded without copying decodes as an ordinary map', () => {
  for (const id of [0, 5, 127, 128, 70000, 2 ** 32 + 5]) {
    const chunk = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    const bytes = concat([encodeDataFrameHead(id, chunk.length), chunk]);
    const out = new FrameDecoder().decode(bytes);
    assert.is(out.length, 1);
    const m = out[0] as { t: string; id: number; chunk: Uint8Array };
    assert.is(m.t, 'data');
    assert.is(m.id, id);
    assert.equal(Array.from(m.chunk), Array.from(chunk));
  }
});

test('an answer frame is byte for byte the encoding of {t: res, id, ok}, fast path or not', () => {
  const info = {
    path: '/m/dir/file', name: 'file', type: 'file', length: 100, mtimeMs: 1764758400123.5, ctimeMs: 1764758400123, atimeMs: 0,
    fileId: 70_000, persistenceState: 'PERSISTED', cachedBytes: 100, pinned: false, mountPoint: '/m', ufsPath: 'file:///tmp/x/dir/file',
    mode: 0o644, ttlMs: -1, ttlAction: 'free',
  };
  const numbers = [0, -0, 1, 31, 32, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129,
    -32_768, -32_769, -(2 ** 31), -(2 ** 31) - 1, 0.5, -0.25, Number.NaN, Infinity, -Infinity, 1e300];
  const strings = ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(70_000),
    'é'.repeat(11), 'é'.repeat(16), '日本'.repeat(6), '😀'.repeat(8), 'a\ud800b', '\udc00', 'é'.repeat(128), 'mixed é 日 😀 ascii'];
  const cases: unknown[] = [
    info,
    { ...info, isMountPoint: true },
    { ...info, uid: 1000, gid: 1000, persistAttempts: 3, lastPersistError: 'UFS_UNAVAILABLE: down', ufsEtag: 'abc' },
    ...numbers.map((n) => ({ ...info, length: n, mtimeMs: n })),
    ...strings.map((v) => ({ ...info, name: v, path: `/d/${v}`, ufsPath: v })),
    { path: '/a' }, {},
    // Not flat or not FileInfo keys: msgpackr's path (same function, same bytes).
    { ...info, xattr: { a: '1' } }, { ...info, mode: undefined }, { ...info, other: 1 }, { ...info, pinned: null },
    [1, 2], 'text', 7, true, null, new Uint8Array([1, 2]), Object.assign(Object.create(null) as object, { path: '/x' }),
    Object.fromEntries(Array.from({ length: 15 }, (_, i) => [['path', 'name', 'type', 'length', 'mtimeMs', 'ctimeMs', 'atimeMs', 'fileId',
      'persistenceState', 'cachedBytes', 'pinned', 'mountPoint', 'ufsPath', 'mode', 'ttlMs'][i]!, i])),
  ];
  for (const id of [0, 1, 127, 128, 300, 70_000, 2 ** 32 + 5]) {
    for (const ok of cases) {
      const fast = encodeAnswerFrame(id, ok);
      const generic = encodeFrame({ t: 'res', id, ok });
      assert.equal(Buffer.from(fast).toString('hex'), Buffer.from(generic).toString('hex'), `id ${id}: ${JSON.stringify(ok)?.slice(0, 80)}`);
      const [m] = new FrameDecoder({ validate: parseServerMessage }).decode(fast);
      assert.is((m as { id: number }).id, id);
    }
  }
  // Frames handed out are never rewritten by later ones (they sit in the outbox until the flush).
  const first = encodeAnswerFrame(1, info);
  const copy = Buffer.from(first);
  for (let i = 0; i < 2000; i++) encodeAnswerFrame(i, { ...info, name: `n${i}`.repeat(20) });
  assert.ok(Buffer.from(first).equals(copy));
});

/** What msgpackr makes of a body (the decoder's own options), or 'throws'. */
function generic(body: Uint8Array): unknown {
  try {
    return new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', structuredClone: false }).unpack(body);
  } catch {
    return 'throws';
  }
}

/** The same value, keys in the same order (assert.equal ignores order), -0 and NaN told apart. */
function sameShape(a: unknown, b: unknown): boolean {
  const rep = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) =>
    (typeof x === 'number' && (Object.is(x, -0) || !Number.isFinite(x)) ? `num:${String(Object.is(x, -0) ? '-0' : x)}` : x));
  return rep(a) === rep(b);
}

test('an answer read in place is the message msgpackr decodes, or left to msgpackr', () => {
  const info = {
    path: '/m/dir/file', name: 'file', type: 'file', length: 100, mtimeMs: 1764758400123.5, ctimeMs: 1764758400123, atimeMs: 0,
    fileId: 70_000, persistenceState: 'PERSISTED', cachedBytes: 100, pinned: false, mountPoint: '/m', ufsPath: 'file:///tmp/x/dir/file',
    mode: 0o644, ttlMs: -1, ttlAction: 'free',
  };
  const numbers = [0, -0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129,
    -32_768, -32_769, -(2 ** 31), -(2 ** 31) - 1, 0.5, -0.25, Number.NaN, Infinity, -Infinity, 1e300];
  const strings = ['', 'a', 'abcdefg', 'abcdefgh', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(70_000),
    'é', 'é'.repeat(16), '日本', '😀', 'a\ud800b', '\u007f\u0000'];
  const inPlace: unknown[] = [
    info, { ...info, isMountPoint: true }, { path: '/a' }, {}, true, false, null, 7, -3, 'text', 1.5,
    { ...info, uid: 1000, gid: 1000, persistAttempts: 3, lastPersistError: 'UFS_UNAVAILABLE: down', ufsEtag: 'abc' },
    { name: 'n', path: '/p' }, // known keys in another order
    ...numbers.map((n) => ({ ...info, length: n, mtimeMs: n })),
  ];
  const toMsgpackr: unknown[] = [
    { ...info, xattr: { a: '1' } }, { ...info, other: 1 }, [1, 2], new Uint8Array([1, 2]), { ...info, pinned: [] },
  ];
  let fast = 0;
  for (const id of [0, 1, 127, 128, 300, 70_000, 2 ** 32 - 1, 2 ** 32 + 5]) {
    for (const ok of [...inPlace, ...toMsgpackr, ...strings.map((v) => ({ ...info, name: v, path: `/d/${v}` }))]) {
      const frame = encodeAnswerFrame(id, ok);
      // A plain Uint8Array (a frame copied from several chunks) and a Buffer view alike.
      for (const buf of [new Uint8Array(frame), Buffer.concat([Buffer.from([9, 9]), frame, Buffer.from([7])])]) {
        const start = buf instanceof Buffer ? 2 + 4 : 4;
        const end = start + frame.length - 4;
        const m = decodeAnswerFrame(buf, start, end);
        const want = generic(buf.subarray(start, end));
        if (m === undefined) continue;
        fast++;
        assert.ok(sameShape(m, want), `id ${id}: ${JSON.stringify(ok)?.slice(0, 80)}: ${JSON.stringify(m)?.slice(0, 200)}`);
      }
    }
  }
  // Every in-place case with a 32-bit id is read in place; nothing beyond ASCII, no nested value, no unknown key is.
  assert.ok(fast >= inPlace.length * 7 * 2, `read in place: ${fast}`);
  for (const ok of [...toMsgpackr, { ...info, name: 'é' }, { ...info, name: '日本' }, { ...info, path: 'a\ud800b' }]) {
    const f = encodeAnswerFrame(5, ok);
    assert.is(decodeAnswerFrame(f, 4, f.length), undefined, JSON.stringify(ok));
  }
  for (const body of [pack({ t: 'res', id: 1, err: { code: 'NOT_FOUND', message: 'x' } }), pack({ t: 'res', id: 1 }),
    pack({ t: 'res', id: 1, ok: 1, x: 2 }), pack({ t: 'data', id: 1, ok: 1 }), pack({ t: 'res', id: -1, ok: 1 })]) {
    assert.is(decodeAnswerFrame(body, 0, body.length), undefined);
  }
  // The decoder gives the same messages with and without the in-place reader.
  const frames = inPlace.map((ok, i) => encodeAnswerFrame(i, ok));
  const all = Buffer.concat(frames);
  const withFast = new FrameDecoder({ validate: parseServerMessage, fast: decodeAnswerFrame }).decode(all);
  const without = new FrameDecoder({ validate: parseServerMessage }).decode(all);
  assert.ok(sameShape(withFast, without));
});

test('a damaged answer is read in place only when msgpackr reads it the same', () => {
  const info = { path: '/bench-md/target', name: 'target', type: 'file', length: 100, mtimeMs: 1764876000123.5, ctimeMs: 1764876000123,
    atimeMs: 1764876000123.5, fileId: 12345, persistenceState: 'NOT_PERSISTED', cachedBytes: 100, pinned: false, mode: 420, uid: 0, gid: 0 };
  const frame = encodeAnswerFrame(77, info);
  const body = frame.subarray(4);
  let seed = 12345;
  const rnd = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return seed % n; };
  let inPlace = 0;
  for (let round = 0; round < 20_000; round++) {
    const b = Uint8Array.from(body);
    const flips = rnd(4) === 0 ? 2 : 1;
    for (let i = 0; i < flips; i++) b[rnd(b.length)] = rnd(2) === 0 ? rnd(256) : 0x20 + rnd(0x5f);
    const end = rnd(8) === 0 ? rnd(b.length + 1) : b.length; // sometimes cut short
    const m = decodeAnswerFrame(b, 0, end);
    if (m === undefined) continue;
    inPlace++;
    const want = generic(b.subarray(0, end));
    assert.ok(sameShape(m, want), `${Buffer.from(b.subarray(0, end)).toString('hex')}: ${JSON.stringify(m)} vs ${JSON.stringify(want)}`);
  }
  assert.ok(inPlace > 1000, `read in place: ${inPlace}`);
});

test('a request read in place is the message msgpackr decodes, or left to msgpackr', () => {
  const inPlace: unknown[][] = [[], ['/a'], ['/bench-md/target'], ['/a', '/b'], ['/x', null, 5, true, false, -7, 0.5, 'y'.repeat(300)],
    Array.from({ length: 15 }, (_, i) => `/p${i}`)];
  const toMsgpackr: unknown[][] = [['/a', { recursive: true }], ['/é'], [new Uint8Array(3)], Array.from({ length: 16 }, () => 'p'), [[1]]];
  let fast = 0;
  for (const id of [0, 1, 127, 128, 70_000, 2 ** 32 + 5]) {
    for (const op of ['getStatus', 'exists', 'x'.repeat(40)]) {
      for (const args of [...inPlace, ...toMsgpackr]) {
        const body = encodeFrame({ t: 'req', id, op, args }).subarray(4);
        const m = decodeRequestFrame(body, 0, body.length);
        if (m === undefined) continue;
        fast++;
        assert.ok(sameShape(m, generic(body)), `${id} ${op} ${JSON.stringify(args)}`);
      }
    }
  }
  assert.is(fast, inPlace.length * 3 * 6);
  for (const body of [pack({ t: 'req', id: 1, op: 'getStatus', args: ['/a'], progress: true }), pack({ id: 1, t: 'req', op: 'getStatus', args: [] }),
    pack({ t: 'req', id: 1, op: 7, args: [] }), pack({ t: 'req', id: 1, op: 'getStatus', args: {} }), pack({ t: 'res', id: 1, op: 'getStatus', args: [] })]) {
    assert.is(decodeRequestFrame(body, 0, body.length), undefined);
  }
  // Damaged requests: in place only when msgpackr reads the same.
  const body = encodeFrame({ t: 'req', id: 300, op: 'getStatus', args: ['/bench-md/target', 1] }).subarray(4);
  let seed = 777;
  const rnd = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return seed % n; };
  let damaged = 0;
  for (let round = 0; round < 20_000; round++) {
    const b = Uint8Array.from(body);
    const flips = rnd(4) === 0 ? 2 : 1;
    for (let i = 0; i < flips; i++) b[rnd(b.length)] = rnd(2) === 0 ? rnd(256) : 0x20 + rnd(0x5f);
    const end = rnd(8) === 0 ? rnd(b.length + 1) : b.length;
    const m = decodeRequestFrame(b, 0, end);
    if (m === undefined) continue;
    damaged++;
    assert.ok(sameShape(m, generic(b.subarray(0, end))), Buffer.from(b.subarray(0, end)).toString('hex'));
  }
  assert.ok(damaged > 1000, `read in place: ${damaged}`);
  // The server's decoder: the same messages, the same refusals.
  const frames = Buffer.concat(inPlace.map((args, i) => encodeFrame({ t: 'req', id: i, op: 'getStatus', args })));
  assert.ok(sameShape(new FrameDecoder({ validate: parseClientMessage, fast: decodeRequestFrame }).decode(frames),
    new FrameDecoder({ validate: parseClientMessage }).decode(frames)));
  const bad = encodeFrame({ t: 'req', id: -1, op: 'getStatus', args: ['/a'] });
  assert.throws(() => new FrameDecoder({ validate: parseClientMessage, fast: decodeRequestFrame }).decode(bad),
    (e: unknown) => e instanceof StrataError && e.code === ErrorCode.BAD_REQUEST);
});

test('a request frame is byte for byte the encoding of {t: req, id, op, args}, fast path or not', () => {
  const strings = ['', '/a', '/bench-md/target', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(256), 'x'.repeat(70_000), '/é/日本/😀', 'a\ud800b'];
  const argsCases: unknown[][] = [[], ...strings.map((v) => [v]), ['/a', '/b'], ['/a', 5, -1, 0.5, 2 ** 32, true, false, Number.NaN],
    Array.from({ length: 15 }, (_, i) => `/p${i}`),
    // msgpackr's path:
    Array.from({ length: 16 }, () => 'p'), ['/a', { recursive: true }], ['/a', null], ['/a', undefined, 1], [new Uint8Array(2)]];
  for (const id of [1, 127, 128, 70_000, 2 ** 32 + 5]) {
    for (const op of ['getStatus', 'x'.repeat(31), 'x'.repeat(32)]) {
      for (const args of argsCases) {
        const fast = encodeRequestFrame(id, op, args);
        const generic = encodeFrame({ t: 'req', id, op, args });
        assert.equal(Buffer.from(fast).toString('hex'), Buffer.from(generic).toString('hex'), `${id} ${op} ${JSON.stringify(args)?.slice(0, 80)}`);
      }
    }
  }
  const first = encodeRequestFrame(1, 'getStatus', ['/a']);
  const copy = Buffer.from(first);
  for (let i = 0; i < 5000; i++) encodeRequestFrame(i, 'getStatus', [`/n${i}`.repeat(20)]);
  assert.ok(Buffer.from(first).equals(copy));
});

test('an oversized frame is refused as soon as its length prefix is read', () => {
  const dec = new FrameDecoder({ maxFrameBytes: 1024 });
  const big = encodeFrame({ t: 'res', id: 1, ok: 'x'.repeat(2000) });
  expectBadRequest(() => dec.decode(big.slice(0, 4)), /exceeds the maximum of 1024/);
  // poisoned: later bytes are refused too
  expectBadRequest(() => dec.decode(encodeFrame(req)));
  // a 2 GiB prefix with the default limit
  expectBadRequest(() => new FrameDecoder().decode(Uint8Array.of(0x80, 0, 0, 0)), /exceeds/);
});

test('malformed msgpack is refused', () => {
  // 0x92 announces a 2-element array but the frame ends after one element
  expectBadRequest(() => new FrameDecoder().decode(frameOf(Uint8Array.of(0x92, 0x01))), /malformed|bad frame/);
  // trailing bytes after the value
  expectBadRequest(() => new FrameDecoder().decode(frameOf(concat([pack(req), Uint8Array.of(1, 2)]))));
  // reserved byte 0xc1
  expectBadRequest(() => new FrameDecoder().decode(frameOf(Uint8Array.of(0xc1))));
  // empty frame
  expectBadRequest(() => new FrameDecoder().decode(Uint8Array.of(0, 0, 0, 0)), /empty/);
});

test('a body that is not a map, or lacks fields, is refused', () => {
  for (const body of [42, 'hello', [1, 2, 3], null, true, new Uint8Array(3)]) {
    expectBadRequest(() => new FrameDecoder().decode(frameOf(pack(body))), /not a msgpack map/);
  }
  expectBadRequest(() => new FrameDecoder().decode(frameOf(pack({ id: 1 }))), /type field/);
  expectBadRequest(() => new FrameDecoder().decode(frameOf(pack({ t: 'nope', id: 1 }))), /unknown frame type/);
});

test('client frames are validated field by field', () => {
  const client = (v: unknown) => new FrameDecoder({ validate: parseClientMessage }).decode(frameOf(pack(v)));
  expectBadRequest(() => client({ t: 'req', id: -1, op: 'getStatus', args: [] }), /id/);
  expectBadRequest(() => client({ t: 'req', id: 1.5, op: 'getStatus', args: [] }), /id/);
  expectBadRequest(() => client({ t: 'req', id: 2 ** 60, op: 'getStatus', args: [] }), /id/);
  expectBadRequest(() => client({ t: 'req', id: '1', op: 'getStatus', args: [] }), /id/);
  expectBadRequest(() => client({ t: 'req', id: 1, op: 5, args: [] }), /op/);
  expectBadRequest(() => client({ t: 'req', id: 1, op: 'getStatus', args: 'x' }), /args/);
  expectBadRequest(() => client({ t: 'data', id: 1, chunk: 'text' }), /binary/);
  expectBadRequest(() => client({ t: 'credit', id: 1, n: 0 }), /credit/);
  expectBadRequest(() => client({ t: 'credit', id: 1, n: 1e12 }), /credit/);
  expectBadRequest(() => client({ t: 'res', id: 1 }), /unknown frame type/); // server-only frame
  assert.equal(client({ t: 'cancel', id: 3 }), [{ t: 'cancel', id: 3 }]);
  const server = (v: unknown) => new FrameDecoder({ validate: parseServerMessage }).decode(frameOf(pack(v)));
  expectBadRequest(() => server({ t: 'res', id: 1, err: { code: 1 } }), /err/);
  expectBadRequest(() => server({ t: 'req', id: 1, op: 'getStatus', args: [] }), /unknown frame type/);
});

test('frames decoded before a bad one are still delivered', () => {
  const dec = new FrameDecoder();
  const got: Message[] = [];
  const bytes = concat([encodeFrame(req), frameOf(pack(17))]);
  expectBadRequest(() => dec.push(bytes, (m) => got.push(m)));
  assert.equal(got, [req]);
});

test.run();
