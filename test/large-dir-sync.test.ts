// One large directory synced through the worker pool with the server's memory settings
// (src/actors/heap-growth.ts: a heap growing factor, no heap cap; LMDB's chunked map): every
// entry is loaded, listed and re-synced unchanged. Sized to stay fast; the 1M-entry figure
// is the bench's (bench/sync.ts --sync 1000x1000).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openEnv } from './helpers/fixture.js';
import type { Env } from './helpers/fixture.js';

const FILES = 30_000;
let env: Env;

test.before(async () => {
  env = await openEnv({ 'sync.parallelism': '2' });
});
test.after(() => env.dispose());

test(`a directory of ${FILES.toLocaleString('en-US')} files syncs, lists completely and re-syncs unchanged`, async () => {
  const dir = join(env.ufsDir, 'big');
  mkdirSync(dir);
  for (let i = 0; i < FILES; i++) writeFileSync(join(dir, `f${String(i).padStart(6, '0')}`), '');
  const cold = await env.fs.loadMetadata('/big', { recursive: true });
  assert.is(cold.created, FILES + 1);
  assert.is(cold.failed, 0);
  let listed = 0;
  let last = '';
  for await (const page of env.fs.listStatus('/big')) {
    for (const e of page) {
      assert.ok(e.name > last, `listing in name order (${last} then ${e.name})`);
      last = e.name;
      listed++;
    }
  }
  assert.is(listed, FILES);
  await env.fs.needsSync('/big');
  const re = await env.fs.loadMetadata('/big', { recursive: true });
  // The directory itself is not counted on a re-sync, only what its listing holds.
  assert.equal({ ...re }, { created: 0, updated: 0, deleted: 0, unchanged: FILES, failed: 0 });
});

test.run();
