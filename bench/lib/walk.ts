// The physical limits of a sync of a local tree, each split across worker threads that are
// started before the clock starts (each walks its share of the top-level directories):
//   (a) walk: readdirSync (withFileTypes) + lstatSync of every entry;
//   (b) walk + store: (a), and every entry msgpack-encoded and written as an inode and an
//       edge with lmdb-js batched asynchronous puts (a fresh LMDB environment per run, the
//       threads sharing it as Strata's workers do) — the floor of any sync that persists what
//       it finds; it also stores one listing digest per directory, for (c);
//   (c) walk + one digest compare per directory: (a), a SHA-1 of (name, type, size, mtime,
//       mode) of each directory's entries and one get of the digest (b) stored — the floor
//       of a re-sync of an unchanged tree.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort } = require('node:worker_threads');
const { readdirSync, lstatSync } = require('node:fs');
const { join } = require('node:path');
const { createHash } = require('node:crypto');
const { createRequire } = require('node:module');
const req = createRequire(process.cwd() + '/');
let lmdb;
parentPort.on('message', async ({ dirs, mode, lmdbPath, idBase }) => {
  let n = 0;
  let env, inodes, edges, digests, last;
  if (mode !== 'walk') {
    lmdb ??= req('lmdb');
    env = lmdb.open({ path: lmdbPath, maxDbs: 8, mapSize: 64 * 1024 * 1024 * 1024, pageSize: 8192 });
    inodes = env.openDB({ name: 'inode', sharedStructuresKey: Symbol.for('structures') });
    edges = env.openDB({ name: 'edge' });
    digests = env.openDB({ name: 'digest' });
  }
  let nextId = idBase;
  let misses = 0;
  const stack = dirs.map((d) => ({ path: d, id: nextId++ }));
  for (const d of dirs) { lstatSync(d); n++; }
  while (stack.length) {
    const { path: dir, id: dirId } = stack.pop();
    const h = mode === 'walk' ? undefined : createHash('sha1');
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      const st = lstatSync(abs);
      n++;
      const isDir = e.isDirectory();
      const id = nextId++;
      if (h) h.update(e.name + '\\0' + (isDir ? 'd' : 'f') + '\\0' + st.size + '\\0' + st.mtimeMs + '\\0' + st.mode + '\\u0001');
      if (mode === 'store') {
        inodes.put(id, { id, parentId: dirId, name: e.name, type: isDir ? 'directory' : 'file', length: isDir ? 0 : st.size,
          mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, fileId: id, ps: 'PERSISTED', ufsContent: 'f:' + st.size + ':' + st.mtimeMs + ':' + st.ino,
          ufsMeta: 'm:' + (st.mode & 0o7777).toString(8), blockSize: 0, pinned: false, ttlMs: -1, ttlAction: 'free', createdMs: 0, touchMs: 0, cachedBytes: 0 });
        last = edges.put([dirId, e.name], id);
        // Bound what is queued: wait for a commit now and then (lmdb-js batches the rest).
        if ((n & 8191) === 0) await last;
      }
      if (isDir) stack.push({ path: abs, id });
    }
    if (mode === 'store') last = digests.put(dir, h.digest('base64'));
    else if (mode === 'digest' && digests.get(dir) !== h.digest('base64')) misses++;
  }
  if (last) await last;
  if (env) await env.close();
  parentPort.postMessage({ n, misses });
});
`;

export interface WalkResult { entries: number; ms: number; perSec: number; threads: number }

type Mode = 'walk' | 'store' | 'digest';

async function timedRuns(root: string, threads: number, reps: number, mode: Mode, lmdbPathOf: (rep: number) => string | undefined): Promise<WalkResult & { misses: number }> {
  const workers = Array.from({ length: threads }, () => new Worker(WORKER, { eval: true }));
  await Promise.all(workers.map((w) => new Promise((r) => w.once('online', r))));
  let best: (WalkResult & { misses: number }) | undefined;
  try {
    for (let rep = 0; rep < reps; rep++) {
      const lmdbPath = lmdbPathOf(rep);
      const t0 = performance.now();
      const top = readdirSync(root, { withFileTypes: true }).map((e) => join(root, e.name));
      const shares: string[][] = workers.map(() => []);
      top.forEach((d, i) => shares[i % threads]!.push(d));
      const replies = await Promise.all(workers.map((w, i) => new Promise<{ n: number; misses: number }>((res, rej) => {
        w.once('message', res);
        w.once('error', rej);
        w.postMessage({ dirs: shares[i], mode, lmdbPath, idBase: (i + 1) * 1e9 });
      })));
      const ms = performance.now() - t0;
      const entries = replies.reduce((a, b) => a + b.n, 0);
      const r = { entries, ms, perSec: entries / (ms / 1000), threads, misses: replies.reduce((a, b) => a + b.misses, 0) };
      if (!best || r.perSec > best.perSec) best = r;
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return best!;
}

/** (a) One timed walk with `threads` workers (best of `reps`). */
export async function parallelWalk(root: string, threads: number, reps = 3): Promise<WalkResult> {
  const { misses: _m, ...r } = await timedRuns(root, threads, reps, 'walk', () => undefined);
  return r;
}

/**
 * (b) walk + store, best of `reps`, each into a fresh LMDB environment under `tmpDir`; then
 * (c) walk + one digest compare per directory against the last environment (best of `reps`).
 * The environments are removed after.
 */
export async function storeAndDigestWalks(root: string, threads: number, tmpDir: string, reps = 2): Promise<{ store: WalkResult; digest: WalkResult }> {
  const paths: string[] = [];
  try {
    const { misses: _m, ...store } = await timedRuns(root, threads, reps, 'store', () => {
      const p = mkdtempSync(join(tmpDir, 'walk-store-'));
      paths.push(p);
      return p;
    });
    const d = await timedRuns(root, threads, reps, 'digest', () => paths[paths.length - 1]);
    if (d.misses > 0) throw new Error(`walk + digest: ${d.misses} directories changed between the runs (the tree must stay unchanged)`);
    const { misses: _n, ...digest } = d;
    return { store, digest };
  } finally {
    for (const p of paths) rmSync(p, { recursive: true, force: true });
  }
}
