// How `strata server` starts the web console: the users of the data directory (opened here
// until the server passes its own UserStore), the console's configuration keys, and one line
// on stderr naming the console's URL (stdout carries only the listening line).

import { UserStore } from '../auth/users.js';
import type { ServerConfig } from '../config/keys.js';
import type { FileSystem } from '../fs.js';
import type { Logger } from '../log.js';
import { startWebConsole } from './console.js';

export interface ServerConsoleOptions {
  fs: FileSystem;
  config: ServerConfig;
  dataDir: string;
  host: string;
  port: number;
  /** The server's users; default UserStore.openForServer(dataDir, usersFile). */
  users?: UserStore;
  usersFile?: string;
  logger?: Logger;
}

/** Start the console of a server; resolves to its port and a close function. */
export async function startServerConsole(o: ServerConsoleOptions): Promise<{ port: number; url: string; close(): Promise<void> }> {
  const users = o.users ?? UserStore.openForServer(o.dataDir, o.usersFile).store;
  const web = await startWebConsole({
    fs: o.fs, users, host: o.host, port: o.port, version: (await o.fs.getReport()).server.version, config: o.config,
    sampleIntervalMs: o.config.get('web.sample.interval'),
    historyMs: o.config.get('web.history'),
    sessionTtlMs: o.config.get('web.session.ttl'),
    onWarning: (message, err) => o.logger?.warn({ err: err instanceof Error ? err.message : err }, message),
  });
  process.stderr.write(`strata web console on ${web.url}\n`);
  return { port: web.port, url: web.url, close: () => web.close() };
}
