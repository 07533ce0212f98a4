// Fuzz figures (issue 11): frames survived by a real server process, its RSS before/after,
// and the p99 latency of a well-behaved client's getStatus without and during the fuzz.
// `node --import tsx bench/fuzz.ts [--frames N]`; prints a markdown table.

import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { StrataClient } from '../src/client/tcp-client.js';
import { startServer } from '../test/helpers/server.js';
import { runFuzz } from '../test/helpers/fuzz.js';

const argv = process.argv.slice(2);
const frames = Number(argv[argv.indexOf('--frames') + 1] || 50_000);

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const p99 = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]!; };

const srv = await startServer({ args: ['-D', 'upload.idle.timeout=2s'] });
try {
  const good = await StrataClient.connect(srv.address, { token: srv.token });
  await good.writeFile('/f.txt', (async function* () { yield Buffer.from('steady'); })());
  const sample = async (until: () => boolean, max: number): Promise<number[]> => {
    const lat: number[] = [];
    while (!until() && lat.length < max) {
      const t0 = performance.now();
      await good.getStatus('/f.txt');
      lat.push(performance.now() - t0);
    }
    return lat;
  };
  await sample(() => false, 500); // warm-up
  const quiet = await sample(() => false, 3000);
  const before = rssMb(srv.proc.pid!);
  const [host, port] = [srv.address.slice(0, srv.address.lastIndexOf(':')), Number(srv.address.slice(srv.address.lastIndexOf(':') + 1))];
  let done = false;
  const t0 = Date.now();
  const fuzz = runFuzz({ host, port, token: srv.token!, frames, seed: 7 }).finally(() => { done = true; });
  const during = await sample(() => done, 1_000_000);
  const stats = await fuzz;
  const secs = (Date.now() - t0) / 1000;
  const after = rssMb(srv.proc.pid!);
  const alive = srv.proc.exitCode === null;
  await good.close();
  console.log('| figure | value |\n|---|---|');
  console.log(`| fuzz frames sent (survived: server ${alive ? 'alive' : 'DEAD'}) | ${stats.frames} over ${stats.connections} connections in ${secs.toFixed(1)} s (${stats.closedByServer} closed by the server) |`);
  console.log(`| server RSS before / after | ${before.toFixed(0)} MB / ${after.toFixed(0)} MB |`);
  console.log(`| good client getStatus p99 without fuzz | ${p99(quiet).toFixed(2)} ms (${quiet.length} calls) |`);
  console.log(`| good client getStatus p99 during fuzz | ${p99(during).toFixed(2)} ms (${during.length} calls) |`);
} finally {
  await srv.stop();
  await rm(srv.dataDir, { recursive: true, force: true });
}
