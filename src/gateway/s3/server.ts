// The S3 gateway's HTTP server: routes path-style (and, with a domain, virtual-host style)
// requests to the bucket, object and multipart handlers, after SigV4 verification against
// the UserStore; every FileSystem call goes through `withUser`. Any failure becomes an S3
// XML error; a malformed request never takes the process down. Counts requests per
// operation and status, errors by S3 code, bytes and latency; one pino access-log line per request when asked.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { FileSystem } from '../../fs.js';
import type { User, UserStore } from '../../auth/users.js';
import { withUser } from '../../auth/access.js';
import { S3Error, toS3Error } from './errors.js';
import { parseQuery, safeDecode, verifyRequest } from './sigv4.js';
import { errorXml } from './xml.js';
import type { RequestContext } from './context.js';
import { copyObject, deleteObject, deleteObjects, getObject, putObject } from './objects.js';
import {
  createBucket, deleteBucket, getAcl, getBucketLocation, getVersioning, headBucket, listBuckets, listObjectsHandler, listVersions,
} from './buckets.js';
import { BodySpool } from './spool.js';
import { MultipartStore, abortUpload, completeUpload, createUpload, listParts, listUploads, uploadPart } from './multipart.js';

export interface S3GatewayOptions {
  /** The file system served (the coordinator in the server process, a StrataClient in `strata gateway`). */
  fs: FileSystem;
  users: UserStore;
  host?: string;
  port: number;
  /** The gateway's own directory (multipart parts). */
  dataDir: string;
  /** With a domain, `bucket.domain` hosts are virtual-host style requests. */
  domain?: string;
  /** Multipart uploads older than this are removed (default 1 day). */
  multipartExpiryMs?: number;
  /** Log one line per request (pino, info level). */
  accessLog?: Logger;
  /**
   * Requests served at once (default 256): each PUT in flight holds up to 1 MiB of its body in
   * memory (spool.ts), so this bounds that memory; one beyond is answered 503 SlowDown at once.
   */
  maxRequests?: number;
  /** Open connections (default 1024): a request on a connection beyond is answered 503 SlowDown and the connection closed. */
  maxConnections?: number;
  /** Where the counters go (default: kept in `metrics` of the handle). */
  onMetric?: (name: string, n: number) => void;
}

export interface S3Gateway {
  host: string;
  port: number;
  /** Counters: `requests.<op>.<status>`, `errors.<S3 code>`, `latencyMs.<op>`, `bytesIn`, `bytesOut`. */
  metrics: Record<string, number>;
  close(): Promise<void>;
}

/** Sub-resources S3 has and Strata does not: answered 501 NotImplemented. */
const UNSUPPORTED = new Set([
  'policy', 'cors', 'lifecycle', 'tagging', 'encryption', 'website', 'logging', 'notification', 'replication',
  'ownershipControls', 'publicAccessBlock', 'object-lock', 'accelerate', 'requestPayment', 'analytics', 'metrics',
  'inventory', 'intelligent-tiering', 'retention', 'legal-hold', 'torrent', 'restore', 'select', 'attributes', 'policyStatus',
]);

type Handler = (ctx: RequestContext) => Promise<void>;

/** Pick the operation for a request. */
function route(ctx: RequestContext, method: string, mp: MultipartStore, spool: BodySpool): { op: string; run: Handler } {
  const q = ctx.query;
  const unsupported = [...q.keys()].find((k) => UNSUPPORTED.has(k));
  const notImpl = (what: string): { op: string; run: Handler } => ({
    op: 'NotImplemented', run: async () => { throw new S3Error('NotImplemented', `${what} is not implemented by the Strata S3 gateway`); },
  });
  if (!ctx.bucket) {
    if (method === 'GET') return { op: 'ListBuckets', run: listBuckets };
    return notImpl(`${method} /`);
  }
  if (unsupported) return notImpl(`the ${unsupported} sub-resource`);
  if (!ctx.key) {
    switch (method) {
      case 'GET':
        if (q.has('location')) return { op: 'GetBucketLocation', run: getBucketLocation };
        if (q.has('versions')) return { op: 'ListObjectVersions', run: listVersions };
        if (q.has('uploads')) return { op: 'ListMultipartUploads', run: (c) => listUploads(c, mp) };
        if (q.has('versioning')) return { op: 'GetBucketVersioning', run: getVersioning };
        if (q.has('acl')) return { op: 'GetBucketAcl', run: getAcl };
        return { op: q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects', run: listObjectsHandler };
      case 'HEAD': return { op: 'HeadBucket', run: headBucket };
      case 'PUT':
        if (q.has('acl')) return { op: 'PutBucketAcl', run: async (c) => { for await (const _ of c.req) { /* ignored */ } c.res.writeHead(200, { 'Content-Length': '0' }).end(); } };
        if (q.has('versioning')) return notImpl('bucket versioning');
        return { op: 'CreateBucket', run: createBucket };
      case 'DELETE': return { op: 'DeleteBucket', run: deleteBucket };
      case 'POST':
        if (q.has('delete')) return { op: 'DeleteObjects', run: deleteObjects };
        return notImpl('this POST');
      default: return notImpl(method);
    }
  }
  switch (method) {
    case 'GET':
      if (q.has('uploadId')) return { op: 'ListParts', run: (c) => listParts(c, mp) };
      if (q.has('acl')) return { op: 'GetObjectAcl', run: getAcl };
      return { op: 'GetObject', run: (c) => getObject(c, false) };
    case 'HEAD': return { op: 'HeadObject', run: (c) => getObject(c, true) };
    case 'PUT':
      if (q.has('uploadId') || q.has('partNumber')) {
        if (!q.has('uploadId') || !q.has('partNumber')) throw new S3Error('InvalidArgument', 'UploadPart needs both uploadId and partNumber');
        return { op: ctx.req.headers['x-amz-copy-source'] ? 'UploadPartCopy' : 'UploadPart', run: (c) => uploadPart(c, mp) };
      }
      if (q.has('acl')) return { op: 'PutObjectAcl', run: async (c) => { for await (const _ of c.req) { /* ignored */ } c.res.writeHead(200, { 'Content-Length': '0' }).end(); } };
      if (ctx.req.headers['x-amz-copy-source'] !== undefined) return { op: 'CopyObject', run: copyObject };
      return { op: 'PutObject', run: (c) => putObject(c, spool) };
    case 'DELETE':
      if (q.has('uploadId')) return { op: 'AbortMultipartUpload', run: (c) => abortUpload(c, mp) };
      return { op: 'DeleteObject', run: deleteObject };
    case 'POST':
      if (q.has('uploads')) return { op: 'CreateMultipartUpload', run: (c) => createUpload(c, mp) };
      if (q.has('uploadId')) return { op: 'CompleteMultipartUpload', run: (c) => completeUpload(c, mp) };
      return notImpl('this POST');
    default: return notImpl(method);
  }
}

/** Split the request into bucket and key (path style, or virtual-host style under `domain`). */
function locate(req: http.IncomingMessage, domain: string | undefined): { bucket: string; key: string; query: Map<string, string> } {
  const url = req.url ?? '/';
  const qi = url.indexOf('?');
  const rawPath = qi < 0 ? url : url.slice(0, qi);
  const query = new Map(parseQuery(qi < 0 ? '' : url.slice(qi + 1)));
  const path = safeDecode(rawPath);
  let host = (req.headers.host ?? '').toLowerCase();
  host = host.startsWith('[') ? host : host.replace(/:\d+$/, '');
  if (domain && host.endsWith(`.${domain}`)) {
    return { bucket: host.slice(0, -domain.length - 1), key: path.replace(/^\//, ''), query };
  }
  const rest = path.replace(/^\//, '');
  const i = rest.indexOf('/');
  return i < 0 ? { bucket: rest, key: '', query } : { bucket: rest.slice(0, i), key: rest.slice(i + 1), query };
}

/**
 * Start an S3 gateway over `fs`. Resolves once it listens; `close()` stops it.
 * @throws when the port cannot be bound.
 */
export async function startS3Gateway(opts: S3GatewayOptions): Promise<S3Gateway> {
  const metrics: Record<string, number> = {};
  const count = (name: string, n: number): void => {
    metrics[name] = (metrics[name] ?? 0) + n;
    opts.onMetric?.(name, n);
  };
  const mp = new MultipartStore(opts.dataDir, opts.multipartExpiryMs ?? 86_400_000);
  await mp.open();
  const spool = new BodySpool(opts.dataDir);
  await spool.open();
  const domain = opts.domain?.toLowerCase().replace(/^\./, '') || undefined;

  // The file system as each user sees it, made once per user (not ~35 closures per request).
  const views = new WeakMap<User, FileSystem>();
  const viewOf = (user: User): FileSystem => {
    let v = views.get(user);
    if (!v) { v = withUser(opts.fs, user); views.set(user, v); }
    return v;
  };
  // Request ids: a random prefix per gateway and a counter (unique, no entropy per request).
  const idPrefix = randomBytes(4).toString('hex').toUpperCase();
  let idSeq = 0;
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const t0 = process.hrtime.bigint();
    const requestId = idPrefix + (++idSeq).toString(16).toUpperCase().padStart(8, '0');
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('Server', 'Strata');
    const method = req.method ?? 'GET';
    const ctx = { req, res, requestId, op: 'Unknown', bytesIn: 0, bytesOut: 0, bucket: '', key: '', query: new Map() } as unknown as RequestContext;
    try {
      Object.assign(ctx, locate(req, domain));
      const auth = verifyRequest({ method, url: req.url ?? '/', headers: req.headers }, opts.users);
      ctx.auth = auth;
      ctx.user = auth.user;
      ctx.fs = viewOf(auth.user);
      const r = route(ctx, method, mp, spool);
      ctx.op = r.op;
      await r.run(ctx);
    } catch (err) {
      sendError(ctx, method, ctx.bodyError instanceof S3Error ? ctx.bodyError : err);
    } finally {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      count(`requests.${ctx.op}.${res.statusCode}`, 1);
      count(`latencyMs.${ctx.op}`, Math.round(ms));
      if (ctx.errorCode) count(`errors.${ctx.errorCode}`, 1);
      if (ctx.bytesIn) count('bytesIn', ctx.bytesIn);
      if (ctx.bytesOut) count('bytesOut', ctx.bytesOut);
      opts.accessLog?.info({ requestId, op: ctx.op, method, url: req.url, status: res.statusCode, ms: Math.round(ms * 10) / 10,
        bytesIn: ctx.bytesIn, bytesOut: ctx.bytesOut, user: ctx.user?.name }, 's3 request');
    }
  };

  const maxRequests = Math.max(1, opts.maxRequests ?? 256);
  const maxConnections = Math.max(1, opts.maxConnections ?? 1024);
  let requests = 0;
  let connections = 0;
  /** Connections accepted beyond maxConnections: their requests are refused, then they close. */
  const over = new WeakSet<object>();
  const server = http.createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 30_000 }, (req, res) => {
    const excess = over.has(req.socket);
    if (excess || requests >= maxRequests) {
      slowDown(req, res, excess, excess ? `more than ${maxConnections} connections are open` : `more than ${maxRequests} requests are in flight`);
      return;
    }
    requests++;
    handle(req, res).catch((err: unknown) => {
      try { res.destroy(err as Error); } catch { /* already gone */ }
    }).finally(() => { requests--; });
  });
  server.on('connection', (socket) => {
    if (++connections > maxConnections) over.add(socket);
    socket.once('close', () => { connections--; });
  });
  /** 503 SlowDown (S3's answer to a client to back off; SDKs retry it with backoff), nothing else done. */
  const slowDown = (req: http.IncomingMessage, res: http.ServerResponse, close: boolean, why: string): void => {
    count('requests.Throttled.503', 1);
    count('errors.SlowDown', 1);
    const requestId = idPrefix + (++idSeq).toString(16).toUpperCase().padStart(8, '0');
    const body = Buffer.from(errorXml('SlowDown', `Please reduce your request rate: ${why}.`, req.url?.split('?')[0] ?? '/', requestId));
    // On a connection kept, the unread body is read and dropped by node:http (nothing held).
    res.writeHead(503, {
      'x-amz-request-id': requestId, Server: 'Strata', 'Retry-After': '1', 'Content-Type': 'application/xml',
      'Content-Length': String(body.length), ...(close ? { Connection: 'close' } : {}),
    });
    res.end(body);
  };
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy(err);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address() as AddressInfo;
  return {
    host: addr.address,
    port: addr.port,
    metrics,
    close: async () => {
      mp.close();
      server.closeIdleConnections();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), 2000);
        force.unref();
        server.close(() => { clearTimeout(force); resolve(); });
      });
    },
  };
}

function sendError(ctx: RequestContext, method: string, err: unknown): void {
  const missing = ctx.key ? 'NoSuchKey' : 'NoSuchBucket';
  const e = toS3Error(err, missing);
  ctx.errorCode = e.code;
  const res = ctx.res;
  if (res.headersSent) {
    // The status is on the wire already: cutting the connection tells the client the body is incomplete.
    res.destroy();
    return;
  }
  const resource = ctx.bucket ? `/${ctx.bucket}${ctx.key ? `/${ctx.key}` : ''}` : '/';
  const headers: Record<string, string> = { ...e.headers };
  if (e.status === 304 || method === 'HEAD') {
    res.writeHead(e.status, headers);
    res.end();
    return;
  }
  const body = Buffer.from(errorXml(e.code, e.message, resource, ctx.requestId));
  ctx.bytesOut += body.length;
  res.writeHead(e.status, { ...headers, 'Content-Type': 'application/xml', 'Content-Length': String(body.length) });
  res.end(body);
}
