// Every error code, table-driven (as undici's test/errors.js): the error's name, code,
// message and JSON form; the wire round trip through the protocol codec (a response frame
// encoded, decoded and rethrown as the TCP client does); and the thread round trip as the
// actors make it (the worker's plain-object form, structured-cloned through a MessagePort,
// turned back by toStrataError). The table must name every code in ErrorCode.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageChannel } from 'node:worker_threads';
import {
  ErrorCode, StrataError, alreadyExists, directoryNotEmpty, invalidArgument, invalidPath, isADirectory, isErrorCode,
  mountConflict, notADirectory, notFound, readOnly, toStrataError, toThreadError,
} from '../src/errors.js';
import { FrameDecoder, encodeFrame } from '../src/protocol/codec.js';
import { fromWireError, parseServerMessage, toWireError } from '../src/protocol/messages.js';

const plain = (code: ErrorCode, message: string) => (): StrataError => new StrataError(code, message);

/** [code, how the error is made, its expected message] for every code. */
const TABLE: Array<[ErrorCode, () => StrataError, string]> = [
  [ErrorCode.NOT_FOUND, () => notFound('/a/b'), 'path does not exist: /a/b'],
  [ErrorCode.ALREADY_EXISTS, () => alreadyExists('/a'), 'path already exists: /a'],
  [ErrorCode.INVALID_PATH, () => invalidPath('a//b', 'not absolute'), 'invalid path "a//b": not absolute'],
  [ErrorCode.INVALID_ARGUMENT, () => invalidArgument('ttl must be a number'), 'ttl must be a number'],
  [ErrorCode.READ_ONLY, () => readOnly('/ro/x', '/ro'), '/ro/x is under the read-only mount /ro'],
  [ErrorCode.MOUNT_CONFLICT, () => mountConflict('mount path /m already exists'), 'mount path /m already exists'],
  [ErrorCode.UFS_UNAVAILABLE, plain(ErrorCode.UFS_UNAVAILABLE, 'getStatus s3://b/k timed out after 30000 ms'), 'getStatus s3://b/k timed out after 30000 ms'],
  [ErrorCode.PERMISSION_DENIED, plain(ErrorCode.PERMISSION_DENIED, 'user u may not write /x'), 'user u may not write /x'],
  [ErrorCode.BAD_REQUEST, plain(ErrorCode.BAD_REQUEST, 'getStatus: argument 1 must be a string'), 'getStatus: argument 1 must be a string'],
  [ErrorCode.NOT_A_DIRECTORY, () => notADirectory('/f'), 'not a directory: /f'],
  [ErrorCode.IS_A_DIRECTORY, () => isADirectory('/d'), 'is a directory: /d'],
  [ErrorCode.DIRECTORY_NOT_EMPTY, () => directoryNotEmpty('/d'), 'directory not empty (use recursive): /d'],
  [ErrorCode.RESOURCE_EXHAUSTED, plain(ErrorCode.RESOURCE_EXHAUSTED, 'the cache is full of unevictable data'), 'the cache is full of unevictable data'],
  [ErrorCode.FAILED_PRECONDITION, plain(ErrorCode.FAILED_PRECONDITION, '/m holds files not persisted'), '/m holds files not persisted'],
  [ErrorCode.TIMEOUT, plain(ErrorCode.TIMEOUT, 'request timed out'), 'request timed out'],
  [ErrorCode.CANCELLED, plain(ErrorCode.CANCELLED, 'sync of /a cancelled'), 'sync of /a cancelled'],
  [ErrorCode.UNSUPPORTED_VERSION, plain(ErrorCode.UNSUPPORTED_VERSION, 'metadata format 9 is newer than 1'), 'metadata format 9 is newer than 1'],
  [ErrorCode.CONNECTION_CLOSED, plain(ErrorCode.CONNECTION_CLOSED, 'the coordinator is closed'), 'the coordinator is closed'],
  [ErrorCode.INTERNAL, plain(ErrorCode.INTERNAL, 'unexpected state'), 'unexpected state'],
];

/** A response frame carrying the error, through encoder, decoder and the client's parse. */
function overTheWire(err: unknown): StrataError {
  const frames = new FrameDecoder<unknown>().decode(encodeFrame({ t: 'res', id: 41, err: toWireError(err) }));
  assert.is(frames.length, 1);
  const msg = parseServerMessage(frames[0]);
  assert.is(msg.t, 'res');
  const wire = (msg as { err?: { code: string; message: string } }).err;
  assert.ok(wire, 'the response carries the error');
  return fromWireError(wire!);
}

/** The worker's thrown form, structured-cloned through a MessagePort (as Piscina carries it), then toStrataError. */
async function acrossAThread(err: unknown): Promise<StrataError> {
  const { port1, port2 } = new MessageChannel();
  try {
    const received = new Promise<unknown>((resolve) => port2.once('message', resolve));
    port1.postMessage({ ...toThreadError(err), counters: { ufsCalls: { list: 1 } } });
    return toStrataError(await received);
  } finally {
    port1.close();
    port2.close();
  }
}

test('the table names every error code exactly once', () => {
  const codes = TABLE.map(([c]) => c);
  assert.equal([...codes].sort(), Object.values(ErrorCode).sort());
  assert.is(new Set(codes).size, codes.length);
  for (const c of codes) assert.ok(isErrorCode(c));
  assert.not.ok(isErrorCode('NOPE'));
});

for (const [code, make, message] of TABLE) {
  test(`${code}: name, code, message, JSON, wire and thread round trips`, async () => {
    const e = make();
    assert.instance(e, StrataError);
    assert.instance(e, Error);
    assert.is(e.name, 'StrataError');
    assert.is(e.code, code);
    assert.is(e.message, message);
    assert.equal(e.toJSON(), { code, message });
    assert.is(toStrataError(e), e, 'a StrataError is kept as it is');

    const wired = overTheWire(e);
    assert.instance(wired, StrataError);
    assert.is(wired.code, code, 'wire: same code');
    assert.is(wired.message, message, 'wire: same message');

    const threaded = await acrossAThread(e);
    assert.instance(threaded, StrataError);
    assert.is(threaded.code, code, 'thread: same code');
    assert.is(threaded.message, message, 'thread: same message');
    assert.is(overTheWire(threaded).code, code, 'a worker failure keeps its code to the client');
  });
}

test('a StrataError cloned as it is loses its code (why workers throw toThreadError)', () => {
  const cloned = structuredClone(notFound('/x')) as { code?: unknown; message: string };
  assert.is(cloned.code, undefined);
  assert.is(toStrataError(cloned).code, ErrorCode.INTERNAL);
});

test('foreign errors: INTERNAL, a full disk RESOURCE_EXHAUSTED, unknown wire codes INTERNAL naming the code', async () => {
  assert.equal(overTheWire(new TypeError('x is undefined')).toJSON(), { code: 'INTERNAL', message: 'x is undefined' });
  assert.is(overTheWire('a string').code, 'INTERNAL');
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  assert.is(overTheWire(enospc).code, 'RESOURCE_EXHAUSTED');
  assert.is((await acrossAThread(enospc)).code, 'RESOURCE_EXHAUSTED');
  const unknown = fromWireError({ code: 'FROM_THE_FUTURE', message: 'm' });
  assert.equal(unknown.toJSON(), { code: 'INTERNAL', message: 'FROM_THE_FUTURE: m' });
  assert.is(toStrataError(new Error('boom'), ErrorCode.UFS_UNAVAILABLE).code, 'UFS_UNAVAILABLE', 'the fallback code');
});

test('a cause is kept', () => {
  const cause = new Error('ECONNRESET');
  const e = new StrataError(ErrorCode.UFS_UNAVAILABLE, 'list s3://b failed', { cause });
  assert.is(e.cause, cause);
  assert.is(toStrataError(cause, ErrorCode.UFS_UNAVAILABLE).cause, cause);
});

test.run();
