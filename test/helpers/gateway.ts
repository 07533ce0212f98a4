// An S3 gateway for tests: a real Coordinator (library mode) on temp dirs, users in a real
// UserStore (an admin and a user limited to one bucket), the gateway on 127.0.0.1 (any port)
// and AWS SDK v3 clients signed with each user's key.

import { S3Client } from '@aws-sdk/client-s3';
import http from 'node:http';
import { join } from 'node:path';
import { UserStore, type User } from '../../src/auth/users.js';
import { startS3Gateway, type S3Gateway, type S3GatewayOptions } from '../../src/gateway/s3/server.js';
import { openEnv, type Env } from './fixture.js';
import { signRequest } from './sigv4-signer.js';

export const ADMIN: User = { name: 'admin', accessKeyId: 'ADMINKEY0000000000001', secretKey: 'admin-secret-key-0001', role: 'admin' };
export const LIMITED: User = { name: 'alice', accessKeyId: 'ALICEKEY0000000000001', secretKey: 'alice-secret-key-0001', role: 'user', prefixes: ['/alice'] };

export interface GatewayEnv {
  env: Env;
  gw: S3Gateway;
  endpoint: string;
  users: UserStore;
  client(user?: User): S3Client;
  dispose(): Promise<void>;
}

export async function openGateway(settings: Record<string, string> = {}, extra: Partial<S3GatewayOptions> = {}): Promise<GatewayEnv> {
  const env = await openEnv(settings);
  const users = new UserStore([ADMIN, LIMITED]);
  const gw = await startS3Gateway({ fs: env.fs, users, port: 0, dataDir: join(env.dataDir, 's3-gateway'), ...extra });
  const endpoint = `http://127.0.0.1:${gw.port}`;
  const clients: S3Client[] = [];
  return {
    env, gw, endpoint, users,
    client(user = ADMIN) {
      const c = new S3Client({
        endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1,
        credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretKey },
      });
      clients.push(c);
      return c;
    },
    async dispose() {
      for (const c of clients) c.destroy();
      await gw.close().catch(() => undefined);
      await env.dispose();
    },
  };
}

/** The answer of a request made with openSignedRequest. */
export interface RawAnswer { status: number; text: string; headers: http.IncomingHttpHeaders; etag?: string }
/** A request in flight: its body sent by the caller, in pieces if it likes. */
export interface OpenRequest { send(b: Buffer): void; finish(b?: Buffer): Promise<RawAnswer> }

/**
 * A request signed as `user` (UNSIGNED-PAYLOAD, `length` bytes of body to come) on its own
 * connection, its headers sent at once: concurrent requests are all in the gateway before
 * their bodies end.
 */
export async function openSignedRequest(g: GatewayEnv, method: string, path: string, length: number, headers: Record<string, string> = {}, user: User = ADMIN): Promise<OpenRequest> {
  const creds = { accessKeyId: user.accessKeyId, secretAccessKey: user.secretKey };
  const r = await signRequest(creds, { method, endpoint: g.endpoint, path, payloadHash: 'UNSIGNED-PAYLOAD', headers: { 'content-length': String(length), ...headers } });
  const req = http.request(r.url, { method, headers: r.headers, agent: false });
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({
        status: res.statusCode ?? 0, text, headers: res.headers,
        ...(typeof res.headers.etag === 'string' ? { etag: res.headers.etag } : {}),
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  return { send: (b) => { req.write(b); }, finish: (b) => { req.end(b); return answer; } };
}
