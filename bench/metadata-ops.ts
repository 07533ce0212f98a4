// Figures 3 and 4: metadata ops over TCP against a Strata server in its own process, at
// 1, 16 and 64 requests in flight, beside the msgpack length-prefixed echo (also in its own
// process) at the same depth. getStatus's limit is the echo's request/answer mode: a request of
// the same bytes as the getStatus request, answered with the same bytes as its FileInfo.

import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Packr } from 'msgpackr';
import type { StrataClient } from '../src/client/tcp-client.js';
import type { FileInfo } from '../src/types.js';
import { encodePage } from '../src/protocol/page-codec.js';
import { connectEcho } from './protocol-echo.js';
import type { ServerChild } from './lib/child.js';
import { atDepth } from './lib/depth.js';
import type { DepthResult } from './lib/depth.js';
import { fmt, ratio } from './lib/report.js';
import type { Row } from './lib/report.js';
import { BENCH_ROOT } from './lib/tree.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const DEPTHS = [1, 16, 64];

/** A local directory with 1000 empty files, for listStatus. */
export function ensureDir1k(): string {
  const dir = join(BENCH_ROOT, 'dir-1k');
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < 1000; i++) closeSync(openSync(join(dir, `entry-${String(i).padStart(4, '0')}`), 'a'));
  return dir;
}

/** CPU time (user + sys, ms) a process has used, from /proc (0 where unavailable). */
function procCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * 10; // utime + stime, in ticks of 10 ms
  } catch {
    return 0;
  }
}

/** `atDepth` that also reports the CPU per operation of the server process and of this (client) process. */
async function measured(name: string, depth: number, fn: () => Promise<unknown>, timeMs: number, serverPid: number | undefined): Promise<DepthResult & { serverCpuUs: number; clientCpuUs: number }> {
  const s0 = procCpuMs(serverPid);
  const c0 = process.cpuUsage();
  const r = await atDepth(name, depth, fn, timeMs);
  const c = process.cpuUsage(c0);
  const ops = Math.max(1, r.samples);
  // atDepth's warm-up run is inside the window: count its operations too (an estimate of 1/5 more).
  const total = ops * (1 + Math.min(300, timeMs / 4) / timeMs);
  return { ...r, serverCpuUs: (procCpuMs(serverPid) - s0) * 1000 / total, clientCpuUs: (c.user + c.system) / total };
}

const cpuNote = (r: { serverCpuUs: number; clientCpuUs: number }): string =>
  `CPU/op server ${r.serverCpuUs.toFixed(0)} + client ${r.clientCpuUs.toFixed(0)} µs`;

async function listAll(cl: StrataClient, path: string): Promise<number> {
  let n = 0;
  for await (const page of cl.listStatus(path)) n += page.length;
  return n;
}

/**
 * Figures 3 and 4. With `floorDir`, figure 4's creates are divided by the durable local create
 * floor (fsyncCreateRow in that directory, on the server's disk) measured just before and just
 * after them; `skip3` leaves out figure 3 (getStatus, listStatus); with `serverPid`, the
 * server's CPU time (user + sys) per create and mkdir is reported too (less noisy than rates);
 * with `strataPid`, figure 3 reports the server's and the client's CPU per operation.
 */
export async function metadataRows(cl: StrataClient, echoSrv: ServerChild, o: { timeMs: number; log: (s: string) => void; floorDir?: string; skip3?: boolean; serverPid?: number; strataPid?: number }): Promise<Row[]> {
  const echo = await connectEcho({ host: '127.0.0.1', port: echoSrv.port });
  const rows: Row[] = [];
  try {
    await cl.mount('/ls', pathToFileURL(ensureDir1k()).href);
    if ((await listAll(cl, '/ls')) !== 1000) throw new Error('listStatus of /ls did not return 1000 entries');
    await cl.createDirectory('/bench-md', { writeType: 'MUST_CACHE' });
    await cl.writeFile('/bench-md/target', new Uint8Array(100), { writeType: 'MUST_CACHE' });
    const info: FileInfo = await cl.getStatus('/bench-md/target');
    const page: FileInfo[] = [];
    for await (const p of cl.listStatus('/ls')) page.push(...p);
    const infoBytes = packr.pack(info).length;
    const pageBytes = packr.pack(page).length;
    // What travels since protocol version 3: the page as columns (src/protocol/page-codec.ts).
    const colPage = encodePage(page);
    const colBytes = packr.pack(colPage).length;
    o.log(`message sizes: FileInfo ${infoBytes} B, 1k listing ${pageBytes} B as maps, ${colBytes} B as columns`);

    const echoAt: Record<string, DepthResult> = {};
    // The honest reference of a getStatus: the same request bytes, answered with the same FileInfo bytes.
    echo.setAnswer('getStatus', info);
    const reference = (): Promise<unknown> => echo.request('getStatus', ['/bench-md/target']);
    for (const depth of o.skip3 ? [16] : []) echoAt[`info${depth}`] = await atDepth(`echo ${infoBytes}B`, depth, reference, o.timeMs);
    for (const depth of o.skip3 ? [] : DEPTHS) {
      const e = await measured(`request/answer echo ${infoBytes}B`, depth, reference, o.timeMs, echoSrv.pid);
      const g = await measured('getStatus', depth, () => cl.getStatus('/bench-md/target'), o.timeMs, o.strataPid);
      echoAt[`info${depth}`] = e;
      o.log(`depth ${depth}: getStatus ${fmt(g.opsPerSec)}/s p50 ${g.p50Ms.toFixed(3)} ms ${cpuNote(g)}; echo ${fmt(e.opsPerSec)}/s ${cpuNote(e)}`);
      const q = ratio(g.opsPerSec, e.opsPerSec);
      rows.push({
        fig: '3', name: `getStatus over TCP, ${depth} in flight`, value: g.opsPerSec, unit: 'ops/s',
        limitName: `msgpack request/answer echo (getStatus request → ${infoBytes} B FileInfo), ${depth} in flight`, limit: e.opsPerSec, ratio: q,
        target: '≥ 0.8× echo', meets: q >= 0.8,
        note: `p50 ${g.p50Ms.toFixed(3)} / p99 ${g.p99Ms.toFixed(3)} ms (echo ${e.p50Ms.toFixed(3)} / ${e.p99Ms.toFixed(3)}); ${cpuNote(g)} (echo ${cpuNote(e).slice(7)})`,
        extra: { strata: g, echo: e },
      });
    }
    for (const depth of o.skip3 ? [] : DEPTHS) {
      // The limit: the echo of the columnar page that travels; the echo of the same entries as maps beside it.
      const e = await measured(`echo ${colBytes}B`, depth, () => echo.echo(colPage), o.timeMs, echoSrv.pid);
      const g = await measured('listStatus', depth, () => listAll(cl, '/ls'), o.timeMs, o.strataPid);
      const em = await atDepth(`echo ${pageBytes}B`, depth, () => echo.echo(page), o.timeMs);
      o.log(`depth ${depth}: listStatus ${fmt(g.opsPerSec)}/s p50 ${g.p50Ms.toFixed(3)} ms ${cpuNote(g)}; echo of the columnar page ${cpuNote(e)} ${fmt(e.opsPerSec)}/s p50 ${e.p50Ms.toFixed(3)} ms; echo of the maps ${fmt(em.opsPerSec)}/s p50 ${em.p50Ms.toFixed(3)} ms`);
      const q = ratio(g.opsPerSec, e.opsPerSec);
      rows.push({
        fig: '3', name: `listStatus of 1k entries over TCP, ${depth} in flight`, value: g.opsPerSec, unit: 'lists/s',
        limitName: `msgpack echo of the ${Math.round(colBytes / 1024)} KiB columnar page, ${depth} in flight`, limit: e.opsPerSec, ratio: q,
        ...(depth === 1 ? { target: '≤ 1.5 ms p50', meets: g.p50Ms <= 1.5 } : {}),
        note: `p50 ${g.p50Ms.toFixed(2)} / p99 ${g.p99Ms.toFixed(2)} ms (echo ${e.p50Ms.toFixed(2)} / ${e.p99Ms.toFixed(2)}; echo of the ${Math.round(pageBytes / 1024)} KiB page as maps p50 ${em.p50Ms.toFixed(2)} ms); ${cpuNote(g)} (echo ${cpuNote(e).slice(7)})`,
        extra: { strata: g, echo: e, echoMaps: em },
      });
    }

    // Figure 4: create (MUST_CACHE, 100 B) and mkdir (MUST_CACHE), 16 in flight, fresh names.
    const depth = 16;
    const data = new Uint8Array(100);
    let seq = 0;
    await cl.createDirectory('/bench-create', { writeType: 'MUST_CACHE' });
    const f0 = o.floorDir ? await fsyncCreateRow(join(o.floorDir, 'before'), depth, o.timeMs) : undefined;
    const c1 = await atDepth('create', 1, () => cl.writeFile(`/bench-create/f${seq++}`, data, { writeType: 'MUST_CACHE' }), o.timeMs);
    const cpu0 = cpuMsOf(o.serverPid);
    const seq0 = seq;
    const c = await atDepth('create', depth, () => cl.writeFile(`/bench-create/f${seq++}`, data, { writeType: 'MUST_CACHE' }), o.timeMs);
    const cpu1 = cpuMsOf(o.serverPid);
    const creates = seq - seq0;
    await cl.createDirectory('/bench-mkdir', { writeType: 'MUST_CACHE' });
    const seq1 = seq;
    const m = await atDepth('mkdir', depth, () => cl.createDirectory(`/bench-mkdir/d${seq++}`, { writeType: 'MUST_CACHE' }), o.timeMs);
    const cpu2 = cpuMsOf(o.serverPid);
    const mkdirs = seq - seq1;
    // Calls counted by their names (warm-up included, as in the CPU time).
    const perOp = (ms: number | undefined, ops: number): string => (ms === undefined ? '' : `; server CPU ${(ms * 1000 / ops).toFixed(0)} µs per op`);
    const cpuCreate = perOp(cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined, creates);
    const cpuMkdir = perOp(cpu1 !== undefined && cpu2 !== undefined ? cpu2 - cpu1 : undefined, mkdirs);
    if (cpuCreate) o.log(`create${cpuCreate}, mkdir${cpuMkdir}`);
    const f1 = o.floorDir ? await fsyncCreateRow(join(o.floorDir, 'after'), depth, o.timeMs) : undefined;
    const e = echoAt[`info${depth}`]!;
    o.log(`create ${fmt(c.opsPerSec)}/s (1 in flight ${fmt(c1.opsPerSec)}/s), mkdir ${fmt(m.opsPerSec)}/s`);
    if (f0 && f1) {
      const floor = (f0.value! + f1.value!) / 2;
      o.log(`durable-create floor ${fmt(f0.value!)}/s before, ${fmt(f1.value!)}/s after: create ${ratio(c.opsPerSec, floor).toFixed(2)}× of it`);
      rows.push({
        fig: '4', name: `create (writeFile 100 B MUST_CACHE), ${depth} in flight ÷ durable-create floor`, value: c.opsPerSec, unit: 'ops/s',
        limitName: `local create + write 100 B + fsync, ${depth} in flight (mean of before/after: ${fmt(f0.value!)}, ${fmt(f1.value!)})`, limit: floor,
        ratio: ratio(c.opsPerSec, floor), target: '≥ 20k/s', meets: c.opsPerSec >= 20_000,
        note: `1 in flight: ${fmt(c1.opsPerSec)}/s, p50 ${c1.p50Ms.toFixed(2)} ms; mkdir ${fmt(m.opsPerSec)}/s = ${ratio(m.opsPerSec, floor).toFixed(2)}× the floor${cpuCreate}`,
        extra: { strata: c, depth1: c1, mkdir: m, floorBefore: f0.extra, floorAfter: f1.extra },
      });
    }
    rows.push({
      fig: '4', name: `create (writeFile 100 B MUST_CACHE), ${depth} in flight`, value: c.opsPerSec, unit: 'ops/s',
      limitName: `msgpack request/answer echo (${infoBytes} B FileInfo answer), ${depth} in flight`, limit: e.opsPerSec, ratio: ratio(c.opsPerSec, e.opsPerSec),
      target: '≥ 20k/s', meets: c.opsPerSec >= 20_000,
      note: `p50 ${c.p50Ms.toFixed(2)} / p99 ${c.p99Ms.toFixed(2)} ms; 1 in flight: ${fmt(c1.opsPerSec)}/s, p50 ${c1.p50Ms.toFixed(2)} ms`,
      extra: { strata: c, depth1: c1, echo: e },
    });
    rows.push({
      fig: '4', name: `mkdir (MUST_CACHE), ${depth} in flight`, value: m.opsPerSec, unit: 'ops/s',
      limitName: `msgpack request/answer echo (${infoBytes} B FileInfo answer), ${depth} in flight`, limit: e.opsPerSec, ratio: ratio(m.opsPerSec, e.opsPerSec),
      note: `p50 ${m.p50Ms.toFixed(2)} / p99 ${m.p99Ms.toFixed(2)} ms${cpuMkdir}`, extra: { strata: m, echo: e },
    });
  } finally {
    echo.close();
  }
  return rows;
}

/** CPU time (user + sys, ms) a process has used so far, from /proc/<pid>/stat; undefined without one. */
function cpuMsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

/** The durable-create floor: open + write 100 B + fsync + close of new local files, same depth. */
export async function fsyncCreateRow(dir: string, depth: number, timeMs: number): Promise<Row> {
  const { open } = await import('node:fs/promises');
  mkdirSync(dir, { recursive: true });
  const data = new Uint8Array(100);
  let seq = 0;
  const r = await atDepth('fsync create', depth, async () => {
    const fh = await open(join(dir, `f${seq++}`), 'w');
    try { await fh.write(data); await fh.sync(); } finally { await fh.close(); }
  }, timeMs);
  return {
    fig: '4', name: `local create + write 100 B + fsync, ${depth} in flight (floor of a durable create)`, value: r.opsPerSec, unit: 'ops/s',
    limitName: '— (reference)', limit: null, ratio: null, note: `p50 ${r.p50Ms.toFixed(2)} ms`, extra: { r },
  };
}
