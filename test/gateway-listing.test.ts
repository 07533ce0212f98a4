// The gateway's listing walk against a model: random keys over an alphabet of characters that
// sort around '/' ('-', '.', ' ', '0', multi-byte), written into a real coordinator, listed
// with random prefixes, delimiters, start-after and page sizes, and compared with the same
// listing computed from the sorted key set (S3's definition). Also: a page reads what it returns.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listObjects, compareKeys } from '../src/gateway/s3/listing.js';
import { isoTime } from '../src/gateway/s3/xml.js';
import type { FileSystem } from '../src/fs.js';
import { openEnv, type Env } from './helpers/fixture.js';

let env: Env;
const ALPHA = ['a', 'b', '-', '.', ' ', '0', 'é', '\u{1F600}'];
let seed = 12345;
const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const word = (): string => Array.from({ length: 1 + rnd(3) }, () => ALPHA[rnd(ALPHA.length)]).join('');

const keys = new Set<string>();

test.before(async () => {
  env = await openEnv({ 'write.type': 'MUST_CACHE' });
  await env.fs.createDirectory('/m');
  // Keys whose paths do not collide (a file may not also be a directory).
  const files = new Set<string>(); const dirs = new Set<string>();
  for (let i = 0; keys.size < 400 && i < 5000; i++) {
    const depth = 1 + rnd(3);
    const segs = Array.from({ length: depth }, word);
    const k = segs.join('/');
    const parents = segs.slice(0, -1).map((_, j) => segs.slice(0, j + 1).join('/'));
    if (files.has(k) || dirs.has(k) || parents.some((p) => files.has(p))) continue;
    files.add(k); parents.forEach((p) => dirs.add(p)); keys.add(k);
  }
  for (const k of keys) await env.fs.writeFile(`/m/${k}`, Buffer.from(k), { recursive: true });
});
test.after(async () => { await env?.dispose(); });

function model(p: { prefix: string; delimiter: string; startAfter?: string; maxKeys: number }): string[] {
  const sorted = [...keys].sort(compareKeys);
  const out: string[] = [];
  let lastCp: string | undefined;
  for (const k of sorted) {
    if (!k.startsWith(p.prefix)) continue;
    let entry = `key ${k}`;
    let cp: string | undefined;
    if (p.delimiter) {
      const i = k.indexOf(p.delimiter, p.prefix.length);
      if (i >= 0) cp = k.slice(0, i + p.delimiter.length);
    }
    if (cp !== undefined) {
      if (cp === lastCp) continue;
      if (p.startAfter !== undefined && compareKeys(cp, p.startAfter) <= 0) continue;
      lastCp = cp;
      entry = `prefix ${cp}`;
    } else if (p.startAfter !== undefined && compareKeys(k, p.startAfter) <= 0) continue;
    out.push(entry);
    if (out.length > p.maxKeys) break;
  }
  return out;
}

test('random listings equal the model (prefix, delimiter, start-after, max-keys)', async () => {
  const sorted = [...keys].sort(compareKeys);
  for (let i = 0; i < 150; i++) {
    const base = sorted[rnd(sorted.length)]!;
    const prefix = rnd(4) === 0 ? '' : base.slice(0, rnd(base.length + 1));
    const delimiter = ['', '/', '/', '-', 'a', '.'][rnd(6)]!;
    const startAfter = rnd(2) === 0 ? undefined : sorted[rnd(sorted.length)]!.slice(0, 1 + rnd(6));
    const maxKeys = [1, 3, 10, 1000][rnd(4)]!;
    const p = { prefix, delimiter, startAfter, maxKeys };
    const page = await listObjects(env.fs, { bucketPath: '/m', ...p });
    const got = [...page.contents.map((e) => ({ k: e.key, s: `key ${e.key}` })), ...page.commonPrefixes.map((c) => ({ k: c, s: `prefix ${c}` }))]
      .sort((a, b) => compareKeys(a.k, b.k)).map((x) => x.s);
    const want = model(p);
    assert.equal(got, want.slice(0, maxKeys), JSON.stringify(p));
    assert.is(page.isTruncated, want.length > maxKeys, `truncated ${JSON.stringify(p)}`);
  }
});

/** env.fs, counting the entries listStatus returns. */
function countingFs(count: (n: number) => void): FileSystem {
  return new Proxy(env.fs as unknown as FileSystem, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (prop !== 'listStatus') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      return (path: string, o: object) => ({
        async *[Symbol.asyncIterator]() {
          for await (const page of target.listStatus(path, o)) { count(page.length); yield page; }
        },
      });
    },
  });
}

test('a page of 10 in a 400-key bucket reads a few directory pages, not the bucket', async () => {
  let entries = 0;
  const counting = countingFs((n) => { entries += n; });
  const page = await listObjects(counting, { bucketPath: '/m', prefix: '', delimiter: '', maxKeys: 10 });
  assert.is(page.contents.length, 10);
  assert.ok(entries < 120, `read ${entries} entries for a page of 10`);
});

test('pages of 1,000 keys in a flat 2,500-key directory read what they return plus a few entries', async () => {
  await env.fs.createDirectory('/flat');
  const names = Array.from({ length: 2500 }, (_, i) => `k${String(i).padStart(5, '0')}`);
  for (let i = 0; i < names.length; i += 50) {
    await Promise.all(names.slice(i, i + 50).map((n) => env.fs.writeFile(`/flat/${n}`, Buffer.alloc(0))));
  }
  let entries = 0;
  const counting = countingFs((n) => { entries += n; });
  let startAfter: string | undefined;
  const seen: string[] = [];
  for (let pages = 0; pages < 10; pages++) {
    const before = entries;
    const page = await listObjects(counting, { bucketPath: '/flat', prefix: '', delimiter: '', maxKeys: 1000, ...(startAfter ? { startAfter } : {}) });
    seen.push(...page.contents.map((c) => c.key));
    // max-keys + 1 (to know truncation) and one short page of at most 32 at the end.
    assert.ok(entries - before <= 1000 + 33, `page ${pages} read ${entries - before} entries for ${page.contents.length} keys`);
    if (!page.isTruncated) break;
    startAfter = page.last;
  }
  assert.equal(seen, names);
});

test('isoTime prints what Date#toISOString prints', () => {
  for (const ms of [0, 1, 999, 1000, 59_999, 3_599_999, 86_399_999, 86_400_000, 951_782_400_000.5, 1_764_633_600_123, 253_402_300_799_999]) {
    assert.is(isoTime(ms), new Date(ms).toISOString(), String(ms));
  }
  for (let i = 0, x = 7; i < 2000; i++) { x = (x * 48271) % 2147483647; const ms = x * 1861; assert.is(isoTime(ms), new Date(ms).toISOString()); }
});

test.run();
