#!/usr/bin/env node
// The `strata` executable: runs the compiled CLI (dist/, built by `npm run build`, which
// `npm ci`, `npm start` and `npm test` run when dist/ is missing or stale).
// STRATA_FROM_SOURCE=1 runs src/ through tsx instead (development checkouts only).
import { existsSync } from 'node:fs';

// Client commands decode small frames: msgpackr's optional native string extractor costs
// more to load than it saves there (the server keeps it).
const command = process.argv[2];
if (command === 'fs' || command === 'fsadmin') process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= 'true';

if (process.env.STRATA_FROM_SOURCE === '1') {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else {
  const main = new URL('../dist/cli/main.js', import.meta.url);
  if (!existsSync(main)) {
    process.stderr.write('strata: INTERNAL: the compiled CLI (dist/cli/main.js) is missing: run `npm run build` in the strata checkout\n');
    process.exit(1);
  }
  await import(main.href);
}
