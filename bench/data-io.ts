// Figures 5 and 6: bytes over TCP. Hot read (cached) of 256 MiB beside a plain Node TCP
// server (own process) streaming the same file with the same 1 MiB chunks, cold read (after
// free(): from the local UFS) and write per write type, each beside the same bytes read or
// written on local disk with fs.read / fs.write in this process (writes fsynced like Strata's).

import { closeSync, fsyncSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { StrataClient } from '../src/client/tcp-client.js';
import { startChild } from './lib/child.js';
import type { ChildOptions } from './lib/child.js';
import { readFromStreamServer } from './protocol-echo.js';
import { WRITE_TYPES } from '../src/types.js';
import { fmt, ratio } from './lib/report.js';
import type { Row } from './lib/report.js';

const MiB = 1 << 20;
/** Bytes of the hot read (figure 5), quick and full: the size issue 16 names. */
export const HOT_READ_BYTES = 256 * MiB;
/** Chunk size of Strata's readFile frames and of the plain stream beside it. */
const READ_CHUNK = MiB;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function* chunks(total: number, buf: Uint8Array): Iterable<Uint8Array> {
  for (let done = 0; done < total; done += buf.length) yield done + buf.length <= total ? buf : buf.subarray(0, total - done);
}

async function timeRead(cl: StrataClient, path: string, size: number): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for await (const c of cl.readFile(path)) n += c.length;
  const ms = performance.now() - t0;
  if (n !== size) throw new Error(`read ${n} of ${size} bytes of ${path}`);
  return size / MiB / (ms / 1000);
}

function localRead(file: string, size: number): number {
  const buf = Buffer.allocUnsafe(MiB);
  const t0 = performance.now();
  const fd = openSync(file, 'r');
  let n = 0;
  try {
    for (;;) {
      const r = readSync(fd, buf, 0, MiB, null);
      if (r === 0) break;
      n += r;
    }
  } finally {
    closeSync(fd);
  }
  const ms = performance.now() - t0;
  if (n !== size) throw new Error(`local read ${n} of ${size}`);
  return size / MiB / (ms / 1000);
}

function localWrite(file: string, size: number, buf: Uint8Array, fsync: boolean): number {
  const t0 = performance.now();
  const fd = openSync(file, 'w');
  try {
    for (const c of chunks(size, buf)) writeSync(fd, c);
    if (fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const ms = performance.now() - t0;
  rmSync(file, { force: true });
  return size / MiB / (ms / 1000);
}

/** CPU time (user + sys, ms) of this process since `from`. */
function cpuMs(from?: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
}

async function timeStream(address: { host: string; port: number }, file: string, size: number): Promise<number> {
  const t0 = performance.now();
  const n = await readFromStreamServer(address, file);
  const ms = performance.now() - t0;
  if (n !== size) throw new Error(`plain stream sent ${n} of ${size} bytes of ${file}`);
  return size / MiB / (ms / 1000);
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

const labelOf = (size: number): string => size >= 1 << 30 ? `${size / (1 << 30)} GiB` : `${size / MiB} MiB`;

export async function dataRows(cl: StrataClient, dataDir: string, o: {
  bytes: number; reps: number; log: (s: string) => void;
  /** Run figure 6 (writes); default true. */
  writes?: boolean;
  /** Options of the plain-stream child (profiling). */
  child?: ChildOptions;
  /** Pid of the Strata server (its CPU per read is reported). */
  strataPid?: number;
}): Promise<Row[]> {
  const rows: Row[] = [];
  const size = HOT_READ_BYTES;
  const label = labelOf(size);
  const buf = new Uint8Array(MiB);
  for (let i = 0; i < buf.length; i += 4096) buf[i] = i & 0xff;
  const ufsRoot = join(dataDir, 'ufs');

  // Figure 5: a CACHE_THROUGH file is both cached and in the UFS (<dataDir>/ufs/bench-io/read).
  await cl.createDirectory('/bench-io', { allowExists: true });
  await cl.writeFile('/bench-io/read', chunks(size, buf), { writeType: 'CACHE_THROUGH' });
  const ufsFile = join(ufsRoot, 'bench-io', 'read');
  const streamSrv = await startChild(['stream', String(READ_CHUNK)], o.child ?? {});
  const stream: number[] = [];
  const hot: number[] = [];
  const disk: number[] = [];
  let hotCpu = 0;
  let hotServerCpu = 0;
  let streamCpu = 0;
  let streamServerCpu = 0;
  try {
    const streamAddr = { host: '127.0.0.1', port: streamSrv.port };
    await timeRead(cl, '/bench-io/read', size); // warm
    await timeStream(streamAddr, ufsFile, size);
    // Interleaved, so both see the same load; hot reads at least 3 times (the figure is noisy).
    for (let i = 0; i < Math.max(3, o.reps); i++) {
      let c0 = process.cpuUsage();
      let s0 = procCpuMs(o.strataPid);
      hot.push(await timeRead(cl, '/bench-io/read', size));
      hotCpu += cpuMs(c0);
      hotServerCpu += procCpuMs(o.strataPid) - s0;
      c0 = process.cpuUsage();
      s0 = procCpuMs(streamSrv.pid);
      stream.push(await timeStream(streamAddr, ufsFile, size));
      streamCpu += cpuMs(c0);
      streamServerCpu += procCpuMs(streamSrv.pid) - s0;
      disk.push(localRead(ufsFile, size));
    }
  } finally {
    await streamSrv.stop();
  }
  const cold: number[] = [];
  for (let i = 0; i < o.reps; i++) {
    const freed = await cl.free('/bench-io/read');
    if (freed.bytes !== size) throw new Error(`free dropped ${freed.bytes} of ${size} bytes`);
    cold.push(await timeRead(cl, '/bench-io/read', size));
    disk.push(localRead(ufsFile, size));
  }
  const limit = median(disk);
  const streamLimit = median(stream);
  const pairs = hot.map((h, i) => h / stream[i]!);
  const perRead = (ms: number): string => (ms / hot.length).toFixed(0);
  const cpu = `CPU per read: Strata server ${perRead(hotServerCpu)} + client ${perRead(hotCpu)} ms, plain stream server ${perRead(streamServerCpu)} + client ${perRead(streamCpu)} ms`;
  o.log(`read ${label}: hot ${fmt(median(hot))} MiB/s, plain TCP stream ${fmt(streamLimit)} MiB/s, cold ${fmt(median(cold))} MiB/s, local fs.read ${fmt(limit)} MiB/s; ${cpu}`);
  const hq = ratio(median(hot), streamLimit);
  rows.push({
    fig: '5', name: `hot read of ${label} over TCP (cached, client to nowhere)`, value: median(hot), unit: 'MiB/s',
    limitName: 'plain Node TCP server (own process) streaming the same file, 1 MiB chunks, to a client on loopback', limit: streamLimit, ratio: hq,
    target: '≥ 0.8× plain TCP stream', meets: hq >= 0.8,
    note: `median of ${hot.length} interleaved; pairwise ratios ${pairs.map((q) => q.toFixed(2)).join(' / ')}; ${cpu}; fs.read of the file in this process ${fmt(limit)} MiB/s (${ratio(median(hot), limit).toFixed(2)}×); page cache warm`,
    extra: { hot, stream, disk, pairs, cpuMsPerRead: { strataServer: hotServerCpu / hot.length, strataClient: hotCpu / hot.length, streamServer: streamServerCpu / hot.length, streamClient: streamCpu / hot.length } },
  });
  rows.push({
    fig: '5', name: `cold read of ${label} over TCP (after free(): from the local UFS, cached again)`, value: median(cold), unit: 'MiB/s',
    limitName: 'fs.read of the same file, 1 MiB buffer, this process', limit, ratio: ratio(median(cold), limit),
    note: `median of ${o.reps}; Strata cache cold, OS page cache warm`, extra: { cold },
  });
  await cl.delete('/bench-io/read');
  if (o.writes === false) return rows;

  // Figure 6: each write type, beside fs.write + fsync of the same bytes on the same disk.
  const wsize = o.bytes;
  const wlabel = labelOf(wsize);
  const localFile = join(dataDir, 'bench-local-write');
  const buffered = localWrite(localFile, wsize, buf, false);
  for (const wt of WRITE_TYPES) {
    const strata: number[] = [];
    const local: number[] = [];
    for (let i = 0; i < o.reps; i++) {
      const t0 = performance.now();
      await cl.writeFile(`/bench-io/w-${wt}-${i}`, chunks(wsize, buf), { writeType: wt });
      strata.push(wsize / MiB / ((performance.now() - t0) / 1000));
      local.push(localWrite(localFile, wsize, buf, true));
      await cl.delete(`/bench-io/w-${wt}-${i}`).catch(() => undefined);
    }
    const lim = median(local);
    o.log(`write ${wt}: ${fmt(median(strata))} MiB/s vs local ${fmt(lim)} MiB/s`);
    rows.push({
      fig: '6', name: `write ${wlabel} ${wt} over TCP`, value: median(strata), unit: 'MiB/s',
      limitName: 'fs.write 1 MiB chunks + fsync, same disk, this process', limit: lim, ratio: ratio(median(strata), lim),
      note: wt === 'ASYNC_THROUGH' ? 'resolves once cached (persist follows in the background)' : wt === 'CACHE_THROUGH' ? 'cache + UFS: writes the bytes twice' : `median of ${o.reps}; local without fsync ${fmt(buffered)} MiB/s`,
      extra: { strata, local, bufferedLocal: buffered },
    });
  }
  return rows;
}
