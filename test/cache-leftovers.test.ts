// Leftovers of a crash in the cache directory: a `.tmp` block file (killed mid-write) and a
// block file that was never indexed (killed between its rename and the index commit) are
// removed by the background sweep after start; indexed blocks and files written after the
// start (writes in flight) are never touched.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openEnv, readText } from './helpers/fixture.js';

const blockFiles = (cache: string): string[] =>
  readdirSync(cache).flatMap((d) => readdirSync(join(cache, d)).map((f) => join(cache, d, f)));

test('the start-up sweep removes crash leftovers and keeps indexed blocks and fresh files', async () => {
  const env = await openEnv();
  try {
    const body = 'x'.repeat(1 << 20);
    await env.fs.writeFile('/kept.bin', Buffer.from(body), { writeType: 'MUST_CACHE' });
    const cache = join(env.dataDir, 'cache');
    const real = blockFiles(cache);
    assert.ok(real.length >= 1, 'a 1 MiB MUST_CACHE file has a block file');
    await env.fs.close();

    const old = Date.now() / 1000 - 3600;
    const tmp = join(cache, '0f', '999999-0.tmp');
    const orphan = join(cache, '07', '888887-3');
    const foreign = join(cache, '07', 'README');
    for (const f of [tmp, orphan, foreign]) {
      writeFileSync(f, 'left over');
      utimesSync(f, old, old);
    }
    await env.restart();
    const fresh = join(cache, '0f', '777777-0.tmp'); // as a write in flight after the start would leave it
    writeFileSync(fresh, 'in flight');

    for (let i = 0; i < 200 && (existsSync(tmp) || existsSync(orphan)); i++) await new Promise((r) => setTimeout(r, 50));
    assert.not.ok(existsSync(tmp), 'the .tmp of an unfinished write is removed');
    assert.not.ok(existsSync(orphan), 'a block file that was never indexed is removed');
    assert.ok(existsSync(foreign), 'a file the cache did not name is left alone');
    assert.ok(existsSync(fresh), 'a file written after the start is left alone');
    for (const f of real) assert.ok(existsSync(f), `indexed block ${f} is kept`);
    assert.is(await readText(env.fs, '/kept.bin'), body);
  } finally {
    await env.dispose();
  }
});

test.run();
