// XML of the S3 gateway: responses written by a small serializer of our own (S3's namespace
// on the root element; a listing page of 1,000 keys costs ~1 ms, fast-xml-parser's generic
// builder took ~20 ms) and request bodies parsed with fast-xml-parser; anything that does
// not parse, or lacks the expected root, is MalformedXML.

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from './errors.js';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
/** Escape text and attribute values; characters XML 1.0 cannot carry become numeric references. */
function esc(s: string): string {
  return /[&<>"'\x00-\x08\x0b\x0c\x0e-\x1f]/.test(s)
    ? s.replace(/[&<>"'\x00-\x08\x0b\x0c\x0e-\x1f]/g, (c) => ENTITIES[c] ?? `&#${c.charCodeAt(0)};`)
    : s;
}

/**
 * One element: an object is nested elements (keys `@_name` are attributes), an array is the
 * element repeated, undefined is nothing, anything else is its text.
 */
function element(name: string, v: unknown, out: string[]): void {
  if (v === undefined || v === null) return;
  if (Array.isArray(v)) {
    for (const x of v) element(name, x, out);
    return;
  }
  if (typeof v === 'object' && !(v instanceof Date)) {
    let attrs = '';
    const o = v as Record<string, unknown>;
    for (const k in o) if (k.startsWith('@_') && o[k] !== undefined) attrs += ` ${k.slice(2)}="${esc(String(o[k]))}"`;
    out.push(`<${name}${attrs}>`);
    for (const k in o) if (!k.startsWith('@_')) element(k, o[k], out);
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${esc(v instanceof Date ? v.toISOString() : String(v))}</${name}>`);
}

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, isArray: (name) => ['Part', 'Object'].includes(name) });

/** A whole XML document `<root xmlns=…>body</root>`. */
export function xmlDoc(root: string, body: Record<string, unknown>, ns = true): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  element(root, ns ? { '@_xmlns': NS, ...body } : body, out);
  return out.join('');
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

/** ISO time as S3 prints it (`2025-01-01T00:00:00.000Z`). */
export const isoTime = (ms: number): string => new Date(ms).toISOString();
