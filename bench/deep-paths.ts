// Deep paths: load a chain of N nested directories (one file at the bottom) in library
// mode and print seconds, CPU seconds and entries/s per depth. Loading should be linear in
// depth (entries/s about the same at 100 and 1,600 levels). Then the single-path operations
// at the bottom of the chain (getStatus, listStatus, writeFile, rename, delete: ms and CPU
// ms per call), each of which resolves its path once (linear in depth per call). Usage:
//   node --import tsx bench/deep-paths.ts [DEPTH...]     (default: 100 400 1600)

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ServerConfig } from '../src/config/keys.js';
import { Coordinator } from '../src/coordinator/coordinator.js';

/** A chain DEPTH directories deep under `root` (names `d`), a file `f` at the bottom. */
export function makeChain(root: string, depth: number): void {
  let p = root;
  for (let i = 0; i < depth; i++) p = join(p, 'd');
  mkdirSync(p, { recursive: true });
  writeFileSync(join(p, 'f'), 'x');
}

/** Milliseconds and CPU milliseconds per call of `op` over `n` calls. */
async function perCall(n: number, op: (i: number) => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op(i);
  const cpu = process.cpuUsage(cpu0);
  return { ms: (performance.now() - t0) / n, cpuMs: (cpu.user + cpu.system) / 1000 / n };
}

type OpFigures = Record<'getStatus' | 'listStatus' | 'writeFile' | 'rename' | 'delete', { ms: number; cpuMs: number }>;

async function measure(depth: number): Promise<{ depth: number; seconds: number; cpuSeconds: number; entriesPerSec: number; ops: OpFigures }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-deep-data-'));
  const ufsDir = mkdtempSync(join(tmpdir(), 'strata-deep-ufs-'));
  makeChain(join(ufsDir, 'chain'), depth);
  // Deep enough for the single-path operations at the bottom (the hard cap is 2,000).
  const fs = await Coordinator.open({ dataDir, rootUfs: pathToFileURL(ufsDir).href, config: new ServerConfig([{ 'path.max.depth': String(Math.max(512, depth + 2)) }]) });
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const s = await fs.loadMetadata('/chain', { recursive: true });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const entries = s.created + s.updated + s.unchanged;
    const bottom = '/chain' + '/d'.repeat(depth);
    const N = 20;
    const data = new Uint8Array(16);
    const ops: OpFigures = {
      getStatus: await perCall(N, () => fs.getStatus(`${bottom}/f`)),
      listStatus: await perCall(N, async () => { for await (const _ of fs.listStatus(bottom)) { /* drain */ } }),
      writeFile: await perCall(N, (i) => fs.writeFile(`${bottom}/w${i}`, data)),
      rename: await perCall(N, (i) => fs.rename(`${bottom}/w${i}`, `${bottom}/r${i}`)),
      delete: await perCall(N, (i) => fs.delete(`${bottom}/r${i}`)),
    };
    return { depth, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, entriesPerSec: entries / seconds, ops };
  } finally {
    await fs.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(ufsDir, { recursive: true, force: true });
  }
}

const isMain = import.meta.url === pathToFileURL(process.argv[1] ?? '').href;
if (isMain) {
  const depths = process.argv.slice(2).map(Number).filter((n) => n > 0);
  for (const d of depths.length ? depths : [100, 400, 1600]) {
    const r = await measure(d);
    process.stdout.write(`depth ${r.depth}: ${r.seconds.toFixed(2)} s, cpu ${r.cpuSeconds.toFixed(2)} s (this thread + workers), ${r.entriesPerSec.toFixed(0)} entries/s, cpu ${(r.cpuSeconds * 1000 / r.depth).toFixed(2)} ms/level\n`);
    const ops = Object.entries(r.ops).map(([k, v]) => `${k} ${v.ms.toFixed(2)} ms (cpu ${v.cpuMs.toFixed(2)})`).join(', ');
    process.stdout.write(`  per call at the bottom: ${ops}\n`);
  }
}
