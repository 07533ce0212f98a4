// Conditional writes are one step with the write: the precondition of a PUT (If-None-Match: *,
// If-Match) and the source conditions of a CopyObject / UploadPartCopy are checked against the
// version the write replaces (or the read copies), under the key's lock, not before it. Real
// requests on their own connections, concurrent or interleaved by a body sent half way.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { openGateway, openSignedRequest, type GatewayEnv, type RawAnswer } from './helpers/gateway.js';
import { codeOf, readAll, serveTcp } from './helpers/fixture.js';
import { ErrorCode } from '../src/errors.js';

let g: GatewayEnv;

test.before(async () => {
  g = await openGateway();
  await g.client().send(new CreateBucketCommand({ Bucket: 'cond' }));
});
test.after(async () => { await g?.dispose(); });


async function put(key: string, body: Buffer, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return (await openSignedRequest(g, 'PUT', `/cond/${key}`, body.length, headers)).finish(body);
}

async function text(key: string): Promise<string> {
  const r = await g.client().send(new GetObjectCommand({ Bucket: 'cond', Key: key }));
  return r.Body!.transformToString();
}

const N = 8;

test('N concurrent If-None-Match: * PUTs of a new key: exactly one wins, the others get 412', async () => {
  for (let round = 0; round < 3; round++) {
    const key = `race/${round}`;
    // Each request's body is sent half, then all are finished together: all are in the gateway at once.
    const open = await Promise.all(Array.from({ length: N }, (_, i) => openSignedRequest(g, 'PUT', `/cond/${key}`, 2048, { 'if-none-match': '*' })
      .then((o) => { o.send(Buffer.alloc(1024, 65 + i)); return o; })));
    await new Promise((r) => setTimeout(r, 100));
    const answers = await Promise.all(open.map((o, i) => o.finish(Buffer.alloc(1024, 65 + i))));
    const won = answers.map((a, i) => [a.status, i] as const).filter(([s]) => s === 200);
    assert.is(won.length, 1, `one winner, got ${answers.map((a) => a.status).join(' ')}`);
    for (const a of answers) if (a.status !== 200) { assert.is(a.status, 412, a.text); assert.match(a.text, /PreconditionFailed/); }
    assert.is(await text(key), String.fromCharCode(65 + won[0]![1]).repeat(2048), 'the winner\'s bytes are the object');
  }
});

test('N concurrent If-None-Match: * PUTs of a directory marker key/: exactly one wins', async () => {
  for (let round = 0; round < 3; round++) {
    const key = `dirs/${round}/m/`;
    const answers = await Promise.all(Array.from({ length: N }, () => put(key, Buffer.alloc(0), { 'if-none-match': '*' })));
    assert.is(answers.filter((a) => a.status === 200).length, 1, `one winner, got ${answers.map((a) => a.status).join(' ')}`);
    for (const a of answers) if (a.status !== 200) assert.is(a.status, 412, a.text);
    assert.is((await put(key, Buffer.alloc(0), { 'if-none-match': '*' })).status, 412, 'the marker exists');
    assert.is((await put(key, Buffer.alloc(0))).status, 200, 'an unconditional marker PUT over it');
  }
});

test('If-None-Match: * PUT whose body arrives after another PUT created the key: 412, the other stays', async () => {
  const a = await openSignedRequest(g, 'PUT', '/cond/late', 2, { 'if-none-match': '*' });
  a.send(Buffer.from('a'));
  await new Promise((r) => setTimeout(r, 100));
  assert.is((await put('late', Buffer.from('bb'), { 'if-none-match': '*' })).status, 200);
  const ra = await a.finish(Buffer.from('a'));
  assert.is(ra.status, 412, ra.text);
  assert.is(await text('late'), 'bb');
});

test('If-Match PUT whose object was replaced while its body arrived: 412, no lost update', async () => {
  const v1 = await put('cas', Buffer.from('version 1'));
  assert.is(v1.status, 200);
  const a = await openSignedRequest(g, 'PUT', '/cond/cas', 10, { 'if-match': v1.etag! });
  a.send(Buffer.from('from '));
  await new Promise((r) => setTimeout(r, 100));
  assert.is((await put('cas', Buffer.from('version 2'))).status, 200); // replaced in between
  const ra = await a.finish(Buffer.from('A....'));
  assert.is(ra.status, 412, ra.text);
  assert.is(await text('cas'), 'version 2', 'the replacing PUT is not overwritten by a PUT conditional on the old version');
});

test('N concurrent If-Match PUTs on one version: exactly one wins', async () => {
  for (let round = 0; round < 3; round++) {
    const key = `cas-race/${round}`;
    const v1 = await put(key, Buffer.from('v1'));
    const open = await Promise.all(Array.from({ length: N }, (_, i) => openSignedRequest(g, 'PUT', `/cond/${key}`, 2, { 'if-match': v1.etag! })
      .then((o) => { o.send(Buffer.from([97 + i])); return o; })));
    await new Promise((r) => setTimeout(r, 100));
    const answers = await Promise.all(open.map((o, i) => o.finish(Buffer.from([97 + i]))));
    const won = answers.map((a, i) => [a.status, i] as const).filter(([s]) => s === 200);
    assert.is(won.length, 1, `one winner, got ${answers.map((a) => a.status).join(' ')}`);
    for (const a of answers) if (a.status !== 200) assert.is(a.status, 412, a.text);
    const c = String.fromCharCode(97 + won[0]![1]);
    assert.is(await text(key), c + c);
  }
});

test('If-Match on a key that does not exist, and one whose ETag differs: 412 and nothing written', async () => {
  assert.is((await put('none', Buffer.from('x'), { 'if-match': '"0123456789abcdef0123456789abcdef"' })).status, 412);
  assert.ok(await g.client().send(new GetObjectCommand({ Bucket: 'cond', Key: 'none' })).then(() => false, () => true), 'nothing was created');
  await g.client().send(new PutObjectCommand({ Bucket: 'cond', Key: 'other', Body: 'o' }));
  assert.is((await put('other', Buffer.from('x'), { 'if-match': '"0123456789abcdef0123456789abcdef"' })).status, 412);
  assert.is(await text('other'), 'o');
  const ok = await put('other', Buffer.from('x'), { 'if-match': '*' });
  assert.is(ok.status, 200, ok.text);
  assert.is(await text('other'), 'x');
});

// The coordinator's options the gateway relies on, in library mode and over TCP: a write that
// replaces only a given fileId, a read of only a given fileId (CopyObject's source conditions).
test('writeFile / readFile with ifFileId: FAILED_PRECONDITION once the path holds another file, in library mode and over TCP', async () => {
  const tcp = await serveTcp(g.env.fs);
  const c = tcp.client;
  try {
    for (const fs of [g.env.fs, c]) {
      const p = `/cond/ids-${fs === c ? 'tcp' : 'lib'}`;
      const v1 = await fs.writeFile(p, Buffer.from('one'), { overwrite: true });
      const v2 = await fs.writeFile(p, Buffer.from('two'), { ifFileId: v1.fileId });
      assert.ok(v2.fileId !== v1.fileId);
      assert.is(await codeOf(fs.writeFile(p, Buffer.from('three'), { ifFileId: v1.fileId })), ErrorCode.FAILED_PRECONDITION);
      assert.is(await codeOf(fs.writeFile(`${p}-missing`, Buffer.from('x'), { ifFileId: v1.fileId })), ErrorCode.FAILED_PRECONDITION);
      assert.is(Buffer.from(await readAll(fs.readFile(p, { ifFileId: v2.fileId }))).toString(), 'two');
      assert.is(await codeOf(readAll(fs.readFile(p, { ifFileId: v1.fileId }))), ErrorCode.FAILED_PRECONDITION);
    }
  } finally {
    await tcp.close();
  }
});

test('CopyObject with x-amz-copy-source-if-match racing a PUT of the source: never the new bytes under the old condition', async () => {
  for (let i = 0; i < 10; i++) {
    const v1 = await put('csrc', Buffer.alloc(256 * 1024, 'o'));
    const copy = openSignedRequest(g, 'PUT', `/cond/cdst-${i}`, 0, { 'x-amz-copy-source': '/cond/csrc', 'x-amz-copy-source-if-match': v1.etag! }).then((o) => o.finish());
    const replace = put('csrc', Buffer.alloc(256 * 1024, 'n'));
    const [rc] = await Promise.all([copy, replace]);
    if (rc.status === 200) assert.is(await text(`cdst-${i}`), 'o'.repeat(256 * 1024), 'a copy under If-Match copies the version matched');
    else assert.is(rc.status, 412, rc.text);
  }
});

test.run();
