// What every client command (`strata fs …`, `strata fsadmin …`) shares: the server address
// (`--address`, STRATA_ADDRESS, 127.0.0.1:19998), one lazily opened connection, the
// per-call options (`--sync-interval`, `--load-type`, `--write-type`, `--read-type`) and the
// action wrapper that closes the connection whatever happens.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { ADMIN_KEY_FILE } from '../auth/users.js';
import { ErrorCode, StrataError, toStrataError } from '../errors.js';
import type { FileSystem } from '../fs.js';
import { parseDuration } from '../config/units.js';
import { LOAD_TYPES, READ_TYPES, WRITE_TYPES } from '../types.js';
import type { LoadType, ReadType, WriteType } from '../types.js';
import { usage, usageError } from './format.js';

export const DEFAULT_ADDRESS = '127.0.0.1:19998';

/** Parse `HOST:PORT` (or `[v6]:PORT`); a usage error names the bad address. */
export function parseAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(address.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port > 0 && port < 65536)) {
    throw usageError(`bad server address ${JSON.stringify(address)} (use HOST:PORT, e.g. ${DEFAULT_ADDRESS})`);
  }
  return { host: (m[1] ?? m[2])!, port };
}

const CONNECTION_CODES = new Set<string>([ErrorCode.CONNECTION_CLOSED, ErrorCode.TIMEOUT]);
const NETWORK_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EADDRNOTAVAIL']);

/**
 * Name the address in a failure to reach the server: network errors (connection refused,
 * reset, DNS) become CONNECTION_CLOSED; CONNECTION_CLOSED and TIMEOUT keep their code.
 * Any other error is returned as it is.
 */
export function connectionError(err: unknown, address: string): StrataError {
  const errno = (err as { code?: unknown } | null)?.code;
  const network = typeof errno === 'string' && NETWORK_ERRNOS.has(errno);
  if (!network && !(err instanceof StrataError && CONNECTION_CODES.has(err.code))) return toStrataError(err);
  const e = toStrataError(err, ErrorCode.CONNECTION_CLOSED);
  if (e.message.includes(address)) return e;
  return new StrataError(network ? ErrorCode.CONNECTION_CLOSED : e.code,
    `cannot reach the strata server at ${address}: ${e.message}`, { cause: err });
}

/** Per-call options common to every `fs` command, validated. */
export interface CallOptions {
  syncIntervalMs?: number;
  loadType?: LoadType;
  writeType?: WriteType;
  readType?: ReadType;
}

function pickEnum<T extends string>(value: unknown, values: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined;
  const v = String(value).trim().toUpperCase();
  if (!(values as readonly string[]).includes(v)) {
    throw usageError(`${flag}: ${JSON.stringify(value)} is not one of ${values.join(', ')}`);
  }
  return v as T;
}

/** The per-call options, listed in each command's help after the command's own options. */
function callOptionList(): Option[] {
  return [
    new Option('--sync-interval <duration>', 'metadata sync interval for this call (-1 never, 0 always, 250ms, 5s, 10min, 1h)'),
    new Option('--load-type <type>', `loading of paths not yet in the namespace (${LOAD_TYPES.join('|')})`),
    new Option('--write-type <type>', `write type (${WRITE_TYPES.join('|')})`),
    new Option('--read-type <type>', `read type (${READ_TYPES.join('|')})`),
  ].map((o) => o.helpGroup('Per-call options (before or after the command name):'));
}

/** Add the four per-call options to a command. */
export function addCallOptions(cmd: Command): Command {
  for (const o of callOptionList()) cmd.addOption(o);
  return cmd;
}

/**
 * Accept the per-call options on a command group too (`strata fs --sync-interval 0 ls /`),
 * hidden from help (each command lists them).
 */
export function addGroupCallOptions(cmd: Command): Command {
  for (const o of callOptionList()) cmd.addOption(o.hideHelp());
  return cmd;
}

const CALL_KEYS = ['syncInterval', 'loadType', 'writeType', 'readType'] as const;

/** The per-call option values of a command and its groups; the command's own win. */
function callOptionValues(cmd: Command): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = c.opts();
    for (const k of CALL_KEYS) if (out[k] === undefined && o[k] !== undefined) out[k] = o[k];
  }
  return out;
}

/** Validate the per-call options of a parsed command. */
export function callOptions(opts: Record<string, unknown>): CallOptions {
  const out: CallOptions = {};
  if (opts.syncInterval !== undefined) {
    try {
      out.syncIntervalMs = parseDuration(String(opts.syncInterval), '--sync-interval');
    } catch (err) {
      throw usage(err);
    }
  }
  const loadType = pickEnum(opts.loadType, LOAD_TYPES, '--load-type');
  const writeType = pickEnum(opts.writeType, WRITE_TYPES, '--write-type');
  const readType = pickEnum(opts.readType, READ_TYPES, '--read-type');
  if (loadType) out.loadType = loadType;
  if (writeType) out.writeType = writeType;
  if (readType) out.readType = readType;
  return out;
}

/** Options that only touch metadata (sync interval and load type). */
export function commonOf(c: CallOptions): { syncIntervalMs?: number; loadType?: LoadType } {
  const o: { syncIntervalMs?: number; loadType?: LoadType } = {};
  if (c.syncIntervalMs !== undefined) o.syncIntervalMs = c.syncIntervalMs;
  if (c.loadType !== undefined) o.loadType = c.loadType;
  return o;
}

/** Everything a client command's action gets. */
export interface ClientContext {
  /** The connected file system (connects on first use). */
  fs(): Promise<FileSystem>;
  json: boolean;
  address: string;
  call: CallOptions;
  /** The command's own options. */
  opts: Record<string, unknown>;
}

/** Add `--address`, `--token`, `--data-dir`, `--tls`, `--ca` and `--json` to a client command group. */
export function addClientOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--address <host:port>', 'address of the strata server').env('STRATA_ADDRESS').default(DEFAULT_ADDRESS))
    .addOption(new Option('--token <ACCESSKEYID:SECRET>', 'credential (default: STRATA_TOKEN, else <data-dir>/admin.key)').env('STRATA_TOKEN'))
    .addOption(new Option('--data-dir <dir>', 'data directory of a local server, whose admin.key is used when no token is given')
      .env('STRATA_DATA_DIR').default('./strata-data'))
    .option('--tls', 'connect with TLS (implied by --ca)', false)
    .addOption(new Option('--ca <file>', 'PEM certificate of the CA (or the self-signed server certificate) to trust').env('STRATA_CA'))
    .option('--json', 'print JSON instead of human output', false);
}

/** The TLS option of a client command: `--ca FILE` (implies TLS) or `--tls`, else plain TCP. */
export function tlsOption(all: Record<string, unknown>): { tls?: true | { ca: Buffer } } {
  if (typeof all.ca === 'string' && all.ca) {
    try {
      return { tls: { ca: readFileSync(all.ca) } };
    } catch (err) {
      throw usageError(`--ca: cannot read ${all.ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return all.tls ? { tls: true } : {};
}

/**
 * The credential of a client command: `--token` / STRATA_TOKEN, else the admin key a local
 * server wrote in `<data-dir>/admin.key`, else none (the server then refuses the connection).
 */
export function findToken(all: Record<string, unknown>): string | undefined {
  const t = typeof all.token === 'string' ? all.token.trim() : '';
  if (t) return t;
  const file = join(String(all.dataDir ?? './strata-data'), ADMIN_KEY_FILE);
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text || undefined;
  } catch {
    return undefined; // absent or unreadable: connect without a credential
  }
}

/**
 * Wrap a client command action: positional arguments first, then a context with a lazily
 * connected client that is closed when the action ends, successfully or not.
 */
export function clientAction(
  fn: (ctx: ClientContext, ...args: string[]) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const positional = args.slice(0, -2).flatMap((a) => (Array.isArray(a) ? a.map(String) : a === undefined ? [] : [String(a)]));
    const opts = cmd.opts();
    const all = cmd.optsWithGlobals();
    const address = String(all.address ?? DEFAULT_ADDRESS);
    let client: FileSystem | undefined;
    const ctx: ClientContext = {
      json: Boolean(all.json),
      address,
      call: callOptions(callOptionValues(cmd)),
      opts,
      async fs() {
        if (client) return client;
        const target = parseAddress(address);
        try {
          const { StrataClient } = await import('../client/tcp-client.js');
          const token = findToken(all);
          const connected: FileSystem = await StrataClient.connect(target, { ...(token ? { token } : {}), ...tlsOption(all) });
          client = connected;
          return connected;
        } catch (err) {
          throw connectionError(err, address);
        }
      },
    };
    try {
      await fn(ctx, ...positional);
    } catch (err) {
      throw connectionError(err, address);
    } finally {
      if (client) await client.close().catch(() => {});
    }
  };
}
