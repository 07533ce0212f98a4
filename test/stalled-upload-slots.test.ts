// A stalled upload occupies no slot of its shard: 48 uploads on one connection send a first
// chunk and then nothing (more than a shard actor runs at once, 32), all in one shard; while
// they wait for data (upload.idle.timeout far away), mkdir and getStatus in that same shard
// and in other shards are served, and the stalled uploads are still open. When their data
// finally arrives, every upload completes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StrataClient } from '../src/client/tcp-client.js';
import { StrataServer } from '../src/server/tcp-server.js';
import { UserStore } from '../src/auth/users.js';
import { rawConnect, type RawSocket } from './helpers/raw-socket.js';
import { PROTOCOL_VERSION } from '../src/protocol/messages.js';
import { TEST_ADMIN, TEST_ADMIN_TOKEN, openEnv, readText } from './helpers/fixture.js';

const STALLED = 48;

/** Resolves to the result, or to 'still waiting' when `p` has not settled within `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'still waiting'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<'still waiting'>((r) => { timer = setTimeout(() => r('still waiting'), ms); })])
    .finally(() => clearTimeout(timer));
}

test('uploads stalled after their first chunk hold no shard slot; other operations of that shard and others are served', async () => {
  const env = await openEnv();
  const server = new StrataServer(env.fs, { host: '127.0.0.1', port: 0, users: new UserStore([TEST_ADMIN]), uploadIdleTimeoutMs: 600_000 });
  const addr = await server.listen();
  const uploader = await StrataClient.connect(addr, { token: TEST_ADMIN_TOKEN });
  const good = await StrataClient.connect(addr, { token: TEST_ADMIN_TOKEN });
  let rawSock: RawSocket | undefined;
  try {
    await good.createDirectory('/s/a', { recursive: true, writeType: 'MUST_CACHE' });
    await good.createDirectory('/other/b', { recursive: true, writeType: 'MUST_CACHE' });
    // All in the shard of /s/a (shard.depth 2), on one raw connection: a first chunk, then nothing.
    const [kid, secret] = TEST_ADMIN_TOKEN.split(':');
    const raw = await rawConnect(addr);
    rawSock = raw;
    raw.send({ t: 'hello', v: PROTOCOL_VERSION, client: 'stalled', cred: { id: kid, secret } });
    await raw.frame((m) => m.t === 'hello');
    for (let i = 1; i <= STALLED; i++) {
      raw.send({ t: 'req', id: i, op: 'writeFile', args: [`/s/a/up${i}`, null, { writeType: 'MUST_CACHE' }] });
      raw.send({ t: 'data', id: i, chunk: Buffer.from(`first-${i};`) });
    }
    // Let the server receive the first chunks and start every upload's mutation.
    await new Promise((r) => setTimeout(r, 1500));
    const queued = (await env.fs.getReport()).sync.actorQueued;
    // Same shard: a mkdir and a getStatus; another shard: the same.
    const sameShard = await within(good.createDirectory('/s/a/newdir', { writeType: 'MUST_CACHE' }), 60_000);
    assert.ok(sameShard !== 'still waiting', 'mkdir in the shard of the stalled uploads was served');
    assert.is((await within(good.getStatus('/s/a'), 60_000) as { type?: string }).type, 'directory');
    const otherShard = await within(good.createDirectory('/other/b/c', { writeType: 'MUST_CACHE' }), 60_000);
    assert.ok(otherShard !== 'still waiting', 'mkdir in another shard was served');
    if (process.env.STRATA_TEST_VERBOSE) console.log(`actor messages queued with ${STALLED} stalled uploads: ${queued}`);
    assert.is(queued, 0, 'no message waits for a slot of the shard');
    // The uploads are still open: their data arrives and each completes.
    for (let i = 1; i <= STALLED; i++) {
      raw.send({ t: 'data', id: i, chunk: Buffer.from('rest') });
      raw.send({ t: 'end', id: i });
    }
    const done = await within(raw.frame((m) => m.t === 'res' && m.id === STALLED), 60_000);
    assert.ok(done !== 'still waiting', 'the last upload completed');
    assert.is(await readText(good, `/s/a/up${STALLED}`), `first-${STALLED};rest`);
  } finally {
    rawSock?.sock.destroy();
    await uploader.close().catch(() => undefined);
    await good.close().catch(() => undefined);
    await server.close();
    await env.dispose();
  }
});

test.run();
