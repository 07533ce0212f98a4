// A directory of a recursive sync batch that had no children when listed: its apply skips
// the child lookups only while nothing has written its edges since (its children version is
// the listing's). A child created through Strata between the listing and the apply, under a
// name the listing has too, is found and kept (not shadowed by a second inode of that name).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InodeTree } from '../src/meta/inode-tree.js';
import type { InodeRecord } from '../src/meta/inode.js';
import { lmdbUri, openStrataStore } from '../src/meta/tables.js';
import { syncDirBatch } from '../src/sync/dir-batch.js';
import type { BatchDir } from '../src/sync/dir-batch.js';
import { LocalUfs } from '../src/ufs/local/local-ufs.js';
import type { Ufs, UfsListOptions, UfsStatus } from '../src/ufs/ufs.js';
import { fileUri, tempDir } from './helpers/fixture.js';

test('a create through Strata between the listing of an empty directory and its apply is kept', async () => {
  const dataDir = await tempDir('strata-batchrace-data-');
  const ufsDir = await tempDir('strata-batchrace-ufs-');
  const store = openStrataStore(lmdbUri(dataDir));
  try {
    for (const d of ['a', 'b']) mkdirSync(join(ufsDir, d));
    const root = InodeTree.root(await new InodeTree(store).init().then(() => store));
    const local = new LocalUfs(fileUri(ufsDir));
    const top = await syncDirBatch(store, () => local, { dirs: [{ id: root.id, path: '/', ufsPath: '', mountId: 1 }], startMs: Date.now(), recursive: false });
    assert.is(top.summary.created, 2);
    // Now the UFS has a/x and b/y; Strata creates /a/x after a's listing, before its apply.
    writeFileSync(join(ufsDir, 'a', 'x'), 'ufs');
    writeFileSync(join(ufsDir, 'b', 'y'), 'ufs');
    let strataX: InodeRecord | undefined;
    const racing = Object.create(local) as Ufs;
    racing.list = async function* (path: string, options?: UfsListOptions): AsyncGenerator<UfsStatus[]> {
      for await (const page of local.list(path, options)) yield page;
      if (path === 'b') { // a is listed (and its edges read) by now; its apply comes with b's
        strataX = await store.transact((tx) => InodeTree.create(tx, InodeTree.get(tx, top.childDirs.find((c) => c.path === '/a')!.id)!, 'x', { type: 'file', ps: 'NOT_PERSISTED' }));
      }
    };
    const startMs = Date.now() - 1;
    const dirs: BatchDir[] = top.childDirs.map((c) => ({ ...c, mountId: 1 }));
    const inodes0 = store.count('inode');
    const r = await syncDirBatch(store, () => racing, { dirs, startMs, recursive: true });
    assert.ok(strataX, 'the racing create ran');
    const aId = dirs.find((d) => d.path === '/a')!.id;
    const bId = dirs.find((d) => d.path === '/b')!.id;
    assert.is(InodeTree.child(store, aId, 'x')?.id, strataX!.id, "/a/x is Strata's inode");
    assert.is(InodeTree.child(store, aId, 'x')?.ps, 'NOT_PERSISTED');
    assert.is(InodeTree.child(store, bId, 'y')?.type, 'file', '/b/y is loaded');
    assert.is(r.summary.created, 1, 'only /b/y is created');
    assert.is(store.count('inode'), inodes0 + 2, 'no second inode for /a/x');
  } finally {
    await store.close();
    for (const d of [dataDir, ufsDir]) await rm(d, { recursive: true, force: true });
  }
});

test.run();
