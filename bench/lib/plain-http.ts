// The ceiling of the gateway bench's hot GET: a plain node:http server that streams one file
// from the page cache for any GET (no auth, no lookup), the way a Node program would serve a
// file (fs.createReadStream piped into the response, 1 MiB reads). Run beside the gateway with
// the same client, it measures what node:http on this machine allows.
// `node --import tsx bench/lib/plain-http.ts FILE` prints `listening PORT`.

import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const file = process.argv[2]!;
const size = statSync(file).size;
const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  req.resume();
  res.writeHead(200, { 'Content-Length': String(size), 'Content-Type': 'application/octet-stream' });
  if (req.method === 'HEAD') { res.end(); return; }
  createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
