// The web console's HTTP server: login sessions (HttpOnly, SameSite=Strict cookie; a CSRF
// token header and an Origin check on every POST), a JSON API under /api/ over the
// FileSystem — every call made through `withUser`, so roles and prefixes are decided in
// src/auth/access.ts only — the metrics history for the charts, and the built assets.

import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_OPS, authorize, withUser } from '../auth/access.js';
import type { User, UserStore } from '../auth/users.js';
import { KEYS } from '../config/keys.js';
import type { ServerConfig } from '../config/keys.js';
import { redactOptions, redactUrl } from '../config/redact.js';
import { describeConfig } from '../config/describe.js';
import { parseDuration } from '../config/units.js';
import { ErrorCode, StrataError, toStrataError } from '../errors.js';
import type { FileSystem } from '../fs.js';
import type { FileInfo, MountInfo, RecentRun, Report, SyncPointInfo } from '../types.js';
import { JobTable } from './jobs.js';
import type { Job } from './jobs.js';
import { ListingCursors } from './listings.js';
import { MetricsSampler } from './sampler.js';
import { CSRF_HEADER, SESSION_COOKIE, SessionStore, parseCookies, sameSecret } from './sessions.js';
import type { Session } from './sessions.js';
import { DEFAULT_ASSETS_DIR, serveStatic } from './static.js';

export interface WebConsoleOptions {
  /** The server's file system (the coordinator); users reach it through `withUser` only. */
  fs: FileSystem;
  users: UserStore;
  host: string;
  /** 0: any free port. */
  port: number;
  version?: string;
  /** Effective server configuration, shown on the Configuration page. */
  config?: ServerConfig;
  /** Built assets (default dist/console of this package). */
  assetsDir?: string;
  sampleIntervalMs?: number;
  historyMs?: number;
  sessionTtlMs?: number;
  /** Logs warnings (sampling failures); default silent. */
  onWarning?: (message: string, err?: unknown) => void;
}

/** A running console. */
export interface WebConsole {
  host: string;
  port: number;
  /** `http://HOST:PORT/` */
  url: string;
  sampler: MetricsSampler;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;
const MAX_PAGE = 1000;
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** HTTP status of a Strata error code. */
export function httpStatus(code: string): number {
  switch (code) {
    case ErrorCode.NOT_FOUND: return 404;
    case ErrorCode.PERMISSION_DENIED: return 403;
    case ErrorCode.INVALID_PATH: case ErrorCode.INVALID_ARGUMENT: case ErrorCode.BAD_REQUEST:
    case ErrorCode.NOT_A_DIRECTORY: case ErrorCode.IS_A_DIRECTORY: return 400;
    case ErrorCode.ALREADY_EXISTS: case ErrorCode.MOUNT_CONFLICT: case ErrorCode.DIRECTORY_NOT_EMPTY:
    case ErrorCode.FAILED_PRECONDITION: case ErrorCode.READ_ONLY: return 409;
    case ErrorCode.RESOURCE_EXHAUSTED: return 429;
    case ErrorCode.UFS_UNAVAILABLE: case ErrorCode.CONNECTION_CLOSED: return 503;
    case ErrorCode.TIMEOUT: return 504;
    default: return 500;
  }
}

/** Not logged in (HTTP 401); the code is the Strata one for refusals. */
class Unauthenticated extends StrataError {
  constructor(message: string) {
    super(ErrorCode.PERMISSION_DENIED, message);
  }
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** A file's status for the browser: the UFS path without user-info. */
function publicInfo(f: FileInfo): FileInfo {
  return { ...f, ufsPath: redactUrl(f.ufsPath) };
}

function publicMount(m: MountInfo): MountInfo {
  return { ...m, ufsUri: redactUrl(m.ufsUri), options: redactOptions(m.options) };
}

/** Keys that say how a mount is synced, shown per mount. */
const SYNC_KEYS = ['metadata.sync.interval', 'metadata.load.type', 'activeSync', 'active.sync.interval', 'absent.cache.enabled'] as const;

/** Start the console; resolves once it listens. */
export async function startWebConsole(opts: WebConsoleOptions): Promise<WebConsole> {
  const { fs, users } = opts;
  const assetsDir = opts.assetsDir ?? DEFAULT_ASSETS_DIR;
  const sessions = new SessionStore({ ttlMs: opts.sessionTtlMs ?? 12 * 3600_000 });
  const cursors = new ListingCursors();
  const jobs = new JobTable();
  const warn = opts.onWarning ?? (() => {});
  const sampler = new MetricsSampler({
    report: () => fs.getReport(),
    intervalMs: opts.sampleIntervalMs ?? 2000,
    historyMs: opts.historyMs ?? 15 * 60_000,
    onError: (err) => warn('web console: sampling the report failed', err),
  });
  // Sync points change rarely and every poll would count as a client op in the very charts
  // it feeds: one shared copy, refreshed at most once per sample and only when the report
  // says there are sync points. Each caller is still authorized for getSyncPathList.
  let syncCache: { t: number; list: SyncPointInfo[] } | undefined;
  async function syncPoints(user: User): Promise<SyncPointInfo[]> {
    authorize(user, 'getSyncPathList');
    const r = sampler.latestReport() ?? (await fs.getReport());
    if ((r.activeSync.syncPoints ?? 0) === 0 && !syncCache) return [];
    if (!syncCache || Date.now() - syncCache.t >= sampler.intervalMs) {
      const list = await fs.getSyncPathList();
      // Keep a copy only while there are sync points, so an empty list costs no call.
      syncCache = list.length ? { t: Date.now(), list } : undefined;
      return list;
    }
    return syncCache.list;
  }
  const failedLogins = new Map<string, { count: number; sinceMs: number }>();

  function allowedHost(req: IncomingMessage, boundHost: string): boolean {
    if (!LOOPBACK.test(boundHost)) return true;
    // Bound to loopback: refuse other Host names (DNS rebinding).
    const host = String(req.headers.host ?? '');
    const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
    return LOOPBACK.test(name);
  }

  function sameOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin !== undefined) return origin === `http://${req.headers.host}`;
    const site = req.headers['sec-fetch-site'];
    return site === undefined || site === 'same-origin' || site === 'none';
  }

  function send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string | string[]> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store',
      'content-length': String(Buffer.byteLength(text)), ...extra,
    });
    res.end(text);
  }

  function sendError(res: ServerResponse, err: unknown): void {
    const e = toStrataError(err);
    const status = err instanceof Unauthenticated ? 401 : httpStatus(e.code);
    send(res, status, { error: e.toJSON() });
  }

  async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      throw new StrataError(ErrorCode.BAD_REQUEST, 'a POST to the console API must have Content-Type: application/json');
    }
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of req) {
      n += (c as Buffer).length;
      if (n > MAX_BODY) throw new StrataError(ErrorCode.BAD_REQUEST, `request body larger than ${MAX_BODY} bytes`);
      chunks.push(c as Buffer);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      throw new StrataError(ErrorCode.BAD_REQUEST, 'the request body is not valid JSON');
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new StrataError(ErrorCode.BAD_REQUEST, 'the request body must be a JSON object');
    return body as Record<string, unknown>;
  }

  function str(body: Record<string, unknown>, key: string, required = true): string | undefined {
    const v = body[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v === '') throw new StrataError(ErrorCode.BAD_REQUEST, `${key} must be a non-empty string`);
    return v;
  }

  /** The session and its (current) user, or 401. */
  function authenticate(req: IncomingMessage): { session: Session; user: User } {
    const session = sessions.get(parseCookies(req.headers.cookie)[SESSION_COOKIE]);
    if (!session) throw new Unauthenticated('not logged in (or the session expired)');
    const user = users.get(session.accessKeyId);
    if (!user) {
      sessions.delete(session.id);
      throw new Unauthenticated('the user of this session no longer exists');
    }
    return { session, user };
  }

  function userView(user: User): object {
    return { name: user.name, accessKeyId: user.accessKeyId, role: user.role, prefixes: user.prefixes ?? null };
  }

  function sessionBody(session: Session, user: User): object {
    return {
      user: userView(user), csrfToken: session.csrfToken, expiresMs: session.expiresMs,
      adminOps: [...ADMIN_OPS], version: opts.version ?? null, sampleIntervalMs: sampler.intervalMs,
    };
  }

  function cookie(value: string, maxAgeS: number): string {
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}`;
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ip = req.socket.remoteAddress ?? '';
    const f = failedLogins.get(ip);
    if (f && Date.now() - f.sinceMs < 60_000 && f.count >= 20) {
      throw new StrataError(ErrorCode.RESOURCE_EXHAUSTED, 'too many failed logins from this address; wait a minute');
    }
    const body = await readJson(req);
    const accessKeyId = typeof body.accessKeyId === 'string' ? body.accessKeyId.trim() : '';
    const secretKey = typeof body.secretKey === 'string' ? body.secretKey : '';
    const user = accessKeyId && secretKey ? users.verify({ accessKeyId, secretKey }) : undefined;
    if (!user) {
      const cur = f && Date.now() - f.sinceMs < 60_000 ? f : { count: 0, sinceMs: Date.now() };
      cur.count++;
      failedLogins.set(ip, cur);
      if (failedLogins.size > 10_000) failedLogins.clear();
      throw new Unauthenticated('unknown access key id or wrong secret');
    }
    failedLogins.delete(ip);
    const old = sessions.get(parseCookies(req.headers.cookie)[SESSION_COOKIE]);
    if (old) sessions.delete(old.id);
    const session = sessions.create(user.accessKeyId);
    send(res, 200, sessionBody(session, user), {
      'set-cookie': cookie(session.id, Math.floor((session.expiresMs - Date.now()) / 1000)),
    });
  }

  function effectiveConfig(): Array<{ key: string; value: string; default: string; source: string; perPath: boolean; doc: string }> {
    // The same entries as `strata fs getConf` (sources, redaction); defaults when there is no config.
    const entries = opts.config ? describeConfig(opts.config) : [];
    const byKey = new Map(entries.map((e) => [e.key, e]));
    return Object.entries(KEYS).map(([key, def]) => {
      const e = byKey.get(key);
      return { key, value: e?.value ?? def.default, default: def.default, source: e?.source ?? 'default', perPath: def.perPath, doc: def.doc };
    });
  }

  function syncSettings(m: MountInfo): Record<string, { value: string; source: string }> {
    const out: Record<string, { value: string; source: string }> = {};
    for (const k of SYNC_KEYS) {
      if (m.options[k] !== undefined) out[k] = { value: m.options[k]!, source: 'mount' };
      else out[k] = { value: opts.config?.raw(k) ?? KEYS[k].default, source: opts.config && opts.config.raw(k) !== KEYS[k].default ? 'server' : 'default' };
    }
    return out;
  }

  async function startAction(body: Record<string, unknown>, user: User): Promise<Job> {
    const op = str(body, 'op')!;
    const path = str(body, 'path')!;
    const recursive = body.recursive === true;
    const view = withUser(fs, user);
    // Refuse at once (403) what the user may not do; the job's call goes through withUser too.
    const check = (name: string): void => authorize(user, name, [path]);
    let work: (onProgress: (p: import('../types.js').Progress) => void) => Promise<unknown>;
    switch (op) {
      case 'load': check('load'); work = (onProgress) => view.load(path, { recursive, onProgress }); break;
      case 'free': check('free'); work = () => view.free(path, { recursive }); break;
      case 'persist': check('persist'); work = () => view.persist(path, { recursive }); break;
      case 'pin': case 'unpin': check('setPinned'); work = () => view.setPinned(path, op === 'pin', { recursive }); break;
      case 'setTtl': {
        check('setTtl');
        const ttl = body.ttl;
        const ttlMs = typeof ttl === 'number' ? ttl : parseDuration(String(ttl ?? ''), 'ttl');
        const action = body.action === undefined ? 'free' : body.action;
        if (action !== 'free' && action !== 'delete') throw new StrataError(ErrorCode.BAD_REQUEST, 'action must be free or delete');
        work = async () => { await view.setTtl(path, ttlMs, action); return { ttlMs, action }; };
        break;
      }
      case 'loadMetadata': check('loadMetadata'); work = (onProgress) => view.loadMetadata(path, { recursive, onProgress }); break;
      case 'checkConsistency': check('checkConsistency'); work = () => view.checkConsistency(path, { recursive, repair: body.repair === true }); break;
      case 'needsSync': check('needsSync'); work = async () => { await view.needsSync(path); return {}; }; break;
      case 'startSync': check('startSync'); work = async () => { await view.startSync(path); syncCache = undefined; return {}; }; break;
      case 'stopSync': check('stopSync'); work = async () => { await view.stopSync(path); syncCache = undefined; return {}; }; break;
      case 'unmount': check('unmount'); work = async () => { await view.unmount(path); return {}; }; break;
      case 'mount': {
        check('mount');
        const ufsUri = str(body, 'ufsUri')!;
        const options: Record<string, string> = {};
        const raw = body.options ?? {};
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new StrataError(ErrorCode.BAD_REQUEST, 'options must be an object of strings');
        for (const [k, v] of Object.entries(raw)) {
          if (typeof v !== 'string') throw new StrataError(ErrorCode.BAD_REQUEST, `mount option ${k} must be a string`);
          options[k] = v;
        }
        work = async () => { await view.mount(path, ufsUri, { readOnly: body.readOnly === true, options }); return {}; };
        break;
      }
      default:
        throw new StrataError(ErrorCode.BAD_REQUEST, `unknown action ${JSON.stringify(op)}`);
    }
    return jobs.start(op, path, user.name, work);
  }

  async function listPage(url: URL, session: Session, user: User): Promise<unknown> {
    const cursor = url.searchParams.get('cursor');
    const page = cursor
      ? await cursors.next(session.id, cursor)
      : await (async () => {
        const path = url.searchParams.get('path') ?? '/';
        const size = Number(url.searchParams.get('pageSize') ?? 100);
        const pageSize = Number.isInteger(size) && size > 0 ? Math.min(size, MAX_PAGE) : 100;
        const view = withUser(fs, user);
        const status = await view.getStatus(path);
        if (status.type !== 'directory') throw new StrataError(ErrorCode.NOT_A_DIRECTORY, `not a directory: ${path}`);
        const first = await cursors.open(session.id, status.path, view.listStatus(status.path, { pageSize }));
        return { ...first, status: publicInfo(status) };
      })();
    return { ...page, entries: page.entries.map(publicInfo) };
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = url.pathname.slice('/api'.length);
    const method = req.method ?? 'GET';
    if (method === 'POST') {
      if (!sameOrigin(req)) throw new StrataError(ErrorCode.PERMISSION_DENIED, 'cross-origin request refused');
      if (route === '/login') return login(req, res);
    } else if (method !== 'GET') {
      throw new StrataError(ErrorCode.BAD_REQUEST, `method ${method} is not allowed`);
    }
    const { session, user } = authenticate(req);
    if (method === 'POST') {
      const token = req.headers[CSRF_HEADER];
      if (typeof token !== 'string' || !sameSecret(token, session.csrfToken)) {
        throw new StrataError(ErrorCode.PERMISSION_DENIED, `missing or wrong ${CSRF_HEADER} header`);
      }
    }
    const view = withUser(fs, user);
    const key = `${method} ${route}`;
    switch (key) {
      case 'GET /session': return send(res, 200, sessionBody(session, user));
      case 'POST /logout':
        sessions.delete(session.id);
        cursors.closeOwner(session.id);
        return send(res, 200, {}, { 'set-cookie': cookie('', 0) });
      case 'GET /overview': {
        const report: Report = await view.getReport();
        return send(res, 200, { report, syncPoints: await syncPoints(user), latest: sampler.latest() ?? null });
      }
      case 'GET /metrics': {
        authorize(user, 'getReport');
        const since = Number(url.searchParams.get('since') ?? '');
        return send(res, 200, { intervalMs: sampler.intervalMs, now: Date.now(), points: sampler.points(Number.isFinite(since) ? since : undefined) });
      }
      case 'GET /list': return send(res, 200, await listPage(url, session, user));
      case 'GET /status': return send(res, 200, publicInfo(await view.getStatus(url.searchParams.get('path') ?? '/')));
      case 'GET /mounts': {
        const mounts = (await view.getMountTable()).map(publicMount);
        let lag: Record<string, number> | null = null;
        let runs: RecentRun[] = [];
        try {
          const r = await view.getReport();
          lag = { ...r.activeSync };
          runs = r.recentRuns ?? [];
        } catch {
          // Users see the mount table and sync points, not the server's counters.
        }
        const mine = jobs.list((j) => (j.op === 'loadMetadata' || j.op === 'checkConsistency') && (user.role === 'admin' || j.user === user.name), 20);
        return send(res, 200, {
          mounts: mounts.map((m) => ({ ...m, sync: syncSettings(m) })),
          syncPoints: await syncPoints(user), activeSync: lag,
          reports: recentReports(runs, mine, 20),
        });
      }
      case 'GET /config': {
        const pathConf = await view.listPathConf();
        return send(res, 200, { server: effectiveConfig(), pathConf });
      }
      case 'GET /jobs': return send(res, 200, { jobs: jobs.list((j) => user.role === 'admin' || j.user === user.name) });
      case 'POST /action': return send(res, 202, await startAction(await readJson(req), user));
      default: break;
    }
    const m = /^\/jobs\/([A-Za-z0-9_-]+)$/.exec(route);
    if (method === 'GET' && m) {
      const job = jobs.get(m[1]!);
      if (!job || (user.role !== 'admin' && job.user !== user.name)) throw new StrataError(ErrorCode.NOT_FOUND, `no job ${m[1]}`);
      return send(res, 200, job);
    }
    throw new StrataError(ErrorCode.NOT_FOUND, `no API ${method} ${url.pathname}`);
  }

  const boundHost = opts.host;
  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        if (!allowedHost(req, boundHost)) {
          res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('this console answers only to loopback host names\n');
          return;
        }
        const url = new URL(req.url ?? '/', 'http://console.invalid');
        if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
          await api(req, res, url);
          return;
        }
        if ((req.method === 'GET' || req.method === 'HEAD') && (await serveStatic(assetsDir, url.pathname, req, res, SECURITY_HEADERS))) return;
        res.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found\n');
      } catch (err) {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        sendError(res, err);
      }
    })();
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  sampler.start();
  const hostInUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    host: addr.address,
    port: addr.port,
    url: `http://${hostInUrl}:${addr.port}/`,
    sampler,
    async close() {
      sampler.stop();
      cursors.closeAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The "recent sync reports" of the Mounts page: every loadMetadata / checkConsistency run the
 * server saw (any client: CLI, TCP, gateway, console), a run the console started shown as
 * its console job (naming the user, with the full result), plus console jobs the server's
 * list does not hold (a user's, who cannot read the report); newest first.
 */
function recentReports(runs: RecentRun[], consoleJobs: Job[], limit: number): Job[] {
  const left = new Set(consoleJobs);
  const out: Job[] = runs.map((run, i): Job => {
    const job = [...left].find((j) => j.op === run.op && j.path === run.path && Math.abs(j.startedMs - run.startedMs) < 2000);
    if (job) {
      left.delete(job);
      return job; // the console's own job: its user and its full result
    }
    return {
      id: `run-${run.startedMs}-${i}`,
      op: run.op, path: run.path, user: '—',
      state: run.finishedMs === undefined ? 'running' : run.error ? 'failed' : 'done',
      startedMs: run.startedMs,
      ...(run.finishedMs !== undefined ? { finishedMs: run.finishedMs } : {}),
      ...(run.result ? { result: run.result } : {}),
      ...(run.error ? { error: run.error } : {}),
    };
  });
  return [...out, ...left].sort((a, b) => b.startedMs - a.startedMs).slice(0, limit);
}
