// The gateway's caps on what clients hold (s3.gateway.max.requests, s3.gateway.max.connections):
// each PUT in flight holds up to 1 MiB of its body in memory, so requests in flight are bounded;
// one beyond the cap, or on a connection beyond the connection cap, is answered 503 SlowDown at
// once (the S3 answer SDKs back off and retry on), and the gateway serves again once below.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CreateBucketCommand, HeadBucketCommand, ListObjectsV2Command, S3ServiceException } from '@aws-sdk/client-s3';
import { openGateway, openSignedRequest, type GatewayEnv } from './helpers/gateway.js';
import { waitFor } from './helpers/fixture.js';



async function sdkError(p: Promise<unknown>): Promise<S3ServiceException | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err as S3ServiceException;
  }
}

test('requests beyond s3.gateway.max.requests get 503 SlowDown; served again once the others are done', async () => {
  const g = await openGateway({}, { maxRequests: 2 });
  try {
    const s3 = g.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'lim' }));
    // Two PUTs whose bodies are half sent: two requests in flight.
    const held = await Promise.all([0, 1].map(async (i) => {
      const o = await openSignedRequest(g, 'PUT', `/lim/held-${i}`, 2048);
      o.send(Buffer.alloc(1024, 'h'));
      return o;
    }));
    await new Promise((r) => setTimeout(r, 200));
    const e = await sdkError(s3.send(new ListObjectsV2Command({ Bucket: 'lim' })));
    assert.ok(e, 'the third request is refused');
    assert.is(e!.name, 'SlowDown');
    assert.is(e!.$metadata.httpStatusCode, 503);
    const raw = await (await openSignedRequest(g, 'PUT', '/lim/third', 4)).finish(Buffer.from('abcd'));
    assert.is(raw.status, 503);
    assert.match(raw.text, /<Code>SlowDown<\/Code>/);
    assert.match(raw.text, /more than 2 requests are in flight/);
    assert.is(raw.headers['retry-after'], '1');
    for (const o of held) assert.is((await o.finish(Buffer.alloc(1024, 'h'))).status, 200);
    await s3.send(new HeadBucketCommand({ Bucket: 'lim' }));
    const list = await s3.send(new ListObjectsV2Command({ Bucket: 'lim' }));
    assert.equal(list.Contents?.map((c) => c.Key), ['held-0', 'held-1'], 'the refused PUT wrote nothing');
    assert.ok((g.gw.metrics['requests.Throttled.503'] ?? 0) >= 2);
    assert.ok((g.gw.metrics['errors.SlowDown'] ?? 0) >= 2);
  } finally {
    await g.dispose();
  }
});

test('a request on a connection beyond s3.gateway.max.connections gets 503 SlowDown and the connection closes', async () => {
  const g = await openGateway({}, { maxConnections: 2 });
  try {
    const s3 = g.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'lim' }));
    s3.destroy();
    await new Promise((r) => setTimeout(r, 200)); // the SDK's connection has gone
    const held = await Promise.all([0, 1].map(async (i) => {
      const o = await openSignedRequest(g, 'PUT', `/lim/c-${i}`, 2);
      o.send(Buffer.from('c'));
      return o;
    }));
    await new Promise((r) => setTimeout(r, 200));
    const third = await (await openSignedRequest(g, 'GET', '/lim', 0)).finish();
    assert.is(third.status, 503, third.text);
    assert.match(third.text, /more than 2 connections are open/);
    assert.is(third.headers.connection, 'close');
    for (const o of held) assert.is((await o.finish(Buffer.from('c'))).status, 200);
    // Those connections close (agent: false); a new one is served.
    let ok = 0;
    await waitFor(async () => { ok = (await (await openSignedRequest(g, 'GET', '/lim', 0)).finish()).status; return ok === 200; }, 'a request once below the cap');
  } finally {
    await g.dispose();
  }
});

test.run();
