#!/usr/bin/env node
// Runs every test/*.test.ts file in its own Node process (uvu inside, TypeScript through
// tsx), a few at a time, after a type check and a build of dist/ when it is stale (the CLI
// tests run bin/strata.mjs, i.e. the built package). Prints each file's result and ends
// with the totals as `N passed, N failed`. Exits non-zero when a test failed, a file
// crashed, or no test ran at all. Every server a run started is stopped when it ends, fails
// or is interrupted (SIGINT/SIGTERM): each test file runs in its own process group, killed
// whole, and the S3 servers (scripts/s3-server.sh) a test run started are stopped by the
// last run that uses them. Usage: node scripts/test.mjs [--no-typecheck] [--no-build] [filter...]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const skipTypecheck = process.argv.includes('--no-typecheck');
const skipBuild = process.argv.includes('--no-build');

// The S3 servers the tests start and share (the default one, and the civetweb one of the
// bucket-notification tests): those not already running now are stopped at the end.
const S3_INSTANCES = [
  { STRATA_S3_DIR: process.env.STRATA_S3_DIR ?? '/tmp/strata-s3', S3_PORT: process.env.S3_PORT ?? '7480' },
  { STRATA_S3_DIR: `/tmp/strata-s3-notify-${process.env.STRATA_NOTIFY_S3_PORT ?? '7491'}`, S3_PORT: process.env.STRATA_NOTIFY_S3_PORT ?? '7491' },
];
const s3Script = (inst, cmd) => spawnSync('bash', [join(root, 'scripts', 's3-server.sh'), cmd],
  { cwd: root, env: { ...process.env, ...inst }, stdio: 'ignore', timeout: 120_000 });
// Several runs on one machine share these servers: each run holds a lease (a file named by its
// pid beside the server's directory), and the last run out stops a server that a test run
// started — never one that was running before any run, never one another live run still uses.
const leaseDir = (inst) => `${inst.STRATA_S3_DIR}.leases`;
const OWNED = '.started-by-test-run';
for (const inst of S3_INSTANCES) {
  mkdirSync(leaseDir(inst), { recursive: true });
  if (s3Script(inst, 'status').status !== 0) writeFileSync(join(leaseDir(inst), OWNED), `${process.pid}\n`);
  writeFileSync(join(leaseDir(inst), String(process.pid)), '');
}
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (err) { return err.code === 'EPERM'; } };
function releaseS3(inst) {
  const dir = leaseDir(inst);
  rmSync(join(dir, String(process.pid)), { force: true });
  const others = readdirSync(dir).filter((f) => /^\d+$/.test(f) && alive(Number(f)));
  for (const f of readdirSync(dir)) if (/^\d+$/.test(f) && !others.includes(f)) rmSync(join(dir, f), { force: true });
  if (others.length === 0 && existsSync(join(dir, OWNED))) {
    s3Script(inst, 'stop');
    rmSync(join(dir, OWNED), { force: true });
  }
}

/** Test-file processes running now (each the leader of its own process group). */
const running = new Set();
let cleanedUp = false;
function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const child of running) {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  for (const inst of S3_INSTANCES) releaseS3(inst);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    process.stdout.write(`\n[test runner] ${signal}: stopping the test processes and the servers they started\n`);
    cleanup();
    process.exit(130);
  });
}
const files = readdirSync(join(root, 'test'))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    // detached: its own process group, so that the servers it spawns are killed with it.
    const child = spawn(cmd, args, { cwd: root, detached: true, env: { ...process.env, FORCE_COLOR: '0', STRATA_LOG_LEVEL: process.env.STRATA_LOG_LEVEL ?? 'warn' }, ...opts });
    running.add(child);
    const killGroup = () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } };
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { out += `\n[test runner] timed out after ${opts.timeoutMs / 1000}s, killed\n`; killGroup(); }, opts.timeoutMs ?? 300_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      killGroup(); // whatever the file left behind (a server it failed to stop)
      resolve({ code: code ?? (signal ? 1 : 0), out });
    });
  });
}

let failedBuild = 0;
if (!skipBuild) {
  const b = await run(process.execPath, [join(root, 'scripts', 'build.mjs'), '--if-stale'], { timeoutMs: 300_000 });
  if (b.code !== 0) {
    process.stdout.write(`build failed:\n${b.out}\n`);
    failedBuild = 1;
  } else {
    process.stdout.write(`build: ${/up to date/.test(b.out) ? 'dist/ up to date' : 'dist/ rebuilt'}\n`);
  }
}

let failedTypecheck = 0;
if (!skipTypecheck) {
  const tc = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root], { timeoutMs: 300_000 });
  if (tc.code !== 0) {
    process.stdout.write(`typecheck failed:\n${tc.out}\n`);
    failedTypecheck = 1;
  } else {
    process.stdout.write('typecheck: ok\n');
  }
}

const parallel = Math.max(1, Math.min(Number(process.env.TEST_PARALLEL ?? cpus().length), 4));
let passed = 0;
let failed = failedTypecheck + failedBuild;
let skipped = 0;
const queue = [...files];
const started = Date.now();

async function worker() {
  for (let f = queue.shift(); f; f = queue.shift()) {
    const t0 = Date.now();
    // The fault suite (fault-*.test.ts: kill -9 rounds, each a server restart) gets twice the budget.
    const budget = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 300_000) * (f.startsWith('fault-') ? 2 : 1);
    const r = await run(process.execPath, ['--import', 'tsx', join('test', f)], { timeoutMs: budget });
    // uvu prints "Total: N / Passed: N / Skipped: N" per file.
    const total = Number(/Total:\s+(\d+)/.exec(r.out)?.[1] ?? 0);
    const ok = Number(/Passed:\s+(\d+)/.exec(r.out)?.[1] ?? 0);
    // A file skipped as a whole (the FUSE tests on a machine without /dev/fuse) says why and
    // counts as skipped, not as a file that ran nothing.
    const skip = Number(/Skipped:\s+(\d+)/.exec(r.out)?.[1] ?? 0);
    let bad = total - ok;
    if (r.code !== 0 && bad === 0) bad = 1; // crashed or failed outside a test
    if (total === 0 && skip === 0 && r.code === 0) bad = 1; // a file that ran no test is a failure
    passed += ok;
    failed += bad;
    skipped += skip;
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    process.stdout.write(`${bad ? 'FAIL' : skip && !total ? 'skip' : 'ok  '} ${f} (${ok}/${total}${skip ? `, ${skip} skipped` : ''}, ${secs}s)\n`);
    if (bad || (skip && !total) || process.env.TEST_VERBOSE) process.stdout.write(r.out.replace(/^/gm, '    ') + '\n');
    // uvu reports a throwing before/after hook as failed tests without saying why (no FAIL block).
    if (bad && ok === 0 && total > 0 && !/\bFAIL\b/.test(r.out)) {
      process.stdout.write(`    (no test failure printed: a test.before / test.after hook of ${f} threw, and uvu does not print hook errors; run it alone to see the error)\n`);
    }
  }
}
await Promise.all(Array.from({ length: parallel }, worker));
process.stdout.write(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
cleanup();
process.exit(failed > 0 || passed === 0 ? 1 : 0);
