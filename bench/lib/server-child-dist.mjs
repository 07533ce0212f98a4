// The bench server of the sync figures as shipped: the compiled dist/ code (so its worker
// threads run dist/actors/worker.js, not TypeScript through tsx). Same protocol as
// bench/server-child.ts: `strata <dataDir> <configJSON>`, port over IPC, {cmd:'exit'} to stop.
// bench/sync.ts builds dist/ first when it is stale (scripts/build.mjs --if-stale).

import { pino } from 'pino';
import { ServerConfig } from '../../dist/config/keys.js';
import { Coordinator } from '../../dist/coordinator/coordinator.js';
import { StrataServer } from '../../dist/server/tcp-server.js';

const [mode, dataDir, configJson] = process.argv.slice(2);
if (mode !== 'strata') throw new Error(`server-child-dist: unknown mode ${mode}`);
const allowed = { 'mount.allowed.roots': 'file:///,s3://*?endpoint=http://127.0.0.1:*' };
const config = new ServerConfig([allowed, JSON.parse(configJson ?? '{}')]);
const logger = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' });
const c = await Coordinator.open({ dataDir, config, logger });
const srv = new StrataServer(c, { host: '127.0.0.1', port: 0, logger, insecureNoAuth: true });
const { port } = await srv.listen();
process.on('message', (m) => {
  if (m?.cmd === 'exit') srv.close().then(() => c.close()).catch(() => undefined).finally(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true, port });
