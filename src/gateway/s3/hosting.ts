// The two hosts of the S3 gateway, one code path: inside `strata server` (over the
// coordinator, counters into its report) and as `strata gateway` (over the TCP client).
// Both read the same `s3.gateway.*` keys and the same users.

import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ServerConfig } from '../../config/keys.js';
import type { FileSystem } from '../../fs.js';
import { UserStore } from '../../auth/users.js';
import { startS3Gateway, type S3Gateway } from './server.js';

export interface HostedGatewayOptions {
  fs: FileSystem;
  config: ServerConfig;
  /** Data directory of the host; the gateway keeps its parts in DATA_DIR/s3-gateway. */
  dataDir: string;
  host: string;
  port: number;
  logger: Logger;
  /** Users file; default DATA_DIR/users.json (created with an admin key on first start). */
  usersFile?: string;
  onMetric?: (name: string, n: number) => void;
}

/** Start the gateway with the host's configuration; logs where it listens. */
export async function startHostedGateway(o: HostedGatewayOptions): Promise<S3Gateway> {
  const { store, created } = UserStore.openForServer(o.dataDir, o.usersFile);
  if (created) o.logger.info({ keyFile: created }, 'created an admin access key for the S3 gateway');
  const domain = o.config.get('s3.gateway.domain');
  const gw = await startS3Gateway({
    fs: o.fs, users: store, host: o.host, port: o.port, dataDir: join(o.dataDir, 's3-gateway'),
    ...(domain ? { domain } : {}),
    multipartExpiryMs: o.config.get('s3.gateway.multipart.expiry'),
    maxRequests: o.config.get('s3.gateway.max.requests'),
    maxConnections: o.config.get('s3.gateway.max.connections'),
    ...(o.config.get('s3.gateway.access.log') ? { accessLog: o.logger.child({ component: 's3-gateway' }) } : {}),
    ...(o.onMetric ? { onMetric: o.onMetric } : {}),
  });
  o.logger.info({ host: gw.host, port: gw.port }, `S3 gateway on http://${gw.host}:${gw.port}`);
  process.stderr.write(`strata s3 gateway on http://${gw.host}:${gw.port}\n`);
  return gw;
}
