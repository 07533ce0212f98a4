// The commands and spellings `alluxio fs` / Hadoop users reach for, as real processes
// against a real server: cp [-R], rmdir, rm -r, copyFromLocal -f and `-` (stdin),
// copyToLocal `-` (stdout) and its refusal to overwrite without -f, ls -d / -h, du -h (help
// is --help only), tail -f, getConf (values, sources, secrets redacted), per-call options
// before or after the command name, the help layout, messages that say what happened
// (mv into a directory, mkdir -p of an existing one, pin's bytes), no progress bar on a
// pipe, and the server's --log-level with JSON log lines on a pipe.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, ROOT, runCli, startServer, tempDir } from './helpers/server.js';
import type { CliResult, ServerHandle } from './helpers/server.js';

let srv: ServerHandle;
let local: string;
const cleanup: string[] = [];

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
  // -D values and a secret, to see getConf's sources and redaction.
  srv = await startServer({ args: ['--preset', 'mixed', '-D', 'cache.block.size=1MB', '-D', 's3.secretAccessKey=TOPSECRET', '-D', 's3.region=eu-west-9', '-D', 'metrics.token=TOPSECRET'] });
  local = await tempDir();
  cleanup.push(srv.dataDir, local);
});

test.after(async () => {
  await srv?.stop();
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

test('copyFromLocal - reads stdin; copyToLocal PATH - writes stdout, byte for byte', async () => {
  const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
  const r = ok(await runCli(['fs', '--address', srv.address, 'copyFromLocal', '-', '/stdin.bin'], { input: bytes }), 'copyFromLocal -');
  assert.match(r.stdout, /Copied stdin to \/stdin\.bin/);
  assert.is(r.stderr, '', 'no progress bar (nor anything else) on a pipe');
  const back = ok(await fs('copyToLocal', '/stdin.bin', '-'), 'copyToLocal -');
  assert.ok(back.stdoutBytes.equals(bytes), 'stdout holds exactly the file');
  failsWith(await runCli(['fs', '--address', srv.address, 'copyFromLocal', '-', '/stdin.bin'], { input: 'x' }), 'ALREADY_EXISTS');
  ok(await runCli(['fs', '--address', srv.address, 'copyFromLocal', '-f', '-', '/stdin.bin'], { input: 'replaced' }), 'copyFromLocal -f -');
  assert.is((await fs('cat', '/stdin.bin')).stdout, 'replaced');
});

test('copyToLocal refuses to overwrite a local file without -f; a missing local parent is NOT_FOUND', async () => {
  ok(await runCli(['fs', '--address', srv.address, 'copyFromLocal', '-', '/c2l.txt'], { input: 'new content' }), 'seed');
  const dst = join(local, 'exists.txt');
  await writeFile(dst, 'keep me');
  failsWith(await fs('copyToLocal', '/c2l.txt', dst), 'ALREADY_EXISTS', dst);
  assert.is(await readFile(dst, 'utf8'), 'keep me', 'the refused copy left the local file alone');
  ok(await fs('copyToLocal', '-f', '/c2l.txt', dst), 'copyToLocal -f');
  assert.is(await readFile(dst, 'utf8'), 'new content');
  ok(await fs('copyToLocal', '/c2l.txt', dst, '--overwrite'), 'copyToLocal --overwrite after the arguments');
  failsWith(await fs('copyToLocal', '/c2l.txt', join(local, 'no', 'such', 'dir', 'x')), 'NOT_FOUND');
});

test('cp copies a file and, with -R (or -r), a directory inside the namespace', async () => {
  ok(await fs('mkdir', '-p', '/src/sub'), 'mkdir');
  ok(await runCli(['fs', '--address', srv.address, 'copyFromLocal', '-', '/src/a.txt'], { input: 'A' }), 'a');
  ok(await runCli(['fs', '--address', srv.address, 'copyFromLocal', '-', '/src/sub/b.txt'], { input: 'BB' }), 'b');
  const one = ok(await fs('cp', '/src/a.txt', '/a-copy.txt'), 'cp file');
  assert.match(one.stdout, /Copied \/src\/a\.txt to \/a-copy\.txt/);
  assert.is((await fs('cat', '/a-copy.txt')).stdout, 'A');
  failsWith(await fs('cp', '/src', '/dst'), 'IS_A_DIRECTORY', '-R');
  ok(await fs('cp', '-R', '/src', '/dst'), 'cp -R');
  assert.is((await fs('cat', '/dst/sub/b.txt')).stdout, 'BB');
  ok(await fs('mkdir', '/into'), 'mkdir into');
  const into = ok(await fs('cp', '-r', '/src', '/into'), 'cp -r into a directory');
  assert.match(into.stdout, /to \/into\/src /);
  assert.is((await fs('cat', '/into/src/a.txt')).stdout, 'A');
  failsWith(await fs('cp', '/src/a.txt', '/a-copy.txt'), 'ALREADY_EXISTS');
  ok(await fs('cp', '-f', '/src/sub/b.txt', '/a-copy.txt'), 'cp -f');
  assert.is((await fs('cat', '/a-copy.txt')).stdout, 'BB');
  failsWith(await fs('cp', '-R', '/src', '/src/sub'), 'INVALID_PATH', 'into itself');
});

test('rmdir removes only empty directories; rm -r is rm -R', async () => {
  ok(await fs('mkdir', '/empty'), 'mkdir');
  ok(await fs('rmdir', '/empty'), 'rmdir');
  failsWith(await fs('stat', '/empty'), 'NOT_FOUND');
  failsWith(await fs('rmdir', '/dst'), 'DIRECTORY_NOT_EMPTY');
  failsWith(await fs('rmdir', '/a-copy.txt'), 'NOT_A_DIRECTORY');
  ok(await fs('rm', '-r', '/dst'), 'rm -r');
  failsWith(await fs('stat', '/dst'), 'NOT_FOUND');
});

test('ln -s makes a symbolic link (shown by ls and stat); ln without -s is refused', async () => {
  ok(await fs('mkdir', '/lns'), 'mkdir');
  const made = ok(await fs('ln', '-s', '../a-copy.txt', '/lns/link'), 'ln -s');
  assert.match(made.stdout, '/lns/link -> ../a-copy.txt');
  const st = JSON.parse(ok(await fs('--json', 'stat', '/lns/link'), 'stat').stdout);
  assert.is(st.node, 'symlink');
  assert.is(st.target, '../a-copy.txt');
  assert.is(st.persistenceState, 'NOT_PERSISTED');
  assert.match(ok(await fs('ls', '/lns'), 'ls').stdout, /^lrwxrwxrwx .* \/lns\/link -> \.\.\/a-copy\.txt$/m);
  failsWith(await fs('ln', '/a-copy.txt', '/lns/hard'), 'INVALID_ARGUMENT', 'hard links');
  failsWith(await fs('ln', '-s', 'x', '/lns/link'), 'ALREADY_EXISTS');
  ok(await fs('rm', '-r', '/lns'), 'rm -r');
});

test('ls -d lists the directory itself; ls -h and du -h print human sizes; -h is never help', async () => {
  await writeFile(join(local, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 5));
  ok(await fs('mkdir', '/h'), 'mkdir');
  ok(await fs('copyFromLocal', join(local, 'big.bin'), '/h/big.bin'), 'copy');
  const d = ok(await fs('ls', '-d', '/h'), 'ls -d').stdout.trim().split('\n');
  assert.is(d.length, 1);
  assert.match(d[0]!, /^d.*\s\/h$/);
  assert.match(ok(await fs('ls', '-h', '/h'), 'ls -h').stdout, /\s3(\.0+)?MB\s.*\/h\/big\.bin/);
  assert.match(ok(await fs('ls', '/h'), 'ls').stdout, /\s3145733\s/);
  assert.match(ok(await fs('du', '-s', '-h', '/h'), 'du -h').stdout, /^3(\.0+)?MB\s/m);
  const json = JSON.parse(ok(await fs('ls', '-d', '--json', '/h'), 'ls -d --json').stdout) as Array<{ path: string }>;
  assert.equal(json.map((f) => f.path), ['/h']);
  const help = ok(await fs('ls', '--help'), 'ls --help').stdout;
  assert.match(help, /-h, --human-readable/);
  failsWith(await fs('-h'), 'INVALID_ARGUMENT');
});

test('per-call options work before or after the command name; help lists own options, then per-call ones, and an example', async () => {
  ok(await fs('--sync-interval', '0', 'ls', '/'), 'before');
  ok(await fs('ls', '/', '--sync-interval', '0'), 'after');
  ok(await fs('ls', '--load-type', 'ALWAYS', '/'), 'between');
  // Parsed (and validated) wherever they stand.
  failsWith(await fs('--sync-interval', 'soon', 'ls', '/'), 'INVALID_ARGUMENT', '--sync-interval');
  failsWith(await fs('ls', '/', '--write-type', 'SOMETIMES'), 'INVALID_ARGUMENT', '--write-type');
  ok(await runCli(['fs', '--address', srv.address, '--write-type', 'MUST_CACHE', 'copyFromLocal', '-', '/mc.txt'], { input: 'm' }), 'write type before');
  const st = JSON.parse(ok(await fs('stat', '--json', '/mc.txt'), 'stat').stdout) as { persistenceState: string };
  assert.is(st.persistenceState, 'NOT_PERSISTED', 'the write type given before the command name was used');
  for (const cmd of ['ls', 'cp', 'copyToLocal', 'tail', 'rmdir', 'getConf', 'load']) {
    const help = ok(await fs(cmd, '--help'), `${cmd} --help`).stdout;
    const own = help.indexOf('Options:');
    const perCall = help.indexOf('Per-call options');
    assert.ok(own >= 0 && perCall > own, `${cmd}: own options before per-call options\n${help}`);
    assert.match(help, /Example:\n {2}\$ strata fs /, `${cmd}: one example`);
  }
});

test("getConf: the server's values with their sources; secrets redacted; one key prints its value", async () => {
  const all = JSON.parse(ok(await fs('getConf', '--json'), 'getConf').stdout) as Array<{ key: string; value: string; source: string }>;
  const by = new Map(all.map((e) => [e.key, e]));
  assert.equal({ ...by.get('cache.block.size') }, { ...by.get('cache.block.size'), value: '1MB', source: '-D' });
  assert.is(by.get('metadata.sync.interval')?.source, 'preset:mixed');
  assert.is(by.get('write.type')?.source, 'default');
  assert.is(by.get('s3.secretAccessKey')?.value, '***');
  assert.is(by.get('metrics.token')?.value, '***', 'server keys holding secrets are redacted too');
  assert.is(by.get('s3.region')?.value, 'eu-west-9');
  const human = ok(await fs('getConf'), 'getConf human').stdout;
  assert.not.match(human, /TOPSECRET/);
  assert.match(human, /cache\.block\.size\s+1MB\s+-D/);
  assert.is(ok(await fs('getConf', 'cache.block.size'), 'getConf KEY').stdout, '1MB\n');
  failsWith(await fs('getConf', 'no.such.key'), 'NOT_FOUND', 'no.such.key');
});

test('tail -f prints the end, then what is appended, until interrupted', async () => {
  ok(await runCli(['fs', '--address', srv.address, 'copyFromLocal', '-', '/log.txt'], { input: 'line1\nline2\n' }), 'seed');
  const proc = spawn(process.execPath, [BIN, 'fs', '--address', srv.address, 'tail', '-f', '-s', '100ms', '-c', '6', '/log.txt'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(srv.token ? { STRATA_TOKEN: srv.token } : {}) } });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => { out += d; });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    const until = async (want: string): Promise<void> => {
      for (let i = 0; i < 200 && !out.includes(want); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(out.includes(want), `tail -f printed ${JSON.stringify(out)}, waiting for ${JSON.stringify(want)}`);
    };
    await until('line2\n');
    assert.is(out, 'line2\n', 'the last 6 bytes first');
    ok(await runCli(['fs', '--address', srv.address, 'copyFromLocal', '-f', '-', '/log.txt'], { input: 'line1\nline2\nline3\n' }), 'append');
    await until('line3\n');
    assert.is(out, 'line2\nline3\n');
  } finally {
    proc.kill('SIGINT');
  }
  assert.is(await exited, 0, 'Ctrl-C ends tail -f cleanly');
});

test('messages say what happened: mv into a directory, mkdir -p of an existing one, pin with bytes', async () => {
  ok(await fs('mkdir', '/m'), 'mkdir');
  ok(await runCli(['fs', '--address', srv.address, 'copyFromLocal', '-', '/f.txt'], { input: '12345' }), 'seed');
  assert.match(ok(await fs('mv', '/f.txt', '/m'), 'mv').stdout, /^Renamed \/f\.txt to \/m\/f\.txt$/m);
  const again = ok(await fs('mkdir', '-p', '/m'), 'mkdir -p existing').stdout;
  assert.not.match(again, /created/i);
  assert.match(again, /already exists/);
  assert.match(ok(await fs('mkdir', '-p', '/m/new/deep'), 'mkdir -p new').stdout, /Successfully created directory \/m\/new\/deep/);
  const pin = ok(await fs('pin', '--json', '/m'), 'pin').stdout;
  assert.equal(JSON.parse(pin), { files: 1, bytes: 5 });
  assert.match(ok(await fs('pin', '/m'), 'pin human').stdout, /1 file, 5B/);
});

test('server: --log-level is validated; logs are JSON lines when stderr is not a terminal', async () => {
  const bad = await runCli(['server', '--log-level', 'loud']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^strata: INVALID_ARGUMENT: .*--log-level/m);
  const dbg = await startServer({ args: ['--log-level', 'debug'], env: { STRATA_LOG_LEVEL: 'error' } });
  cleanup.push(dbg.dataDir);
  await dbg.stop();
  const lines = dbg.stderr().split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.length > 0, 'debug level logs something');
  for (const l of lines) {
    const rec = JSON.parse(l) as { level: number; msg: string };
    assert.type(rec.level, 'number');
  }
  assert.ok(lines.some((l) => (JSON.parse(l) as { level: number }).level === 20), '--log-level debug wins over STRATA_LOG_LEVEL');
});

test.run();
