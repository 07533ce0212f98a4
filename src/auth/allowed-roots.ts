// What a mount may reach: the admin's list `mount.allowed.roots` of `file:///dir` prefixes
// and `s3://bucket[/prefix][?endpoint=URL]` targets, plus the root UFS. Local paths are
// compared after resolving symlinks; the data directory (metadata, cache, keys) is never
// mountable, nor any directory that contains it. An S3 target must name a listed bucket and
// prefix AND resolve to the endpoint listed with it, so the server's own credentials (AWS
// environment, `-D s3.*`) are only ever sent to endpoints on the list.

import { realpathSync } from 'node:fs';
import { dirname, basename, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, StrataError, invalidArgument } from '../errors.js';
import { redactUrl } from '../config/redact.js';
import { parseS3Uri, resolveS3Settings } from '../ufs/s3/s3-options.js';

/** One S3 entry of the list. `endpoint` undefined: the server's own default endpoint. */
interface S3Root {
  bucket: string; // '*' = any bucket
  prefix: string; // '' or 'a/b/'
  endpoint: EndpointPattern | undefined;
}

/** A normalised endpoint; `port` '*' matches any port of that host. */
interface EndpointPattern {
  protocol: string;
  host: string;
  port: string;
  path: string;
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

/** The real path of `p`: symlinks of its longest existing ancestor resolved, the rest appended. */
export function realPathOf(p: string): string {
  let cur = resolve(p);
  const rest: string[] = [];
  for (let i = 0; i < 4096; i++) {
    try {
      return join(realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = dirname(cur);
      if (parent === cur) break;
      rest.push(basename(cur));
      cur = parent;
    }
  }
  return resolve(p);
}

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

function denied(message: string): StrataError {
  return new StrataError(ErrorCode.PERMISSION_DENIED, message);
}

export interface AllowedRootsOptions {
  /** The `mount.allowed.roots` value: comma-separated entries ('' = the root UFS only). */
  list: string;
  /** The server's data directory: never mountable. */
  dataDir: string;
  /** URI of the root mount: always allowed. */
  rootUfs: string;
  /** Server-wide UFS options (`-D s3.*`): they define the default S3 endpoint. */
  ufsDefaults: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

/** The checked form of `mount.allowed.roots`. */
export class AllowedRoots {
  private readonly dirs: string[] = [];
  private readonly s3: S3Root[] = [];
  private readonly dataDir: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly ufsDefaults: Record<string, string>;

  constructor(opts: AllowedRootsOptions) {
    this.env = opts.env ?? process.env;
    this.ufsDefaults = opts.ufsDefaults;
    this.dataDir = realPathOf(opts.dataDir);
    const entries = opts.list.split(',').map((e) => e.trim()).filter(Boolean);
    for (const e of [opts.rootUfs, ...entries]) this.add(e, e === opts.rootUfs && !entries.includes(e));
  }

  private add(entry: string, isRoot: boolean): void {
    const where = isRoot ? 'root UFS' : 'mount.allowed.roots';
    if (/^file:/i.test(entry)) {
      let p: string;
      try {
        p = fileURLToPath(entry);
      } catch (err) {
        throw new StrataError(ErrorCode.INVALID_ARGUMENT, `${where}: ${JSON.stringify(entry)} is not a file:/// URI`, { cause: err });
      }
      this.dirs.push(realPathOf(p));
    } else if (/^s3:/i.test(entry)) {
      const q = entry.indexOf('?');
      const uri = q < 0 ? entry : entry.slice(0, q);
      const query = new URLSearchParams(q < 0 ? '' : entry.slice(q + 1));
      const any = /^s3:\/\/\*(\/|$)/i.test(uri);
      const { bucket, prefix } = parseS3Uri(any ? uri.replace('*', 'any-bucket') : uri);
      const ep = query.get('endpoint');
      this.s3.push({ bucket: any ? '*' : bucket, prefix, endpoint: ep ? parseEndpoint(ep, where) : undefined });
    } else if (!isRoot) {
      throw invalidArgument(`${where}: ${JSON.stringify(redactUrl(entry))} must be file:///dir or s3://bucket[/prefix][?endpoint=URL]`);
    }
  }

  /**
   * Throw PERMISSION_DENIED unless a mount of `uri` with the UFS options `options` (server
   * defaults already merged in) stays within the list and away from the data directory.
   */
  check(uri: string, options: Record<string, string>): void {
    if (/^file:/i.test(uri)) return this.checkLocal(uri);
    if (/^s3:/i.test(uri)) return this.checkS3(uri, options);
    throw denied(`mounting ${redactUrl(uri)} is not allowed: only file:// and s3:// targets on mount.allowed.roots may be mounted`);
  }

  private checkLocal(uri: string): void {
    let p: string;
    try {
      p = fileURLToPath(uri);
    } catch (err) {
      throw new StrataError(ErrorCode.INVALID_ARGUMENT, `UFS URI ${JSON.stringify(uri)} is not a file:/// URI`, { cause: err });
    }
    const real = realPathOf(p);
    if (inside(real, this.dataDir) && !this.dirs.some((d) => inside(d, this.dataDir) && inside(real, d)) || inside(this.dataDir, real)) {
      throw denied(`mounting ${uri} is not allowed: it reaches the server's data directory (${this.dataDir})`);
    }
    if (!this.dirs.some((d) => inside(real, d))) {
      throw denied(`mounting ${uri} is not allowed: ${real} is not under mount.allowed.roots (${this.dirs.join(', ') || 'none'})`);
    }
  }

  private endpointOf(options: Record<string, string>, uri: string): EndpointPattern | undefined {
    const ep = resolveS3Settings(uri, options, this.env).endpoint;
    return ep === undefined ? undefined : parseEndpoint(ep, 'S3 endpoint');
  }

  private checkS3(uri: string, options: Record<string, string>): void {
    const { bucket, prefix } = parseS3Uri(uri);
    const actual = this.endpointOf(options, uri);
    const fallback = this.endpointOf(this.ufsDefaults, uri);
    const ok = this.s3.some((r) => {
      if (r.bucket !== '*' && r.bucket !== bucket) return false;
      if (r.prefix && !prefix.startsWith(r.prefix)) return false;
      const want = r.endpoint ?? fallback;
      if (!want || !actual) return want === actual; // both AWS itself
      return sameEndpoint(want, actual);
    });
    if (!ok) {
      const at = actual ? `${actual.protocol}//${actual.host}:${actual.port}${actual.path}` : 'AWS S3';
      throw denied(`mounting ${uri} at ${at} is not allowed: no entry of mount.allowed.roots names that bucket, prefix and endpoint`);
    }
  }
}
