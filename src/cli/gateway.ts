// `strata gateway`: the S3 gateway as its own process over the TCP client of a `strata
// server` (to scale gateways apart from the coordinator). Same gateway code as
// `strata server --s3-port`; prints `strata s3 gateway on http://HOST:PORT` when it listens
// and stops on SIGTERM/SIGINT.

import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { buildServerConfig } from './server.js';
import { usageError } from './format.js';

interface GatewayCliOptions {
  address: string;
  s3Port: string;
  host: string;
  token?: string;
  users?: string;
  dataDir: string;
  metricsPort?: string;
  define: string[];
}

async function runGateway(opts: GatewayCliOptions): Promise<void> {
  const port = /^\d{1,5}$/.test(opts.s3Port) ? Number(opts.s3Port) : NaN;
  if (!(port >= 0 && port < 65536)) throw usageError(`--s3-port: ${JSON.stringify(opts.s3Port)} is not a port number (0-65535)`);
  const config = await buildServerConfig({ define: opts.define });
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  const { StrataClient } = await import('../client/tcp-client.js');
  const { startHostedGateway } = await import('../gateway/s3/hosting.js');
  const { logger } = await import('../log.js');
  // No --token: the client itself falls back to STRATA_TOKEN.
  const client = await StrataClient.connect(opts.address, { clientName: `strata-gateway/${process.pid}`, ...(opts.token ? { token: opts.token } : {}) });
  let gw;
  try {
    gw = await startHostedGateway({ fs: client, config, dataDir, host: opts.host, port, logger, ...(opts.users ? { usersFile: opts.users } : {}) });
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
  // Its own Prometheus endpoint (the counters of this process): metrics.host (loopback by
  // default) and metrics.token (Bearer) as for the server.
  let metricsClose: (() => Promise<void>) | undefined;
  const metricsPort = opts.metricsPort !== undefined ? parsePortOption('--metrics-port', opts.metricsPort) : config.get('metrics.port');
  if (metricsPort >= 0) {
    const { startMetricsServer } = await import('../server/metrics-http.js');
    const { gatewayMetricsSource } = await import('../gateway/s3/metrics.js');
    const { isLoopbackHost } = await import('../server/guard.js');
    const host = config.get('metrics.host');
    if (!isLoopbackHost(host) && !config.get('metrics.token')) {
      logger.warn({ host }, 'the metrics endpoint is bound beyond loopback without metrics.token: anyone who reaches it reads the counters');
    }
    try {
      const m = await startMetricsServer(gatewayMetricsSource(gw.metrics), host, metricsPort, config.get('metrics.token'));
      metricsClose = m.close;
      process.stderr.write(`strata gateway metrics on http://${host}:${m.port}/metrics\n`);
    } catch (err) {
      await gw.close().catch(() => undefined);
      await client.close().catch(() => undefined);
      throw err;
    }
  }
  const signal = await new Promise<NodeJS.Signals>((done) => {
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  logger.info({ signal }, 'gateway shutting down');
  await metricsClose?.().catch(() => undefined);
  await gw.close().catch(() => undefined);
  await client.close().catch(() => undefined);
}

function parsePortOption(name: string, v: string): number {
  const port = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!(port >= 0 && port < 65536)) throw usageError(`${name}: ${JSON.stringify(v)} is not a port number (0-65535)`);
  return port;
}

/** The `gateway` command. */
export function gatewayCommand(): Command {
  return new Command('gateway')
    .description('run the S3 gateway as its own process over a strata server')
    .requiredOption('--s3-port <port>', 'S3 port to listen on (0: any free port)')
    .option('--address <host:port>', 'strata server to connect to', '127.0.0.1:19998')
    .option('--host <host>', 'address the S3 port listens on', '127.0.0.1')
    .option('--token <ACCESSKEYID:SECRET>', 'credential for the strata server (default $STRATA_TOKEN)')
    .option('--users <file>', 'users file of the S3 keys (default DATA_DIR/users.json, created with an admin key)')
    .option('--data-dir <dir>', 'gateway directory (users, multipart parts)', './strata-gateway')
    .option('--metrics-port <port>', 'serve this gateway\'s Prometheus counters on /metrics (default: metrics.port, off; host metrics.host, token metrics.token)')
    .option('-D, --define <key=value>', 'a configuration key (s3.gateway.*), repeatable',
      (v: string, prev: string[] = []) => [...prev, v], [] as string[])
    .action(async (opts: GatewayCliOptions) => {
      await runGateway(opts);
    });
}
