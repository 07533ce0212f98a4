// Only src/meta knows the metadata store's layout: no module outside it passes a table name
// ('inode', 'edge', 'pending', …, every name in STRATA_TABLES) as the table argument of a
// store or transaction call. Code above src/meta uses the inode tree's transaction API and
// the small stores beside it (absent cache, persist jobs, pending writes, block index, TTL
// index, sync points, intents, mounts, path configuration).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { STRATA_TABLES } from '../src/meta/tables.js';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'src');

/** Calls of a store or transaction method with a table name literal as first argument. */
function tableUses(code: string, tables: readonly string[]): Array<{ line: number; text: string }> {
  const names = tables.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const re = new RegExp(`\\.(get|put|del|range|count|getRange|remove|removeSync|putSync)\\s*(<[^>()]*>)?\\s*\\(\\s*(['"\`])(${names})\\3`);
  const out: Array<{ line: number; text: string }> = [];
  code.split('\n').forEach((text, i) => {
    const t = text.trim();
    if (t.startsWith('//') || t.startsWith('*') || t.startsWith('/*')) return;
    if (re.test(text)) out.push({ line: i + 1, text: t });
  });
  return out;
}

function* sourceFiles(dir: string): Iterable<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sourceFiles(p);
    else if (/\.(ts|mts|js|mjs)$/.test(e.name)) yield p;
  }
}

test('the detector sees a table argument in its usual shapes, and nothing else', () => {
  const tables = STRATA_TABLES;
  assert.is(tableUses(`tx.get<InodeRecord>('inode', id)`, tables).length, 1);
  assert.is(tableUses(`store.range<number>( "edge", {})`, tables).length, 1);
  assert.is(tableUses(`tx.del('pending', fileId)`, tables).length, 1);
  assert.is(tableUses(`this.d.store.count('inode')`, tables).length, 1);
  assert.is(tableUses(`this.metrics.inc('persist', 'attempts')`, tables).length, 0, 'a metric group is not a table');
  assert.is(tableUses(`  // tx.get('inode', id) in a comment`, tables).length, 0);
  assert.is(tableUses(`options.get(path, 'absent.cache.ttl')`, tables).length, 0);
});

test('the tables named by the issue are all registered (so a new table is covered too)', () => {
  for (const t of ['inode', 'edge', 'pending', 'persist', 'absent', 'syncpoint', 'ttl', 'intent', 'mount', 'pathconf', 'sys', 'block']) {
    assert.ok((STRATA_TABLES as readonly string[]).includes(t), t);
  }
});

test('no module outside src/meta names a table of the metadata store', () => {
  const offences: string[] = [];
  for (const file of sourceFiles(src)) {
    const rel = relative(src, file);
    if (rel.startsWith('meta/')) continue;
    for (const u of tableUses(readFileSync(file, 'utf8'), STRATA_TABLES)) offences.push(`src/${rel}:${u.line}: ${u.text}`);
  }
  assert.equal(offences, [], `table names outside src/meta (use the inode tree's API or a store in src/meta):\n${offences.join('\n')}`);
});

test.run();
