// Short-circuit local reads (the `getLocalBlocks` call): for a file cached whole in block
// files on the server's host, the paths of those files, to a client on the same host that
// reads them itself (the FUSE daemon). Only loopback connections are answered; the path is
// authorized as the connection's user through its FileSystem view (a getStatus), as any read.

import { ErrorCode, StrataError } from '../errors.js';
import type { FileSystem } from '../fs.js';
import type { LocalBlocksResult } from '../protocol/messages.js';
import { authorize } from '../auth/access.js';
import type { User } from '../auth/users.js';
import { isLoopbackHost } from './guard.js';

/** Where the block cache keeps a cached block as a file (the BlockStore's `localFile`). */
export interface BlockFileSource {
  localFile(fileId: number, index: number): { path: string; size: number } | undefined;
}

/** Most block files answered for one file (a larger file is read through the TCP path). */
const MAX_BLOCK_FILES = 65_536;

/**
 * Answer `getLocalBlocks(path)`: the file's content id, length and block files in order, or
 * null when it is not cached whole in block files (small blocks live inline in the index).
 * A block file never changes under its name for a content id (written aside and renamed once
 * complete; a new version of the file gets a new id), so a reader keyed by `fileId` that
 * opens the files gets this version's bytes or ENOENT (evicted), never another version's.
 */
export async function localBlocksOf(req: {
  /** The connection's view (withUser), and its user (undefined without authentication). */
  fs: FileSystem;
  user: User | undefined;
  blocks: BlockFileSource | undefined;
  remoteAddress: string | undefined;
  path: string;
}): Promise<LocalBlocksResult | null> {
  if (typeof req.path !== 'string') throw new StrataError(ErrorCode.BAD_REQUEST, 'getLocalBlocks: the path must be a string');
  if (!req.blocks) {
    throw new StrataError(ErrorCode.FAILED_PRECONDITION, 'getLocalBlocks: this server has no local block cache to share (short-circuit reads are off)');
  }
  if (!req.remoteAddress || !isLoopbackHost(req.remoteAddress)) {
    throw new StrataError(ErrorCode.PERMISSION_DENIED, `getLocalBlocks: only clients on the server's host (loopback) may read block files directly, not ${req.remoteAddress ?? 'an unknown peer'}`);
  }
  // Reading the bytes is a read of the file (not the traversal a getStatus allows on ancestors).
  if (req.user) authorize(req.user, 'readFile', [req.path]);
  const info = await req.fs.getStatus(req.path);
  if (info.type !== 'file' || info.length === 0 || info.cachedBytes !== info.length) return null;
  const blocks: Array<{ path: string; size: number }> = [];
  let end = 0;
  for (let i = 0; end < info.length; i++) {
    if (i >= MAX_BLOCK_FILES) return null;
    const lf = req.blocks.localFile(info.fileId, i);
    if (!lf || lf.size === 0) return null;
    blocks.push({ path: lf.path, size: lf.size });
    end += lf.size;
  }
  if (end !== info.length) return null;
  return { fileId: info.fileId, length: info.length, blocks };
}
