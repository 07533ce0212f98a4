// XML of the S3 gateway: responses built with fast-xml-parser's builder (S3's namespace on
// the root element) and request bodies parsed with its parser; anything that does not parse,
// or lacks the expected root, is MalformedXML.

import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from './errors.js';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false, processEntities: true });
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, isArray: (name) => ['Part', 'Object'].includes(name) });

/** A whole XML document `<root xmlns=…>body</root>`. */
export function xmlDoc(root: string, body: Record<string, unknown>, ns = true): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + builder.build({ [root]: ns ? { '@_xmlns': NS, ...body } : body });
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
