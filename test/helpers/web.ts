// Test helpers for the web console: build dist/console when it is missing (scripts/build-web.mjs),
// and a small HTTP client that keeps the session cookie and sends the CSRF token, as the
// browser does, so API tests speak to the real server exactly as the console page would.

import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './server.js';

function builtAndFresh(): boolean {
  const index = join(ROOT, 'dist', 'console', 'index.html');
  if (!existsSync(index)) return false;
  const built = statSync(index).mtimeMs;
  const ui = join(ROOT, 'src', 'web', 'ui');
  return readdirSync(ui).every((f) => statSync(join(ui, f)).mtimeMs <= built);
}

/**
 * Build the console bundle when dist/console is missing or older than a file of src/web/ui.
 * Test files run in parallel: a lock directory lets one of them build while the others wait.
 */
export async function ensureWebBuilt(): Promise<void> {
  if (builtAndFresh()) return;
  const lock = join(ROOT, '.tmp', 'web-build.lock');
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (i > 1200) throw new Error(`the web build lock ${lock} was held for two minutes`);
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    if (builtAndFresh()) return;
    await build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

async function build(): Promise<void> {
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
