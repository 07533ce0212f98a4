// Start and stop bench servers in child processes; read their RSS from /proc.

import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../server-child.ts', import.meta.url));

export interface ServerChild {
  proc: ChildProcess;
  pid: number;
  port: number;
  address: string;
  stop(): Promise<void>;
}

export interface ChildOptions {
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=DIR']. */
  execArgv?: string[];
  timeoutMs?: number;
  /** A plain-JS entry instead of server-child.ts (run without tsx): e.g. the compiled server, server-child-dist.mjs. */
  entry?: string;
}

export async function startChild(args: string[], opts: ChildOptions = {}): Promise<ServerChild> {
  const proc = fork(opts.entry ?? ENTRY, args, {
    execArgv: [...(opts.entry ? [] : ['--import', 'tsx']), ...(opts.execArgv ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error('bench server did not start in time')); }, opts.timeoutMs ?? 60_000);
    proc.once('message', (m: { ready?: boolean; port?: number }) => { clearTimeout(timer); resolve(m.port!); });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`bench server exited with ${code}`)); });
  });
  return {
    proc, pid: proc.pid!, port, address: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null) return resolve();
      const kill = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      proc.once('exit', () => { clearTimeout(kill); resolve(); });
      proc.send({ cmd: 'exit' });
    }),
  };
}

/** Current and peak resident set (bytes) of a process, from /proc/<pid>/status. */
export function rssOf(pid: number): { rss: number; hwm: number; anon: number; file: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0) * 1024;
    // RssFile is mostly LMDB's memory-mapped pages (page cache the kernel can drop);
    // RssAnon is the process's own memory (heaps of the main and worker threads).
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') };
  } catch {
    return { rss: 0, hwm: 0, anon: 0, file: 0 };
  }
}

/** Sample a process's RSS every `everyMs` until stopped; returns the peak seen. */
export function sampleRss(pid: number, everyMs = 50): { stop(): number; peakAnon(): number; peakFile(): number; atPeak(): { anon: number; file: number } } {
  let peak = rssOf(pid).rss;
  let anon = rssOf(pid).anon;
  let file = rssOf(pid).file;
  let atPeak = { anon, file };
  const take = (): void => {
    const r = rssOf(pid);
    if (r.rss > peak) { peak = r.rss; atPeak = { anon: r.anon, file: r.file }; }
    anon = Math.max(anon, r.anon);
    file = Math.max(file, r.file);
  };
  const t = setInterval(take, everyMs);
  return {
    stop: () => { clearInterval(t); take(); return peak; },
    peakAnon: () => anon,
    /** Peak file-backed RSS (LMDB's mapped pages), maybe at another moment than the peak of anon. */
    peakFile: () => file,
    /** The split (anonymous / file-backed) of the sample that had the peak VmRSS. */
    atPeak: () => atPeak,
  };
}

/** CPU time (user + system, ms) a process has used so far, all its threads (/proc/<pid>/stat). */
export function cpuMsOf(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) in clock ticks of 10 ms; f[0] is field 3.
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}
