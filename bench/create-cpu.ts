// Creates over TCP against compiled servers, for CPU and syscall counts: writeFile of N small
// files (MUST_CACHE, fresh names) at a fixed depth against the dist/ server of each given
// checkout, each in its own process; sides alternate round by round. Prints ops/s and the
// server's CPU per create (user + sys, /proc) per round, then medians.
// Run: node --import tsx bench/create-cpu.ts [--root DIR ...] [--n 4000] [--depth 16] [--bytes 100]
//        [--rounds 3] [--op create|mkdir|getStatus] [--wait-strace] [--profile DIR]   (--wait-strace: prints the pids and waits 3 s)

import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { StrataClient } from '../src/client/tcp-client.js';
import { cpuMsOf, startChild, type ServerChild } from './lib/child.js';

const args = process.argv.slice(2);
const arg = (name: string, d: string): string => { const i = args.indexOf(name); return i >= 0 ? args[i + 1]! : d; };
const roots = args.flatMap((a, i) => (args[i - 1] === '--root' ? [resolve(a)] : []));
if (roots.length === 0) roots.push(resolve(new URL('..', import.meta.url).pathname));
const n = Number(arg('--n', '4000'));
const depth = Number(arg('--depth', '16'));
const rounds = Number(arg('--rounds', '3'));
const op = arg('--op', 'create');
const data = Buffer.alloc(Number(arg('--bytes', '100')), 7);
const work = mkdtempSync(join(tmpdir(), 'create-tcp-cpu-'));

interface Side { root: string; srv: ServerChild; cl: StrataClient; ops: number[]; cpu: number[] }
const sides: Side[] = [];
for (const [i, root] of roots.entries()) {
  const prof = arg('--profile', '');
  const srv = await startChild(['strata', join(work, `s${i}`), '{}'], {
    entry: join(root, 'bench/lib/server-child-dist.mjs'),
    ...(prof ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${join(resolve(prof), String(i))}`] } : {}),
  });
  sides.push({ root, srv, cl: await StrataClient.connect(srv.address), ops: [], cpu: [] });
}
if (args.includes('--wait-strace')) {
  console.log(`pids ${sides.map((s) => s.srv.pid).join(' ')}`);
  await new Promise((r) => setTimeout(r, 3000));
}

let seq = 0;
async function run(s: Side, round: number): Promise<void> {
  const dir = `/c${round}`;
  await s.cl.createDirectory(dir, { writeType: 'MUST_CACHE', allowExists: true });
  if (op === 'getStatus') await s.cl.writeFile(`${dir}/f`, data, { writeType: 'MUST_CACHE' });
  const one = (): Promise<unknown> => op === 'create' ? s.cl.writeFile(`${dir}/f${seq++}`, data, { writeType: 'MUST_CACHE' })
    : op === 'mkdir' ? s.cl.createDirectory(`${dir}/d${seq++}`, { writeType: 'MUST_CACHE' })
      : s.cl.getStatus(`${dir}/f`);
  // warm-up
  let left = Math.min(500, n);
  await Promise.all(Array.from({ length: depth }, async () => { while (left-- > 0) await one(); }));
  const c0 = cpuMsOf(s.srv.pid);
  const t0 = performance.now();
  left = n;
  await Promise.all(Array.from({ length: depth }, async () => { while (left-- > 0) await one(); }));
  const ms = performance.now() - t0;
  const c1 = cpuMsOf(s.srv.pid);
  s.ops.push(n / (ms / 1000));
  s.cpu.push(((c1 - c0) * 1000) / n);
}

const median = (xs: number[]): number => { const a = [...xs].sort((x, y) => x - y); return a.length % 2 ? a[(a.length - 1) >> 1]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2; };
console.log(`${op} ×${n} at ${depth} in flight, ${data.length} B; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [...sides].reverse() : sides;
  for (const s of order) await run(s, r);
  console.log(`round ${r + 1} (load ${loadavg()[0]!.toFixed(1)}): ` + sides.map((s) => `${s.root}: ${Math.round(s.ops[r]!)}/s ${Math.round(s.cpu[r]!)} µs`).join('; '));
}
for (const s of sides) console.log(`${s.root}: median ${Math.round(median(s.ops))} ops/s, server CPU ${Math.round(median(s.cpu))} µs/op (rounds ${s.cpu.map(Math.round).join(', ')})`);
for (const s of sides) { await s.cl.close(); await s.srv.stop(); }
rmSync(work, { recursive: true, force: true });
process.exit(0);
