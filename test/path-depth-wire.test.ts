// path.max.depth on the wire: a call naming a path deeper than the limit is refused with
// INVALID_PATH before the FileSystem sees it; the limit itself is accepted.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StrataServer } from '../src/server/tcp-server.js';
import { StrataClient } from '../src/client/tcp-client.js';
import type { FileSystem } from '../src/fs.js';
import { codeOf } from './helpers/fixture.js';

test('paths deeper than maxPathDepth get INVALID_PATH; the limit itself reaches the FileSystem', async () => {
  const seen: string[] = [];
  const fs = new Proxy({} as FileSystem, {
    get: (_t, prop) => async (p: string) => { seen.push(`${String(prop)} ${p.split('/').length - 1}`); return true; },
  });
  const server = new StrataServer(fs, { port: 0, insecureNoAuth: true, maxPathDepth: 8 });
  const c = await StrataClient.connect(await server.listen());
  try {
    const deep = (n: number): string => '/' + Array.from({ length: n }, (_, i) => `d${i}`).join('/');
    assert.is(await c.exists(deep(8)), true);
    assert.is(await codeOf(c.exists(deep(9))), 'INVALID_PATH');
    assert.is(await codeOf(c.rename('/a', deep(40))), 'INVALID_PATH');
    assert.is(await codeOf(c.getStatus(deep(5000))), 'INVALID_PATH');
    assert.equal(seen, ['exists 8']);
  } finally {
    await c.close();
    await server.close();
  }
});

test.run();
