// Short-circuit reads of a TCP FUSE mount on the server's host: a cached file is read from
// the server's block files (right bytes, block boundaries included), a file overwritten
// through another client is read in its new version (never stale bytes), a stale view or
// an evicted block falls back to the TCP path, and the server answers getLocalBlocks only
// to loopback peers and only for paths the user may read.

import { createHash, randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StrataClient } from '../src/client/tcp-client.js';
import { ErrorCode, StrataError } from '../src/errors.js';
import { ShortCircuitReads } from '../src/fuse/short-circuit.js';
import { logger } from '../src/log.js';
import { localBlocksOf } from '../src/server/short-circuit.js';
import { StrataServer } from '../src/server/tcp-server.js';
import { fuseSkipReason, openFuseEnv, shOk } from './helpers/fuse.js';
import type { FuseEnv } from './helpers/fuse.js';

const skip = fuseSkipReason();
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
// Three blocks of the default 4 MB block size, the last one not inline (> 32 KiB).
const SIZE = (10 << 20) + 12_345;

if (skip) {
  console.log(`FUSE tests skipped: ${skip}`);
  test.skip('short-circuit reads', () => {});
} else {
  let f: FuseEnv;
  let server: StrataServer;
  let client: StrataClient;
  let other: StrataClient;
  let tcp: Awaited<ReturnType<FuseEnv['mountMore']>>;
  test.before(async () => {
    // Sync interval 0: no kernel or daemon caching, every open asks the server.
    f = await openFuseEnv({ 'metadata.sync.interval': '0' });
    server = new StrataServer(f.env.fs, { host: '127.0.0.1', port: 0, insecureNoAuth: true, localBlocks: f.env.fs.blocks });
    const { port } = await server.listen();
    client = await StrataClient.connect(`127.0.0.1:${port}`);
    other = await StrataClient.connect(`127.0.0.1:${port}`);
    tcp = await f.mountMore({ fs: client });
  });
  test.after(async () => {
    await f?.dispose();
    await client?.close().catch(() => undefined);
    await other?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
  });

  test('a cached file is read from the block files, byte for byte', async () => {
    const data = randomBytes(SIZE);
    await other.writeFile('/big.bin', data);
    const stats = tcp.mount.handlers.shortCircuitStats!;
    assert.ok(stats, 'a TCP mount on the server host uses short-circuit reads');
    const opened = stats.opened;
    const out = await shOk(`sha256sum < ${tcp.dir}/big.bin`);
    assert.is(out.split(' ')[0], sha(data));
    assert.ok(stats.opened > opened, 'the read went through the block files');
    // Reads across block boundaries at odd offsets.
    const part = await shOk(`dd if=${tcp.dir}/big.bin bs=1000 skip=4190 count=10 2>/dev/null | sha256sum`);
    assert.is(part.split(' ')[0], sha(data.subarray(4_190_000, 4_200_000)));
  });

  test('a file overwritten through another client is read in its new version', async () => {
    const stats = tcp.mount.handlers.shortCircuitStats!;
    for (let round = 0; round < 3; round++) {
      const data = randomBytes(SIZE); // same size: only the content id tells the versions apart
      await other.writeFile('/big.bin', data, { overwrite: true });
      const out = await shOk(`sha256sum < ${tcp.dir}/big.bin`);
      assert.is(out.split(' ')[0], sha(data), `round ${round}: the new bytes`);
    }
    assert.ok(stats.opened >= 3);
  });

  test('a stale view or an evicted block falls back to TCP', async () => {
    const old = await client.getStatus('/big.bin');
    const data = randomBytes(SIZE);
    await other.writeFile('/big.bin', data, { overwrite: true });
    const sc = new ShortCircuitReads((p) => client.getLocalBlocks(p), logger);
    // The daemon's status names the old content id: the server's answer (the new one) is refused.
    assert.is(await sc.open('/big.bin', old), undefined);
    assert.is(sc.stats.fellBack, 1);
    // Evicted between the server's answer and the daemon's open: ENOENT, read over TCP.
    const now = await client.getStatus('/big.bin');
    const racing = new ShortCircuitReads(async (p) => {
      const a = await client.getLocalBlocks(p);
      await f.env.fs.free(p);
      return a;
    }, logger);
    assert.is(await racing.open('/big.bin', now), undefined);
    assert.is(racing.stats.fellBack, 1);
    // And through the mount the evicted file still reads right (the TCP path loads it again).
    const out = await shOk(`sha256sum < ${tcp.dir}/big.bin`);
    assert.is(out.split(' ')[0], sha(data));
    // Not cached whole: the server says so.
    await f.env.fs.free('/big.bin');
    assert.is(await client.getLocalBlocks('/big.bin'), null);
  });

  test('-o fuse.short.circuit=false reads over TCP', async () => {
    const off = await f.mountMore({ fs: client, options: ['fuse.short.circuit=false'] });
    assert.is(off.mount.handlers.shortCircuitStats, undefined);
    const data = randomBytes(SIZE);
    await other.writeFile('/big.bin', data, { overwrite: true });
    const out = await shOk(`sha256sum < ${off.dir}/big.bin`);
    assert.is(out.split(' ')[0], sha(data));
  });

  test('getLocalBlocks: loopback peers only, authorized as a read', async () => {
    const fs = f.env.fs;
    const denied = async (p: Promise<unknown>, code: string): Promise<void> => {
      try {
        await p;
        assert.unreachable('should have failed');
      } catch (err) {
        assert.instance(err, StrataError);
        assert.is((err as StrataError).code, code);
      }
    };
    await denied(localBlocksOf({ fs, user: undefined, blocks: fs.blocks, remoteAddress: '192.0.2.7', path: '/big.bin' }), ErrorCode.PERMISSION_DENIED);
    await denied(localBlocksOf({ fs, user: undefined, blocks: fs.blocks, remoteAddress: undefined, path: '/big.bin' }), ErrorCode.PERMISSION_DENIED);
    await denied(localBlocksOf({ fs, user: undefined, blocks: undefined, remoteAddress: '127.0.0.1', path: '/big.bin' }), ErrorCode.FAILED_PRECONDITION);
    const user = { name: 'u', accessKeyId: 'AK', secretKey: 'S', role: 'user' as const, prefixes: ['/mine'] };
    await denied(localBlocksOf({ fs, user, blocks: fs.blocks, remoteAddress: '::ffff:127.0.0.1', path: '/big.bin' }), ErrorCode.PERMISSION_DENIED);
    const ok = await localBlocksOf({ fs, user: undefined, blocks: fs.blocks, remoteAddress: '::1', path: '/' });
    assert.is(ok, null, 'a directory has no block files');
  });
}

test.run();
