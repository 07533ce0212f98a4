// A bounded fuzz run (>= 20,000 frames, seeded) against a real `strata server` process:
// random bytes, random msgpack, mutated and truncated frames, oversized prefixes and random
// requests after a valid hello. The server survives, a well-behaved client connected
// throughout gets every answer right, and the server's RSS stays within a generous bound.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { StrataClient } from '../src/client/tcp-client.js';
import { startServer, type ServerHandle } from './helpers/server.js';
import { runFuzz } from './helpers/fuzz.js';

const FRAMES = Number(process.env.STRATA_FUZZ_FRAMES ?? 20_000);

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

let srv: ServerHandle;

test.before(async () => {
  srv = await startServer({ args: ['-D', 'upload.idle.timeout=2s'] });
});

test.after(async () => {
  await srv?.stop();
  if (srv) await rm(srv.dataDir, { recursive: true, force: true });
});

test(`${FRAMES} fuzz frames: the server survives and a good client is answered throughout`, async () => {
  const good = await StrataClient.connect(srv.address, { token: srv.token });
  await good.createDirectory('/good');
  await good.writeFile('/good/f.txt', (async function* () { yield Buffer.from('steady'); })());
  const before = rssMb(srv.proc.pid!);
  const [host, port] = [srv.address.slice(0, srv.address.lastIndexOf(':')), Number(srv.address.slice(srv.address.lastIndexOf(':') + 1))];
  let goodCalls = 0;
  let stop = false;
  const goodLoop = (async () => {
    for (let i = 0; !stop && i < 1_000_000; i++) {
      const st = await good.getStatus('/good/f.txt');
      assert.is(st.length, 6);
      goodCalls++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const stats = await runFuzz({ host, port, token: srv.token!, frames: FRAMES, seed: 20261201 });
  stop = true;
  await goodLoop;
  const after = rssMb(srv.proc.pid!);
  assert.ok(stats.frames >= FRAMES, `${stats.frames} frames sent`);
  assert.is(srv.proc.exitCode, null, 'the server is alive');
  assert.ok(goodCalls > 0, 'the good client was answered during the fuzz');
  // Still serving after the fuzz, on the old connection and on a new one.
  assert.is((await good.getStatus('/good/f.txt')).length, 6);
  const again = await StrataClient.connect(srv.address, { token: srv.token });
  assert.is((await again.getStatus('/good')).type, 'directory');
  await again.close();
  await good.close();
  assert.ok(after - before < 400, `RSS ${Math.round(before)} -> ${Math.round(after)} MB`);
  if (process.env.STRATA_TEST_VERBOSE) {
    process.stderr.write(`fuzz: ${JSON.stringify(stats)} good calls ${goodCalls} RSS ${before.toFixed(0)} -> ${after.toFixed(0)} MB\n`);
  }
});

test.run();
