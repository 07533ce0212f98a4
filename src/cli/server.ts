// `strata server`: builds the server configuration from its layers (defaults, `--preset`,
// `--config` file, `-D key=value`), opens the Coordinator on the data directory, serves it
// over TCP and prints exactly one line `strata listening on HOST:PORT` on stdout once
// connections are accepted. SIGTERM/SIGINT close the server, then the coordinator.

import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ServerConfig, presetNames, presetProperties } from '../config/keys.js';
import { ErrorCode, StrataError, toStrataError } from '../errors.js';
import { printError, usage, usageError } from './format.js';

/** Options of `strata server` as commander parses them. */
export interface ServerCliOptions {
  dataDir: string;
  host: string;
  port: string;
  rootUfs?: string;
  config?: string;
  preset?: string;
  define: string[];
  /** Users file (JSON `{users: [...]}`); default DATA_DIR/users.json, created with an admin on first start. */
  users?: string;
  /** Serve without credentials (tests; loopback only). */
  insecureNoAuth?: boolean;
  /** Port of the S3 gateway (else `s3.gateway.port`; off by default). */
  s3Port?: string;
  /** Port of the web console (else `-D web.port`; off when neither). */
  webPort?: string;
  /** PEM certificate and key: serve the protocol port over TLS. */
  tlsCert?: string;
  tlsKey?: string;
  logLevel?: string;
}

/** Parse a config file: a JSON object, or `key=value` lines (`#` and `!` start comments). */
export function parseConfigText(text: string, file: string): Record<string, string> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(trimmed);
    } catch (err) {
      throw usageError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw usageError(`config file ${file} must hold a JSON object`);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (v === null || typeof v === 'object') throw usageError(`config file ${file}: ${k} must be a string, number or boolean`);
      out[k] = String(v);
    }
    return out;
  }
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw usageError(`config file ${file} line ${i + 1}: expected key=value, got ${JSON.stringify(line)}`);
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  });
  return out;
}

/** Parse `-D key=value` entries. */
export function parseDefines(defines: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of defines) {
    const eq = d.indexOf('=');
    if (eq <= 0) throw usageError(`-D ${JSON.stringify(d)}: expected key=value`);
    out[d.slice(0, eq).trim()] = d.slice(eq + 1).trim();
  }
  return out;
}

/** The server configuration from its layers: preset, then config file, then -D. */
export async function buildServerConfig(opts: Pick<ServerCliOptions, 'preset' | 'config' | 'define'>): Promise<ServerConfig> {
  const layers: Array<{ values: Record<string, string>; source: string }> = [];
  try {
    if (opts.preset !== undefined) layers.push({ values: presetProperties(opts.preset), source: `preset:${opts.preset}` });
    if (opts.config !== undefined) {
      let text: string;
      try {
        text = await readFile(opts.config, 'utf8');
      } catch (err) {
        throw usageError(`cannot read config file ${opts.config}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      layers.push({ values: parseConfigText(text, opts.config), source: `file:${opts.config}` });
    }
    layers.push({ values: parseDefines(opts.define), source: '-D' });
    // Each layer records where its values came from (`strata fs getConf` shows it).
    const config = new ServerConfig();
    for (const layer of layers) config.apply(layer.values, layer.source);
    return config;
  } catch (err) {
    throw usage(err);
  }
}

function parsePort(value: string, what = '--port'): number {
  const port = /^\d{1,5}$/.test(value.trim()) ? Number(value) : NaN;
  if (!(port >= 0 && port < 65536)) throw usageError(`${what}: ${JSON.stringify(value)} is not a port number (0-65535)`);
  return port;
}

/**
 * Run the server until SIGTERM or SIGINT; resolves after a clean shutdown. Rejects (before
 * listening) on bad options or when the coordinator cannot open.
 */
export async function runServer(opts: ServerCliOptions): Promise<void> {
  const port = parsePort(opts.port);
  const config = await buildServerConfig(opts);
  const webPort = opts.webPort !== undefined ? parsePort(opts.webPort, '--web-port') : config.get('web.port');
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  let rootUfs = opts.rootUfs;
  if (rootUfs === undefined) {
    const ufsDir = join(dataDir, 'ufs');
    await mkdir(ufsDir, { recursive: true });
    rootUfs = `file://${ufsDir}`;
  }

  // Signals are handled from here on, before anything is printed, so that a SIGTERM sent the
  // instant the listening line appears is never met by Node's default (die by signal).
  const stop = onStopSignal();

  // Loaded here so that `strata fs …` never pays for the coordinator's dependencies.
  const { Coordinator } = await import('../coordinator/coordinator.js');
  const { StrataServer } = await import('../server/tcp-server.js');
  const { logger } = await import('../log.js');
  if (opts.logLevel !== undefined) logger.level = opts.logLevel;

  const auth = await serverAuth(opts, dataDir, logger);
  const tlsFiles = await serverTls(opts);
  const coordinator = await Coordinator.open({ dataDir, rootUfs, config, logger, workersAfterOpen: true });
  let server: InstanceType<typeof StrataServer> | undefined;
  let metricsClose: (() => Promise<void>) | undefined;
  let gatewayClose: (() => Promise<void>) | undefined;
  let webClose: (() => Promise<void>) | undefined;
  if (!stop.requested) {
    try {
      server = new StrataServer(coordinator, {
        host: opts.host, port, maxFrameBytes: config.get('protocol.max.frame'), logger, ...auth,
        uploadIdleTimeoutMs: config.get('upload.idle.timeout'),
        maxUploadsPerConnection: config.get('connection.max.uploads'),
        maxBufferedBytes: config.get('server.max.buffered'),
        maxConnections: config.get('server.max.connections'),
        idleTimeoutMs: Math.max(0, config.get('server.idle.timeout')),
        maxPathDepth: config.get('path.max.depth'),
        ...(config.get('server.short.circuit') ? { localBlocks: coordinator.blocks } : {}),
        ...tlsFiles,
      });
      const bound = await server.listen();
      const metricsPort = config.get('metrics.port');
      if (metricsPort >= 0) {
        const { startMetricsServer } = await import('../server/metrics-http.js');
        const metricsHost = config.get('metrics.host');
        const { isLoopbackHost } = await import('../server/guard.js');
        if (!isLoopbackHost(metricsHost) && !config.get('metrics.token')) {
          logger.warn({ host: metricsHost }, 'the metrics endpoint is bound beyond loopback without metrics.token: anyone who reaches it reads the counters');
        }
        const m = await startMetricsServer(coordinator, metricsHost, metricsPort, config.get('metrics.token'));
        metricsClose = m.close;
        logger.info({ port: m.port }, `Prometheus metrics on http://${metricsHost}:${m.port}/metrics`);
      }
      const s3Port = opts.s3Port !== undefined ? parsePort(opts.s3Port) : config.get('s3.gateway.port');
      if (s3Port >= 0) {
        const { startHostedGateway } = await import('../gateway/s3/hosting.js');
        const gw = await startHostedGateway({ fs: coordinator, config, dataDir, host: opts.host, port: s3Port, logger,
          ...(opts.users !== undefined ? { usersFile: resolve(opts.users) } : {}),
          onMetric: (name, n) => coordinator.metrics.inc('gateway', name, n) });
        gatewayClose = gw.close;
      }
      if (webPort >= 0) {
        const { startServerConsole } = await import('../web/server-hook.js');
        webClose = (await startServerConsole({ fs: coordinator, config, dataDir, host: opts.host, port: webPort, logger,
          ...('users' in auth ? { users: auth.users } : {}) })).close;
      }
      process.stdout.write(`strata listening on ${bound.host}:${bound.port}\n`);
    } catch (err) {
      if (webClose) await webClose().catch(() => {});
      if (gatewayClose) await gatewayClose().catch(() => {});
      await coordinator.close().catch(() => {});
      throw addressInUse(err, opts.host, port) ?? err;
    }
  }

  const signal = await stop.promise;
  logger.info({ signal }, 'shutting down');
  const watchdog = setTimeout(() => {
    printError(toStrataError(new Error('shutdown took longer than 30s; exiting')), false);
    process.exit(1);
  }, 30_000);
  watchdog.unref();
  let failure: unknown;
  if (server) await server.close().catch((err: unknown) => { failure ??= err; });
  if (metricsClose) await metricsClose().catch(() => {});
  if (gatewayClose) await gatewayClose().catch(() => {});
  if (webClose) await webClose().catch(() => {});
  await coordinator.close().catch((err: unknown) => { failure ??= err; });
  clearTimeout(watchdog);
  if (failure) throw failure;
}

/** A listen failure on a taken port as one clear error (`…: address in use`), else undefined. */
function addressInUse(err: unknown, host: string, port: number): StrataError | undefined {
  for (let e = err as { code?: unknown; cause?: unknown; address?: unknown; port?: unknown } | undefined, i = 0; e && i < 4; e = e.cause as typeof e, i++) {
    if (e.code === 'EADDRINUSE') {
      const where = typeof e.address === 'string' && typeof e.port === 'number' ? `${e.address}:${e.port}` : `${host}:${port}`;
      return new StrataError(ErrorCode.FAILED_PRECONDITION, `cannot listen on ${where}: address in use`, { cause: err });
    }
  }
  return undefined;
}

/**
 * Who may connect: `--insecure-no-auth` (loopback only), else the users of `--users FILE` or
 * DATA_DIR/users.json; on first start an admin key is created in DATA_DIR/admin.key and its
 * location logged (one line on stderr).
 */
async function serverAuth(opts: ServerCliOptions, dataDir: string, logger: import('../log.js').Logger):
Promise<{ users: import('../auth/users.js').UserStore } | { insecureNoAuth: true }> {
  const { isLoopbackHost } = await import('../server/guard.js');
  if (opts.insecureNoAuth) {
    if (opts.users) throw usageError('--insecure-no-auth and --users exclude each other');
    if (!isLoopbackHost(opts.host)) throw usageError(`--insecure-no-auth is refused on ${opts.host}: only on a loopback address`);
    logger.warn('serving WITHOUT authentication (--insecure-no-auth): any local process has admin rights');
    return { insecureNoAuth: true };
  }
  const { UserStore } = await import('../auth/users.js');
  const { store, created } = UserStore.openForServer(dataDir, opts.users !== undefined ? resolve(opts.users) : undefined);
  if (created) logger.warn({ file: created }, `created an admin credential in ${created} (mode 0600); strata fs finds it there`);
  return { users: store };
}

/** `--tls-cert` and `--tls-key` (both or neither), read before anything listens. */
async function serverTls(opts: ServerCliOptions): Promise<{ tls?: { cert: Buffer; key: Buffer } }> {
  if (opts.tlsCert === undefined && opts.tlsKey === undefined) return {};
  if (opts.tlsCert === undefined || opts.tlsKey === undefined) throw usageError('--tls-cert and --tls-key go together');
  const read = async (f: string, flag: string): Promise<Buffer> => readFile(f).catch((err: NodeJS.ErrnoException) => {
    throw usageError(`${flag}: cannot read ${f}: ${err.code ?? err.message}`);
  });
  return { tls: { cert: await read(opts.tlsCert, '--tls-cert'), key: await read(opts.tlsKey, '--tls-key') } };
}

/**
 * Install SIGTERM/SIGINT handlers: the first signal resolves `promise` (a clean shutdown),
 * a second one exits with 1 at once.
 */
function onStopSignal(): { promise: Promise<NodeJS.Signals>; readonly requested: boolean } {
  let requested = false;
  let resolveStop!: (s: NodeJS.Signals) => void;
  const promise = new Promise<NodeJS.Signals>((r) => { resolveStop = r; });
  const handler = (signal: NodeJS.Signals): void => {
    if (requested) {
      printError(toStrataError(new Error(`second ${signal} while shutting down; exiting now`)), false);
      process.exit(1);
    }
    requested = true;
    resolveStop(signal);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return { promise, get requested() { return requested; } };
}

/** The `server` command. */
export function serverCommand(): Command {
  return new Command('server')
    .description('run a strata server: coordinator, metadata store and local cache on a data directory')
    .option('--data-dir <dir>', 'data directory (metadata, cache, default root UFS)', './strata-data')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port (0: any free port, printed on the listening line)', '19998')
    .option('--root-ufs <uri>', 'UFS of the root mount (default file://<data-dir>/ufs)')
    .option('--web-port <port>', 'port of the web console (default off; -D web.port=N)')
    .option('--config <file>', 'configuration file: key=value lines or a JSON object')
    .option('--users <file>', 'users file: JSON {"users":[{name, accessKeyId, secretKey, role, prefixes?}]} (default <data-dir>/users.json, created with an admin key on first start)')
    .option('--tls-cert <file>', 'PEM certificate (chain): serve the protocol port over TLS')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--insecure-no-auth', 'accept connections without credentials (tests only; refused unless --host is loopback)', false)
    .option('--s3-port <port>', 'serve the S3 gateway on this port (default: s3.gateway.port, off)')
    .addOption(new Option('--preset <name>', `a recommended set-up (${presetNames().join(', ')})`))
    .addOption(new Option('--log-level <level>', 'log level (also STRATA_LOG_LEVEL); logs are human-readable on a terminal, JSON lines otherwise (STRATA_LOG_FORMAT=json|pretty forces one)')
      .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
    .option('-D, --define <key=value>', 'a configuration key (repeatable), e.g. -D metadata.sync.interval=1min',
      (v: string, prev: string[] = []) => [...prev, v], [] as string[])
    .addHelpText('after', '\nExamples:\n  $ strata server --data-dir /var/lib/strata --port 19998\n' +
      '  $ strata server --preset mixed -D cache.capacity=8GB -D s3.endpoint=http://127.0.0.1:9000')
    .action(async (opts: ServerCliOptions) => {
      await runServer(opts);
    });
}
