// An S3 gateway for tests: a real Coordinator (library mode) on temp dirs, users in a real
// UserStore (an admin and a user limited to one bucket), the gateway on 127.0.0.1 (any port)
// and AWS SDK v3 clients signed with each user's key.

import { S3Client } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import { UserStore, type User } from '../../src/auth/users.js';
import { startS3Gateway, type S3Gateway, type S3GatewayOptions } from '../../src/gateway/s3/server.js';
import { openEnv, type Env } from './fixture.js';

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
