// The Prometheus endpoint: GET /metrics answers the coordinator's counters and gauges in
// the text exposition format; everything else is 404. Off unless `metrics.port` is set;
// binds `metrics.host` (loopback by default) and, with `metrics.token`, answers 401 to any
// request without `Authorization: Bearer <token>` (compared in constant time).

import { sameSecret } from '../auth/users.js';
import { createServer } from 'node:http';
import type { Server } from 'node:http';

export interface MetricsSource {
  prometheus(): Promise<string>;
}

/** True when the request carries `Authorization: Bearer <token>` (hashes compared, constant time). */
function bearerOk(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m !== null && sameSecret(m[1]!, token);
}

/**
 * Serve /metrics on host:port (0 = any free port); resolves with the bound port. With
 * `token`, requests need `Authorization: Bearer <token>`.
 */
export async function startMetricsServer(source: MetricsSource, host: string, port: number, token = ''): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (token && !bearerOk(req.headers.authorization, token)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('unauthorized\n');
      return;
    }
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    source.prometheus().then(
      (body) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
