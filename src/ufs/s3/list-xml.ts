// A light reader of ListObjectsV2 responses for the S3 UFS's listings. The AWS SDK's generic
// XML deserialiser costs ~35 ms of CPU per 1,000-key page (fast-xml-parser, then a walk of
// the shape model); the listing only needs five fields per key, read here by scanning the
// document once (~1 ms). The SDK still signs, sends, retries and maps errors: the reader
// sits in the command's middleware stack, takes a 200 response's body, and leaves the SDK
// an empty result document to deserialise. A body it cannot read goes to the SDK as it came.

import type { ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';

/** One page of a listing, in the shape of the SDK's output (the fields the UFS reads). */
export type ListPage = Pick<ListObjectsV2CommandOutput, 'Contents' | 'CommonPrefixes' | 'IsTruncated' | 'NextContinuationToken' | 'KeyCount'>;

const ENTITY = /&(?:#x([0-9a-fA-F]+)|#(\d+)|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

const QUOT = '&quot;';

/** XML character data with its entity and character references resolved. */
export function decodeXmlText(s: string): string {
  const amp = s.indexOf('&');
  if (amp < 0) return s;
  // An ETag as S3 servers write it, `&quot;hex&quot;`: no regex for the common case.
  if (amp === 0 && s.length >= 12 && s.startsWith(QUOT) && s.endsWith(QUOT) && s.indexOf('&', QUOT.length) === s.length - QUOT.length) {
    return `"${s.slice(QUOT.length, -QUOT.length)}"`;
  }
  return s.replace(ENTITY, (_m, hex: string | undefined, dec: string | undefined, name: string | undefined) =>
    (name ? NAMED[name]! : String.fromCodePoint(parseInt((hex ?? dec)!, hex ? 16 : 10))));
}

/** A field's opening and closing tags. */
interface Tag { open: string; close: string }
const tag = (name: string): Tag => ({ open: `<${name}>`, close: `</${name}>` });
const KEY = tag('Key');
const SIZE = tag('Size');
const ETAG = tag('ETag');
const MODIFIED = tag('LastModified');
const PREFIX = tag('Prefix');
const TRUNCATED = tag('IsTruncated');
const TOKEN = tag('NextContinuationToken');
const KEY_COUNT = tag('KeyCount');

/** Text of the first `<tag>…</tag>` in `xml[from, to)`, or undefined. */
function field(xml: string, t: Tag, from: number, to: number): string | undefined {
  const open = xml.indexOf(t.open, from);
  if (open < 0 || open >= to) return undefined;
  const start = open + t.open.length;
  const end = xml.indexOf(t.close, start);
  if (end < 0 || end > to) return undefined;
  return decodeXmlText(xml.slice(start, end));
}

/**
 * Read a ListObjectsV2 result document. Returns undefined when the document is not one
 * (an error document, another root, a truncated body): the caller then lets the SDK read it.
 */
export function parseListObjectsV2(xml: string): ListPage | undefined {
  const root = xml.indexOf('<ListBucketResult');
  const rootEnd = xml.lastIndexOf('</ListBucketResult>');
  if (root < 0 || rootEnd < root) return undefined;
  const contents: NonNullable<ListPage['Contents']> = [];
  const prefixes: NonNullable<ListPage['CommonPrefixes']> = [];
  // The page-level fields come after the entries or before them, depending on the server:
  // they are read from the document with the entries cut out.
  let outside = '';
  let at = root;
  // The next entry of each kind at or after `at`, searched again only once passed (a flat
  // page has no prefixes: one search, not one per key).
  let c = -2;
  let p = -2;
  for (;;) {
    if (c !== -1 && c < at) c = xml.indexOf('<Contents>', at);
    if (p !== -1 && p < at) p = xml.indexOf('<CommonPrefixes>', at);
    const next = c < 0 ? p : p < 0 ? c : Math.min(c, p);
    if (next < 0 || next > rootEnd) break;
    outside += xml.slice(at, next);
    if (next === c) {
      const end = xml.indexOf('</Contents>', c);
      if (end < 0) return undefined;
      const key = field(xml, KEY, c, end);
      if (key === undefined) return undefined;
      const size = field(xml, SIZE, c, end);
      const etag = field(xml, ETAG, c, end);
      const modified = field(xml, MODIFIED, c, end);
      const lastModified = modified === undefined ? undefined : new Date(modified);
      if (lastModified && Number.isNaN(lastModified.getTime())) return undefined;
      contents.push({
        Key: key,
        Size: size === undefined ? 0 : Number(size),
        ...(etag !== undefined ? { ETag: etag } : {}),
        ...(lastModified ? { LastModified: lastModified } : {}),
      });
      at = end + '</Contents>'.length;
    } else {
      const end = xml.indexOf('</CommonPrefixes>', p);
      if (end < 0) return undefined;
      const prefix = field(xml, PREFIX, p, end);
      if (prefix === undefined) return undefined;
      prefixes.push({ Prefix: prefix });
      at = end + '</CommonPrefixes>'.length;
    }
  }
  outside += xml.slice(at, rootEnd);
  const truncated = field(outside, TRUNCATED, 0, outside.length);
  const token = field(outside, TOKEN, 0, outside.length);
  const keyCount = field(outside, KEY_COUNT, 0, outside.length);
  return {
    Contents: contents,
    CommonPrefixes: prefixes,
    IsTruncated: truncated === 'true',
    ...(token !== undefined ? { NextContinuationToken: token } : {}),
    ...(keyCount !== undefined ? { KeyCount: Number(keyCount) } : {}),
  };
}

/** Pages read by this reader and pages left to the SDK, in this thread (tests, metrics). */
export const lightListStats = { read: 0, leftToSdk: 0 };

/** What the SDK deserialises instead of a page this reader took. */
const EMPTY_RESULT = new TextEncoder().encode('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></ListBucketResult>');

interface MiddlewareStack {
  addRelativeTo(mw: unknown, options: { relation: 'before' | 'after'; toMiddleware: string; name: string; override?: boolean }): void;
}

interface HttpResponseLike {
  statusCode: number;
  body?: unknown;
}

async function bodyBytes(body: unknown): Promise<Uint8Array | undefined> {
  if (body instanceof Uint8Array) return body;
  if (!body || typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') return undefined;
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Uint8Array | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  return Buffer.concat(chunks);
}

/**
 * Have `command` (a ListObjectsV2Command) read its 200 response with parseListObjectsV2.
 * Returns a getter of the page read (undefined when the SDK read it: an error, or a body
 * this reader did not understand). It sits between the SDK's deserialiser and the S3
 * middleware that turns a 200 carrying an `<Error>` document into a 503, so it sees the
 * status that middleware decided and the body it collected.
 */
export function readListWithLightParser(command: { middlewareStack: unknown }): () => ListPage | undefined {
  let page: ListPage | undefined;
  const mw = (next: (args: unknown) => Promise<{ response: unknown }>) => async (args: unknown) => {
    const result = await next(args);
    const res = result.response as HttpResponseLike | undefined;
    if (!res || res.statusCode !== 200) return result;
    const bytes = await bodyBytes(res.body);
    if (!bytes) return result;
    const parsed = parseListObjectsV2(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    if (parsed) {
      page = parsed;
      res.body = EMPTY_RESULT;
      lightListStats.read++;
    } else {
      res.body = bytes;
      lightListStats.leftToSdk++;
    }
    return result;
  };
  (command.middlewareStack as MiddlewareStack).addRelativeTo(mw, {
    relation: 'before', toMiddleware: 'throw200ExceptionsMiddleware', name: 'strataLightListReader', override: true,
  });
  return () => page;
}
