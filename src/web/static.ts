// Static assets of the console from dist/console (built by scripts/build-web.mjs): index.html
// is revalidated on every load, hashed files under /assets/ are cached for a year, and a
// pre-compressed .gz twin is sent to browsers that accept gzip. Nothing is fetched from a CDN.

import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/console of this package (the bundle; dist/web is the compiled server side). */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

async function exists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Serve GET/HEAD of `/` (index.html) and `/assets/NAME`. Returns false when the URL is not
 * a static asset (the caller answers 404).
 */
export async function serveStatic(dir: string, pathname: string, req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<boolean> {
  let file: string;
  let immutable = false;
  if (pathname === '/' || pathname === '/index.html') {
    file = join(dir, 'index.html');
  } else if (/^\/assets\/[A-Za-z0-9][A-Za-z0-9._-]*$/.test(pathname)) {
    file = join(dir, pathname.slice(1));
    immutable = true;
  } else {
    return false;
  }
  if (!(await exists(file))) {
    if (!immutable) {
      res.writeHead(503, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('The web console is not built: run `npm run build:web` (or `npm run build`) in the Strata package.\n');
      return true;
    }
    return false;
  }
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && (await exists(file + '.gz'));
  const body = await readFile(gzip ? file + '.gz' : file);
  res.writeHead(200, {
    ...headers,
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': String(body.length),
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    vary: 'Accept-Encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
