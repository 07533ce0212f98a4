// Group commit in one process, where a loaded machine's noise hurts least: small creates
// (writeFile 100 B MUST_CACHE) at 1 and 16 in flight and mkdirs at 16, through an embedded
// Coordinator, with metadata commits per operation, commit groups (MetaStore.commitStats),
// time spent waiting in `transact`, and CPU per operation; then one 100 MiB write per
// caching write type with its CPU time. `--root DIR` runs another checkout's code (a base
// built with `git archive`), so before and after can be interleaved in the same conditions.
// Run: node --import tsx bench/group-commit.ts [--root DIR] [--ms 3000] [--no-write]

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const root = resolve(arg('--root') ?? new URL('..', import.meta.url).pathname);
const ms = Number(arg('--ms') ?? 3000);

interface Store {
  transact(fn: unknown): Promise<unknown>;
  commitStats?(): { groups: number; transactions: number };
}
type Fs = {
  store: Store;
  writeFile(p: string, d: unknown, o: unknown): Promise<unknown>;
  createDirectory(p: string, o: unknown): Promise<unknown>;
};

const { openEnv } = await import(pathToFileURL(`${root}/test/helpers/fixture.ts`).href) as {
  openEnv(s: Record<string, string>): Promise<{ fs: Fs; dispose(): Promise<void> }>;
};
const env = await openEnv({});
const fs = env.fs;
const store = fs.store;
let txns = 0;
let txMs = 0;
const transact = store.transact.bind(store);
store.transact = (fn) => {
  txns++;
  const t = performance.now();
  return transact(fn).finally(() => { txMs += performance.now() - t; });
};
const stats = (): { groups: number; transactions: number } => store.commitStats?.() ?? { groups: NaN, transactions: NaN };

async function run(name: string, depth: number, op: (i: number) => Promise<unknown>): Promise<void> {
  txns = 0;
  txMs = 0;
  const s0 = stats();
  const cpu0 = process.cpuUsage();
  const end = Date.now() + ms;
  let n = 0;
  let seq = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: depth }, async () => {
    while (Date.now() < end) { await op(seq++); n++; }
  }));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const s1 = stats();
  const groups = s1.groups - s0.groups;
  console.log(`${name.padEnd(11)} ${depth.toString().padStart(2)} in flight: ${(n / (wall / 1000)).toFixed(0).padStart(5)}/s · ` +
    `${(txns / n).toFixed(2)} commits/op · ${Number.isNaN(groups) ? 'no commitStats' : `${((s1.transactions - s0.transactions) / groups).toFixed(1)} txns/group`} · ` +
    `${(txMs / n).toFixed(1)} ms in transact/op · CPU ${((cpu.user + cpu.system) / n).toFixed(0)} µs/op`);
}

console.log(`code of ${root}; load ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
await fs.createDirectory('/c', { writeType: 'MUST_CACHE' });
const small = new Uint8Array(100);
let k = 0;
await run('create', 1, () => fs.writeFile(`/c/a${k++}`, small, { writeType: 'MUST_CACHE' }));
await run('create', 16, () => fs.writeFile(`/c/b${k++}`, small, { writeType: 'MUST_CACHE' }));
await run('mkdir', 16, () => fs.createDirectory(`/c/d${k++}`, { writeType: 'MUST_CACHE' }));

if (!process.argv.includes('--no-write')) {
  const MiB = 1 << 20;
  const chunk = Buffer.alloc(MiB, 7);
  function* chunks(): Iterable<Uint8Array> { for (let i = 0; i < 100; i++) yield Buffer.from(chunk); }
  for (const wt of ['MUST_CACHE', 'ASYNC_THROUGH', 'CACHE_THROUGH']) {
    txns = 0;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await fs.writeFile(`/w-${wt}`, chunks(), { writeType: wt });
    const cpu = process.cpuUsage(cpu0);
    console.log(`write 100 MiB ${wt.padEnd(13)}: ${(100 / ((performance.now() - t0) / 1000)).toFixed(0).padStart(4)} MiB/s · ${txns} commits · CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`);
  }
}
await env.dispose();
