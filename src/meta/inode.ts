// The inode record stored in the 'inode' table and the edges that link inodes into a tree
// ('edge' table: [parent id, child name] -> child id). Ids are allocated from a counter in
// the 'sys' table and never reused; the root directory is inode 1.

import type { NodeKind, PersistenceState, TtlAction } from '../types.js';

export const ROOT_ID = 1;

export interface InodeRecord {
  id: number;
  parentId: number;
  name: string;
  type: 'file' | 'directory';
  length: number;
  mtimeMs: number;
  /**
   * Last status change (POSIX ctime) and last access set through Strata (atime), ms. Optional
   * so that records written before they existed read unchanged: absent means the mtime
   * (`ctimeOf`, `atimeOf`).
   */
  ctimeMs?: number;
  atimeMs?: number;
  mode: number;
  /** Owner and group set through setAttributes (absent: the front end's default owner). */
  uid?: number;
  gid?: number;
  /** Content id: stable while the content is unchanged, new when it is reloaded. */
  fileId: number;
  ps: PersistenceState;
  /** Last UFS fingerprints seen for this inode (content and metadata). */
  ufsContent?: string;
  ufsMeta?: string;
  /** The UFS's own ETag of the content (S3 objects), as loaded or persisted; absent where the UFS has none. */
  ufsEtag?: string;
  blockSize: number;
  pinned: boolean;
  ttlMs: number;
  ttlAction: TtlAction;
  createdMs: number;
  /** Last change made through Strata (sync appliers never undo newer changes). */
  touchMs: number;
  /** Set on mount points. */
  mountId?: number;
  /**
   * When this inode (or, for a directory, its listing) was last synced with the UFS. The
   * sync-time fields (syncMs, selfMs, syncRec, loaded) are read and written by the rules of
   * sync-path-cache.ts only.
   */
  syncMs?: number;
  /**
   * Directories only: when the directory's own status (not its listing) was last synced.
   * Kept apart from `syncMs` so that a status sync never makes a stale listing look fresh.
   */
  selfMs?: number;
  /** The last sync of this directory covered its whole subtree. */
  syncRec?: boolean;
  /** The directory's children have been loaded from the UFS at least once. */
  loaded?: boolean;
  /**
   * Directories only: digest of the UFS listing and of the children as of the last full
   * apply of that listing by a recursive sync (meta/dir-digest.ts); absent when unknown.
   */
  lsDigest?: string;
  cachedBytes: number;
  persistAttempts?: number;
  lastPersistError?: string;
  /** Extended attributes of a file (S3 ETag and metadata); dropped when the content is reloaded from the UFS. */
  xattr?: Record<string, string>;
  /**
   * A special file (type 'file', ps NOT_PERSISTED, no content): a symbolic link with its
   * target, a FIFO, a socket, or a device node with its device number. Metadata only: never
   * persisted, kept by syncs as every unpersisted file is.
   */
  node?: NodeKind;
  target?: string;
  rdev?: number;
}

/** The POSIX ctime of an inode (its mtime when the record has none). */
export const ctimeOf = (i: Pick<InodeRecord, 'mtimeMs' | 'ctimeMs'>): number => i.ctimeMs ?? i.mtimeMs;

/** The access time of an inode (its mtime when the record has none). */
export const atimeOf = (i: Pick<InodeRecord, 'mtimeMs' | 'atimeMs'>): number => i.atimeMs ?? i.mtimeMs;

/**
 * A directory after a change of its entries at `now` (a name created, removed or renamed):
 * POSIX updates its mtime and ctime. The access time, if it was the mtime, stays what it was.
 */
export function entriesChanged(dir: InodeRecord, now: number): InodeRecord {
  return { ...dir, atimeMs: atimeOf(dir), mtimeMs: now, ctimeMs: now };
}

/** Key of the edge from a directory to its child. */
export const edgeKey = (parentId: number, name: string): [number, string] => [parentId, name];

/** Key range of all children of a directory, in name order, starting after `after`. */
export function childRange(parentId: number, after?: string): { start: [number, string]; end: [number] } {
  // name + NUL sorts just after the bare name: the range starts strictly after `after`.
  // [parentId + 1] sorts after every [parentId, name], whatever characters the name has.
  return { start: [parentId, after === undefined ? '' : after + '\u0000'], end: [parentId + 1] };
}
