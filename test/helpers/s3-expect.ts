import {
  AbortMultipartUploadCommand, DeleteBucketCommand, DeleteObjectsCommand, ListMultipartUploadsCommand, ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';

// Checks for tests that run the same S3 calls against the gateway and radosgw side by side:
// they throw plain Errors (naming the side's answer) instead of asserting, so one side's
// answer can be collected and compared with the other's.

/** The S3 error code and HTTP status a call fails with (or throws that it succeeded). */
export async function failure(p: Promise<unknown>): Promise<{ code: string; status: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    return { code: e.Code ?? e.name ?? 'Unknown', status: e.$metadata?.httpStatusCode ?? 0 };
  }
  throw new Error('the call succeeded, an error was expected');
}

/** The call fails with `code` (`'*'`: any) and HTTP `status`. */
export async function expectError(p: Promise<unknown>, code: string, status: number): Promise<void> {
  const f = await failure(p);
  if (f.status !== status || (code !== '*' && f.code !== code)) throw new Error(`expected ${code} ${status}, got ${f.code} ${f.status}`);
}

/** `actual` and `expected` have the same JSON. */
export function eq(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual); const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** The body of a GetObject answer as text. */
export const text = async (body: unknown): Promise<string> => (body as { transformToString(): Promise<string> }).transformToString();

/** What each side answered to one case: true (passed) or its failure message. */
export interface CaseResult { name: string; r: Record<string, string | true> }

/**
 * Run every case on every side, one case after another; `ctx` makes the case's context on a
 * side (its client, a key prefix of the case, a bucket factory). A failure is kept as its
 * message, whitespace folded and cut to `messageChars`.
 */
export async function runSideBySide<S extends { name: string }, C>(
  cases: ReadonlyArray<readonly [string, (x: C) => Promise<void>]>, sides: readonly S[],
  ctx: (side: S, caseIndex: number) => C, messageChars: number,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const [i, [name, run]] of cases.entries()) {
    const r: Record<string, string | true> = {};
    for (const s of sides) {
      try {
        await run(ctx(s, i));
        r[s.name] = true;
      } catch (err) {
        r[s.name] = ((err as Error).message || String(err)).replace(/\s+/g, ' ').slice(0, messageChars);
      }
    }
    results.push({ name, r });
  }
  return results;
}

/** How many cases `side` passed. */
export const passedBy = (results: CaseResult[], side: string): number => results.filter(({ r }) => r[side] === true).length;

/** The results as a markdown table, gateway beside radosgw, with each side's pass count. */
export function resultTable(results: CaseResult[]): string {
  const cell = (v: string | true | undefined): string => (v === true ? 'pass' : `FAIL: ${v ?? '?'}`);
  return ['| case | gateway | radosgw |', '|---|---|---|',
    ...results.map(({ name, r }) => `| ${name} | ${cell(r.gateway)} | ${cell(r.radosgw)} |`),
    `| **passed** | ${passedBy(results, 'gateway')}/${results.length} | ${passedBy(results, 'radosgw')}/${results.length} |`,
  ].join('\n');
}

/**
 * Empty and delete `buckets` (multipart uploads aborted, objects deleted a page at a time, at
 * most 100 pages each): what a side-by-side test leaves on the shared radosgw. A bucket that
 * is gone already is skipped.
 */
export async function removeBuckets(c: S3Client, buckets: readonly string[]): Promise<void> {
  for (const b of buckets) {
    try {
      const ups = await c.send(new ListMultipartUploadsCommand({ Bucket: b }));
      for (const u of ups.Uploads ?? []) await c.send(new AbortMultipartUploadCommand({ Bucket: b, Key: u.Key!, UploadId: u.UploadId! })).catch(() => undefined);
      for (let i = 0; i < 100; i++) {
        const l = await c.send(new ListObjectsV2Command({ Bucket: b }));
        if (!l.Contents?.length) break;
        await c.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: l.Contents.map((o) => ({ Key: o.Key! })), Quiet: true } }));
      }
      await c.send(new DeleteBucketCommand({ Bucket: b }));
    } catch { /* gone already */ }
  }
}
