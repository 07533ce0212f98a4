import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [root, treeDir] = process.argv.slice(2);
const { ServerConfig } = await import(`${root}/dist/config/keys.js`);
const { Coordinator } = await import(`${root}/dist/coordinator/coordinator.js`);
const { pino } = await import('pino');
const lmdb = await import('lmdb');
const dataDir = mkdtempSync('/tmp/strata-bench/rssst-');
const config = new ServerConfig([{ 'mount.allowed.roots': 'file:///' }]);
const c = await Coordinator.open({ dataDir, config, logger: pino({ level: 'silent' }) });
await c.mount('/bench', pathToFileURL(treeDir).href);
await c.loadMetadata('/bench', { recursive: true });
await c.close();
const find = (d) => { for (const e of readdirSync(d, { withFileTypes: true })) { const p = d + '/' + e.name; if (e.isDirectory()) { const r = find(p); if (r) return r; } else if (e.name === 'data.mdb') return d; } };
const dir = find(dataDir);
console.log('data.mdb', (statSync(dir + '/data.mdb').size / 2 ** 20).toFixed(1), 'MiB');
const env = lmdb.open({ path: dir, maxDbs: 32, pageSize: 8192 });
for (const t of ['inode', 'edge', 'sys', 'absent', 'ttl', 'intent', 'pending']) {
  const db = env.openDB({ name: t, sharedStructuresKey: t === 'inode' ? Symbol.for('structures') : undefined });
  const s = db.getStats();
  let bytes = 0, n = 0, sample;
  for (const { key, value } of db.getRange({ limit: 2000, offset: 5000 })) { n++; bytes += db.getBinary(key)?.length ?? 0; sample ??= { key, value }; }
  console.log(t, JSON.stringify({ entries: s.entryCount, leaf: s.treeLeafPages, branch: s.treeBranchPages, overflow: s.overflowPages, avgVal: n ? (bytes / n).toFixed(1) : 0 }), JSON.stringify(sample)?.slice(0, 600));
}
const s = env.getStats(); console.log('env', JSON.stringify(s));
await env.close();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
