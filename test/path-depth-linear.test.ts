// Loading a deep chain stays linear in its depth, checked by counting work, never by timing:
// the file-system calls of a recursive sync (the worker's syncDirBatch over LocalUfs, run in
// this thread so its fs calls can be counted) and the path components those calls make the
// kernel walk, per level, are the same at 50 and 400 levels; one task (one commit group)
// covers a whole chain. A list scope keeps LocalUfs's symlink rules for a child it opens
// under its parent's descriptor.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs, { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { InodeTree } from '../src/meta/inode-tree.js';
import { lmdbUri, openStrataStore } from '../src/meta/tables.js';
import { syncDirBatch } from '../src/sync/dir-batch.js';
import type { BatchDir } from '../src/sync/dir-batch.js';
import { LocalUfs } from '../src/ufs/local/local-ufs.js';
import { UfsListScope } from '../src/ufs/ufs.js';
import { codeOf, fileUri, openEnv, tempDir } from './helpers/fixture.js';

/** fs calls and kernel path walks (components named by each call's path) while `counting`. */
const counts = { calls: 0, components: 0 };
let counting = false;

/** Components the kernel walks for `p`: a /proc/self/fd/N path starts at that directory. */
function walked(p: unknown): number {
  const s = String(p);
  const fd = /^\/proc\/self\/fd\/\d+/.exec(s);
  const rest = fd ? s.slice(fd[0].length) : s;
  let n = 0;
  for (let i = 0; i < rest.length; i++) if (rest.charCodeAt(i) === 47) n++;
  return n;
}

function instrument(): () => void {
  const names = ['openSync', 'readdirSync', 'lstatSync', 'statSync', 'readlinkSync', 'opendirSync'] as const;
  const saved = new Map<string, unknown>();
  const f = fs as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of names) {
    const orig = f[name]!;
    saved.set(name, orig);
    f[name] = (...a: unknown[]) => {
      if (counting) { counts.calls++; counts.components += walked(a[0]); }
      return orig(...a);
    };
  }
  const rp = fs.realpathSync;
  saved.set('realpathSync', rp);
  const wrapped = ((p: fs.PathLike, o?: unknown) => {
    if (counting) { counts.calls++; counts.components += walked(p); }
    return rp(p, o as never);
  }) as typeof fs.realpathSync;
  wrapped.native = ((p: fs.PathLike, o?: unknown) => {
    if (counting) { counts.calls++; counts.components += walked(p); }
    return rp.native(p, o as never);
  }) as typeof rp.native;
  (fs as { realpathSync: typeof fs.realpathSync }).realpathSync = wrapped;
  syncBuiltinESMExports();
  return () => {
    for (const [name, orig] of saved) (fs as unknown as Record<string, unknown>)[name] = orig;
    syncBuiltinESMExports();
  };
}

/** Load a chain `depth` directories deep (a file at the bottom) as the coordinator's BFS does; the counts of that load. */
async function loadChain(depth: number): Promise<{ calls: number; components: number; tasks: number; groups: number; created: number; failed: number }> {
  const dataDir = await tempDir('strata-linear-data-');
  const ufsDir = await tempDir('strata-linear-ufs-');
  let p = ufsDir;
  for (let i = 0; i < depth; i++) p = join(p, 'd');
  mkdirSync(p, { recursive: true });
  writeFileSync(join(p, 'f'), 'x');
  const store = openStrataStore(lmdbUri(dataDir));
  try {
    await new InodeTree(store).init();
    const ufs = new LocalUfs(fileUri(ufsDir));
    const groups0 = store.commitStats().groups;
    let queue: BatchDir[] = [{ id: InodeTree.root(store).id, path: '/', ufsPath: '', mountId: 1 }];
    let tasks = 0;
    let created = 0;
    let failed = 0;
    counts.calls = 0;
    counts.components = 0;
    counting = true;
    try {
      // Bounded: a chain of `depth` levels needs at most `depth + 2` tasks.
      for (let round = 0; queue.length > 0 && round <= depth + 2; round++) {
        const dirs = queue.splice(0, 64);
        // No time bound on the descent: the counts must not depend on the machine's speed.
        const r = await syncDirBatch(store, () => ufs, { dirs, startMs: Date.now(), recursive: true, pageSize: 1000, descend: { ms: 3_600_000 } });
        tasks++;
        created += r.summary.created;
        failed += r.summary.failed;
        queue.push(...r.childDirs);
      }
    } finally {
      counting = false;
    }
    assert.is(queue.length, 0, 'the load finished');
    return { ...counts, tasks, groups: store.commitStats().groups - groups0, created, failed };
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(ufsDir, { recursive: true, force: true });
  }
}

test('a deep chain loads with the same fs calls and kernel path walks per level at 50 and 400 levels', async () => {
  const restore = instrument();
  try {
    const small = await loadChain(50);
    const large = await loadChain(400);
    assert.is(small.created, 51); // 50 directories and the file
    assert.is(large.created, 401);
    assert.is(small.failed + large.failed, 0);
    const perLevel = (r: { calls: number; components: number }, depth: number) => ({ calls: r.calls / depth, components: r.components / depth });
    const s = perLevel(small, 50);
    const l = perLevel(large, 400);
    if (process.env.DEBUG_COUNTS) console.log(JSON.stringify({ small, large, s, l }));
    // Walking each level's whole path (readdir/lstat/realpath of the absolute path) would make
    // the components per level grow eightfold from 50 to 400 levels; the descriptor walk keeps it flat.
    assert.ok(l.calls <= s.calls * 1.25 + 1, `fs calls per level: ${s.calls.toFixed(2)} at 50 levels, ${l.calls.toFixed(2)} at 400`);
    assert.ok(l.components <= s.components * 1.25 + 2, `kernel path components walked per level: ${s.components.toFixed(2)} at 50 levels, ${l.components.toFixed(2)} at 400`);
    assert.ok(l.components < 20, `kernel path components walked per level at 400 levels: ${l.components.toFixed(2)}`);
    // One task goes down the chain: no worker round trip and no commit per level.
    assert.ok(large.tasks <= 3, `tasks for 400 levels: ${large.tasks}`);
    assert.ok(large.groups <= 3, `commit groups for 400 levels: ${large.groups}`);
  } finally {
    restore();
  }
});

test('a task going down a chain stops at a nested mount, which is synced through its own UFS; a re-sync changes nothing', async () => {
  const env = await openEnv();
  const other = await tempDir('strata-linear-mnt-');
  env.track(other);
  try {
    // /c/d1/.../d10 in the root UFS, a mount at /c/d1/d2/d3/m (a chain of 5 below it in its
    // own UFS; not in d3's UFS listing, so d3's apply keeps it and gives it back as a mount).
    let p = join(env.ufsDir, 'c');
    for (let i = 1; i <= 10; i++) p = join(p, `d${i}`);
    mkdirSync(p, { recursive: true });
    let q = other;
    for (let i = 1; i <= 5; i++) q = join(q, `e${i}`);
    mkdirSync(q, { recursive: true });
    writeFileSync(join(q, 'f'), 'x');
    await env.fs.loadMetadata('/c/d1/d2/d3', { recursive: false });
    await env.fs.mount('/c/d1/d2/d3/m', fileUri(other));
    const s = await env.fs.loadMetadata('/c', { recursive: true });
    assert.is(s.failed, 0);
    assert.is((await env.fs.getStatus('/c/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10')).type, 'directory');
    assert.is((await env.fs.getStatus('/c/d1/d2/d3/m/e1/e2/e3/e4/e5/f')).length, 1);
    const again = await env.fs.loadMetadata('/c', { recursive: true });
    assert.is(again.created + again.updated + again.deleted + again.failed, 0);
  } finally {
    await env.dispose();
  }
});

test('a list scope keeps the symlink rules: a child swapped for a symlink is resolved the careful way', async () => {
  const root = await tempDir('strata-scope-ufs-');
  const outside = await tempDir('strata-scope-out-');
  try {
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    mkdirSync(join(root, 'a', 'in', 'x'), { recursive: true });
    writeFileSync(join(outside, 'secret'), 'secret');
    const ufs = new LocalUfs(fileUri(root));
    const scope = new UfsListScope();
    const names = async (rel: string): Promise<string[]> => {
      const out: string[] = [];
      for await (const page of ufs.list(rel, { scope })) for (const e of page) out.push(e.name);
      return out;
    };
    try {
      assert.equal(await names('a'), ['b', 'in']);
      assert.equal(await names('a/b'), []); // opened under a's descriptor
      // a/b becomes a symlink leaving the root: refused, as without a scope.
      renameSync(join(root, 'a', 'b'), join(root, 'b-old'));
      symlinkSync(outside, join(root, 'a', 'b'));
      assert.is(await codeOf(names('a/b')), 'PERMISSION_DENIED');
      // A symlink inside the root is followed; one back to an ancestor is refused as a loop.
      symlinkSync(join(root, 'a', 'in'), join(root, 'a', 'c'));
      assert.equal(await names('a/c'), ['x']);
      symlinkSync(join(root, 'a'), join(root, 'a', 'in', 'x', 'up'));
      assert.equal(await names('a/in/x'), []); // the looping link is not listed
      assert.is(await codeOf(names('a/in/x/up')), 'PERMISSION_DENIED');
      // Gone, or a file: the codes of a listing without a scope.
      assert.is(await codeOf(names('a/missing')), 'NOT_FOUND');
      writeFileSync(join(root, 'a', 'file'), 'x');
      assert.is(await codeOf(names('a/file')), 'NOT_A_DIRECTORY');
    } finally {
      scope.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});

test.run();
