// The names of directories a mount listed whole a moment ago, reused for the attribute timeout
// (the same freshness as the statuses of that listing): a second `ls -lR` of a tree makes no
// server listing per directory. Bounded by a total number of names (least recently used
// directories go first); the mount drops a directory's entry whenever it changes a name in it.

interface Entry { names: readonly string[]; until: number }

export class DirListCache {
  private readonly dirs = new Map<string, Entry>();
  private total = 0;

  /**
   * @param ttlMs how long a listing is reused (0: never cached).
   * @param maxNames names kept over all directories.
   */
  constructor(private readonly ttlMs: number, private readonly maxNames = 200_000) {}

  /** The names of `dir` listed within the timeout (without "." and ".."), or undefined. */
  get(dir: string): readonly string[] | undefined {
    const e = this.dirs.get(dir);
    if (!e) return undefined;
    if (e.until <= Date.now()) {
      this.drop(dir);
      return undefined;
    }
    this.dirs.delete(dir);
    this.dirs.set(dir, e);
    return e.names;
  }

  /** Keep the whole listing of `dir`, taken now (or from `since`, when it started). */
  put(dir: string, names: readonly string[], since = Date.now()): void {
    if (this.ttlMs <= 0 || names.length > this.maxNames) return;
    this.drop(dir);
    while (this.total + names.length > this.maxNames && this.dirs.size) {
      this.drop(this.dirs.keys().next().value as string);
    }
    this.dirs.set(dir, { names, until: since + this.ttlMs });
    this.total += names.length;
  }

  /** Forget the listing of `dir` (a name in it was added, removed or changed type). */
  drop(dir: string): void {
    const e = this.dirs.get(dir);
    if (!e) return;
    this.dirs.delete(dir);
    this.total -= e.names.length;
  }

  clear(): void {
    this.dirs.clear();
    this.total = 0;
  }
}
