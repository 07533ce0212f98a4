// Deep paths: load a chain of N nested directories (one file at the bottom) in library
// mode and print seconds, CPU seconds and entries/s per depth. Loading should be linear in
// depth (entries/s about the same at 100 and 1,600 levels). Usage:
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

async function measure(depth: number): Promise<{ depth: number; seconds: number; cpuSeconds: number; entriesPerSec: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-deep-data-'));
  const ufsDir = mkdtempSync(join(tmpdir(), 'strata-deep-ufs-'));
  makeChain(join(ufsDir, 'chain'), depth);
  const fs = await Coordinator.open({ dataDir, rootUfs: pathToFileURL(ufsDir).href, config: new ServerConfig([]) });
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const s = await fs.loadMetadata('/chain', { recursive: true });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const entries = s.created + s.updated + s.unchanged;
    return { depth, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, entriesPerSec: entries / seconds };
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
    process.stdout.write(`depth ${r.depth}: ${r.seconds.toFixed(2)} s, cpu ${r.cpuSeconds.toFixed(2)} s (this thread + workers), ${r.entriesPerSec.toFixed(0)} entries/s\n`);
  }
}
