// A TCP proxy in front of the test S3 server that a test controls, to make an outage without
// stopping the shared radosgw: 'forward' passes bytes both ways, 'hang' accepts connections and
// never answers, close() stops listening (connection refused from then on).

import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

export type ProxyMode = 'forward' | 'hang';

export interface S3Proxy {
  /** http://127.0.0.1:PORT, to pass as the S3 endpoint. */
  endpoint: string;
  /** Switch mode; every open connection is cut so pooled keep-alive sockets follow the new mode. */
  setMode(m: ProxyMode): void;
  close(): Promise<void>;
}

export async function s3Proxy(target: URL | string): Promise<S3Proxy> {
  const t = typeof target === 'string' ? new URL(target) : target;
  let mode: ProxyMode = 'forward';
  const sockets = new Set<Socket>();
  const server: Server = createServer((c) => {
    sockets.add(c);
    c.on('error', () => undefined);
    c.on('close', () => sockets.delete(c));
    if (mode === 'hang') return; // read nothing, answer nothing
    const up = connect(Number(t.port), t.hostname);
    sockets.add(up);
    up.on('error', () => c.destroy());
    c.on('error', () => up.destroy());
    up.on('close', () => { sockets.delete(up); c.destroy(); });
    c.on('close', () => up.destroy());
    c.pipe(up);
    up.pipe(c);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  let closed = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setMode(m) {
      mode = m;
      // pooled keep-alive connections from before must not keep the old behaviour
      for (const s of sockets) s.destroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (closed) return;
      closed = true;
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
