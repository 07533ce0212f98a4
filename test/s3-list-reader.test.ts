// The S3 UFS reads ListObjectsV2 pages with its own light reader (src/ufs/s3/list-xml.ts):
// the documents it must understand (entities, prefixes, truncation, either order of the
// page fields), the ones it must leave to the SDK (errors, other roots, cut bodies), and
// against the real radosgw: keys with XML-special and non-ASCII characters list exactly as
// the SDK's own deserialiser reads them, over several pages, flat and delimited.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PutObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { decodeXmlText, lightListStats, parseListObjectsV2 } from '../src/ufs/s3/list-xml.js';
import type { UfsStatus } from '../src/ufs/ufs.js';
import { freshBucket } from './helpers/s3.js';
import type { FreshBucket } from './helpers/s3.js';
import { listAll } from './helpers/assert.js';

const doc = (inner: string): string => `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</ListBucketResult>`;

test('entity and character references are resolved', () => {
  assert.is(decodeXmlText('a&amp;b&lt;c&gt;&quot;d&quot;&apos;&#233;&#x1F600;'), 'a&b<c>"d"\'é😀');
  assert.is(decodeXmlText('plain'), 'plain');
  // ETags as servers write them (a fast path) and the look-alikes that are not that shape.
  assert.is(decodeXmlText('&quot;d41d8cd98f00b204e9800998ecf8427e&quot;'), '"d41d8cd98f00b204e9800998ecf8427e"');
  assert.is(decodeXmlText('&quot;&quot;'), '""');
  assert.is(decodeXmlText('&quot;a&amp;b&quot;'), '"a&b"');
  assert.is(decodeXmlText('&quot;x&quot;&quot;'), '"x""');
  assert.is(decodeXmlText('&quot;abc'), '"abc');
  assert.is(decodeXmlText('&quot;a&lt;&quot;'), '"a<"');
});

test('a page: keys, sizes, ETags, times, prefixes, truncation and token', () => {
  const p = parseListObjectsV2(doc(
    '<Name>b</Name><Prefix>d/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>' +
    '<NextContinuationToken>tok&amp;1</NextContinuationToken>' +
    '<Contents><Key>d/a&amp;b</Key><LastModified>2026-12-02T06:00:01.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>' +
    '<CommonPrefixes><Prefix>d/sub/</Prefix></CommonPrefixes>' +
    '<Contents><Key>d/z</Key><LastModified>2026-12-02T06:00:02.000Z</LastModified><ETag>"e"</ETag><Size>0</Size></Contents>'))!;
  assert.ok(p);
  assert.equal(p.Contents!.map((c) => [c.Key, c.Size, c.ETag, c.LastModified!.toISOString()]), [
    ['d/a&b', 12, '"abc"', '2026-12-02T06:00:01.000Z'],
    ['d/z', 0, '"e"', '2026-12-02T06:00:02.000Z'],
  ]);
  assert.equal(p.CommonPrefixes, [{ Prefix: 'd/sub/' }]);
  assert.is(p.IsTruncated, true);
  assert.is(p.NextContinuationToken, 'tok&1');
  assert.is(p.KeyCount, 3);
  // Page fields after the entries (another server's order), and an empty page.
  const after = parseListObjectsV2(doc('<Contents><Key>k</Key><Size>1</Size></Contents><IsTruncated>false</IsTruncated><KeyCount>1</KeyCount>'))!;
  assert.is(after.IsTruncated, false);
  assert.is(after.Contents!.length, 1);
  assert.equal(parseListObjectsV2(doc('<IsTruncated>false</IsTruncated>'))!.Contents, []);
});

test('documents that are not a readable page are left to the SDK', () => {
  assert.is(parseListObjectsV2('<?xml version="1.0"?><Error><Code>NoSuchBucket</Code></Error>'), undefined);
  assert.is(parseListObjectsV2(doc('<Contents><Key>k</Key><Size>1</Size>')), undefined, 'a cut entry');
  assert.is(parseListObjectsV2('<ListBucketResult><Contents><Key>k</Key>'), undefined, 'a cut body');
  assert.is(parseListObjectsV2(doc('<Contents><Size>1</Size></Contents>')), undefined, 'an entry without a key');
  assert.is(parseListObjectsV2(doc('<Contents><Key>k</Key><LastModified>yesterday</LastModified></Contents>')), undefined, 'a bad time');
});

let b: FreshBucket | undefined;

test('against radosgw: the same entries as the SDK reads, flat and delimited, over pages', async () => {
  b = await freshBucket('list-reader');
  const names = ['a&b', '<tag>', 'quote"s', "apos'", 'caf\u00e9', 'space name', '100%', 'x+y', 'emoji-\u{1F600}'];
  const keys: string[] = [];
  for (const n of names) keys.push(`d/${n}`, `d/sub/${n}`);
  for (let i = 0; i < 25; i++) keys.push(`d/many/k${String(i).padStart(3, '0')}`);
  for (const Key of keys) await b.client.send(new PutObjectCommand({ Bucket: b.bucket, Key, Body: Key }));

  // What the SDK's own deserialiser reads (a plain client, no light reader).
  const sdkKeys: string[] = [];
  let token: string | undefined;
  do {
    const page = await b.client.send(new ListObjectsV2Command({ Bucket: b.bucket, Prefix: 'd/', MaxKeys: 7, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) sdkKeys.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  assert.equal([...sdkKeys].sort(), [...keys].sort());

  const ufs = b.ufs();
  const before = lightListStats.read;
  const flat = (await listAll(ufs, 'd', { recursive: true, pageSize: 7 })).entries;
  const files = flat.filter((e: UfsStatus) => e.type === 'file').map((e) => `d/${e.name}`);
  assert.equal(files.sort(), [...keys].sort(), 'every key, decoded as the SDK decodes it');
  assert.ok(lightListStats.read - before >= Math.ceil(keys.length / 7), `pages read by the light reader: ${lightListStats.read - before}`);
  const st = flat.find((e) => e.name === 'a&b')!;
  assert.is(st.length, 'd/a&b'.length);
  assert.ok(st.mtimeMs > 0);

  const shallow = (await listAll(ufs, 'd', { pageSize: 4 })).entries.map((e) => `${e.name}${e.type === 'directory' ? '/' : ''}`);
  assert.equal(shallow, [...names, 'many/', 'sub/'].sort());
  // The ETag is the same one a HEAD (getStatus) gives.
  const head = await ufs.getStatus('d/<tag>');
  const listed = (await listAll(ufs, 'd')).entries.find((e) => e.name === '<tag>')!;
  assert.is(listed.contentHash, head!.contentHash);
});

test('against radosgw: a recursive listing synthesises directories once and skips keys with empty, . or .. segments', async () => {
  b ??= await freshBucket('list-reader');
  const keys = ['a/1', 'a//2', 'a/./3', 'a/b/', 'a/b/4', 'a/c', 'b', 'c/../d', 'e/f/g/5', 'e/f/6', 'e/7', 'h'];
  for (const k of keys) await b.client.send(new PutObjectCommand({ Bucket: b.bucket, Key: `r/${k}`, Body: k }));
  const expected = ['a/', 'a/1', 'a/b/', 'a/b/4', 'a/c', 'b', 'e/', 'e/7', 'e/f/', 'e/f/6', 'e/f/g/', 'e/f/g/5', 'h'];
  const ufs = b.ufs();
  for (const pageSize of [1, 3, 1000]) {
    const got = (await listAll(ufs, 'r', { recursive: true, pageSize })).entries.map((e: UfsStatus) => `${e.name}${e.type === 'directory' ? '/' : ''}`);
    assert.equal(got, expected, `pages of ${pageSize}`);
  }
});

test.after(async () => {
  await b?.cleanup();
});

test.run();
