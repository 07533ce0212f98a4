// Work stops when its client leaves: a recursive loadMetadata of a large local tree, whose
// client disconnects mid-way, stops starting directories (the call's AbortSignal reaches
// the sync engine's BFS): the server's count of synced directories stops growing below the
// tree's size, and a later loadMetadata completes the tree.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataClient } from '../src/client/tcp-client.js';
import { startServer, tempDir, type ServerHandle } from './helpers/server.js';
import { fileUri, sleep, waitFor } from './helpers/fixture.js';

const DIRS = 600;

test('a loadMetadata whose client disconnects stops; a new one completes the tree', async () => {
  const tree = await tempDir('strata-cancel-');
  for (let d = 0; d < DIRS; d++) {
    mkdirSync(join(tree, `d${d}`));
    for (let f = 0; f < 3; f++) writeFileSync(join(tree, `d${d}`, `f${f}`), 'x');
  }
  let srv: ServerHandle | undefined;
  try {
    srv = await startServer({ args: ['-D', 'sync.parallelism=1', '-D', 'sync.prefetch.parallelism=1'] });
    const admin = await StrataClient.connect(srv.address, { token: srv.token });
    await admin.mount('/t', fileUri(tree));
    const synced = async (): Promise<number> => (await admin.getReport()).sync.directories ?? 0;
    const base = await synced();
    const leaver = await StrataClient.connect(srv.address, { token: srv.token });
    const call = leaver.loadMetadata('/t', { recursive: true }).catch((err: { code?: string }) => err.code);
    await waitFor(async () => (await synced()) - base >= 20, 'the sync under way', 60_000);
    await leaver.close();
    assert.is(await call, 'CONNECTION_CLOSED');
    // Stopped: the count settles (directories in flight finish) and stays below the tree.
    let last = -1;
    for (let i = 0; i < 50; i++) {
      await sleep(400);
      const now = await synced();
      if (now === last) break;
      last = now;
    }
    await sleep(1500);
    const after = await synced();
    assert.is(after, last, 'no directory synced after the client left');
    assert.ok(after - base < DIRS, `stopped early (${after - base} of ${DIRS + 1} directories)`);
    // A new call does the rest.
    const s = await admin.loadMetadata('/t', { recursive: true });
    assert.ok(s.created > 0);
    assert.is((await admin.getStatus(`/t/d${DIRS - 1}/f2`)).length, 1);
    await admin.close();
  } finally {
    await srv?.stop();
    if (srv) await rm(srv.dataDir, { recursive: true, force: true });
    await rm(tree, { recursive: true, force: true });
  }
});

test.run();
