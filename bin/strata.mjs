#!/usr/bin/env node
// The `strata` executable: runs the compiled CLI (dist/, built by `npm run build`, which
// `npm ci`, `npm start` and `npm test` run when dist/ is missing or stale). The client
// commands (`fs`, `fsadmin`) run the one-file bundle of the client side
// (dist/cli/client-bundle.cjs, see scripts/build-cli.mjs) compiled with V8's code cache
// (client-bundle.cache beside it, written by the build and renewed when V8 rejects it): they
// start in a fraction of the time the ~40 separate modules take. Every other command runs
// dist/cli/main.js. STRATA_FROM_SOURCE=1 runs src/ through tsx instead (development only).
import { existsSync } from 'node:fs';

// Client commands decode small frames: msgpackr's optional native string extractor costs
// more to load than it saves there (the server keeps it).
const command = process.argv[2];
const client = command === 'fs' || command === 'fsadmin';
if (client) process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= 'true';

if (process.env.STRATA_FROM_SOURCE === '1') {
  const { register } = await import('tsx/esm/api');
  register();
  await (await import('../src/cli/main.ts')).run();
} else {
  const bundle = new URL('../dist/cli/client-bundle.cjs', import.meta.url);
  if (client && existsSync(bundle)) {
    const { runBundle } = await import('./code-cache.mjs');
    await runBundle(bundle);
  } else {
    const main = new URL('../dist/cli/main.js', import.meta.url);
    if (!existsSync(main)) {
      process.stderr.write('strata: INTERNAL: the compiled CLI (dist/cli/main.js) is missing: run `npm run build` in the strata checkout\n');
      process.exit(1);
    }
    await (await import(main.href)).run();
  }
}
