// The per-directory listing digest of a recursive sync's fast path (issue 16): a directory
// whose UFS listing and whose set of children in Strata are both what they were when it was
// last fully applied needs no child decode and no write but its sync time. The digest is
// stored on the directory inode (`lsDigest`) as "<listing>/<children>": the listing part is a
// 96-bit hash of (name, type, content and metadata fingerprints) of every UFS entry in listing
// order — exactly what the applier compares per entry; the children part is an
// order-independent hash of the (name, id) edges — ids are never reused, so any create,
// delete, rename or replace through Strata changes it. Every sync that applies a listing or a
// single path without recording a fresh digest drops it (SyncPathCache), so it never
// vouches for a state it did not see. A digest also records the directory's children version
// as of that apply ("…@<version>", InodeTree.childrenVersion: set by every edge write): while
// the version is the same, the children are, and a re-sync compares the listing part alone —
// no edge scan. See docs/metadata-sync-digest.md.

import type { InodeRecord } from './inode.js';

/** What a listing digest covers of one UFS entry (a UfsStatus has these fields). */
export interface DigestEntry {
  name: string;
  type: 'file' | 'directory';
  contentHash: string;
  metaHash: string;
}

/**
 * A 96-bit hash (three 32-bit lanes, 20 characters) of a directory's UFS listing, in the
 * order the UFS listed it. Not cryptographic: it tells a changed listing from an unchanged
 * one (a chance collision, ~2^-96 per change, would hide that change until the next one),
 * at a fraction of a SHA-1's cost per directory.
 */
export function listingDigest(entries: readonly DigestEntry[]): string {
  // The lanes are locals of one loop (a closure over them kept them in a heap context: a
  // load and a store per lane per character, 3-5x slower); the result is the same hash.
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  let c = 0x2545f491;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    for (let f = 0; f < 4; f++) {
      const s = f === 0 ? e.name : f === 1 ? e.type : f === 2 ? e.contentHash : e.metaHash;
      for (let j = 0; j < s.length; j++) {
        const ch = s.charCodeAt(j);
        a = Math.imul(a ^ ch, 0x01000193);
        b = Math.imul(b ^ ch, 0x5bd1e995);
        c = Math.imul((c ^ ch) + (c >>> 15), 0x27d4eb2f);
      }
      // Field separator: (name, type, content, metadata) boundaries are part of the hash.
      a = Math.imul(a ^ 0x100, 0x01000193);
      b = Math.imul(b ^ 0x100, 0x5bd1e995);
      c = Math.imul((c ^ 0x100) + (c >>> 15), 0x27d4eb2f);
    }
  }
  const n = entries.length;
  const lane = (h: number, seed: number): string => fmix((h ^ n ^ seed) >>> 0).toString(36).padStart(7, '0');
  return lane(a, 0) + lane(b, 0x1b873593) + lane(c, 0xcc9e2d51).slice(-6);
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

/** The stored form of a digest: listing, children and the children version they were taken at. */
export function composeDigest(listing: string, children: ChildSetDigest | string, version: number): string {
  return `${listing}/${String(children)}@${version.toString(36)}`;
}

/**
 * The children version a stored digest was recorded at, undefined when it has none (a
 * digest of an older build, before versions: its children are checked by an edge scan).
 */
export function versionPart(dir: Pick<InodeRecord, 'lsDigest'>): number | undefined {
  const d = dir.lsDigest;
  const at = d === undefined ? -1 : d.lastIndexOf('@');
  if (at < 0) return undefined;
  const v = parseInt(d!.slice(at + 1), 36);
  return Number.isFinite(v) ? v : undefined;
}

/** The listing and children parts of a stored digest (without the version). */
export function digestBody(dir: Pick<InodeRecord, 'lsDigest'>): string | undefined {
  const d = dir.lsDigest;
  if (d === undefined) return undefined;
  const at = d.lastIndexOf('@');
  return at < 0 ? d : d.slice(0, at);
}

/** The listing and children parts of a digest about to be compared with a stored one. */
export function digestBodyOf(listing: string, children: ChildSetDigest | string): string {
  return `${listing}/${String(children)}`;
}

/** Characters of the listing part (listingDigest). */
const LISTING_CHARS = 20;

/** The listing part of a directory's stored digest (undefined when it has none). */
export function listingPart(dir: Pick<InodeRecord, 'lsDigest'>): string | undefined {
  const d = dir.lsDigest;
  return d !== undefined && d.length > LISTING_CHARS && d[LISTING_CHARS] === '/' ? d.slice(0, LISTING_CHARS) : undefined;
}
