// The declared layer order of src/ (docs/architecture.md), checked on the import statements
// of every src/**/*.ts file: a module may import its own folder, a folder of a lower layer,
// or one of its own layer as long as the folders of that layer form no cycle. An upward
// import or a cycle fails with the importing file and the import named.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * Bottom first. A top-level file (errors.ts, types.ts, log.ts, fs.ts, index.ts) is the
 * module of its name; any other file belongs to its first folder under src/.
 */
const LAYERS: string[][] = [
  ['errors', 'types', 'log', 'fs', 'cancel'],
  ['config', 'metrics', 'protocol'],
  ['ufs', 'meta'],
  ['cache', 'sync', 'persist', 'options', 'data', 'activesync', 'auth'],
  ['actors'],
  ['coordinator'],
  ['server', 'client', 'gateway', 'fuse', 'web'],
  ['cli', 'index'],
];

/**
 * Imports that break the order today and belong to another helper's part of issue 15 (the
 * merge removes them as those parts land). Each entry: 'from-file -> imported-file'.
 */
const EXCEPTIONS = new Set<string>([
]);

const root = resolve(new URL('..', import.meta.url).pathname);
const src = join(root, 'src');
const rank = new Map<string, number>(LAYERS.flatMap((mods, i) => mods.map((m) => [m, i] as [string, number])));

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...sources(p));
    else if (d.name.endsWith('.ts') && !d.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The layer module of a path under src/. */
function moduleOf(file: string): string {
  const parts = relative(src, file).split('/');
  return parts.length === 1 ? parts[0]!.replace(/\.(ts|js|mjs)$/, '') : parts[0]!;
}

/** Relative specifiers of a source's imports and re-exports, static or dynamic. */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const specs: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/g, // import x from '…', export { y } from '…'
    /\bimport\s*['"]([^'"]+)['"]/g, // import '…' (side effect)
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, // import('…')
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) specs.push(m[1]!);
  return specs.filter((s) => s.startsWith('.'));
}

interface Edge { from: string; to: string; fromFile: string; toFile: string }

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sources(src)) {
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(src + '/')) continue;
      const from = moduleOf(file);
      const to = moduleOf(target);
      if (from !== to) out.push({ from, to, fromFile: relative(root, file), toFile: relative(root, target).replace(/\.js$/, '.ts') });
    }
  }
  return out;
}

/** The violations of the order among `es`: upward imports and cycles within a layer. */
export function violations(es: Edge[]): string[] {
  const bad: string[] = [];
  const same = new Map<string, Set<string>>();
  for (const e of es) {
    if (EXCEPTIONS.has(`${e.fromFile} -> ${e.toFile}`)) continue;
    const rf = rank.get(e.from);
    const rt = rank.get(e.to);
    if (rf === undefined || rt === undefined) {
      bad.push(`${e.fromFile} imports ${e.toFile}: module ${rf === undefined ? e.from : e.to} is in no layer (add it to LAYERS)`);
    } else if (rt > rf) {
      bad.push(`${e.fromFile} imports ${e.toFile}: ${e.from} (layer ${rf}) must not import ${e.to} (layer ${rt})`);
    } else if (rt === rf) {
      (same.get(e.from) ?? same.set(e.from, new Set()).get(e.from)!).add(e.to);
    }
  }
  for (const [a, tos] of same) {
    for (const b of tos) {
      // A path back from b to a within the layer closes a cycle.
      const seen = new Set<string>();
      const stack = [b];
      while (stack.length) {
        const m = stack.pop()!;
        if (m === a) { bad.push(`${a} and ${b} (same layer) import each other, directly or through the layer`); break; }
        if (seen.has(m)) continue;
        seen.add(m);
        for (const n of same.get(m) ?? []) stack.push(n);
      }
    }
  }
  return bad;
}

test('the import parser sees static, type-only, re-export, side-effect and dynamic imports, not comments', () => {
  const text = [
    "import { a } from './a.js';",
    "import type {\n  B,\n  C,\n} from '../b/b.js';",
    "export { d } from './d.js';",
    "import './e.js';",
    "const f = await import('../f/f.js');",
    "// import { g } from './g.js';",
    "/* import { h } from './h.js'; */",
    "import { x } from 'node:fs';",
    "const s = 'from \\'./not-an-import.js\\'';",
  ].join('\n');
  assert.equal(importsOf(text).sort(), ['../b/b.js', '../f/f.js', './a.js', './d.js', './e.js']);
});

test('an upward import and a cycle within a layer are violations', () => {
  const e = (from: string, to: string): Edge => ({ from, to, fromFile: `src/${from}/x.ts`, toFile: `src/${to}/y.ts` });
  assert.equal(violations([e('coordinator', 'meta'), e('cli', 'coordinator')]), []);
  assert.is(violations([e('sync', 'actors')]).length, 1);
  assert.match(violations([e('sync', 'actors')])[0]!, /sync \(layer 3\) must not import actors \(layer 4\)/);
  assert.is(violations([e('cache', 'persist'), e('persist', 'cache')]).length, 2);
  assert.match(violations([e('nowhere', 'meta')])[0]!, /in no layer/);
});

test('src/ imports only downward (errors/types → config, metrics → ufs, meta → cache, sync, persist → actors → coordinator → front ends → cli)', () => {
  const all = edges();
  assert.ok(all.length > 100, `parsed ${all.length} cross-module imports`);
  const bad = violations(all);
  assert.equal(bad, [], `\n${bad.join('\n')}`);
});

test('every listed exception still exists (remove it once the import is gone)', () => {
  const present = new Set(edges().map((e) => `${e.fromFile} -> ${e.toFile}`));
  for (const x of EXCEPTIONS) assert.ok(present.has(x), `exception no longer needed: ${x}`);
});

test.run();
