// Generated local trees: `dirs` directories of `files` empty files each, built once per
// size under the OS temp dir and reused by later runs (a marker file beside the tree says
// it is complete).

import { existsSync, mkdirSync, rmSync, writeFileSync, closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BENCH_ROOT = join(tmpdir(), 'strata-bench');

export interface Tree {
  dir: string;
  dirs: number;
  files: number;
  /** Entries below the root: directories + files. */
  entries: number;
}

export function ensureTree(dirs: number, filesPerDir: number, log: (s: string) => void): Tree {
  const name = `tree-${dirs}x${filesPerDir}`;
  const dir = join(BENCH_ROOT, name);
  const marker = join(BENCH_ROOT, `${name}.done`);
  const tree = { dir, dirs, files: dirs * filesPerDir, entries: dirs + dirs * filesPerDir };
  if (existsSync(marker)) return tree;
  log(`generating ${tree.files.toLocaleString('en-US')} files in ${dirs} dirs at ${dir} (once)`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const w = String(dirs - 1).length;
  const fw = String(filesPerDir - 1).length;
  for (let d = 0; d < dirs; d++) {
    const dd = join(dir, `d${String(d).padStart(w, '0')}`);
    mkdirSync(dd);
    for (let f = 0; f < filesPerDir; f++) closeSync(openSync(join(dd, `f${String(f).padStart(fw, '0')}`), 'w'));
  }
  writeFileSync(marker, new Date().toISOString());
  return tree;
}

/** Path (relative to the tree root) of file `i` of the tree, for random getStatus. */
export function treeFile(t: Tree, i: number): string {
  const per = t.files / t.dirs;
  const d = Math.floor(i / per) % t.dirs;
  const f = i % per;
  return `d${String(d).padStart(String(t.dirs - 1).length, '0')}/f${String(f).padStart(String(per - 1).length, '0')}`;
}
