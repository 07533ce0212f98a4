// The symlink-swap race of the local UFS: while another process keeps swapping a directory
// of the mount for a symlink to a directory outside it, reads through the UFS return the
// inside file or fail with PERMISSION_DENIED / NOT_FOUND — never the outside file
// (O_NOFOLLOW plus a check of the opened descriptor's real path via /proc/self/fd).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalUfs } from '../src/ufs/local/local-ufs.js';
import { readAll } from './helpers/assert.js';
import { fileUri, tempDir } from './helpers/fixture.js';

test('reads racing directory/symlink swaps never return the outside file', async () => {
  if (!existsSync('/proc/self/fd')) return; // the check needs /proc (Linux)
  const root = await tempDir('strata-swap-root-');
  const outside = await tempDir('strata-swap-out-');
  mkdirSync(join(root, 'd'));
  writeFileSync(join(root, 'd', 'f'), 'inside');
  writeFileSync(join(outside, 'f'), 'OUTSIDE');
  const ufs = new LocalUfs(fileUri(root));
  const swapper = spawn('bash', ['-c',
    `cd ${JSON.stringify(root)} && for i in $(seq 3000); do mv d d.x && ln -s ${JSON.stringify(outside)} d && rm d && mv d.x d; done`],
  { stdio: 'ignore' });
  const done = new Promise<void>((r) => swapper.once('exit', () => r()));
  let finished = false;
  void done.then(() => { finished = true; });
  const counts = { inside: 0, outside: 0, refused: 0, other: 0 };
  const end = Date.now() + 60_000;
  try {
    while (!finished && Date.now() < end && counts.inside + counts.refused < 200_000) {
      try {
        const text = (await readAll(ufs.read('d/f'))).toString();
        if (text === 'inside') counts.inside++; else if (text === 'OUTSIDE') counts.outside++; else counts.other++;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'PERMISSION_DENIED' || code === 'NOT_FOUND') counts.refused++; else counts.other++;
      }
    }
  } finally {
    swapper.kill('SIGKILL');
    await done;
    await ufs.close();
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
  assert.is(counts.outside, 0, `reads: ${JSON.stringify(counts)}`);
  assert.is(counts.other, 0, `reads: ${JSON.stringify(counts)}`);
  assert.ok(counts.inside > 0, `reads: ${JSON.stringify(counts)}`);
});

test.run();
