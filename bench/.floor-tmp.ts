import { mkdtempSync, rmSync, mkdirSync, openSync, writeSync, closeSync, renameSync, fsync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
const fsyncP = promisify(fsync);
const root = process.argv[2];
const mod = await import(`${root}/src/ufs/local/local-ufs.ts`);
const data = Buffer.alloc(4096, 1);
async function* one() { yield data; }
const kinds: Record<string, (dir: string, n: number, ufs: any) => Promise<unknown>> = {
  ufs: async (_d, n, ufs) => { await ufs.getStatus(`d/f${n}`); await ufs.write(`d/f${n}`, one()); },
  floorAsync: async (d, n) => { const fh = await open(join(d, `.t${n}`), 'wx'); try { await fh.write(data); await fh.sync(); } finally { await fh.close(); } await rename(join(d, `.t${n}`), join(d, `f${n}`)); },
  floorSyncMeta: async (d, n) => { const fd = openSync(join(d, `.t${n}`), 'wx'); try { writeSync(fd, data); await fsyncP(fd); } finally { closeSync(fd); } renameSync(join(d, `.t${n}`), join(d, `f${n}`)); },
};
const res: Record<string, { u: number[]; s: number[]; ops: number[] }> = {};
for (let round = 0; round < 4; round++) for (const k of Object.keys(kinds)) {
  const dir = mkdtempSync(join(tmpdir(), 'ufsb-')); mkdirSync(join(dir, 'd'));
  const ufs = mod.createLocalUfs(`file://${dir}`); await ufs.check();
  let n = 0; const end = Date.now() + 1200; const c0 = process.cpuUsage(); const t0 = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => { while (Date.now() < end) await kinds[k](join(dir, 'd'), n++, ufs); }));
  const c = process.cpuUsage(c0); const wall = performance.now() - t0;
  const e = (res[k] ??= { u: [], s: [], ops: [] }); e.u.push(c.user / n); e.s.push(c.system / n); e.ops.push(n / wall * 1000);
  rmSync(dir, { recursive: true, force: true });
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const [k, e] of Object.entries(res)) console.log(k.padEnd(14), 'user', med(e.u).toFixed(0), 'sys', med(e.s).toFixed(0), 'µs/op; ops/s', med(e.ops).toFixed(0));
console.log('load', loadavg()[0]);
