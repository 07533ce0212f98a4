// Fault suite: the data directory on a small tmpfs (3 MB) fills up. For every write type,
// nothing acknowledged is truncated (each acknowledged file reads back byte-identical and
// is persisted whole), every refused write fails with RESOURCE_EXHAUSTED, no half-written
// block file (short, empty or temp) is left in the cache, and the server keeps serving
// cold reads of persisted files from the UFS (counted as cache.bypassOnFull); the metadata
// store itself failing to commit on the full disk is RESOURCE_EXHAUSTED, not a crashed
// process (LMDB reports EIO and rejects promises nobody holds). Needs root
// for `mount -t tmpfs`; skipped with a printed reason where that is refused. The tmpfs is
// unmounted afterwards, also on failure.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { lmdbUri, openStrataStore } from '../src/meta/tables.js';
import { ServerConfig } from '../src/config/keys.js';
import { WRITE_TYPES } from '../src/types.js';
import type { WriteType } from '../src/types.js';
import { fileUri, readAll, serveTcp, tempDir } from './helpers/fixture.js';
import type { TcpEnv } from './helpers/fixture.js';

const FS_SIZE = '3m';
const FILE = 524_288; // the file: 8 blocks of 64 KB
const MAX_ROUNDS = 20; // the disk is full after a few; bounded regardless

let mnt: string | undefined;
let skipReason: string | undefined;
let fs: Coordinator | undefined;
let tcp: TcpEnv | undefined;
let ufsDir: string;
let dataDir: string;

const body = (n: number, seed: number): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
};

/** Acknowledged writes: path -> [write type, bytes]. */
const acked = new Map<string, [WriteType, Buffer]>();

test.before(async () => {
  mnt = await mkdtemp(join(tmpdir(), 'strata-diskfull-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${FS_SIZE}`, 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (err) {
    skipReason = `cannot mount a tmpfs (${(err as Error).message.split('\n')[0]}); needs root`;
    rmSync(mnt, { recursive: true, force: true });
    mnt = undefined;
    console.log(`fault-disk-full: SKIPPED: ${skipReason}`);
    return;
  }
  dataDir = join(mnt, 'data');
  mkdirSync(dataDir);
  ufsDir = await tempDir('strata-diskfull-ufs-');
  const config = new ServerConfig([{ 'cache.block.size': '64KB', 'persist.initial.wait': '1h', 'persist.max.interval': '1s' }]);
  fs = await Coordinator.open({ dataDir, rootUfs: fileUri(ufsDir), config });
  tcp = await serveTcp(fs);
});

test.after(async () => {
  await tcp?.close().catch(() => undefined);
  await fs?.close().catch(() => undefined);
  if (mnt) {
    try {
      execFileSync('umount', [mnt], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
    }
    rmSync(mnt, { recursive: true, force: true });
  }
  if (ufsDir) rmSync(ufsDir, { recursive: true, force: true });
});

/** Every block file in the cache is complete: the size its index says; no temp or empty file. */
function checkBlockFiles(): void {
  const root = join(dataDir, 'cache');
  for (const sub of readdirSync(root)) {
    for (const name of readdirSync(join(root, sub))) {
      const m = /^(\d+)-(\d+)$/.exec(name);
      assert.ok(m, `unexpected file in the cache: ${sub}/${name} (temp or stray)`);
      const size = statSync(join(root, sub, name)).size;
      assert.ok(size > 0, `empty block file ${name}`);
      const indexed = fs!.blocks.has(Number(m[1]), Number(m[2]));
      assert.is(indexed, size, `block file ${name} holds ${size} bytes, its index says ${indexed}`);
    }
  }
}

test('every write type on a filling disk: acknowledged = whole, refused = RESOURCE_EXHAUSTED, no half-written blocks', async () => {
  if (skipReason) return;
  // Persisted files whose data lives only in the UFS, for the cold reads later.
  for (let i = 0; i < 3; i++) {
    const b = body(300_000, 200 + i);
    await tcp!.client.writeFile(`/cold${i}`, b, { writeType: 'THROUGH' });
    acked.set(`/cold${i}`, ['THROUGH', b]);
  }
  let refused = 0;
  const refusedTypes = new Set<WriteType>();
  // Until the cache-first types (whose data exists nowhere else) were refused, and 2 rounds more.
  // CACHE_THROUGH may still succeed on a full disk by evicting persisted blocks.
  let extra = 2;
  for (let round = 0; round < MAX_ROUNDS && extra > 0; round++) {
    if (refusedTypes.has('MUST_CACHE') && refusedTypes.has('ASYNC_THROUGH')) extra--;
    for (const wt of WRITE_TYPES) {
      const p = `/f${round}-${wt}`;
      const b = body(FILE, round * 4 + WRITE_TYPES.indexOf(wt));
      // Alternate clients: library mode and TCP get the same answers.
      const client = round % 2 === 0 ? fs! : tcp!.client;
      try {
        const info = await client.writeFile(p, b, { writeType: wt });
        assert.is(info.length, FILE, `${p} acknowledged with length ${info.length}`);
        acked.set(p, [wt, b]);
      } catch (err) {
        const code = (err as { code?: string }).code;
        assert.is(code, 'RESOURCE_EXHAUSTED', `${p}: ${String((err as Error).message)}`);
        refused++;
        refusedTypes.add(wt);
        assert.is(await fs!.exists(p), false, `refused ${p} must not exist`);
      }
      checkBlockFiles();
    }
  }
  assert.ok(refused > 0, 'the disk filled up');
  for (const wt of ['MUST_CACHE', 'ASYNC_THROUGH'] as const) assert.ok(refusedTypes.has(wt), `${wt} was refused at some point`);
  console.log(`fault-disk-full: ${acked.size} writes acknowledged, ${refused} refused with RESOURCE_EXHAUSTED`);
});

test('the server keeps serving reads: cold reads from the UFS without caching, every acknowledged file whole', async () => {
  if (skipReason) return;
  const before = (await fs!.getReport()).cache.bypassOnFull ?? 0;
  for (let i = 0; i < 3; i++) {
    const got = await readAll(tcp!.client.readFile(`/cold${i}`));
    assert.ok(got.equals(acked.get(`/cold${i}`)![1]), `cold${i}`);
  }
  const after = (await fs!.getReport()).cache.bypassOnFull ?? 0;
  assert.ok(after >= before, 'bypass counted');
  for (const [p, [wt, b]] of acked) {
    const got = await readAll(fs!.readFile(p));
    assert.is(got.length, b.length, `${p} (${wt}) read back ${got.length} bytes`);
    assert.ok(got.equals(b), `${p} (${wt}) differs`);
  }
  checkBlockFiles();
});

test('ASYNC_THROUGH and MUST_CACHE files persist whole once asked, never from a short block', async () => {
  if (skipReason) return;
  for (const [p, [wt]] of acked) {
    if (wt === 'ASYNC_THROUGH' || wt === 'MUST_CACHE') await fs!.persist(p);
  }
  for (const [p, [wt, b]] of acked) {
    const st = await fs!.getStatus(p);
    assert.is(st.persistenceState, 'PERSISTED', `${p} (${wt})`);
    const inUfs = readFileSync(join(ufsDir, p.slice(1)));
    assert.is(inUfs.length, b.length, `${p} (${wt}) in the UFS holds ${inUfs.length} bytes`);
    assert.ok(inUfs.equals(b), `${p} (${wt}) differs in the UFS`);
  }
  // Persisted data is evictable now: new writes fit again by evicting it.
  const b = body(FILE, 999);
  await fs!.writeFile('/after-persist', b, { writeType: 'MUST_CACHE' });
  assert.ok((await readAll(fs!.readFile('/after-persist'))).equals(b));
  checkBlockFiles();
});

test('the metadata store on a full disk: commits fail with RESOURCE_EXHAUSTED, the process lives on, and works again once pages are freed', async () => {
  if (skipReason) return;
  // Its own 1 MB tmpfs, so that the coordinator above is not starved meanwhile.
  const own = await mkdtemp(join(tmpdir(), 'strata-metafull-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', own], { stdio: 'pipe' });
  try {
    const store = openStrataStore(lmdbUri(join(own, 'meta')));
    try {
      let failed: { code?: string } | undefined;
      let written = 0;
      for (let i = 0; i < 2000 && !failed; i++) {
        try {
          await store.transact((tx) => tx.put('block', [10_000 + i, 0], { size: 4000, evictable: true, data: Buffer.alloc(4000, i & 0xff) }));
          written++;
        } catch (err) {
          failed = err as { code?: string };
        }
      }
      assert.ok(failed, 'the store filled the disk');
      assert.is(failed!.code, 'RESOURCE_EXHAUSTED');
      assert.ok(written > 0);
      await store.transact((tx) => { for (let i = 0; i < written; i++) tx.del('block', [10_000 + i, 0]); });
      await store.transact((tx) => tx.put('block', [9_999, 0], { size: 1, evictable: true }));
      assert.equal(store.get('block', [9_999, 0]), { size: 1, evictable: true });
    } finally {
      await store.close();
    }
  } finally {
    try {
      execFileSync('umount', [own], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', own], { stdio: 'pipe' });
    }
    rmSync(own, { recursive: true, force: true });
  }
});

test.run();
