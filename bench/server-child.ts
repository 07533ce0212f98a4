// A server in its own process for the benches (so the client and the server each get a
// core, like a real deployment): `strata <dataDir> <configJSON>`, `echo` or `stream <chunkBytes>`. It reports its
// port over IPC and exits cleanly on {cmd:'exit'} (so --cpu-prof can write its profile).

import { pino } from 'pino';
import { ServerConfig } from '../src/config/keys.js';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { StrataServer } from '../src/server/tcp-server.js';
import { startEchoServer, startStreamServer } from './protocol-echo.js';

const [mode, dataDir, configJson] = process.argv.slice(2);
const logger = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' });
let stop: () => Promise<void>;
let port: number;

if (mode === 'echo') {
  const e = await startEchoServer({ host: '127.0.0.1', port: 0 });
  port = e.port;
  stop = () => e.close();
} else if (mode === 'stream') {
  // The plain TCP stream of a file (the limit of a hot read): `stream <chunkBytes>`.
  const e = await startStreamServer({ host: '127.0.0.1', port: 0, chunkBytes: Number(dataDir ?? 1 << 20) });
  port = e.port;
  stop = () => e.close();
} else {
  // The benches mount trees anywhere on this machine and S3 on loopback: an operator's list.
  const allowed = { 'mount.allowed.roots': 'file:///,s3://*?endpoint=http://127.0.0.1:*' };
  const config = new ServerConfig([allowed, JSON.parse(configJson ?? '{}') as Record<string, string>]);
  const c = await Coordinator.open({ dataDir: dataDir!, config, logger });
  const srv = new StrataServer(c, { host: '127.0.0.1', port: 0, logger, insecureNoAuth: true });
  port = (await srv.listen()).port;
  stop = async () => { await srv.close(); await c.close(); };
}

process.on('message', (m: { cmd?: string }) => {
  if (m?.cmd === 'exit') {
    stop().catch(() => undefined).finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true, port });
