// Test helpers for the web console: build dist/web when it is missing (scripts/build-web.mjs),
// and a small HTTP client that keeps the session cookie and sends the CSRF token, as the
// browser does, so API tests speak to the real server exactly as the console page would.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './server.js';

/** Build the console bundle unless dist/web/index.html exists. */
export async function ensureWebBuilt(): Promise<void> {
  if (existsSync(join(ROOT, 'dist', 'web', 'index.html'))) return;
  const mod = (await import(join(ROOT, 'scripts', 'build-web.mjs'))) as { buildWeb(): Promise<unknown> };
  await mod.buildWeb();
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A console client on `baseUrl` (`http://HOST:PORT/`). */
export class ConsoleClient {
  cookie = '';
  csrf = '';

  constructor(readonly baseUrl: string) {}

  async request<T = any>(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.cookie) h.cookie = this.cookie;
    if (method === 'POST') {
      h['content-type'] ??= 'application/json';
      if (this.csrf && !('x-csrf-token' in h)) h['x-csrf-token'] = this.csrf;
    }
    const res = await fetch(new URL(path.replace(/^\//, ''), this.baseUrl), {
      method, headers: h, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (static files)
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  get<T = any>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path);
  }

  post<T = any>(path: string, body: unknown = {}, headers?: Record<string, string>): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, body, headers);
  }

  /** Log in; keeps the cookie and CSRF token. Returns the response. */
  async login(accessKeyId: string, secretKey: string): Promise<ApiResponse> {
    const r = await this.post('/api/login', { accessKeyId, secretKey });
    const set = r.headers.get('set-cookie');
    if (r.status === 200 && set) {
      this.cookie = set.split(';')[0]!;
      this.csrf = (r.body as { csrfToken: string }).csrfToken;
    }
    return r;
  }

  /** Start an action and wait (bounded) for its job to finish. */
  async action(body: Record<string, unknown>, timeoutMs = 60_000): Promise<ApiResponse> {
    const r = await this.post('/api/action', body);
    if (r.status !== 202) return r;
    const until = Date.now() + timeoutMs;
    let job = r.body as { id: string; state: string };
    for (let i = 0; job.state === 'running' && i < 10_000 && Date.now() < until; i++) {
      await new Promise((res) => setTimeout(res, 50));
      job = (await this.get(`/api/jobs/${job.id}`)).body;
    }
    return { status: 200, headers: r.headers, body: job };
  }
}
