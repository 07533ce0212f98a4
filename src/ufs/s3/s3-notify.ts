// S3 bucket notifications as a low-latency *hint* for active sync (radosgw). Per sync point:
// a persistent SNS-style topic on the S3 port whose push endpoint is a secret URL of a small
// HTTP server inside Strata, and a bucket notification (ObjectCreated:*, ObjectRemoved:*)
// filtered on the sync point's key prefix. Each POST is acknowledged at once (a hanging
// endpoint blocks RGW's writers) and applied asynchronously: duplicates are dropped by
// eventId, stale events by the decoded per-key sequencer. Persistent topics start 18-22 s
// after creation, pause after RGW restarts and may stall: the manager keeps reconciling
// the sync point by listing every `active.sync.interval` (this watcher sets `reconcile`).
// A server without notifications (AWS without an SNS bridge, other S3 stores) leaves only
// that reconciliation, with a log line. While the notification may exist, this process
// deletes with single DeleteObject calls (DeleteObjects crashes radosgw's beast frontend).

import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from './sdk.js';

import type { Logger } from '../../log.js';
import { markBucketNotified } from './notified-buckets.js';
import { resolveS3Settings } from './s3-options.js';
import type { S3Settings } from './s3-options.js';
import { signV4 } from './sigv4.js';
import type { SigV4Credentials } from './sigv4.js';
import type { ChangeEvent, ChangeWatcher, WatchCallbacks } from '../change-watcher.js';

/** Largest notification body accepted (one record is ~1.5 KB). */
const MAX_BODY = 1024 * 1024;
/** Time limit of one set-up or clean-up call to the S3 server. */
const CALL_TIMEOUT_MS = 10_000;
const DEDUPE_WINDOW = 20_000;

// ------------------------------------------------------------------ the shared endpoint

type Handler = (body: Buffer) => void;

/**
 * One HTTP endpoint per process (per port) on 127.0.0.1, shared by all sync points. Only
 * `POST /<token>` for a registered token is accepted; anything else is 404 (unknown path)
 * or 405. A POST is answered 200 as soon as its body arrived; the handler runs later.
 */
export class NotifyEndpoint {
  private static readonly shared = new Map<string, NotifyEndpoint>();
  private readonly handlers = new Map<string, Handler>();
  private server: Server | undefined;
  private listening: Promise<number> | undefined;
  /** Requests answered, by outcome (tests and the report). */
  readonly counts = { accepted: 0, rejected: 0 };

  private constructor(readonly host: string, readonly port: number) {}

  static get(host = '127.0.0.1', port = 0): NotifyEndpoint {
    const k = `${host}:${port}`;
    let e = NotifyEndpoint.shared.get(k);
    if (!e) NotifyEndpoint.shared.set(k, (e = new NotifyEndpoint(host, port)));
    return e;
  }

  /** Register a handler; resolves to the URL RGW must push to. */
  async register(token: string, handler: Handler): Promise<string> {
    this.handlers.set(token, handler);
    const port = await this.listen();
    return `http://${this.host}:${port}/${token}`;
  }

  async unregister(token: string): Promise<void> {
    this.handlers.delete(token);
    if (this.handlers.size === 0 && this.server) {
      const s = this.server;
      this.server = undefined;
      this.listening = undefined;
      s.closeAllConnections?.();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  private listen(): Promise<number> {
    this.listening ??= new Promise<number>((resolve, reject) => {
      const server = createServer((req, res) => this.serve(req, res));
      server.keepAliveTimeout = 30_000;
      server.requestTimeout = 10_000;
      server.on('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        server.on('error', () => undefined);
        resolve((server.address() as AddressInfo).port);
      });
      this.server = server;
    });
    return this.listening;
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const token = (req.url ?? '').replace(/^\//, '').split('?')[0]!;
    const handler = this.handlers.get(token);
    const refuse = (code: number) => {
      this.counts.rejected++;
      res.writeHead(code, { 'content-type': 'text/plain', connection: 'close' }).end();
      req.resume();
    };
    if (!handler) return refuse(404);
    if (req.method !== 'POST') return refuse(405);
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY) { refuse(413); req.destroy(); return; }
      parts.push(d);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return;
      this.counts.accepted++;
      res.writeHead(200, { 'content-length': '0' }).end();
      const body = Buffer.concat(parts);
      setImmediate(() => {
        try { handler(body); } catch { /* a bad body never reaches RGW */ }
      });
    });
    req.on('error', () => undefined);
  }
}

// ------------------------------------------------------------------ event decoding

/**
 * radosgw's `sequencer`: the hex of a utime_t as it lies in memory — two little-endian
 * 32-bit fields, seconds then nanoseconds. Decoded to nanoseconds for comparing; undefined
 * when it does not look like that.
 */
export function decodeSequencer(seq: unknown): bigint | undefined {
  if (typeof seq !== 'string' || !/^[0-9a-fA-F]{16}$/.test(seq)) return undefined;
  const b = Buffer.from(seq, 'hex');
  return BigInt(b.readUInt32LE(0)) * 1_000_000_000n + BigInt(b.readUInt32LE(4));
}

export interface S3Record {
  eventName: string;
  key: string;
  size: number | undefined;
  eTag: string | undefined;
  sequencer: bigint | undefined;
  eventId: string | undefined;
  eventTimeMs: number | undefined;
}

/** The records of one notification POST (RGW sends one; all are read). */
export function parseNotification(body: Buffer | string): S3Record[] {
  const doc = JSON.parse(typeof body === 'string' ? body : body.toString('utf8')) as { Records?: unknown };
  if (!Array.isArray(doc.Records)) return [];
  const out: S3Record[] = [];
  for (const r of doc.Records as Array<Record<string, any>>) {
    const obj = r?.s3?.object;
    if (!obj || typeof obj.key !== 'string' || typeof r.eventName !== 'string') continue;
    const t = typeof r.eventTime === 'string' ? Date.parse(r.eventTime) : NaN;
    out.push({
      eventName: r.eventName.replace(/^s3:/, ''),
      // radosgw sends the key raw (checked: "a b+c%d/é.txt" arrives as is), not URL-encoded.
      key: obj.key,
      size: typeof obj.size === 'number' ? obj.size : undefined,
      eTag: typeof obj.eTag === 'string' ? obj.eTag : undefined,
      sequencer: decodeSequencer(obj.sequencer),
      eventId: typeof r.eventId === 'string' ? r.eventId : undefined,
      eventTimeMs: Number.isFinite(t) ? t : undefined,
    });
  }
  return out;
}

/** A bounded insertion-ordered map (oldest entries dropped first). */
class Lru<V> {
  private readonly m = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined { return this.m.get(k); }
  has(k: string): boolean { return this.m.has(k); }
  set(k: string, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    if (this.m.size > this.max) this.m.delete(this.m.keys().next().value!);
  }
}

// ------------------------------------------------------------------ the watcher

export interface S3NotifyOptions {
  /** The mount's `s3://bucket/prefix` (with `options`), unless `settings` are given. */
  uri?: string;
  /** The mount's UFS options (endpoint, credentials, region...). */
  options?: Record<string, string>;
  /** The resolved settings of the mount's S3Ufs (instead of `uri` and `options`). */
  settings?: Readonly<S3Settings>;
  /** UFS-relative directory of the sync point ('' = the mount root). */
  dir: string;
  /** Strata path of the sync point (names the notification). */
  syncPoint: string;
  cb: WatchCallbacks;
  log: Logger;
  /** Port of the shared endpoint (0 = any free port). */
  port?: number;
  host?: string;
  /** Counter sink: dropped duplicates / stale events. */
  count?: (name: string, n?: number) => void;
}

export interface S3NotifyStats {
  duplicates: number;
  stale: number;
  received: number;
}

export class S3NotifyWatcher implements ChangeWatcher {
  /** 's3-notify' while a notification is configured (or being set up); 'poll' after a fall-back. */
  kind: string = 's3-notify';
  /** Events are only a hint: the manager must keep reconciling by listing. */
  readonly reconcile = true;
  readonly stats: S3NotifyStats = { duplicates: 0, stale: 0, received: 0 };
  /** The notification Id and topic, once configured (tests inspect the bucket with them). */
  notificationId: string | undefined;
  topicArn: string | undefined;
  /** Resolves when set-up has finished (configured or fallen back). */
  ready: Promise<void> = Promise.resolve();
  /** A notification arrived: the topic delivers. */
  private delivering = false;

  private readonly settings: Readonly<S3Settings>;
  private readonly keyPrefix: string;
  private readonly token = randomBytes(24).toString('hex');
  private readonly endpoint: NotifyEndpoint;
  private readonly seen = new Lru<true>(DEDUPE_WINDOW);
  private readonly lastSeq = new Lru<bigint>(DEDUPE_WINDOW);
  private client: S3Client | undefined;
  private marked = false;
  private stopped = false;

  constructor(private readonly o: S3NotifyOptions) {
    this.settings = o.settings ?? resolveS3Settings(o.uri ?? '', o.options ?? {});
    this.keyPrefix = this.settings.prefix + (o.dir ? `${o.dir}/` : '');
    this.endpoint = NotifyEndpoint.get(o.host ?? '127.0.0.1', o.port ?? 0);
  }

  private get s3Endpoint(): string {
    return this.settings.endpoint ?? `https://s3.${this.settings.region}.amazonaws.com`;
  }

  start(): void {
    // The initial full sync runs while the notification is set up; reconciliation covers the gap.
    this.o.cb.onReady();
    this.ready = this.setUp().catch((err: Error) => this.fallBack(err.message));
  }

  private fallBack(why: string): void {
    if (this.stopped) return;
    this.kind = 'poll';
    this.o.log.info({ path: this.o.syncPoint, reason: why }, 'S3 bucket notifications unavailable; active sync reconciles by listing every active.sync.interval');
    this.o.cb.onNotice?.(`bucket notifications unavailable (${why}); reconciling by listing every active.sync.interval`);
    void this.tearDown();
  }

  private async setUp(): Promise<void> {
    const s = this.settings;
    const creds = s.credentials;
    if (!creds) throw new Error('bucket notifications need static credentials (accessKeyId/secretAccessKey)');
    const hash = createHash('sha256').update(`${s.bucket}\0${this.keyPrefix}\0${this.o.syncPoint}`).digest('hex').slice(0, 12);
    const base = `strata-${hash}`;
    const topic = `${base}-${randomBytes(4).toString('hex')}`;
    const url = await this.endpoint.register(this.token, (b) => this.onPost(b));
    if (this.stopped) return;
    // Persistent topics only: non-persistent ones lose events while the endpoint is down
    // and block S3 writers while it hangs.
    const created = await this.sns(creds, {
      Action: 'CreateTopic', Name: topic,
      'Attributes.entry.1.key': 'push-endpoint', 'Attributes.entry.1.value': url,
      'Attributes.entry.2.key': 'persistent', 'Attributes.entry.2.value': 'true',
      'Attributes.entry.3.key': 'OpaqueData', 'Attributes.entry.3.value': `strata:${this.o.syncPoint}`,
    });
    if (created.status !== 200) throw new Error(`CreateTopic answered HTTP ${created.status}${errCode(created.text)}`);
    this.topicArn = /<TopicArn>([^<]+)<\/TopicArn>/.exec(created.text)?.[1] ?? `arn:aws:sns:default::${topic}`;
    if (this.stopped) { await this.tearDown(); return; }
    // From here a notification may exist: this process must not use DeleteObjects on the bucket.
    markBucketNotified(s.endpoint, s.bucket, true);
    this.marked = true;
    this.notificationId = base;
    this.client = new (s3Sdk().S3Client)({
      region: s.region,
      endpoint: this.s3Endpoint,
      forcePathStyle: s.pathStyle,
      credentials: creds,
      maxAttempts: 2,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    // radosgw merges PUTs by Id: this replaces only our own entry (after a crash, too).
    await this.client.send(new (s3Sdk().PutBucketNotificationConfigurationCommand)({
      Bucket: s.bucket,
      NotificationConfiguration: {
        TopicConfigurations: [{
          Id: base,
          TopicArn: this.topicArn,
          Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
          ...(this.keyPrefix ? { Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: this.keyPrefix }] } } } : {}),
        }],
      },
    }), { abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
    this.o.log.info({ path: this.o.syncPoint, topic: this.topicArn, id: base }, 'S3 bucket notification configured (events start when the persistent topic runs)');
    if (!this.delivering) {
      this.o.cb.onWarming?.(`bucket notification configured at ${new Date().toISOString()}; no event delivered yet ` +
        '(a new persistent topic starts delivering about 20 s after creation); until then outside changes are found by ' +
        'reconciliation every active.sync.interval');
    }
    // Topics of earlier runs of this sync point (a crash left them) push to dead URLs.
    await this.removeStaleTopics(creds, base, topic).catch(() => undefined);
    if (this.stopped) await this.tearDown();
  }

  private async removeStaleTopics(creds: SigV4Credentials, base: string, current: string): Promise<void> {
    const r = await this.sns(creds, { Action: 'ListTopics' });
    if (r.status !== 200) return;
    for (const m of r.text.matchAll(/<TopicArn>([^<]+)<\/TopicArn>/g)) {
      const arn = m[1]!;
      const name = arn.split(':').pop()!;
      if (name.startsWith(`${base}-`) && name !== current) await this.sns(creds, { Action: 'DeleteTopic', TopicArn: arn });
    }
  }

  /** A signed SNS-style call on the S3 port (form-encoded POST, service 'sns'). */
  private async sns(creds: SigV4Credentials, form: Record<string, string>): Promise<{ status: number; text: string }> {
    const req = signV4({
      method: 'POST', endpoint: this.s3Endpoint, path: '/', body: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      service: 'sns', region: this.settings.region, credentials: creds,
    });
    const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
    return { status: res.status, text: await res.text() };
  }

  /** A notification POST (already acknowledged). */
  private onPost(body: Buffer): void {
    if (this.stopped) return;
    if (!this.delivering) {
      this.delivering = true;
      this.o.cb.onDelivering?.();
    }
    let records: S3Record[];
    try {
      records = parseNotification(body);
    } catch {
      return;
    }
    const now = Date.now();
    const events: ChangeEvent[] = [];
    const prefix = this.settings.prefix;
    for (const r of records) {
      this.stats.received++;
      if (r.eventId !== undefined) {
        const id = `${r.eventId}\0${r.key}\0${r.eventName}`;
        if (this.seen.has(id)) { this.stats.duplicates++; this.o.count?.('notifyDuplicates'); continue; }
        this.seen.set(id, true);
      }
      if (r.sequencer !== undefined) {
        const last = this.lastSeq.get(r.key);
        if (last !== undefined && r.sequencer < last) { this.stats.stale++; this.o.count?.('notifyStale'); continue; }
        this.lastSeq.set(r.key, r.sequencer);
      }
      if (!r.key.startsWith(this.keyPrefix)) continue;
      let rel = r.key.slice(prefix.length);
      const isDir = rel.endsWith('/');
      if (isDir) rel = rel.slice(0, -1);
      if (rel === '' || rel.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) continue;
      // Lag counts from the S3 write (server clock), not from our receipt.
      const timeMs = r.eventTimeMs !== undefined && r.eventTimeMs <= now ? r.eventTimeMs : now;
      const removed = r.eventName.startsWith('ObjectRemoved');
      events.push({ path: rel, kind: removed ? 'delete' : 'create', isDir, timeMs });
      if (removed) {
        // Removing the last key under a directory removes the (implied) directory: re-check
        // the ancestors up to the sync point.
        const floor = this.o.dir ? this.o.dir.split('/').length : 0;
        const segs = rel.split('/');
        for (let n = segs.length - 1; n > floor; n--) events.push({ path: segs.slice(0, n).join('/'), kind: 'modify', isDir: true, timeMs });
      }
    }
    if (events.length) this.o.cb.onEvents(events);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.ready.catch(() => undefined);
    await this.tearDown();
  }

  /** Remove the notification (signed DELETE /bucket?notification=ID) and the topic. */
  private async tearDown(): Promise<void> {
    await this.endpoint.unregister(this.token);
    const creds = this.settings.credentials;
    let removed = true;
    if (creds && this.notificationId) {
      try {
        const req = signV4({
          method: 'DELETE', endpoint: this.s3Endpoint, path: `/${this.settings.bucket}`, query: { notification: this.notificationId },
          service: 's3', region: this.settings.region, credentials: creds,
        });
        const res = await fetch(req.url, { method: 'DELETE', headers: req.headers, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
        await res.arrayBuffer();
        if (res.status >= 300 && res.status !== 404) throw new Error(`HTTP ${res.status}`);
        this.notificationId = undefined;
      } catch (err) {
        removed = false;
        this.o.log.warn({ path: this.o.syncPoint, id: this.notificationId, err: (err as Error).message }, 'could not remove the S3 bucket notification');
      }
    }
    if (creds && this.topicArn) {
      await this.sns(creds, { Action: 'DeleteTopic', TopicArn: this.topicArn }).catch(() => undefined);
      this.topicArn = undefined;
    }
    // Only when the notification is gone may batch deletes come back.
    if (this.marked && removed) {
      this.marked = false;
      markBucketNotified(this.settings.endpoint, this.settings.bucket, false);
    }
    this.client?.destroy();
    this.client = undefined;
  }

  /** The bucket's notification configuration as the server reports it (tests, diagnostics). */
  static async bucketNotifications(uri: string, options: Record<string, string>): Promise<Array<{ Id?: string; TopicArn?: string }>> {
    const s = resolveS3Settings(uri, options);
    const c = new (s3Sdk().S3Client)({
      region: s.region, ...(s.endpoint ? { endpoint: s.endpoint } : {}), forcePathStyle: s.pathStyle,
      ...(s.credentials ? { credentials: s.credentials } : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
    });
    try {
      const out = await c.send(new (s3Sdk().GetBucketNotificationConfigurationCommand)({ Bucket: s.bucket }));
      return out.TopicConfigurations ?? [];
    } finally {
      c.destroy();
    }
  }
}

function errCode(xml: string): string {
  const c = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
  return c ? ` ${c}` : '';
}
