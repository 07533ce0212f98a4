// XML of the S3 gateway: responses written by a small serializer of our own (S3's namespace
// on the root element; listing entries as pre-escaped RawXml, ~2 ms of CPU for a 1,000-key
// page; fast-xml-parser's generic builder took 8-13 ms) and request bodies parsed with
// fast-xml-parser; anything that does not parse, or lacks the expected root, is MalformedXML.

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from './errors.js';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const NEEDS_ESCAPE = /[&<>"'\x00-\x08\x0b\x0c\x0e-\x1f]/;
const ESCAPED = /[&<>"'\x00-\x08\x0b\x0c\x0e-\x1f]/g;
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const entity = (c: string): string => ENTITIES[c] ?? `&#${c.charCodeAt(0)};`;
/** Escape text and attribute values; characters XML 1.0 cannot carry become numeric references. */
export function esc(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPED, entity) : s;
}

/** Markup written by a caller (escaped already): inserted as it is, in place of the element. */
export class RawXml {
  constructor(readonly xml: string) {}
}

/**
 * One element appended to `out`: an object is nested elements (keys `@_name` are
 * attributes), an array is the element repeated, undefined is nothing, anything else is its
 * text. Plain string concatenation (V8 ropes): a 1,000-key listing page is one string, no
 * array of parts.
 */
function element(name: string, v: unknown, out: string): string {
  if (v === undefined || v === null) return out;
  if (v instanceof RawXml) return out + v.xml;
  if (typeof v !== 'object') return `${out}<${name}>${typeof v === 'string' ? esc(v) : String(v)}</${name}>`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) out = element(name, v[i], out);
    return out;
  }
  if (v instanceof Date) return `${out}<${name}>${v.toISOString()}</${name}>`;
  const o = v as Record<string, unknown>;
  let attrs = '';
  let inner = '';
  for (const k in o) {
    const x = o[k];
    if (k.charCodeAt(0) === 64 /* @ */ && k.charCodeAt(1) === 95 /* _ */) {
      if (x !== undefined) attrs += ` ${k.slice(2)}="${esc(String(x))}"`;
    } else {
      inner = element(k, x, inner);
    }
  }
  return `${out}<${name}${attrs}>${inner}</${name}>`;
}

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, isArray: (name) => ['Part', 'Object'].includes(name) });

/** A whole XML document `<root xmlns=…>body</root>`. */
export function xmlDoc(root: string, body: Record<string, unknown>, ns = true): string {
  return element(root, ns ? { '@_xmlns': NS, ...body } : body, '<?xml version="1.0" encoding="UTF-8"?>\n');
}

/** Parse a request body, requiring the root element `root`. */
export function parseXmlBody(text: string, root: string): Record<string, unknown> {
  if (text.trim() === '' || XMLValidator.validate(text) !== true) throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new S3Error('MalformedXML', 'The XML you provided was not well-formed', { cause: err });
  }
  const r = doc[root];
  if (r === undefined) throw new S3Error('MalformedXML', `the XML body must have a ${root} root element`);
  return (r && typeof r === 'object' ? r : {}) as Record<string, unknown>;
}

/** The error document S3 answers with. */
export function errorXml(code: string, message: string, resource: string, requestId: string): string {
  return xmlDoc('Error', { Code: code, Message: message, Resource: resource, RequestId: requestId }, false);
}

const DAY_MS = 86_400_000;
let isoDay = -1;
let isoDayText = '';
const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
/**
 * ISO time as S3 prints it (`2025-01-01T00:00:00.000Z`), as Date#toISOString does: the date
 * part is kept per day and the time computed, as a listing page prints a thousand of them.
 */
export function isoTime(ms: number): string {
  const t = Math.floor(ms);
  if (!(t >= 0 && t < 253_402_300_800_000)) return new Date(ms).toISOString(); // outside years 1970-9999
  const day = Math.floor(t / DAY_MS);
  if (day !== isoDay) { isoDay = day; isoDayText = new Date(day * DAY_MS).toISOString().slice(0, 11); }
  let r = t - day * DAY_MS;
  const h = Math.floor(r / 3_600_000); r -= h * 3_600_000;
  const m = Math.floor(r / 60_000); r -= m * 60_000;
  const sec = Math.floor(r / 1000); r -= sec * 1000;
  return `${isoDayText}${pad2(h)}:${pad2(m)}:${pad2(sec)}.${r < 10 ? `00${r}` : r < 100 ? `0${r}` : r}Z`;
}
