// The CLI side of the integrity fixes, as real processes against a real server:
// checkConsistency exits 1 when anything (UFS-only entries included) is inconsistent and 0
// when clean, human and --json; copyToLocal into a missing local directory is NOT_FOUND;
// free DIR frees what it can and lists what it kept; `mount /x s3://` is INVALID_ARGUMENT.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli, startServer, tempDir } from './helpers/server.js';
import type { CliResult, ServerHandle } from './helpers/server.js';

let srv: ServerHandle;
let ufs: string;
let local: string;
const fs = (...args: string[]): Promise<CliResult> => runCli(['fs', '--address', srv.address, ...args]);

async function ok(p: Promise<CliResult>, what: string): Promise<CliResult> {
  const r = await p;
  assert.is(r.code, 0, `${what} failed (${r.code}): ${r.stderr}`);
  return r;
}

test.before(async () => {
  ufs = await tempDir('strata-cli-int-ufs-');
  local = await tempDir('strata-cli-int-local-');
  srv = await startServer({ args: ['--root-ufs', pathToFileURL(ufs).href, '-D', 'persist.initial.wait=1h'] });
});

test.after(async () => {
  if (srv) await srv.stop();
  for (const d of [ufs, local, srv?.dataDir]) if (d) await rm(d, { recursive: true, force: true });
});

test('checkConsistency: exit 0 when clean, 1 when a UFS-only entry appears (human and --json)', async () => {
  await mkdir(join(ufs, 'cc'));
  await writeFile(join(ufs, 'cc', 'a'), 'a');
  await ok(fs('loadMetadata', '-R', '/cc'), 'loadMetadata');
  const clean = await ok(fs('checkConsistency', '/cc'), 'clean checkConsistency');
  assert.match(clean.stdout, /consistent/);
  await writeFile(join(ufs, 'cc', 'outside-only'), 'o');
  const human = await fs('checkConsistency', '/cc');
  assert.is(human.code, 1, human.stderr);
  assert.match(human.stdout, /\/cc\/outside-only \(only in the UFS\)/);
  const json = await fs('--json', 'checkConsistency', '/cc');
  assert.is(json.code, 1);
  const r = JSON.parse(json.stdout);
  assert.equal(r.ufsOnly, ['/cc/outside-only']);
  assert.equal(r.inconsistent, ['/cc/outside-only']);
  const repaired = await fs('--json', 'checkConsistency', '-r', '/cc');
  assert.is(JSON.parse(repaired.stdout).repaired, 1);
  await ok(fs('--json', 'checkConsistency', '/cc'), 'clean again');
  // Alluxio's spelling: the whole subtree by default, --no-recursive for one level, --repair as -r.
  await mkdir(join(ufs, 'cc', 'sub'));
  await writeFile(join(ufs, 'cc', 'sub', 'b'), 'b');
  await ok(fs('loadMetadata', '-R', '/cc'), 'loadMetadata of sub');
  await writeFile(join(ufs, 'cc', 'sub', 'b'), 'b changed outside');
  const deep = await fs('--json', 'checkConsistency', '/cc');
  assert.is(deep.code, 1, deep.stderr);
  assert.equal(JSON.parse(deep.stdout).inconsistent, ['/cc/sub/b']);
  await ok(fs('--json', 'checkConsistency', '--no-recursive', '/cc'), 'one level: the change below is not looked at');
  assert.is(JSON.parse((await fs('--json', 'checkConsistency', '--repair', '-R', '/cc')).stdout).repaired, 1);
  await ok(fs('checkConsistency', '/cc'), 'clean after --repair');
});

test('copyToLocal into a missing local directory is NOT_FOUND naming it', async () => {
  await ok(fs('touch', '/t.txt'), 'touch');
  const missing = join(local, 'no', 'such', 'dir', 't.txt');
  const r = await fs('copyToLocal', '/t.txt', missing);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /^strata: NOT_FOUND: .*no\/such\/dir/m);
  const j = await fs('--json', 'copyToLocal', '/t.txt', missing);
  assert.is(JSON.parse(j.stdout).error.code, 'NOT_FOUND');
});

test('free DIR frees what it can and says what it kept and why', async () => {
  await writeFile(join(local, 'f.bin'), Buffer.alloc(100_000, 3));
  await ok(fs('copyFromLocal', join(local, 'f.bin'), '/fr/persisted.bin'), 'copy persisted');
  await ok(fs('copyFromLocal', '--write-type', 'MUST_CACHE', join(local, 'f.bin'), '/fr/only-here.bin'), 'copy MUST_CACHE');
  const human = await ok(fs('free', '/fr'), 'free');
  assert.match(human.stdout, /1 file/);
  assert.match(human.stdout, /kept 1 file .*\n\s+\/fr\/only-here\.bin: it is NOT_PERSISTED/);
  const json = JSON.parse((await ok(fs('--json', 'free', '/fr'), 'free --json')).stdout);
  assert.is(json.keptFiles, 1);
  assert.equal(json.kept.map((k: { path: string }) => k.path), ['/fr/only-here.bin']);
});

test('mount /x s3:// is INVALID_ARGUMENT', async () => {
  const r = await fs('mount', '/x', 's3://');
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /^strata: INVALID_ARGUMENT: /m);
});

test.run();
