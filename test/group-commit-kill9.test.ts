// Group commit acknowledges only committed creates: a REAL server process takes 16
// concurrent small creates (MUST_CACHE and CACHE_THROUGH files, some multi-block, and
// directories) — so that the metadata store commits them in shared groups — and is
// SIGKILLed at a random moment. After the restart on the same data directory every
// acknowledged create must exist with its exact bytes (a file) or as a directory; a create
// in flight at the kill may exist or not, but a file that exists is complete. Rounds add to
// the same namespace, so earlier rounds are checked again after every later kill.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomInt } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { StrataClient } from '../src/client/tcp-client.js';
import type { WriteType } from '../src/types.js';
import { fileUri, readAll, sleep, tempDir } from './helpers/fixture.js';
import { startServer } from './helpers/server.js';
import type { ServerHandle } from './helpers/server.js';

const ROUNDS = Number(process.env.GROUP_ROUNDS ?? 4);
const IN_FLIGHT = 16;
const BLOCK = 64 * 1024;

let dataDir: string;
let ufsDir: string;
let server: ServerHandle | undefined;

/** Acknowledged creates: path -> bytes (a file) or 'dir'. */
const acked = new Map<string, Buffer | 'dir'>();
/** Creates in flight at a kill: they may exist (a file only complete) or not. */
const inFlight = new Map<string, Buffer | 'dir'>();

async function boot(): Promise<StrataClient> {
  server = await startServer({
    dataDir,
    timeoutMs: 180_000, // bounds a slow start on a loaded machine; measures nothing
    args: ['--root-ufs', fileUri(ufsDir), '-D', `cache.block.size=${BLOCK / 1024}KB`],
  });
  return StrataClient.connect(server.address, { ...(server.token ? { token: server.token } : {}) });
}

/** What a created path holds now through Strata: its bytes, 'dir', or undefined when absent. */
async function stateOf(c: StrataClient, p: string): Promise<Buffer | 'dir' | undefined> {
  if (!(await c.exists(p))) return undefined;
  const info = await c.getStatus(p);
  if (info.type === 'directory') return 'dir';
  return readAll(c.readFile(p));
}

const describe = (s: Buffer | 'dir' | undefined): string => s === undefined ? 'absent' : s === 'dir' ? 'a directory' : `${s.length} bytes`;
const same = (a: Buffer | 'dir' | undefined, b: Buffer | 'dir'): boolean => (a === 'dir' || b === 'dir' ? a === b : a !== undefined && a.equals(b));

test.before(async () => {
  dataDir = await tempDir('strata-group-data-');
  ufsDir = await tempDir('strata-group-ufs-');
});

test.after(async () => {
  await server?.kill().catch(() => undefined);
  for (const d of [dataDir, ufsDir]) await rm(d, { recursive: true, force: true });
});

test(`kill -9 during ${IN_FLIGHT} concurrent creates: every acknowledged create survives (${ROUNDS} rounds)`, async () => {
  let killedInFlight = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const c = await boot();
    try {
      // Everything acknowledged before (and every kill) is still there, exactly.
      for (const [p, want] of acked) {
        const got = await stateOf(c, p);
        assert.ok(same(got, want), `round ${round}: acknowledged ${p} is ${describe(got)}, expected ${describe(want)}`);
      }
      for (const [p, want] of inFlight) {
        const got = await stateOf(c, p);
        if (got !== undefined) assert.ok(same(got, want), `round ${round}: ${p}, in flight at the kill, exists but is ${describe(got)} instead of ${describe(want)}`);
      }
      inFlight.clear();
      await c.createDirectory(`/r${round}`, { writeType: 'MUST_CACHE' });
      acked.set(`/r${round}`, 'dir');

      // IN_FLIGHT workers create until the kill; bounded by count and time.
      let stop = false;
      let seq = 0;
      const deadline = Date.now() + 60_000;
      const worker = async (): Promise<void> => {
        while (!stop && seq < 5000 && Date.now() < deadline) {
          const n = seq++;
          const p = `/r${round}/c${n}`;
          const kind = n % 5;
          const data: Buffer | 'dir' = kind === 4 ? 'dir' : randomBytes(kind === 3 ? BLOCK * 2 + 17 : 1 + randomInt(300));
          const wt: WriteType = kind === 2 ? 'CACHE_THROUGH' : 'MUST_CACHE';
          inFlight.set(p, data);
          try {
            if (data === 'dir') await c.createDirectory(p, { writeType: 'MUST_CACHE' });
            else await c.writeFile(p, data, { writeType: wt });
          } catch {
            return; // the server went away: this one stays in flight
          }
          inFlight.delete(p);
          acked.set(p, data);
        }
      };
      const workers = Array.from({ length: IN_FLIGHT }, () => worker());
      // Kill once the creates are in full swing, at a random moment.
      const start = Date.now();
      while (seq < 50 + randomInt(150) && Date.now() - start < 30_000) await sleep(5);
      await server!.kill();
      stop = true;
      await Promise.all(workers);
      killedInFlight += inFlight.size;
      server = undefined;
    } finally {
      await c.close().catch(() => undefined);
    }
  }
  // The last kill is checked too.
  const c = await boot();
  try {
    for (const [p, want] of acked) {
      const got = await stateOf(c, p);
      assert.ok(same(got, want), `after the last kill: acknowledged ${p} is ${describe(got)}, expected ${describe(want)}`);
    }
    for (const [p, want] of inFlight) {
      const got = await stateOf(c, p);
      if (got !== undefined) assert.ok(same(got, want), `after the last kill: ${p}, in flight, is ${describe(got)}`);
    }
    const report = await c.checkConsistency('/', { recursive: true });
    console.log(`  ${ROUNDS} rounds, ${acked.size} acknowledged creates checked after each kill, ${killedInFlight} in flight at the kills`);
    assert.equal(report.inconsistent, [], 'checkConsistency is clean after the kills');
  } finally {
    await c.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    server = undefined;
  }
});

test.run();
