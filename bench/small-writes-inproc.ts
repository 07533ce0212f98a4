// 4 KB writeFile calls of one write type through an embedded Coordinator of the checkout at
// ROOT (this one, or a base built with `git archive`): N writes at DEPTH in flight, with the
// rate, p50 latency, the process's CPU per write and how long the event loop was blocked. Under `strace -f -c`, runs of two
// sizes subtracted give the syscalls per write (bench/RESULTS.md, "Small writes").
// Run: node --import tsx bench/small-writes-inproc.ts ROOT CACHE_THROUGH|MUST_CACHE|THROUGH N [DEPTH]
import { resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
const [root, wt, nArg, depthArg] = process.argv.slice(2);
if (!root || !wt) throw new Error('usage: small-writes-inproc.ts ROOT WRITE_TYPE N [DEPTH]');
const { openEnv } = await import(pathToFileURL(`${resolve(root!)}/test/helpers/fixture.ts`).href);
const env = await openEnv({});
const N = Number(nArg ?? 200); const depth = Number(depthArg ?? 1);
const data = Buffer.alloc(4096, 7);
await env.fs.createDirectory('/d', { writeType: 'MUST_CACHE' });
for (let i = 0; i < 20; i++) await env.fs.writeFile(`/d/warm${i}`, data, { writeType: wt });
const lat: number[] = []; let k = 0;
const loop = monitorEventLoopDelay({ resolution: 1 }); loop.enable();
const c0 = process.cpuUsage(); const t0 = performance.now();
await Promise.all(Array.from({ length: depth }, async () => { while (k < N) { const i = k++; const t = performance.now(); await env.fs.writeFile(`/d/f${i}`, data, { writeType: wt }); lat.push(performance.now() - t); } }));
const wall = performance.now() - t0; const c = process.cpuUsage(c0);
loop.disable();
lat.sort((a, b) => a - b);
console.log(`${root} ${wt} x${depth}: ${(N / wall * 1000).toFixed(0)}/s p50 ${lat[lat.length >> 1]!.toFixed(2)} ms, CPU user ${(c.user / N).toFixed(0)} sys ${(c.system / N).toFixed(0)} µs/op; event-loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(1)} / max ${(loop.max / 1e6).toFixed(1)} ms`);
await env.dispose();
