// Every per-call option is validated by the coordinator whatever client sent it: library
// mode and the TCP protocol get the same BAD_REQUEST naming the option and the value, and a
// refused call changes nothing (a BOGUS write type leaves no file, in Strata or the UFS).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openEnv, readAll, serveTcp } from './helpers/fixture.js';
import type { Env, TcpEnv } from './helpers/fixture.js';
import type { FileSystem } from '../src/fs.js';
import { OPTION_TABLES, validateOptions } from '../src/coordinator/validate-options.js';

let env: Env;
let tcp: TcpEnv;

test.before(async () => {
  env = await openEnv();
  tcp = await serveTcp(env.fs);
  await env.fs.writeFile('/f', Buffer.from('hello world'));
  await env.fs.createDirectory('/d');
});
test.after(async () => {
  await tcp.close();
  await env.dispose();
});

async function refusal(p: () => Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { code: e.code ?? 'NONE', message: e.message ?? '' };
  }
  return { code: 'RESOLVED', message: '' };
}

/** [what, call, option name, value as shown in the message] */
const CASES: Array<[string, (fs: FileSystem) => Promise<unknown>, string, string]> = [
  ['writeType BOGUS', (fs) => fs.writeFile('/bogus', Buffer.from('x'), { writeType: 'BOGUS' as never }), 'writeType', '"BOGUS"'],
  ['chunkSize NaN', (fs) => readAll(fs.readFile('/f', { chunkSize: NaN })), 'chunkSize', 'NaN'],
  ['pageSize NaN', async (fs) => { for await (const _ of fs.listStatus('/d', { pageSize: NaN })) { /* drain */ } }, 'pageSize', 'NaN'],
  ['negative offset', (fs) => readAll(fs.readFile('/f', { offset: -1 })), 'offset', '-1'],
  ['fractional length', (fs) => readAll(fs.readFile('/f', { length: 1.5 })), 'length', '1.5'],
  ['readType as a number', (fs) => readAll(fs.readFile('/f', { readType: 1 as never })), 'readType', '1'],
  ['syncIntervalMs as a string', (fs) => fs.getStatus('/f', { syncIntervalMs: 'soon' as never }), 'syncIntervalMs', '"soon"'],
  ['syncIntervalMs -2', (fs) => fs.exists('/f', { syncIntervalMs: -2 }), 'syncIntervalMs', '-2'],
  ['loadType MAYBE', (fs) => fs.getStatus('/f', { loadType: 'MAYBE' as never }), 'loadType', '"MAYBE"'],
  ['blockSize 0', (fs) => fs.writeFile('/bs0', Buffer.from('x'), { blockSize: 0 }), 'blockSize', '0'],
  ['recursive "yes"', (fs) => fs.delete('/d', { recursive: 'yes' as never }), 'recursive', '"yes"'],
  ['mkdir writeType', (fs) => fs.createDirectory('/nd', { writeType: 'through' as never }), 'writeType', '"through"'],
  ['ttlAction explode', (fs) => fs.writeFile('/ttl', Buffer.from('x'), { ttlAction: 'explode' as never }), 'ttlAction', '"explode"'],
  ['free recursive 1', (fs) => fs.free('/d', { recursive: 1 as never }), 'recursive', '1'],
  ['mount options not strings', (fs) => fs.mount('/mx', 'file:///nonexistent', { options: { a: 1 } as never }), 'options', '{"a":1}'],
];

for (const [mode, fsOf] of [['library', () => env.fs], ['tcp', () => tcp.client]] as const) {
  test(`${mode}: ill-typed or unknown option values are BAD_REQUEST naming option and value`, async () => {
    for (const [what, call, option, shown] of CASES) {
      const r = await refusal(() => call(fsOf()));
      assert.is(r.code, 'BAD_REQUEST', `${what}: ${r.code} ${r.message}`);
      assert.ok(r.message.includes(option), `${what}: message names the option: ${r.message}`);
      assert.ok(r.message.includes(shown), `${what}: message names the value ${shown}: ${r.message}`);
    }
  });
}

test('a refused write changes nothing: no file in Strata or in the UFS', async () => {
  assert.is(await env.fs.exists('/bogus'), false);
  assert.not.ok(existsSync(join(env.ufsDir, 'bogus')));
  assert.is(await env.fs.exists('/bs0'), false);
  assert.is(await env.fs.exists('/d'), true, 'the refused delete left the directory');
});

test('valid options still work, null means not given', async () => {
  assert.is((await readAll(env.fs.readFile('/f', { offset: 6, chunkSize: 4096, readType: 'NO_CACHE' }))).toString(), 'world');
  assert.is((await env.fs.getStatus('/f', { syncIntervalMs: -1, loadType: 'ONCE' })).length, 11);
  validateOptions('readFile', { offset: null, tail: undefined, someNewOption: 'ignored' });
});

test('every options table has a check per key (one table per options type)', () => {
  for (const [kind, table] of Object.entries(OPTION_TABLES)) {
    assert.ok(Object.keys(table).length > 0, kind);
    for (const [k, check] of Object.entries(table)) assert.type(check, 'function', `${kind}.${k}`);
  }
});

test.run();
