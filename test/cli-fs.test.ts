// `strata fs …` as a real process against a real `strata server` process: directories,
// copies with each write type, byte-identical reads, listings (human and --json with the
// SPEC's fields), mounts, test/rm/mv/du/count, and the one error format.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, startServer, tempDir } from './helpers/server.js';
import type { CliResult, ServerHandle } from './helpers/server.js';

const FILE_FIELDS = ['path', 'name', 'type', 'length', 'mtimeMs', 'fileId', 'persistenceState',
  'cachedBytes', 'pinned', 'mountPoint', 'ufsPath'].sort();

let srv: ServerHandle;
let local: string;
let data: Buffer;
let dataFile: string;

const fs = (...args: string[]): Promise<CliResult> => runCli(['fs', '--address', srv.address, ...args]);

function ok(r: CliResult, what: string): CliResult {
  assert.is(r.code, 0, `${what} failed (${r.code}): ${r.stderr}`);
  return r;
}

function failsWith(r: CliResult, code: string, mention?: string): void {
  assert.ok(r.code !== 0, `expected failure ${code}, got exit 0: ${r.stdout}`);
  assert.match(r.stderr, new RegExp(`^strata: ${code}: .+`, 'm'));
  if (mention) assert.ok(r.stderr.includes(mention), `message should name ${mention}: ${r.stderr}`);
}

test.before(async () => {
  srv = await startServer();
  local = await tempDir();
  data = randomBytes(300 * 1024 + 17);
  dataFile = join(local, 'data.bin');
  await writeFile(dataFile, data);
});

test.after(async () => {
  if (srv) await srv.stop();
  if (local) await rm(local, { recursive: true, force: true });
  if (srv) await rm(srv.dataDir, { recursive: true, force: true });
});

test('mkdir -p creates parents and tolerates an existing directory; plain mkdir does not', async () => {
  ok(await fs('mkdir', '-p', '/a/b/c'), 'mkdir -p');
  ok(await fs('mkdir', '-p', '/a/b/c'), 'mkdir -p again');
  failsWith(await fs('mkdir', '/a/b/c'), 'ALREADY_EXISTS', '/a/b/c');
  const st = JSON.parse(ok(await fs('--json', 'stat', '/a/b'), 'stat').stdout);
  assert.is(st.type, 'directory');
});

for (const [writeType, state, inUfs] of [
  ['MUST_CACHE', 'NOT_PERSISTED', false],
  ['THROUGH', 'PERSISTED', true],
  ['CACHE_THROUGH', 'PERSISTED', true],
] as const) {
  test(`copyFromLocal --write-type ${writeType}: cat is byte-identical, state ${state}`, async () => {
    const path = `/w/${writeType}.bin`;
    ok(await fs('mkdir', '-p', '/w'), 'mkdir');
    ok(await fs('copyFromLocal', '--write-type', writeType, dataFile, path), 'copyFromLocal');
    const cat = ok(await fs('cat', path), 'cat');
    assert.ok(cat.stdoutBytes.equals(data), 'cat output differs from the local file');
    const st = JSON.parse(ok(await fs('stat', '--json', path), 'stat').stdout);
    assert.is(st.persistenceState, state);
    assert.is(st.length, data.length);
    assert.is(existsSync(join(srv.dataDir, 'ufs', 'w', `${writeType}.bin`)), inUfs, `file in the root UFS: ${inUfs}`);
    if (writeType !== 'THROUGH') assert.is(st.cachedBytes, data.length);
  });
}

test('head and tail print the first / last bytes (default 1KB)', async () => {
  const path = '/w/CACHE_THROUGH.bin';
  assert.ok(ok(await fs('head', '-c', '100', path), 'head').stdoutBytes.equals(data.subarray(0, 100)));
  assert.ok(ok(await fs('tail', '-c', '100', path), 'tail').stdoutBytes.equals(data.subarray(data.length - 100)));
  assert.ok(ok(await fs('head', path), 'head').stdoutBytes.equals(data.subarray(0, 1024)));
  assert.ok(ok(await fs('tail', path), 'tail').stdoutBytes.equals(data.subarray(data.length - 1024)));
  assert.ok(ok(await fs('head', '-c', '2KB', path), 'head 2KB').stdoutBytes.equals(data.subarray(0, 2048)));
});

test('stat --json prints exactly the SPEC fields', async () => {
  const st = JSON.parse(ok(await fs('--json', 'stat', '/w/THROUGH.bin'), 'stat').stdout);
  assert.equal(Object.keys(st).sort(), FILE_FIELDS);
  assert.is(st.path, '/w/THROUGH.bin');
  assert.is(st.name, 'THROUGH.bin');
  assert.is(st.type, 'file');
  assert.is(st.mountPoint, '/');
  assert.ok(String(st.ufsPath).endsWith('/w/THROUGH.bin'), st.ufsPath);
  assert.type(st.fileId, 'number');
  assert.type(st.mtimeMs, 'number');
  assert.type(st.pinned, 'boolean');
  const human = ok(await fs('stat', '/w/THROUGH.bin'), 'stat human').stdout;
  assert.match(human, /persistenceState:\s+PERSISTED/);
});

test('ls --json prints an array of file objects; ls -R lists the subtree', async () => {
  const list = JSON.parse(ok(await fs('ls', '--json', '/w'), 'ls').stdout);
  assert.ok(Array.isArray(list));
  assert.equal(list.map((f: { name: string }) => f.name).sort(), ['CACHE_THROUGH.bin', 'MUST_CACHE.bin', 'THROUGH.bin']);
  for (const f of list) assert.equal(Object.keys(f).sort(), FILE_FIELDS);
  const human = ok(await fs('ls', '/w'), 'ls human').stdout.trim().split('\n');
  assert.is(human.length, 3);
  assert.match(human[0]!, /^-rw.*\/w\/CACHE_THROUGH\.bin$/);
  assert.match(human.join('\n'), /NOT_PERSISTED/);
  const rec = ok(await fs('ls', '-R', '/a'), 'ls -R').stdout;
  assert.match(rec, /^d.*\/a\/b$/m);
  assert.match(rec, /^d.*\/a\/b\/c$/m);
  const empty = JSON.parse(ok(await fs('ls', '--json', '/a/b/c'), 'ls empty').stdout);
  assert.equal(empty, []);
  ok(await fs('ls', '-f', '/w'), 'ls -f');
});

test('copyFromLocal of a directory copies recursively; ls -R --json streams every entry', async () => {
  const tree = join(local, 'tree');
  await mkdir(join(tree, 'sub', 'deeper'), { recursive: true });
  for (let i = 0; i < 40; i++) await writeFile(join(tree, `f${i}.txt`), `file ${i}\n`);
  await writeFile(join(tree, 'sub', 'deeper', 'x.txt'), 'deep\n');
  ok(await fs('copyFromLocal', tree, '/tree'), 'copyFromLocal dir');
  const all = JSON.parse(ok(await fs('ls', '-R', '--json', '/tree'), 'ls -R').stdout);
  assert.is(all.length, 43);
  assert.is(ok(await fs('cat', '/tree/sub/deeper/x.txt'), 'cat').stdout, 'deep\n');
  const back = join(local, 'back');
  ok(await fs('copyToLocal', '/tree', back), 'copyToLocal dir');
  assert.is(await readFile(join(back, 'sub', 'deeper', 'x.txt'), 'utf8'), 'deep\n');
  assert.is(await readFile(join(back, 'f7.txt'), 'utf8'), 'file 7\n');
});

test('copyToLocal of a file is byte-identical', async () => {
  const dst = join(local, 'copy.bin');
  ok(await fs('copyToLocal', '/w/MUST_CACHE.bin', dst), 'copyToLocal');
  assert.ok((await readFile(dst)).equals(data));
});

test('mount a local directory at /local, list it, read it, list the mount table', async () => {
  const dir = join(local, 'outside');
  await mkdir(join(dir, 'in'), { recursive: true });
  await writeFile(join(dir, 'hello.txt'), 'hello from outside\n');
  ok(await fs('mount', '/local', `file://${dir}`), 'mount');
  const list = JSON.parse(ok(await fs('--json', 'ls', '/local'), 'ls /local').stdout);
  assert.equal(list.map((f: { name: string }) => f.name).sort(), ['hello.txt', 'in']);
  const hello = list.find((f: { name: string }) => f.name === 'hello.txt');
  assert.is(hello.mountPoint, '/local');
  assert.is(hello.persistenceState, 'PERSISTED');
  assert.is(ok(await fs('cat', '/local/hello.txt'), 'cat').stdout, 'hello from outside\n');
  const mounts = JSON.parse(ok(await fs('mount', '--json'), 'mount list').stdout);
  const m = mounts.find((x: { path: string }) => x.path === '/local');
  assert.ok(m, 'the mount is listed');
  assert.equal(Object.keys(m).sort(), ['options', 'path', 'readOnly', 'ufsUri']);
  assert.is(m.readOnly, false);
  assert.ok(String(m.ufsUri).includes(dir));
  assert.match(ok(await fs('mount'), 'mount human').stdout, /\/local/);
  const half = await fs('mount', '/other');
  failsWith(half, 'INVALID_ARGUMENT');
  assert.is(half.code, 2);
});

test('test -e/-d/-f exit 0 when true, 1 when false, without output', async () => {
  const cases: Array<[string, string, number]> = [
    ['-e', '/w/THROUGH.bin', 0], ['-f', '/w/THROUGH.bin', 0], ['-d', '/w/THROUGH.bin', 1],
    ['-e', '/w', 0], ['-d', '/w', 0], ['-f', '/w', 1],
    ['-e', '/nope', 1], ['-d', '/nope', 1], ['-f', '/nope', 1],
  ];
  for (const [flag, path, code] of cases) {
    const r = await fs('test', flag, path);
    assert.is(r.code, code, `test ${flag} ${path}: ${r.stderr}`);
    assert.is(r.stdout, '');
  }
});

test('touch creates an empty file; mv renames; rm -R removes a subtree', async () => {
  ok(await fs('mkdir', '-p', '/m'), 'mkdir');
  ok(await fs('touch', '/m/empty'), 'touch');
  const st = JSON.parse(ok(await fs('--json', 'stat', '/m/empty'), 'stat').stdout);
  assert.is(st.length, 0);
  ok(await fs('mv', '/m/empty', '/m/moved'), 'mv');
  assert.is((await fs('test', '-e', '/m/empty')).code, 1);
  assert.is((await fs('test', '-f', '/m/moved')).code, 0);
  ok(await fs('rm', '/m/moved'), 'rm');
  assert.is((await fs('test', '-e', '/m/moved')).code, 1);
  ok(await fs('mkdir', '-p', '/r/x/y'), 'mkdir');
  ok(await fs('touch', '/r/x/y/z'), 'touch');
  failsWith(await fs('rm', '/r'), 'DIRECTORY_NOT_EMPTY', '/r');
  ok(await fs('rm', '-R', '/r'), 'rm -R');
  assert.is((await fs('test', '-e', '/r')).code, 1);
});

test('du and count report files, directories and bytes', async () => {
  const c = JSON.parse(ok(await fs('--json', 'count', '/w'), 'count').stdout);
  assert.equal(c, { files: 3, directories: 1, bytes: 3 * data.length });
  assert.match(ok(await fs('count', '/w'), 'count human').stdout, /File Count\s+Folder Count\s+Folder Size\n3\s+1\s+\d+/);
  const s = JSON.parse(ok(await fs('--json', 'du', '-s', '/w'), 'du -s').stdout);
  assert.is(s.length, 3 * data.length);
  const listed = JSON.parse(ok(await fs('--json', 'ls', '/w'), 'ls').stdout) as Array<{ cachedBytes: number }>;
  assert.is(s.cachedBytes, listed.reduce((a, f) => a + f.cachedBytes, 0));
  const rows = JSON.parse(ok(await fs('--json', 'du', '/w'), 'du').stdout);
  assert.is(rows.length, 3);
  const human = ok(await fs('du', '-s', '/w'), 'du human').stdout;
  assert.match(human, /File Size\s+In Cache\s+Path/);
  assert.match(human, new RegExp(`^${3 * data.length}\\s.*/w$`, 'm'));
});

test('errors: strata: CODE: message on stderr, non-zero exit, --json error object', async () => {
  const missing = await fs('stat', '/does/not/exist');
  failsWith(missing, 'NOT_FOUND', '/does/not/exist');
  assert.is(missing.code, 1);
  const j = await fs('--json', 'cat', '/does/not/exist');
  failsWith(j, 'NOT_FOUND');
  const obj = JSON.parse(j.stdout);
  assert.is(obj.error.code, 'NOT_FOUND');
  assert.type(obj.error.message, 'string');
  failsWith(await fs('ls', 'relative/path'), 'INVALID_PATH');
  failsWith(await fs('ls', '/a/../b'), 'INVALID_PATH');
  const badType = await fs('copyFromLocal', '--write-type', 'SOMETIMES', dataFile, '/x');
  failsWith(badType, 'INVALID_ARGUMENT', 'SOMETIMES');
  assert.is(badType.code, 2);
  failsWith(await fs('ls', '--sync-interval', 'soon', '/'), 'INVALID_ARGUMENT', 'soon');
  failsWith(await fs('ls', '--load-type', 'MAYBE', '/'), 'INVALID_ARGUMENT');
  failsWith(await fs('cat', '--read-type', 'X', '/w/THROUGH.bin'), 'INVALID_ARGUMENT');
  const unknown = await fs('frobnicate');
  assert.is(unknown.code, 2);
  failsWith(await fs('cat', '/w'), 'IS_A_DIRECTORY');
});

test('per-call options are accepted by every command', async () => {
  ok(await fs('ls', '--sync-interval', '0', '--load-type', 'ALWAYS', '/w'), 'ls');
  ok(await fs('stat', '--sync-interval', '5s', '/w'), 'stat');
  ok(await fs('cat', '--read-type', 'NO_CACHE', '/w/THROUGH.bin'), 'cat');
  ok(await fs('count', '--load-type', 'never', '/w'), 'count');
});

test('connection refused names the address', async () => {
  const r = await runCli(['fs', '--address', '127.0.0.1:1', 'ls', '/']);
  failsWith(r, 'CONNECTION_CLOSED', '127.0.0.1:1');
  const env = await runCli(['fs', '--json', 'ls', '/'], { env: { STRATA_ADDRESS: '127.0.0.1:1' } });
  assert.is(JSON.parse(env.stdout).error.code, 'CONNECTION_CLOSED');
});

test('--help everywhere', async () => {
  for (const args of [['--help'], ['fs', '--help'], ['fs', 'ls', '--help'], ['fs', 'mount', '--help'], ['fsadmin', 'pathConf', 'add', '--help'], ['server', '--help']]) {
    const r = await runCli(args);
    assert.is(r.code, 0, args.join(' '));
    assert.match(r.stdout, /Usage: strata/);
  }
});

test.run();
