// S3 figures: Strata's sync of an S3 prefix on the local radosgw (scripts/s3-server.sh),
// beside plain paged ListObjectsV2 of the same prefix (sequential, and with the parallelism
// Strata uses: per-directory delimited listings, `sync.parallelism` in flight), and rclone
// (`lsjson -R --files-only`, S3 backend configured by environment variables) listing the
// same prefix, all in the same run.
//
// The objects (`dirs` prefixes x `keys` empty objects) are created once with parallel
// PutObject in the bucket `strata-bench` and reused while the radosgw keeps them (its OSD is
// in memory: a restart of the server loses them, the next run creates them again).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { StrataClient } from '../src/client/tcp-client.js';
import { ensureS3Server, s3Client, s3Options } from '../test/helpers/s3.js';
import type { S3Server } from '../test/helpers/s3.js';
import { startChild } from './lib/child.js';
import type { ChildOptions } from './lib/child.js';
import { ratio } from './lib/report.js';
import type { Row } from './lib/report.js';
import { BENCH_ROOT } from './lib/tree.js';
import { ensureRclone, rcloneLsjson } from './rclone.js';
import { readListWithLightParser } from '../src/ufs/s3/list-xml.js';

export const S3_BUCKET = 'strata-bench';
/** In-flight listings of the parallel limit: Strata's default `sync.parallelism`. */
const PARALLELISM = 16;

export interface S3Set { prefix: string; dirs: number; keys: number; objects: number }

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** The bench objects under `prefix/`, created once (a marker object says the set is complete). */
export async function ensureObjects(c: S3Client, set: S3Set, log: (s: string) => void): Promise<void> {
  try {
    await c.send(new CreateBucketCommand({ Bucket: S3_BUCKET }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
  const marker = `markers/${set.prefix}.done`;
  try {
    await c.send(new HeadObjectCommand({ Bucket: S3_BUCKET, Key: marker }));
    return;
  } catch { /* not there yet */ }
  log(`S3: creating ${set.objects.toLocaleString('en-US')} objects in s3://${S3_BUCKET}/${set.prefix}/ (once)`);
  const t0 = performance.now();
  const limit = pLimit(64);
  const dw = String(set.dirs - 1).length;
  const kw = String(set.keys - 1).length;
  const jobs: Promise<unknown>[] = [];
  for (let d = 0; d < set.dirs; d++) {
    for (let k = 0; k < set.keys; k++) {
      const Key = `${set.prefix}/d${pad(d, dw)}/k${pad(k, kw)}`;
      jobs.push(limit(() => c.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key, Body: new Uint8Array(0), ContentLength: 0 }))));
    }
  }
  await Promise.all(jobs);
  await c.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: marker, Body: new Date().toISOString() }));
  log(`S3: created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * Paged ListObjectsV2 (1000 keys a page) of one prefix, one page after the other; `light`:
 * each page read by the UFS's light reader instead of the SDK's deserialiser (the same
 * client otherwise), so the limit is the fastest plain listing this client can do.
 */
export async function listSequential(c: S3Client, prefix: string, light = false): Promise<{ ms: number; objects: number; calls: number }> {
  const t0 = performance.now();
  let objects = 0;
  let calls = 0;
  let token: string | undefined;
  do {
    const command = new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: `${prefix}/`, MaxKeys: 1000, ...(token ? { ContinuationToken: token } : {}) });
    const read = light ? readListWithLightParser(command) : undefined;
    const out = await c.send(command);
    const page = { ...out, ...read?.() };
    calls++;
    objects += page.KeyCount ?? page.Contents?.length ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { ms: performance.now() - t0, objects, calls };
}

/**
 * What Strata's recursive sync does on S3, without Strata: a breadth-first walk of '/'-delimited
 * listings (one per directory, paged), `parallelism` listings in flight.
 */
async function listParallel(c: S3Client, prefix: string, parallelism: number): Promise<{ ms: number; objects: number; dirs: number; calls: number }> {
  const t0 = performance.now();
  const limit = pLimit(parallelism);
  let objects = 0;
  let dirs = 0;
  let calls = 0;
  const listDir = async (dirPrefix: string): Promise<void> => {
    const sub: string[] = [];
    await limit(async () => {
      let token: string | undefined;
      do {
        const page = await c.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: dirPrefix, Delimiter: '/', MaxKeys: 1000, ...(token ? { ContinuationToken: token } : {}) }));
        calls++;
        objects += page.Contents?.length ?? 0;
        for (const p of page.CommonPrefixes ?? []) sub.push(p.Prefix!);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    });
    dirs += sub.length;
    await Promise.all(sub.map(listDir));
  };
  await listDir(`${prefix}/`);
  return { ms: performance.now() - t0, objects, dirs, calls };
}

/** `rclone lsjson -R --files-only` of the prefix, S3 backend from RCLONE_CONFIG_BENCHS3_* variables. */
async function rcloneS3(s: S3Server, prefix: string, extra: string[]): Promise<{ ms: number; files: number }> {
  // AWS_CA_BUNDLE (set on this machine for HTTPS) makes rclone's S3 backend fail on a plain
  // http endpoint ("LoadCustomCABundleError"): not inherited.
  const { AWS_CA_BUNDLE: _ca, ...inherited } = process.env;
  void _ca;
  const env = {
    ...inherited,
    RCLONE_CONFIG_BENCHS3_TYPE: 's3',
    RCLONE_CONFIG_BENCHS3_PROVIDER: 'Ceph',
    RCLONE_CONFIG_BENCHS3_ENDPOINT: s.endpoint,
    RCLONE_CONFIG_BENCHS3_ACCESS_KEY_ID: s.accessKeyId,
    RCLONE_CONFIG_BENCHS3_SECRET_ACCESS_KEY: s.secretAccessKey,
    RCLONE_CONFIG_BENCHS3_REGION: s.region,
  };
  return rcloneLsjson(`benchs3:${S3_BUCKET}/${prefix}`, { extra, env });
}

export async function s3Rows(full: boolean, child: ChildOptions, log: (s: string) => void): Promise<Row[]> {
  const set: S3Set = full ? { prefix: 'f100k', dirs: 1000, keys: 100, objects: 100_000 } : { prefix: 'q10k', dirs: 100, keys: 100, objects: 10_000 };
  const label = full ? '100k' : '10k';
  let s: S3Server;
  try {
    s = await ensureS3Server();
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    return [{ fig: 'S3', name: `sync of an S3 prefix, ${label} objects (local radosgw)`, value: null, unit: 'objects/s', limitName: 'paged ListObjectsV2', limit: null, ratio: null, note: `skipped: ${why}` }];
  }
  const c = s3Client(s);
  const dataDir = mkdtempSync(join(BENCH_ROOT, 'data-s3-'));
  const srv = await startChild(['strata', dataDir, JSON.stringify({})], child);
  const cl = await StrataClient.connect(srv.address);
  try {
    await ensureObjects(c, set, log);
    const entries = set.objects + set.dirs;
    const uri = `s3://${S3_BUCKET}/${set.prefix}`;
    const opts = s3Options(s);
    // Warm the connection pools and radosgw's bucket index caches on both sides (untimed).
    await listSequential(c, set.prefix);
    const reps = full ? 1 : 3;
    const strata: number[] = [];
    const seq: Array<{ ms: number; objects: number; calls: number }> = [];
    const seqLight: Array<{ ms: number; objects: number; calls: number }> = [];
    const par: Array<{ ms: number; objects: number; dirs: number; calls: number }> = [];
    let summary: unknown;
    let ufsCalls: Record<string, number> = {};
    // Interleaved repetitions (radosgw is shared with other work on this machine): best of each.
    for (let r = 0; r < reps; r++) {
      const at = `/s3-${r}`;
      await cl.mount(at, uri, { options: opts });
      const before = (await cl.getReport()).ufsCalls;
      const t0 = performance.now();
      summary = await cl.loadMetadata(at, { recursive: true });
      strata.push(performance.now() - t0);
      const after = (await cl.getReport()).ufsCalls;
      ufsCalls = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
      await cl.unmount(at);
      seq.push(await listSequential(c, set.prefix));
      seqLight.push(await listSequential(c, set.prefix, true));
      par.push(await listParallel(c, set.prefix, PARALLELISM));
      log(`S3 rep ${r}: Strata ${strata[r]!.toFixed(0)} ms ${JSON.stringify(summary)} calls ${JSON.stringify(ufsCalls)}; ` +
        `ListObjectsV2 sequential ${seq[r]!.ms.toFixed(0)} ms (${seq[r]!.objects}), light reader ${seqLight[r]!.ms.toFixed(0)} ms (${seqLight[r]!.objects}), ${PARALLELISM} in flight ${par[r]!.ms.toFixed(0)} ms (${par[r]!.objects} objects, ${par[r]!.dirs} dirs)`);
      if (seq[r]!.objects !== set.objects || seqLight[r]!.objects !== set.objects || par[r]!.objects !== set.objects) throw new Error(`S3 listing saw ${seq[r]!.objects}/${par[r]!.objects} objects, expected ${set.objects}`);
    }
    const best = <T extends { ms: number }>(a: T[]): T => a.reduce((x, y) => (y.ms < x.ms ? y : x));
    const strataMs = Math.min(...strata);
    const bSeq = best(seq);
    const bLight = best(seqLight);
    const bPar = best(par);
    const rate = (ms: number): number => set.objects / (ms / 1000);
    const limits = [
      { ms: bPar.ms, name: `${PARALLELISM} delimited listings in flight` },
      { ms: bSeq.ms, name: 'sequential, no delimiter' },
      { ms: bLight.ms, name: 'sequential, no delimiter, light reader' },
    ];
    const fastest = limits.reduce((x, y) => (y.ms < x.ms ? y : x));
    const limitRate = rate(fastest.ms);
    const q = ratio(rate(strataMs), limitRate);
    const rows: Row[] = [{
      fig: 'S3', name: `sync of an S3 prefix, ${set.objects.toLocaleString('en-US')} objects in ${set.dirs} dirs (loadMetadata -R, local radosgw)`,
      value: rate(strataMs), unit: 'objects/s',
      limitName: `fastest paged ListObjectsV2 of the prefix (${fastest.name})`,
      limit: limitRate, ratio: q, target: '≥ 0.9× listing', meets: q >= 0.9,
      note: `${(strataMs / 1000).toFixed(2)} s (best of ${reps}); listing: sequential ${(bSeq.ms / 1000).toFixed(2)} s (${bSeq.calls} calls), light reader ${(bLight.ms / 1000).toFixed(2)} s, ` +
        `${PARALLELISM} in flight ${(bPar.ms / 1000).toFixed(2)} s (${bPar.calls} calls); Strata's UFS calls ${JSON.stringify(ufsCalls).replace(/"/g, '')}`,
      extra: { strataMs: strata, sequential: seq, sequentialLight: seqLight, parallel: par, summary, ufsCalls, entries },
    }];

    const why = ensureRclone(log);
    if (why) {
      rows.push({ fig: 'S3', name: 'rclone lsjson -R against radosgw, same prefix', value: null, unit: 'objects/s', limitName: 'Strata S3 sync', limit: null, ratio: null, note: `skipped: ${why}` });
    } else {
      const version = execFileSync('rclone', ['version'], { encoding: 'utf8' }).split('\n')[0];
      // rclone's default lsjson sends one HEAD per object (its MimeType and its mtime from
      // X-Amz-Meta-Mtime); --no-mimetype --use-server-modtime lists only (LastModified from the
      // listing: what Strata stores). Timed: default once (slow); listing-only, and with
      // --fast-list (one flat listing), best of 2.
      const srvMt = ['--no-mimetype', '--use-server-modtime'];
      const dflt = await rcloneS3(s, set.prefix, []);
      const runs: Array<{ ms: number; files: number }> = [];
      const fast: Array<{ ms: number; files: number }> = [];
      for (let r = 0; r < (full ? 1 : 2); r++) {
        runs.push(await rcloneS3(s, set.prefix, srvMt));
        fast.push(await rcloneS3(s, set.prefix, [...srvMt, '--fast-list']));
      }
      const bR = best(runs);
      const bF = best(fast);
      log(`rclone S3: default ${dflt.files} files in ${dflt.ms.toFixed(0)} ms; --no-mimetype --use-server-modtime ${bR.files} in ${bR.ms.toFixed(0)} ms; + --fast-list ${bF.files} in ${bF.ms.toFixed(0)} ms`);
      for (const x of [dflt, bR, bF]) if (x.files !== set.objects) throw new Error(`rclone listed ${x.files} objects, expected ${set.objects}`);
      const bestRclone = bF.ms < bR.ms ? bF : bR;
      const bestName = `rclone lsjson -R --no-mimetype --use-server-modtime${bestRclone === bF ? ' --fast-list' : ''}`;
      rows.push({
        fig: 'S3', name: `rclone lsjson -R --files-only against radosgw, same prefix (${version})`, value: rate(bestRclone.ms), unit: 'objects/s',
        limitName: '— (peer)', limit: null, ratio: null,
        note: `${(bestRclone.ms / 1000).toFixed(2)} s with ${bestName.slice(17)} (best of ${runs.length}); without --fast-list (per-directory, --checkers 8) ${(bR.ms / 1000).toFixed(2)} s; ` +
          `default (one HEAD per object for MimeType and mtime) ${(dflt.ms / 1000).toFixed(2)} s = ${Math.round(rate(dflt.ms)).toLocaleString('en-US')}/s`,
        extra: { default: dflt, serverModtime: runs, serverModtimeFastList: fast, version },
      });
      const qr = ratio(rate(strataMs), rate(bestRclone.ms));
      rows.push({
        fig: 'S3', name: 'Strata S3 sync vs rclone listing of the same prefix', value: rate(strataMs), unit: 'objects/s',
        limitName: `${bestName} (its fastest)`, limit: rate(bestRclone.ms), ratio: qr,
        target: 'Strata faster', meets: qr > 1, note: `Strata also stores every inode in LMDB; rclone only prints; vs rclone's default: ${(dflt.ms / strataMs).toFixed(1)}× faster`,
      });
    }
    return rows;
  } finally {
    c.destroy();
    await cl.close();
    await srv.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
