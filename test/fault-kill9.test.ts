// The kill -9 fault suite with a history checker. Rounds against a REAL server process:
// concurrent writers create, overwrite (every write type), rename and delete their own
// files while a recursive sync (`ls -R -f`) of the whole namespace runs, and the server is
// SIGKILLed at a random moment. The test records every acknowledged operation; after each
// restart every path must match the last acknowledged operation on it — in Strata (status,
// bytes, `ls -f` listing) and in the UFS (a PERSISTED file byte-identical there, an
// unpersisted or absent one not there at all) — and checkConsistency must be clean. An
// operation in flight at the kill may have happened or not, but nothing else.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataClient } from '../src/client/tcp-client.js';
import type { FileInfo, WriteType } from '../src/types.js';
import { fileUri, readAll, sleep, tempDir } from './helpers/fixture.js';
import { startServer } from './helpers/server.js';
import type { ServerHandle } from './helpers/server.js';

const ROUNDS = Number(process.env.FAULT_ROUNDS ?? 10);
const WRITERS = 4;
const NAMES = 6; // paths per writer: /w/<writer>/f0..f5
const WRITE_TYPES: WriteType[] = ['MUST_CACHE', 'THROUGH', 'CACHE_THROUGH', 'ASYNC_THROUGH'];
const BLOCK = 64 * 1024;
const EXTERNAL_FILES = 150;

let dataDir: string;
let ufsDir: string;
let server: ServerHandle | undefined;

/** The acknowledged state of one path: its bytes, or undefined when it does not exist. */
type State = Buffer | undefined;
/** An operation whose outcome is unknown (in flight at the kill): each path's allowed states. */
interface Uncertain { what: string; paths: string[]; before: State[]; after: State[] }

const model = new Map<string, State>();
const uncertain: Uncertain[] = [];
const violations: string[] = [];
const figures = { rounds: 0, acked: 0, inFlightAtKill: 0, pathsChecked: 0, ufsChecked: 0, resolvedNew: 0, resolvedOld: 0, opErrors: 0, intentsRecovered: 0 };

function violation(msg: string): void {
  violations.push(msg);
  if (violations.length <= 20) console.log(`  VIOLATION: ${msg}`);
}

const show = (s: State): string => s === undefined ? 'absent' : `${s.length} bytes ${s.subarray(0, 12).toString('hex')}`;
const same = (a: State, b: State): boolean => a === undefined ? b === undefined : b !== undefined && a.equals(b);
const ufsFile = (p: string): string => join(ufsDir, p.slice(1));

async function boot(): Promise<StrataClient> {
  server = await startServer({
    dataDir,
    timeoutMs: 180_000, // a loaded machine starts slowly; this bounds, it does not measure
    args: ['--root-ufs', fileUri(ufsDir), '-D', 'persist.initial.wait=100ms', '-D', 'persist.max.interval=500ms', '-D', 'cache.block.size=64KB'],
  });
  return StrataClient.connect(server.address, { ...(server.token ? { token: server.token } : {}) });
}

/** What Strata holds at a path (syncing it with the UFS first, as `ls -f` would). */
async function observe(c: StrataClient, p: string): Promise<{ state: State; info?: FileInfo }> {
  let info: FileInfo;
  try {
    info = await c.getStatus(p, { syncIntervalMs: 0 });
  } catch (err) {
    if ((err as { code?: string }).code === 'NOT_FOUND') return { state: undefined };
    throw err;
  }
  return { state: await readAll(c.readFile(p)), info };
}

/** One writer: random operations on its own paths until stopped; records what was acknowledged. */
async function writer(c: StrataClient, w: number, stop: { now: boolean }): Promise<void> {
  const path = (i: number) => `/w/${w}/f${i}`;
  while (!stop.now) {
    const existing = [...Array(NAMES).keys()].filter((i) => model.get(path(i)) !== undefined);
    const free = [...Array(NAMES).keys()].filter((i) => model.get(path(i)) === undefined);
    const kind = existing.length === 0 ? 'create' : free.length === 0 ? (randomInt(2) ? 'overwrite' : 'delete') : ['create', 'overwrite', 'rename', 'delete'][randomInt(4)]!;
    const writeType = WRITE_TYPES[randomInt(WRITE_TYPES.length)]!;
    const data = randomBytes(randomInt(4) === 0 ? BLOCK * 2 + randomInt(BLOCK) : randomInt(1, 3000));
    let op: Uncertain;
    let run: () => Promise<unknown>;
    if (kind === 'create' || kind === 'overwrite') {
      const p = path(kind === 'create' ? free[randomInt(free.length)]! : existing[randomInt(existing.length)]!);
      op = { what: `${kind} ${writeType} ${p}`, paths: [p], before: [model.get(p)], after: [data] };
      run = () => c.writeFile(p, data, { writeType, overwrite: kind === 'overwrite', recursive: true });
    } else if (kind === 'delete') {
      const p = path(existing[randomInt(existing.length)]!);
      op = { what: `delete ${p}`, paths: [p], before: [model.get(p)], after: [undefined] };
      run = () => c.delete(p);
    } else {
      const s = path(existing[randomInt(existing.length)]!);
      const d = path(free[randomInt(free.length)]!);
      op = { what: `rename ${s} -> ${d}`, paths: [s, d], before: [model.get(s), undefined], after: [undefined, model.get(s)] };
      run = () => c.rename(s, d);
    }
    try {
      await run();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!stop.now && code !== 'CONNECTION_CLOSED') {
        figures.opErrors++;
        console.log(`  op failed before the kill: ${op.what}: ${code}: ${(err as Error).message}`);
      }
      uncertain.push(op); // it may or may not have happened
      return;
    }
    op.paths.forEach((p, i) => model.set(p, op.after[i]));
    figures.acked++;
  }
}

/** Recursive syncs of the whole namespace, back to back, until the kill ends one. */
async function syncer(c: StrataClient, stop: { now: boolean }): Promise<void> {
  while (!stop.now) {
    try {
      for await (const _ of c.listStatus('/', { recursive: true, syncIntervalMs: 0 })) { /* the sync applies as it lists */ }
    } catch (err) {
      if (!stop.now) {
        figures.opErrors++;
        console.log(`  recursive sync failed before the kill: ${(err as Error).message}`);
      }
      return;
    }
  }
}

/** Check every path against the history; settles in-flight operations to what happened. */
async function check(c: StrataClient, round: number): Promise<void> {
  const observed = new Map<string, { state: State; info?: FileInfo }>();
  const paths = [...model.keys()];
  for (const u of uncertain) for (const p of u.paths) if (!paths.includes(p)) paths.push(p);
  for (const p of paths) observed.set(p, await observe(c, p));
  // Operations in flight at the kill: all paths old, or all paths new — nothing else.
  for (const u of uncertain.splice(0)) {
    const now = u.paths.map((p) => observed.get(p)!.state);
    if (now.every((s, i) => same(s, u.after[i]))) {
      figures.resolvedNew++;
      u.paths.forEach((p, i) => model.set(p, u.after[i]));
    } else if (now.every((s, i) => same(s, u.before[i]))) {
      figures.resolvedOld++;
    } else {
      violation(`round ${round}: in-flight ${u.what} left ${u.paths.map((p, i) => `${p}=${show(now[i])}`).join(', ')}; ` +
        `allowed before ${u.before.map(show).join(', ')} or after ${u.after.map(show).join(', ')}`);
      u.paths.forEach((p, i) => model.set(p, now[i]));
    }
  }
  for (const [p, want] of model) {
    figures.pathsChecked++;
    const got = observed.get(p)!;
    if (!same(got.state, want)) violation(`round ${round}: ${p} is ${show(got.state)}, last acknowledged ${show(want)}`);
    // The UFS: a PERSISTED file is there byte-identical; an unpersisted or absent one is not there.
    const f = ufsFile(p);
    const inUfs = existsSync(f) ? readFileSync(f) : undefined;
    const ps = got.info?.persistenceState;
    figures.ufsChecked++;
    if (ps === 'PERSISTED' && !same(inUfs, got.state)) violation(`round ${round}: ${p} is PERSISTED but the UFS holds ${show(inUfs)}`);
    if ((ps === undefined || ps === 'NOT_PERSISTED') && inUfs !== undefined) violation(`round ${round}: ${p} is ${ps ?? 'absent'} in Strata but the UFS holds ${show(inUfs)}`);
  }
  // `ls -f` of each writer's directory lists exactly the files that exist.
  for (let w = 0; w < WRITERS; w++) {
    const dir = `/w/${w}`;
    const want = [...Array(NAMES).keys()].map((i) => `${dir}/f${i}`).filter((p) => model.get(p) !== undefined).sort();
    let names: string[] = [];
    try {
      for await (const page of c.listStatus(dir, { syncIntervalMs: 0 })) names.push(...page.map((f) => f.path));
    } catch (err) {
      if ((err as { code?: string }).code !== 'NOT_FOUND') throw err;
    }
    names = names.sort();
    if (JSON.stringify(names) !== JSON.stringify(want)) violation(`round ${round}: ls -f ${dir} lists ${names.join(' ')}; expected ${want.join(' ')}`);
  }
  // The tree written outside Strata is all there, and the namespace agrees with the UFS.
  let external = 0;
  for await (const page of c.listStatus('/tree', { recursive: true })) external += page.filter((f) => f.type === 'file').length;
  if (external !== EXTERNAL_FILES) violation(`round ${round}: /tree holds ${external} files, ${EXTERNAL_FILES} expected`);
  const cc = await c.checkConsistency('/', { recursive: true });
  if (cc.inconsistent.length) violation(`round ${round}: checkConsistency: ${cc.inconsistent.join(' ')}`);
}

test.before(async () => {
  dataDir = await tempDir('strata-fault-data-');
  ufsDir = await tempDir('strata-fault-ufs-');
  // A tree written outside Strata, for the recursive syncs to walk.
  for (let i = 0; i < EXTERNAL_FILES; i++) {
    const d = join(ufsDir, 'tree', `d${i % 10}`, `e${i % 3}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `x${i}`), `external ${i}`);
  }
});

test.after(async () => {
  await server?.kill().catch(() => undefined);
  for (const d of [dataDir, ufsDir]) await rm(d, { recursive: true, force: true });
});

test(`kill -9 during writes, renames, deletes and a recursive sync, ${ROUNDS} rounds: every path matches its history`, async () => {
  const started = Date.now();
  for (let round = 0; round < ROUNDS; round++) {
    const c = await boot();
    figures.intentsRecovered += (await c.getReport()).intents?.recovered ?? 0;
    await check(c, round);
    const stop = { now: false };
    const work = [syncer(c, stop), ...Array.from({ length: WRITERS }, (_, w) => writer(c, w, stop))];
    // Kill once the round has done some work (a few acknowledged ops, bounded by time), at a
    // random moment after that.
    const want = figures.acked + randomInt(4, 13);
    const until = Date.now() + 10_000;
    while (figures.acked < want && Date.now() < until) await sleep(10);
    await sleep(randomInt(0, 150));
    stop.now = true; // the kill lands on whatever is in flight: writes, renames, deletes and the sync
    await server!.kill();
    server = undefined;
    await Promise.all(work);
    await c.close().catch(() => undefined);
    figures.inFlightAtKill += uncertain.length;
    figures.rounds++;
  }
  // A last restart: check, then let the persist queue drain and check again (PERSISTED in the UFS).
  const c = await boot();
  figures.intentsRecovered += (await c.getReport()).intents?.recovered ?? 0;
  await check(c, ROUNDS);
  const end = Date.now() + 60_000;
  for (;;) {
    const r = await c.getReport();
    if (r.persist.pending === 0 && r.persist.inFlight === 0) break;
    if (Date.now() > end) { violation(`the persist queue did not drain: ${JSON.stringify(r.persist)}`); break; }
    await sleep(100);
  }
  await check(c, ROUNDS + 1);
  await c.close();
  assert.is(await server!.stop(), 0);
  server = undefined;
  console.log(`  fault suite: ${figures.rounds} kill -9 rounds in ${((Date.now() - started) / 1000).toFixed(0)} s, ${figures.acked} acknowledged ops, ` +
    `${figures.inFlightAtKill} in flight at a kill (${figures.resolvedNew} happened, ${figures.resolvedOld} did not), ` +
    `${figures.pathsChecked} path checks, ${figures.ufsChecked} UFS checks, ${figures.intentsRecovered} intents recovered, ` +
    `${figures.opErrors} op errors, ${violations.length} violations`);
  assert.is(figures.opErrors, 0, 'no operation failed before a kill');
  assert.equal(violations, [], 'no violation of the history');
  assert.ok(figures.acked >= ROUNDS * 2, `enough acknowledged operations (${figures.acked})`);
});

test.run();
