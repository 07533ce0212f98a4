// The frame codec on byte arrays alone: one frame, a frame split at every byte boundary,
// coalesced frames, zero-copy data frames, and refusal of oversized, malformed and invalid
// frames with BAD_REQUEST (after which the decoder stays poisoned).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pack } from 'msgpackr';
import { ErrorCode, StrataError } from '../src/errors.js';
import { FrameDecoder, encodeDataFrameHead, encodeFrame } from '../src/protocol/codec.js';
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
