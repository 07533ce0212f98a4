// Test fixtures for the command line: a REAL `strata server` process on a free port and a
// temporary data directory, and `runCli` that runs `strata …` as a real process. Both go
// through bin/strata.mjs exactly as a user would.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root and the executable. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'strata.mjs');

/** A running server process. */
export interface ServerHandle {
  /** `HOST:PORT` from the listening line. */
  address: string;
  dataDir: string;
  /** The admin token the server wrote to DATA_DIR/admin.key (undefined with --users / --insecure-no-auth). */
  token: string | undefined;
  proc: ChildProcess;
  /** Everything the server wrote to stderr so far (logs). */
  stderr(): string;
  /** SIGTERM, then wait for the exit; resolves to the exit code (or the signal name). */
  stop(): Promise<number | string>;
  /** SIGKILL (a crash), then wait for the exit. */
  kill(): Promise<void>;
}

/** `mount.allowed.roots` of the servers started here: temp dirs and S3 on loopback. */
export const TEST_ALLOWED_ROOTS = `${pathToFileURL(tmpdir()).href},s3://*?endpoint=http://127.0.0.1:*`;

/** Admin tokens of the servers started here, by address: runCli passes them on. */
const tokens = new Map<string, string>();

/** The admin token of the server at `address` started by startServer (for StrataClient.connect). */
export function tokenOf(address: string): string | undefined {
  return tokens.get(address);
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'strata-cli-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

function exited(proc: ChildProcess): Promise<number | string> {
  if (proc.exitCode !== null) return Promise.resolve(proc.exitCode);
  if (proc.signalCode !== null) return Promise.resolve(proc.signalCode);
  return new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
}

/**
 * Start `node bin/strata.mjs server --port 0 --data-dir <dir> [args]` and wait for its
 * `strata listening on HOST:PORT` line. Rejects with the server's output when it exits
 * first or does not listen within `timeoutMs`.
 */
export async function startServer(opts: { args?: string[]; dataDir?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ServerHandle> {
  const dataDir = opts.dataDir ?? await tempDir();
  const args = opts.args ?? [];
  // What the tests may mount: temp dirs and S3 on loopback (unless the test sets the key itself).
  const roots = args.some((a) => a.includes('mount.allowed.roots')) ? [] : ['-D', `mount.allowed.roots=${TEST_ALLOWED_ROOTS}`];
  const proc = spawn(process.execPath, [BIN, 'server', '--port', '0', '--data-dir', dataDir, ...roots, ...args], {
    cwd: ROOT,
    env: { ...process.env, STRATA_LOG_LEVEL: process.env.STRATA_LOG_LEVEL ?? 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d; });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not listen within ${opts.timeoutMs ?? 120_000}ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    proc.stdout!.on('data', (d: Buffer) => {
      stdout += d;
      const m = /^strata listening on (\S+:\d+)$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
  const token = (await readFile(join(dataDir, 'admin.key'), 'utf8').catch(() => '')).trim() || undefined;
  if (token) tokens.set(address, token);
  return {
    address,
    dataDir,
    token,
    proc,
    stderr: () => stderr,
    async stop() {
      const done = exited(proc);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return done;
    },
    async kill() {
      const done = exited(proc);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await done;
    },
  };
}

/** The outcome of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as bytes (for binary `cat`). */
  stdoutBytes: Buffer;
}

/**
 * Run `node bin/strata.mjs …args` as a real process; `input` is written to its stdin. A
 * command naming `--address` of a server started by startServer gets its admin token in
 * STRATA_TOKEN (unless `env` sets STRATA_TOKEN or args give `--token`).
 */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string | Uint8Array; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  const at = args.indexOf('--address');
  const address = at >= 0 ? args[at + 1] : opts.env?.STRATA_ADDRESS;
  const token = address !== undefined && !args.includes('--token') && !(opts.env && 'STRATA_TOKEN' in opts.env)
    ? tokens.get(address) : undefined;
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, STRATA_LOG_LEVEL: process.env.STRATA_LOG_LEVEL ?? 'warn', ...(token ? { STRATA_TOKEN: token } : {}), ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => out.push(d));
    proc.stderr.on('data', (d: Buffer) => { stderr += d; });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`strata ${args.join(' ')} took longer than ${opts.timeoutMs ?? 60_000}ms\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      const bytes = Buffer.concat(out);
      resolve({ code: code ?? (signal ? 128 : -1), stdout: bytes.toString('utf8'), stderr, stdoutBytes: bytes });
    });
    proc.stdin.end(opts.input ?? '');
  });
}
