// Server CPU per getStatus over TCP at 1 / 16 / 64 in flight, A/B between builds, beside the
// honest reference: the request/answer echo (bench/protocol-echo.ts) answering a request of the
// same bytes as the getStatus request with an answer of the same bytes as its FileInfo.
//
//   node --import tsx bench/getstatus-cpu.ts [--build DIR]... [--rounds N] [--time MS]
//        [--slices N] [--depths 1,16,64] [--raw] [--profile DIR] [--no-list]
//
// Each --build is a checkout with a built dist/ (default: this one); its server runs compiled
// (bench/lib/server-child-dist.mjs of that checkout) in its own process, driven by that
// build's own StrataClient, beside the echo answering with that build's own FileInfo. Each measurement (one depth, --time MS per kind) is cut into
// --slices slices in which the echo and the builds take turns (order reversed every slice), so
// that load changes on a shared machine fall on all of them. Per build and depth it prints the median over rounds
// of: ops/s, ops/s ÷ the echo measured beside it, server CPU µs per call (user + sys from
// /proc, less the server's own CPU while idle, measured in idle slices between), client CPU µs per call; and listStatus of a 1k-entry directory, p50 at 1 in flight.
// --raw drives every server with RawDriver instead (prebuilt request frames, answers counted,
// nearly no client work): the server's CPU per call with the least noise from the client.
// --profile DIR runs every server under --cpu-prof (profiles in DIR/<build index>); --no-list
// leaves out the listings (a profile of getStatus alone).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import type { StrataClient } from '../src/client/tcp-client.js';
import type { FileInfo } from '../src/types.js';
import { cpuMsOf, startChild, type ServerChild } from './lib/child.js';
import { BENCH_ROOT } from './lib/tree.js';
import { ensureDir1k } from './metadata-ops.js';
import { connectEcho, frame, type EchoClient } from './protocol-echo.js';

const argv = process.argv.slice(2);
const all = (f: string): string[] => argv.flatMap((a, i) => (a === f && argv[i + 1] !== undefined ? [argv[i + 1]!] : []));
const arg = (f: string): string | undefined => all(f)[0];
const HERE = fileURLToPath(new URL('.', import.meta.url));
const builds = (all('--build').length ? all('--build') : [join(HERE, '..')]).map((b) => resolve(b));
const rounds = Number(arg('--rounds') ?? 3);
const timeMs = Number(arg('--time') ?? 1500);
const depths = (arg('--depths') ?? '1,16,64').split(',').map(Number);
const profDir = arg('--profile');
const withList = !argv.includes('--no-list');
const raw = argv.includes('--raw');
const log = (s: string): void => console.error(`[getstatus-cpu] ${s}`);

// A hard stop, so the bench always ends by itself.
setTimeout(() => { console.error('getstatus-cpu: time limit reached'); process.exit(3); }, 30 * 60_000).unref();

/** What a series of slices of one kind added up to. */
interface Acc { n: number; wallMs: number; serverMs: number; clientUs: number; lat: number[]; sysr: number; sysw: number }
const newAcc = (): Acc => ({ n: 0, wallMs: 0, serverMs: 0, clientUs: 0, lat: [], sysr: 0, sysw: 0 });

/** A process's read and write syscalls so far (/proc/PID/io: syscr, syscw; sockets included). */
function syscallsOf(pid: number): [number, number] {
  try {
    const s = readFileSync(`/proc/${pid}/io`, 'utf8');
    return [Number(/syscr: (\d+)/.exec(s)?.[1] ?? 0), Number(/syscw: (\d+)/.exec(s)?.[1] ?? 0)];
  } catch {
    return [0, 0];
  }
}

/** Closed loop: `depth` callers, each calling `fn` again as soon as it resolves, for `ms`; added to `acc` (when given). */
async function slice(depth: number, ms: number, fn: () => Promise<unknown>, serverPid: number, acc: Acc | undefined): Promise<void> {
  const lat = acc?.lat;
  await measured(serverPid, acc, async () => {
    const until = performance.now() + ms;
    let n = 0;
    const one = async (): Promise<void> => {
      while (performance.now() < until) {
        const t = performance.now();
        await fn();
        if (lat) lat.push(performance.now() - t);
        n++;
      }
    };
    await Promise.all(Array.from({ length: depth }, one));
    return n;
  });
}

/** Run `calls` (it answers how many calls it made), adding them, the wall time and both sides' CPU to `acc` (when given). */
async function measured(serverPid: number, acc: Acc | undefined, calls: () => Promise<number>): Promise<void> {
  const s0 = cpuMsOf(serverPid);
  const io0 = syscallsOf(serverPid);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const n = await calls();
  if (!acc) return;
  const c = process.cpuUsage(c0);
  acc.n += n;
  acc.wallMs += performance.now() - t0;
  acc.serverMs += cpuMsOf(serverPid) - s0;
  acc.clientUs += c.user + c.system;
  const io1 = syscallsOf(serverPid);
  acc.sysr += io1[0] - io0[0];
  acc.sysw += io1[1] - io0[1];
}

interface Run { opsPerSec: number; serverUs: number; clientUs: number; p50Ms: number; readsPerCall: number; writesPerCall: number }
function runOf(a: Acc): Run {
  a.lat.sort((x, y) => x - y);
  return { opsPerSec: a.n / (a.wallMs / 1000), serverUs: (a.serverMs * 1000) / a.n, clientUs: a.clientUs / a.n, p50Ms: a.lat[a.lat.length >> 1] ?? 0,
    readsPerCall: a.sysr / a.n, writesPerCall: a.sysw / a.n };
}

/**
 * One measurement of several kinds (the echo, each build) at one depth: `slices` slices of
 * `ms / slices` each, the kinds taking turns in an order reversed every slice, so that a change
 * of the machine's load falls on all of them alike. A short warm-up of each kind first.
 */
async function interleaved(depth: number, ms: number, slices: number, kinds: Array<{ fn: () => Promise<unknown>; pid: number; raw?: RawDriver }>): Promise<Run[]> {
  const one = (k: typeof kinds[number], t: number, acc: Acc | undefined): Promise<void> =>
    (k.raw ? rawSlice(k.raw, depth, t, k.pid, acc) : slice(depth, t, k.fn, k.pid, acc));
  for (const k of kinds) await one(k, 150, undefined);
  const accs = kinds.map(newAcc);
  // Idle slices beside the busy ones: what each server process spends with no call at all
  // (timers, housekeeping, worker threads) is taken out of its CPU per call, which at a few
  // hundred calls per second on a loaded machine it would otherwise dominate.
  const pids = [...new Set(kinds.map((k) => k.pid))];
  const idleCpu = new Map(pids.map((pid) => [pid, 0]));
  let idleMs = 0;
  for (let i = 0; i < slices; i++) {
    const order = kinds.map((_, j) => j);
    if (i % 2) order.reverse();
    for (const j of order) await one(kinds[j]!, ms / slices, accs[j]);
    const c0 = pids.map((pid) => cpuMsOf(pid));
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, ms / slices / 2));
    idleMs += performance.now() - t0;
    pids.forEach((pid, k) => idleCpu.set(pid, idleCpu.get(pid)! + cpuMsOf(pid) - c0[k]!));
  }
  return accs.map((a, j) => {
    const idlePerMs = idleMs > 0 ? idleCpu.get(kinds[j]!.pid)! / idleMs : 0;
    a.serverMs = Math.max(0, a.serverMs - idlePerMs * a.wallMs);
    return runOf(a);
  });
}

/**
 * A driver with almost no client work (--raw): `depth` getStatus requests prebuilt as frames with
 * ids 1..depth; each answer (its id read at its fixed place) sends that id's request again, all
 * answers of one socket read in one write. Against Strata (after the hello) and the echo alike,
 * so the CPU of the process being measured is nearly all the server's.
 */
class RawDriver {
  private readonly socket: net.Socket;
  private readonly frames: Buffer[] = [];
  private pending: Buffer | undefined;
  private count = 0;
  private target = 0;
  private wake: (() => void) | undefined;
  private inflight = 0;

  private constructor(socket: net.Socket, path: string) {
    this.socket = socket;
    for (let id = 0; id <= 127; id++) this.frames.push(frame({ t: 'req', id, op: 'getStatus', args: [path] }));
  }

  /** `answer`: the echo's answer to register (the echo), else undefined (Strata: hello first). */
  static async connect(port: number, path: string, answer: unknown): Promise<RawDriver> {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    if (answer !== undefined) {
      socket.write(frame({ t: 'answer', op: 'getStatus', ok: answer }));
    } else {
      socket.write(frame({ t: 'hello', v: 3, client: 'raw-driver' }));
      await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    }
    const d = new RawDriver(socket, path);
    socket.on('data', (chunk: Buffer) => d.onData(chunk));
    return d;
  }

  private onData(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    const again: Buffer[] = [];
    while (buf.length - pos >= 4) {
      const len = buf.readUInt32BE(pos);
      if (buf.length - pos - 4 < len) break;
      // {t: 'res', id: <fixint>, ...}: 0x83, a1 't', a3 'res', a2 'id', then the id.
      const id = buf[pos + 4 + 1 + 2 + 4 + 3]!;
      pos += 4 + len;
      this.count++;
      this.inflight--;
      if (this.count < this.target) { again.push(this.frames[id]!); this.inflight++; }
    }
    this.pending = pos === buf.length ? undefined : buf.subarray(pos);
    buf = chunk;
    if (again.length) this.socket.write(again.length === 1 ? again[0]! : Buffer.concat(again));
    if (this.inflight === 0) this.wake?.();
  }

  /** Run `depth` in flight until `ms` have passed; resolves with the answers received. */
  async run(depth: number, ms: number): Promise<number> {
    this.count = 0;
    this.target = Number.MAX_SAFE_INTEGER;
    const done = new Promise<void>((resolve) => { this.wake = resolve; });
    const first: Buffer[] = [];
    for (let id = 1; id <= depth; id++) first.push(this.frames[id]!);
    this.inflight = depth;
    this.socket.write(Buffer.concat(first));
    await new Promise((r) => setTimeout(r, ms));
    this.target = 0; // stop re-sending; wait for what is in flight
    await done;
    return this.count;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A slice of the raw driver, added to `acc` as `slice` does. */
function rawSlice(d: RawDriver, depth: number, ms: number, serverPid: number, acc: Acc | undefined): Promise<void> {
  return measured(serverPid, acc, () => d.run(depth, ms));
}

interface Target {
  dir: string;
  server: ServerChild;
  client: StrataClient;
  data: string;
  raw?: RawDriver;
  echo?: EchoClient;
  rawEcho?: RawDriver;
}

async function startTarget(dir: string, index: number): Promise<Target> {
  const data = mkdtempSync(join(BENCH_ROOT, 'gscpu-'));
  const execArgv = profDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profDir, String(index))}`] : [];
  const server = await startChild(['strata', data, '{}'], { entry: join(dir, 'bench/lib/server-child-dist.mjs'), execArgv });
  const mod = await import(pathToFileURL(join(dir, 'dist/client/tcp-client.js')).href) as typeof import('../src/client/tcp-client.js');
  const client = await mod.StrataClient.connect(server.address);
  await client.mount('/ls', pathToFileURL(ensureDir1k()).href);
  await client.createDirectory('/bench-md', { writeType: 'MUST_CACHE' });
  await client.writeFile('/bench-md/target', new Uint8Array(100), { writeType: 'MUST_CACHE' });
  return { dir, server, client, data };
}

async function listAll(cl: StrataClient): Promise<number> {
  let n = 0;
  for await (const page of cl.listStatus('/ls')) n += page.length;
  return n;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const echoSrv = await startChild(['echo']);
const targets: Target[] = [];
for (const [i, b] of builds.entries()) targets.push(await startTarget(b, i));
const path = '/bench-md/target';
// Each build's reference: the echo answering with that build's own FileInfo (its fields may differ).
for (const t of targets) {
  const info: FileInfo = await t.client.getStatus(path);
  t.echo = await connectEcho({ host: '127.0.0.1', port: echoSrv.port });
  t.echo.setAnswer('getStatus', info);
  if (raw) {
    t.raw = await RawDriver.connect(t.server.port, path, undefined);
    t.rawEcho = await RawDriver.connect(echoSrv.port, path, info);
  }
}
const load0 = loadavg();
log(`builds: ${builds.join(', ')}; ${rounds} rounds × ${timeMs} ms; load ${load0.map((l) => l.toFixed(1)).join(' ')}`);

type Key = `${number}:${number}`;
const results = new Map<Key, { g: Run[]; ratio: number[]; echo: Run[] }>();
const lists = new Map<number, number[]>();
const slices = Number(arg('--slices') ?? 6);
for (let r = 0; r < rounds; r++) {
  for (const depth of depths) {
    const runs = await interleaved(depth, timeMs, slices, targets.flatMap((t) => [
      { fn: () => t.echo!.request('getStatus', [path]), pid: echoSrv.pid, raw: t.rawEcho },
      { fn: () => t.client.getStatus(path), pid: t.server.pid, raw: t.raw },
    ]));
    for (const [i] of targets.entries()) {
      const e = runs[2 * i]!;
      const g = runs[2 * i + 1]!;
      const k: Key = `${i}:${depth}`;
      const slot = results.get(k) ?? { g: [], ratio: [], echo: [] };
      slot.g.push(g);
      slot.echo.push(e);
      slot.ratio.push(g.opsPerSec / e.opsPerSec);
      results.set(k, slot);
      log(`round ${r + 1} build ${i} depth ${depth}: getStatus ${g.opsPerSec.toFixed(0)}/s (${(g.opsPerSec / e.opsPerSec).toFixed(2)}× echo ${e.opsPerSec.toFixed(0)}/s), server ${g.serverUs.toFixed(1)} µs/call (echo ${e.serverUs.toFixed(1)}), client ${g.clientUs.toFixed(1)} µs (echo ${e.clientUs.toFixed(1)}), server reads/writes per call ${g.readsPerCall.toFixed(3)}/${g.writesPerCall.toFixed(3)} (echo ${e.readsPerCall.toFixed(3)}/${e.writesPerCall.toFixed(3)})`);
    }
  }
  if (!withList) continue;
  const ls = await interleaved(1, timeMs, slices, targets.map((t) => ({ fn: () => listAll(t.client), pid: t.server.pid })));
  for (const [i, l] of ls.entries()) {
    lists.set(i, [...(lists.get(i) ?? []), l.p50Ms]);
    log(`round ${r + 1} build ${i}: listStatus 1k p50 ${l.p50Ms.toFixed(2)} ms, server ${(l.serverUs / 1000).toFixed(2)} ms/list`);
  }
}

const load1 = loadavg();
console.log(`\ngetStatus over TCP, medians of ${rounds} rounds (${new Date().toISOString()}, load ${load0[0]!.toFixed(1)} → ${load1[0]!.toFixed(1)})`);
console.log('| build | in flight | getStatus ops/s | ÷ request/answer echo | server CPU µs/call | echo server µs/call | client CPU µs/call | echo client µs/call | server reads/writes per call | echo reads/writes |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [i, b] of builds.entries()) {
  for (const depth of depths) {
    const s = results.get(`${i}:${depth}`)!;
    console.log(`| ${i}: ${b} | ${depth} | ${median(s.g.map((x) => x.opsPerSec)).toFixed(0)} | ${median(s.ratio).toFixed(2)}× | ${median(s.g.map((x) => x.serverUs)).toFixed(1)} | ${median(s.echo.map((x) => x.serverUs)).toFixed(1)} | ${median(s.g.map((x) => x.clientUs)).toFixed(1)} | ${median(s.echo.map((x) => x.clientUs)).toFixed(1)} | ${median(s.g.map((x) => x.readsPerCall)).toFixed(3)} / ${median(s.g.map((x) => x.writesPerCall)).toFixed(3)} | ${median(s.echo.map((x) => x.readsPerCall)).toFixed(3)} / ${median(s.echo.map((x) => x.writesPerCall)).toFixed(3)} |`);
  }
}
if (withList) for (const [i, b] of builds.entries()) console.log(`listStatus 1k, 1 in flight, p50: build ${i} (${b}) ${median(lists.get(i)!).toFixed(2)} ms`);

for (const t of targets) {
  t.echo?.close();
  t.raw?.close();
  t.rawEcho?.close();
}
await echoSrv.stop();
for (const t of targets) {
  await t.client.close();
  await t.server.stop();
  rmSync(t.data, { recursive: true, force: true });
}
