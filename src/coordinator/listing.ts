// The listStatus walk, in one place: a file is one entry; a directory is listed in pages
// from the inode tree after the sync its options ask for; a recursive listing is a
// depth-first walk in which every directory appears before its children, and a subtree
// never listed is loaded whole first (one parallel BFS, not level by level).

import { joinPath } from '../meta/path.js';
import type { FileInfo, ListStatusOptions } from '../types.js';
import type { FileInfoMapper } from './file-info.js';
import type { Services } from './services.js';
import { throwIfCancelled } from '../cancel.js';

/** The largest page a listing yields. */
export const MAX_PAGE = 1000;

/** Stream the status of `p` (a file) or of its children (a directory), in pages. */
export async function* listPaged(s: Services, infos: FileInfoMapper, p: string, options: ListStatusOptions): AsyncIterable<FileInfo[]> {
  const pageSize = Math.max(1, Math.min(options.pageSize ?? MAX_PAGE, MAX_PAGE));
  const signal = options.signal;
  const what = `listStatus of ${p}`;
  let root = await s.sync.access(p, options, !options.recursive);
  if (root.type === 'file') {
    yield [infos.info(p, root)];
    return;
  }
  if (options.recursive && s.sync.treeSyncDue(p, root, options)) {
    await s.sync.loadMetadata(p, true, undefined, signal);
    root = s.tree.getInode(root.id) ?? root;
  }
  // Depth-first walk, each directory listed in full (paged) before its subdirectories, so
  // every directory appears before its children. The stack holds the subdirectories still
  // to visit (ids and paths only): memory grows with the width of the tree, not its size.
  const stack: Array<{ id: number; path: string }> = [{ id: root.id, path: p }];
  let page: FileInfo[] = [];
  while (stack.length > 0) {
    throwIfCancelled(signal, what); // the client left (or cancelled): stop walking
    const dir = stack.pop()!;
    const ctx = infos.dirContext(dir.path);
    const subdirs: Array<{ id: number; path: string }> = [];
    let after: string | undefined;
    for (;;) {
      if (after === undefined && dir.id === root.id && !options.recursive) after = options.startAfter;
      const children = s.tree.listChildren(dir.id, after, pageSize);
      for (const c of children) {
        page.push(infos.childInfo(ctx, c));
        if (options.recursive && c.type === 'directory') subdirs.push({ id: c.id, path: joinPath(dir.path, c.name) });
        if (page.length >= pageSize) {
          yield page;
          page = [];
        }
      }
      if (children.length < pageSize) break;
      after = children[children.length - 1]!.name;
    }
    for (let i = subdirs.length - 1; i >= 0; i--) {
      const sd = subdirs[i]!;
      const inode = s.tree.getInode(sd.id);
      if (!inode) continue; // removed meanwhile
      if (!inode.loaded && s.options.loadType(sd.path, options.loadType) !== 'NEVER') {
        // A subtree never listed: load all of it at once (a parallel BFS), not level by level.
        await s.sync.loadMetadata(sd.path, true, undefined, signal);
      }
      stack.push(sd);
    }
  }
  if (page.length) yield page;
}
