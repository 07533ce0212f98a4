// The per-directory listing digest of a recursive sync's fast path (issue 16): a directory
// whose UFS listing and whose set of children in Strata are both what they were when it was
// last fully applied needs no child decode and no write but its sync time. The digest is
// stored on the directory inode (`lsDigest`) as "<listing>/<children>": the listing part is a
// SHA-1 of (name, type, content and metadata fingerprints) of every UFS entry in listing
// order — exactly what the applier compares per entry; the children part is an
// order-independent hash of the (name, id) edges — ids are never reused, so any create,
// delete, rename or replace through Strata changes it. Every sync that applies a listing or a
// single path without recording a fresh digest drops it (SyncPathCache), so it never
// vouches for a state it did not see. See docs/metadata-sync-digest.md.

import { createHash } from 'node:crypto';
import type { InodeRecord } from './inode.js';

/** What a listing digest covers of one UFS entry (a UfsStatus has these fields). */
export interface DigestEntry {
  name: string;
  type: 'file' | 'directory';
  contentHash: string;
  metaHash: string;
}

/** SHA-1 (base64) of a directory's UFS listing, in the order the UFS listed it. */
export function listingDigest(entries: readonly DigestEntry[]): string {
  const h = createHash('sha1');
  // One update per ~64 entries: fewer crossings into native code than one per entry.
  let chunk = '';
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    chunk += `${e.name}\u0000${e.type === 'file' ? 'f' : 'd'}\u0000${e.contentHash}\u0000${e.metaHash}\u0001`;
    if ((i & 63) === 63) { h.update(chunk); chunk = ''; }
  }
  if (chunk) h.update(chunk);
  return h.digest('base64');
}

/** murmur3's 32-bit finaliser: spreads every input bit over the output. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * An order-independent hash of a directory's children (name, id): add them in any order
 * (an edge scan, or the outcomes of an apply) and get the same value for the same set.
 */
export class ChildSetDigest {
  private n = 0;
  private a = 0;
  private b = 0;

  add(name: string, id: number): void {
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) {
      h ^= name.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    this.n++;
    this.a = (this.a + fmix(h ^ Math.imul(id | 0, 0x9e3779b1))) >>> 0;
    this.b = (this.b + fmix((h + Math.imul((id / 0x100000000) | 0, 0x85ebca6b) + id * 31) | 0)) >>> 0;
  }

  toString(): string {
    return `${this.n.toString(36)}.${this.a.toString(36)}.${this.b.toString(36)}`;
  }
}

/** The stored form of a digest. */
export function composeDigest(listing: string, children: ChildSetDigest | string): string {
  return `${listing}/${String(children)}`;
}

/** Characters of a base64 SHA-1 (the listing part). */
const LISTING_CHARS = 28;

/** The listing part of a directory's stored digest (undefined when it has none). */
export function listingPart(dir: Pick<InodeRecord, 'lsDigest'>): string | undefined {
  const d = dir.lsDigest;
  return d !== undefined && d.length > LISTING_CHARS && d[LISTING_CHARS] === '/' ? d.slice(0, LISTING_CHARS) : undefined;
}
