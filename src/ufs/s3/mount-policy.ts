// `s3://bucket[/prefix][?endpoint=URL]` entries of mount.allowed.roots (`s3://*` = any bucket):
// an S3 target must name a listed bucket and prefix AND resolve to the endpoint listed with
// it (the server's default endpoint when none is listed), so the server's own credentials
// (AWS environment, `-D s3.*`) are only ever sent to endpoints on the list.

import { invalidArgument, ErrorCode, StrataError } from '../../errors.js';
import { redactUrl } from '../../config/redact.js';
import type { MountTargetContext, MountTargetPolicy } from '../mount-target.js';
import { parseS3Uri, resolveS3Settings } from './s3-options.js';

/** A normalised endpoint; `port` '*' matches any port of that host. */
interface EndpointPattern {
  protocol: string;
  host: string;
  port: string;
  path: string;
}

/** One S3 entry of the list. `endpoint` undefined: the server's own default endpoint. */
interface S3Root {
  bucket: string; // '*' = any bucket
  prefix: string; // '' or 'a/b/'
  endpoint: EndpointPattern | undefined;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

function parseEndpoint(text: string, where: string): EndpointPattern {
  const m = /^(https?):\/\/(\[[^\]]+\]|[^/:?#@]+)(?::(\d{1,5}|\*))?(\/[^?#]*)?$/i.exec(text.trim());
  if (!m) throw invalidArgument(`${where}: endpoint ${JSON.stringify(redactUrl(text))} must be http(s)://host[:port][/path] (port may be *)`);
  const protocol = `${m[1]!.toLowerCase()}:`;
  return { protocol, host: m[2]!.toLowerCase(), port: m[3] ?? DEFAULT_PORTS[protocol]!, path: (m[4] ?? '').replace(/\/+$/, '') };
}

function sameEndpoint(pattern: EndpointPattern, actual: EndpointPattern): boolean {
  return pattern.protocol === actual.protocol && pattern.host === actual.host && pattern.path === actual.path &&
    (pattern.port === '*' || pattern.port === actual.port);
}

function endpointOf(options: Record<string, string>, uri: string, ctx: MountTargetContext): EndpointPattern | undefined {
  const ep = resolveS3Settings(uri, options, ctx.env).endpoint;
  return ep === undefined ? undefined : parseEndpoint(ep, 'S3 endpoint');
}

export const s3MountPolicy: MountTargetPolicy<S3Root> = {
  entryForm: 's3://bucket[/prefix][?endpoint=URL]',
  parseRoot(entry, where) {
    const q = entry.indexOf('?');
    const uri = q < 0 ? entry : entry.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : entry.slice(q + 1));
    const any = /^s3:\/\/\*(\/|$)/i.test(uri);
    const { bucket, prefix } = parseS3Uri(any ? uri.replace('*', 'any-bucket') : uri);
    const ep = query.get('endpoint');
    return { bucket: any ? '*' : bucket, prefix, endpoint: ep ? parseEndpoint(ep, where) : undefined };
  },
  check(uri, options, roots, ctx) {
    const { bucket, prefix } = parseS3Uri(uri);
    const actual = endpointOf(options, uri, ctx);
    const fallback = endpointOf(ctx.ufsDefaults, uri, ctx);
    const ok = roots.some((r) => {
      if (r.bucket !== '*' && r.bucket !== bucket) return false;
      if (r.prefix && !prefix.startsWith(r.prefix)) return false;
      const want = r.endpoint ?? fallback;
      if (!want || !actual) return want === actual; // both AWS itself
      return sameEndpoint(want, actual);
    });
    if (!ok) {
      const at = actual ? `${actual.protocol}//${actual.host}:${actual.port}${actual.path}` : 'AWS S3';
      throw new StrataError(ErrorCode.PERMISSION_DENIED, `mounting ${uri} at ${at} is not allowed: no entry of mount.allowed.roots names that bucket, prefix and endpoint`);
    }
  },
};
