// Active sync applies a batch's targeted syncs committed together: no event may be lost to
// the grouping. A burst of outside creates, overwrites, deletes, renames (files within and
// across directories, whole directories) and new directory trees in many directories at
// once, with metadata.sync.interval -1 (only active sync brings changes in): Strata's tree
// must end equal to the UFS (names, types, sizes), and a second burst on top of it too.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { list, openEnv, waitFor } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

let env: Env;

test.before(async () => {
  env = await openEnv({ 'metadata.sync.interval': '-1', 'active.sync.interval': '1h' });
});
test.after(() => env.dispose());

const NEVER = { loadType: 'NEVER' as const };

/** `relpath type size` of every entry below a UFS directory, sorted. */
function ufsTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) { out.push(`${r} dir`); walk(join(dir, d.name), r); }
      else out.push(`${r} file ${statSync(join(dir, d.name)).size}`);
    }
  };
  walk(root, '');
  return out.sort();
}

/** The same of Strata's namespace below a path (load type NEVER: what it holds). */
async function strataTree(path: string): Promise<string[]> {
  const all = await list(env.fs, path, { ...NEVER, recursive: true }).catch(() => []);
  return all.map((f) => {
    const r = f.path.slice(path.length + 1);
    return f.type === 'directory' ? `${r} dir` : `${r} file ${f.length}`;
  }).sort();
}

async function converged(path: string, ufs: string, what: string): Promise<void> {
  let last: string[] = [];
  try {
    await waitFor(async () => {
      last = await strataTree(path);
      return JSON.stringify(last) === JSON.stringify(ufsTree(ufs));
    }, what, 45_000);
  } catch (err) {
    const want = new Set(ufsTree(ufs));
    const have = new Set(last);
    const missing = [...want].filter((x) => !have.has(x)).slice(0, 10);
    const extra = [...have].filter((x) => !want.has(x)).slice(0, 10);
    assert.unreachable(`${(err as Error).message}: missing ${JSON.stringify(missing)}, extra ${JSON.stringify(extra)}`);
  }
}

const DIRS = 24;

test('a burst of creates, overwrites, deletes and renames in many directories ends equal to the UFS', async () => {
  const ufs = join(env.ufsDir, 'b');
  mkdirSync(ufs);
  for (let d = 0; d < DIRS; d++) {
    mkdirSync(join(ufs, `d${d}`));
    for (let i = 0; i < 20; i++) writeFileSync(join(ufs, `d${d}`, `old${i}`), 'o'.repeat(i));
    mkdirSync(join(ufs, `d${d}`, 'sub'));
    writeFileSync(join(ufs, `d${d}`, 'sub', 'inner'), 'inner');
  }
  await env.fs.createDirectory('/b', { allowExists: true });
  await env.fs.startSync('/b');
  await waitFor(async () => (await env.fs.getSyncPathList()).some((s) => s.path === '/b' && s.state === 'active'), 'sync point active', 15_000);
  await converged('/b', ufs, 'initial sync');
  const before = (await env.fs.getReport()).activeSync;

  // The burst, directory after directory, with no pause.
  for (let d = 0; d < DIRS; d++) {
    const dir = join(ufs, `d${d}`);
    for (let i = 0; i < 30; i++) writeFileSync(join(dir, `new${i}`), 'n'.repeat(i % 7));
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, `old${i}`), 'rewritten-longer-content');
    for (let i = 5; i < 10; i++) rmSync(join(dir, `old${i}`));
    renameSync(join(dir, 'old10'), join(dir, 'renamed10'));
    renameSync(join(dir, 'old11'), join(ufs, `d${(d + 1) % DIRS}`, `from-d${d}`));
    // created and deleted within the burst
    writeFileSync(join(dir, 'ephemeral'), 'e');
    rmSync(join(dir, 'ephemeral'));
    // a new tree, filled at once
    mkdirSync(join(dir, 'tree', 'x', 'y'), { recursive: true });
    for (let i = 0; i < 4; i++) writeFileSync(join(dir, 'tree', 'x', 'y', `t${i}`), 't');
    if (d % 3 === 0) renameSync(join(dir, 'sub'), join(dir, 'sub-moved'));
    else if (d % 3 === 1) rmSync(join(dir, 'sub'), { recursive: true });
  }
  // a whole directory moved under another, and one replaced by a file of the same name
  renameSync(join(ufs, 'd2'), join(ufs, 'd3', 'd2-inside'));
  rmSync(join(ufs, 'd5'), { recursive: true });
  writeFileSync(join(ufs, 'd5'), 'now a file');
  await converged('/b', ufs, 'burst applied');

  const after = (await env.fs.getReport()).activeSync;
  const grouped = (after.groupedSyncs ?? 0) - (before.groupedSyncs ?? 0);
  const fullResyncs = (after.fullResyncs ?? 0) - (before.fullResyncs ?? 0);
  process.stderr.write(`burst: ${(after.eventsReceived ?? 0) - (before.eventsReceived ?? 0)} events, ${(after.batches ?? 0) - (before.batches ?? 0)} batches, ${grouped} grouped syncs, ${fullResyncs} full resyncs\n`);
  assert.ok(grouped > 0, 'targeted syncs were grouped');
  assert.is((after.applyFailures ?? 0) - (before.applyFailures ?? 0), 0, 'no apply failure');
});

test('a second burst on top (deletes of what the first created, directories renamed back)', async () => {
  const ufs = join(env.ufsDir, 'b');
  for (let d = 0; d < DIRS; d++) {
    if (d === 2 || d === 5) continue;
    const dir = join(ufs, `d${d}`);
    for (let i = 0; i < 30; i += 2) rmSync(join(dir, `new${i}`));
    rmSync(join(dir, 'tree'), { recursive: true });
    writeFileSync(join(dir, 'tree'), 'a file where a tree was');
  }
  renameSync(join(ufs, 'd3', 'd2-inside'), join(ufs, 'd2'));
  rmSync(join(ufs, 'd5'));
  mkdirSync(join(ufs, 'd5', 'again'), { recursive: true });
  writeFileSync(join(ufs, 'd5', 'again', 'f'), 'f');
  await converged('/b', ufs, 'second burst applied');
  // Reads are still served from the namespace alone.
  const st = await env.fs.getStatus('/b/d5/again/f', NEVER);
  assert.is(st.length, 1);
});

test.run();
