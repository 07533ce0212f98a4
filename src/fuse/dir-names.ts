// Names of directories the daemon knows completely (created empty through this mount and
// changed only through it since), for a short time after its last change there: a lookup of
// a name such a directory lacks is answered ENOENT without asking the server (the failed
// lookup before every create). Bounded in directories and names; a subtree change forgets all.

/** Directories held at most, and names per directory. */
const MAX_DIRS = 1_000;
const MAX_NAMES = 10_000;

interface Known { names: Set<string>; until: number }

export class DirNames {
  private readonly dirs = new Map<string, Known>();

  /** @param ttlMs how long a directory's names are trusted (0: never kept) */
  constructor(private readonly ttlMs: number) {}

  /** `dir` holds exactly `names` now (a directory just created holds none). */
  set(dir: string, names: Iterable<string>): void {
    if (this.ttlMs <= 0) return;
    const set = new Set<string>();
    for (const n of names) {
      if (set.size >= MAX_NAMES) return this.forgetDir(dir);
      set.add(n);
    }
    this.dirs.delete(dir);
    if (this.dirs.size >= MAX_DIRS) {
      const oldest = this.dirs.keys().next().value;
      if (oldest !== undefined) this.dirs.delete(oldest);
    }
    this.dirs.set(dir, { names: set, until: Date.now() + this.ttlMs });
  }

  /** True when `path` is known not to exist (its parent is known and lacks the name). */
  absent(path: string): boolean {
    const [dir, name] = split(path);
    const k = this.dirs.get(dir);
    if (!k) return false;
    if (k.until <= Date.now()) {
      this.dirs.delete(dir);
      return false;
    }
    return !k.names.has(name);
  }

  /** A name appeared in its directory (create, mkdir, rename target). */
  added(path: string): void {
    const [dir, name] = split(path);
    const k = this.dirs.get(dir);
    if (!k) return;
    if (k.names.size >= MAX_NAMES) return this.forgetDir(dir);
    k.names.add(name);
    k.until = Date.now() + this.ttlMs;
  }

  /** A name left its directory (unlink, rmdir, rename source). */
  removed(path: string): void {
    const [dir, name] = split(path);
    const k = this.dirs.get(dir);
    if (k) {
      k.names.delete(name);
      k.until = Date.now() + this.ttlMs;
    }
    this.dirs.delete(path);
  }

  forgetDir(dir: string): void {
    this.dirs.delete(dir);
  }

  clear(): void {
    this.dirs.clear();
  }
}

function split(path: string): [string, string] {
  const i = path.lastIndexOf('/');
  return [i <= 0 ? '/' : path.slice(0, i), path.slice(i + 1)];
}
