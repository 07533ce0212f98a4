// Assertions and stream helpers shared by the test files.
import * as assert from 'uvu/assert';
import { StrataError } from '../../src/errors.js';
import type { Ufs, UfsStatus } from '../../src/ufs/ufs.js';

/** Expect a StrataError with `code`; returns it for more checks. */
export async function rejects(p: Promise<unknown> | (() => Promise<unknown>), code: string): Promise<StrataError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    assert.instance(err, StrataError, `expected StrataError ${code}, got ${String(err)}`);
    assert.is((err as StrataError).code, code, (err as Error).message);
    return err as StrataError;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

/** Every byte of a stream. */
export async function readAll(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

/** Every page and entry of a UFS listing. */
export async function listAll(ufs: Ufs, path: string, opts: { recursive?: boolean; pageSize?: number } = {}): Promise<{ pages: UfsStatus[][]; entries: UfsStatus[] }> {
  const pages: UfsStatus[][] = [];
  for await (const p of ufs.list(path, opts)) pages.push(p);
  return { pages, entries: pages.flat() };
}
