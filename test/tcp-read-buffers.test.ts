// Hot reads over TCP stream block files into pooled buffers that the server gives back once
// the socket wrote them: the bytes stay right under concurrent, partial and abandoned reads,
// also while in-process readers (which never give chunks back) read the same file.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { StrataServer } from '../src/server/tcp-server.js';
import { StrataClient } from '../src/client/tcp-client.js';
import { freeReadBuffers } from '../src/data/read-buffers.js';
import type { FileSystem } from '../src/fs.js';

const quiet = pino({ level: 'silent' });
const SIZE = 9 * (1 << 20) + 12345; // 3 blocks of 4 MiB, the last one partial

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >>> 11)) & 0xff;
  return b;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function readAll(fs: FileSystem, path: string, opts?: { offset?: number; length?: number }): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  // Keep every chunk (an in-process reader may hold them): copies would hide a reuse bug.
  for await (const c of fs.readFile(path, opts)) parts.push(c);
  return Buffer.concat(parts);
}

test('hot reads over TCP are byte-exact under concurrency, ranges and cancellation; pooled buffers come back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-readbuf-'));
  const c = await Coordinator.open({ dataDir: dir, logger: quiet });
  const server = new StrataServer(c, { port: 0, logger: quiet, insecureNoAuth: true });
  let client: StrataClient | undefined;
  try {
    const { port } = await server.listen();
    const data = pattern(SIZE);
    await c.writeFile('/f', data, { writeType: 'MUST_CACHE' });
    client = await StrataClient.connect({ host: '127.0.0.1', port });
    const want = sha(data);
    // Concurrent TCP readers and in-process readers of the same file.
    const reads = await Promise.all([
      readAll(client, '/f'), readAll(client, '/f'), readAll(client, '/f'), readAll(c, '/f'), readAll(c, '/f'),
    ]);
    for (const r of reads) assert.is(sha(r), want);
    assert.ok(freeReadBuffers() > 0, 'the server gave buffers back to the pool');
    // Ranges across block boundaries, and a read abandoned early.
    const cl = client;
    for (const [offset, length] of [[0, 1], [4 * (1 << 20) - 3, 10], [(1 << 20) + 7, 5 * (1 << 20)], [SIZE - 100, 100]] as const) {
      const r = await readAll(cl, '/f', { offset, length });
      assert.is(sha(r), sha(data.subarray(offset, offset + length)), `range ${offset}+${length}`);
    }
    for (let i = 0; i < 3; i++) {
      for await (const chunk of cl.readFile('/f')) { assert.ok(chunk.length > 0); break; }
    }
    const again = await Promise.all([readAll(cl, '/f'), readAll(c, '/f')]);
    for (const r of again) assert.is(sha(r), want);
  } finally {
    await client?.close();
    await server.close();
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
