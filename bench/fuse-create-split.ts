// Where a small-file create through the mount spends its time: 4 KB creates (python open/
// write/close) in an in-process mount of a Coordinator whose FileSystem calls are timed, next
// to the same number of writeFile calls made on the Coordinator directly. The difference
// between the wall time and the time in server calls is the daemon's and FUSE's share.
// Run: node --import tsx bench/fuse-create-split.ts [--files 200]

import { openFuseEnv, shOk } from '../test/helpers/fuse.js';
import type { FileSystem } from '../src/fs.js';
import type { WriteType } from '../src/types.js';

const i = process.argv.indexOf('--files');
const N = i > 0 ? Number(process.argv[i + 1]) : 200;

for (const wt of ['CACHE_THROUGH', 'MUST_CACHE'] as WriteType[]) {
  const f = await openFuseEnv({}, [`write.type=${wt}`]);
  try {
    const times: Record<string, { n: number; ms: number }> = {};
    const fs = f.env.fs;
    // Every FileSystem call of the mount, timed.
    const timed = new Proxy(fs, {
      get(target, key) {
        const v = (target as unknown as Record<PropertyKey, unknown>)[key];
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          const t0 = performance.now();
          const r = (v as (...a: unknown[]) => unknown).apply(target, args);
          if (r instanceof Promise) {
            return r.finally(() => {
              const e = (times[String(key)] ??= { n: 0, ms: 0 });
              e.n++;
              e.ms += performance.now() - t0;
            });
          }
          return r;
        };
      },
    }) as FileSystem;
    const m = await f.mountMore({ fs: timed });
    const t0 = performance.now();
    await shOk(`mkdir ${m.dir}/c && python3 -c "
import os
b = os.urandom(4096)
for i in range(${N}):
    with open('${m.dir}/c/f%d' % i, 'wb') as f: f.write(b)
"`);
    const wall = performance.now() - t0;
    const t1 = performance.now();
    for (let k = 0; k < N; k++) await fs.writeFile(`/c/g${k}`, Buffer.alloc(4096, 1), { writeType: wt, overwrite: false });
    const direct = performance.now() - t1;
    const server = Object.values(times).reduce((a, v) => a + v.ms, 0);
    const calls = Object.entries(times).map(([k, v]) => `${k} ×${v.n} ${(v.ms / v.n).toFixed(1)} ms`).join(', ');
    process.stdout.write(`${wt}: ${(wall / N).toFixed(1)} ms per create through the mount (incl. python start and mkdir), ` +
      `${(server / N).toFixed(1)} ms of it in server calls (${calls}); ` +
      `daemon + FUSE ${((wall - server) / N).toFixed(1)} ms; Coordinator.writeFile alone ${(direct / N).toFixed(1)} ms · load ${(await shOk('cat /proc/loadavg')).trim()}\n`);
  } finally {
    await f.dispose();
  }
}
