// The start-up sweep of temp files that interrupted UFS writes left (`.strata-tmp-*`) walks
// the local mounts this instance opened with — where a crashed predecessor's writes were in
// flight — and no mount added after the start (a walk of a whole tree on the coordinator's
// thread, which overlapped the first sync of a newly added mount).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileUri, openEnv, sleep, tempDir, waitFor } from './helpers/fixture.js';

const leftover = (dir: string, name: string): string => {
  const f = join(dir, `.strata-tmp-${name}-0123456789ab`);
  writeFileSync(f, 'cut short by a crash');
  const old = Date.now() / 1000 - 3600;
  utimesSync(f, old, old);
  return f;
};

test('the start-up sweep removes the temp files of mounts at the start, not of a mount added after it', async () => {
  const env = await openEnv();
  const atStart = await tempDir('strata-sweep-a-');
  const added = await tempDir('strata-sweep-b-');
  env.track(atStart);
  env.track(added);
  try {
    await env.fs.mount('/a', fileUri(atStart));
    await env.fs.close();
    mkdirSync(join(atStart, 'sub'));
    const inRoot = leftover(env.ufsDir, 'r');
    const inMount = leftover(join(atStart, 'sub'), 'a');
    await env.restart();
    await env.fs.mount('/b', fileUri(added));
    const inAdded = leftover(added, 'b');
    await waitFor(() => !existsSync(inRoot) && !existsSync(inMount), 'the temp files of the mounts at the start to be swept', 20_000);
    await sleep(300); // the sweep goes mount by mount: /b would come right after /a
    assert.ok(existsSync(inAdded), 'a mount added after the start is not walked');
    // The next start walks it.
    await env.restart();
    await waitFor(() => !existsSync(inAdded), 'the temp file of /b to be swept at the next start', 20_000);
  } finally {
    await env.dispose();
  }
});

test.run();
