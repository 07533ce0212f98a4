// The browser side of the console API: JSON requests with the session cookie (sent by the
// browser) and the CSRF token header on every POST; errors become ApiError with the Strata
// code, so pages show "PERMISSION_DENIED: …" exactly as the CLI would.

export interface SessionInfo {
  user: { name: string; accessKeyId: string; role: 'admin' | 'user'; prefixes: string[] | null };
  csrfToken: string;
  expiresMs: number;
  adminOps: string[];
  version: string | null;
  sampleIntervalMs: number;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let csrfToken = '';
let onLoggedOut: () => void = () => {};

export function setSession(s: SessionInfo | null): void {
  csrfToken = s?.csrfToken ?? '';
}

/** Called when the server answers 401 (session expired): the app shows the login form. */
export function onUnauthenticated(f: () => void): void {
  onLoggedOut = f;
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method === 'POST') {
    headers['content-type'] = 'application/json';
    headers['x-csrf-token'] = csrfToken;
  }
  const res = await fetch(`api${path}`, {
    method, headers, credentials: 'same-origin',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok) {
    const e = json.error ?? { code: 'INTERNAL', message: `HTTP ${res.status}` };
    if (res.status === 401 && path !== '/login' && path !== '/session') onLoggedOut();
    throw new ApiError(res.status, e.code, e.message);
  }
  return json as T;
}

export const get = <T>(path: string): Promise<T> => call<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}): Promise<T> => call<T>('POST', path, body);

/** Query string from an object (undefined values left out). */
export function qs(params: Record<string, string | number | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.set(k, String(v));
  return `?${u}`;
}

export function errorText(err: unknown): string {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : String((err as Error)?.message ?? err);
}
