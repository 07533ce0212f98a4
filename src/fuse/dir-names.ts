// Names of directories the daemon knows completely (created empty through this mount and
// changed only through it since), for a short time after its last change there: a lookup of
// a name such a directory lacks is answered ENOENT without asking the server (the failed
// lookup before every create). Bounded in directories and names; a subtree change forgets all.
// A mirror (the binding's copy, which answers those lookups on the FUSE threads) is told every
// change as it happens, with the same expiry times, so it never holds a directory as known
// longer than this does, nor lacks a name this one has.

/** Directories held at most, and names per directory. */
const MAX_DIRS = 1_000;
const MAX_NAMES = 10_000;

interface Known { names: Set<string>; until: number }

/** A copy of the known directories kept elsewhere (paths as given to DirNames). */
export interface DirNamesMirror {
  /** `dir` is known until `untilMs` and holds at least `names` (names the copy had for it may stay). */
  known(dir: string, names: readonly string[], untilMs: number): void;
  /** `path` exists; its directory, when known, is trusted until `untilMs`. */
  present(path: string, untilMs: number): void;
  /** `path` left its directory (trusted until `untilMs`) and is no known directory any more. */
  gone(path: string, untilMs: number): void;
  forgetDir(dir: string): void;
  clear(): void;
}

export class DirNames {
  private readonly dirs = new Map<string, Known>();

  /** @param ttlMs how long a directory's names are trusted (0: never kept) */
  constructor(private readonly ttlMs: number, private readonly mirror?: DirNamesMirror) {}

  /** Directories known now (expired ones included until they are looked at). */
  get size(): number {
    return this.dirs.size;
  }

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
      if (oldest !== undefined) this.forgetDir(oldest);
    }
    const until = Date.now() + this.ttlMs;
    this.dirs.set(dir, { names: set, until });
    this.mirror?.known(dir, [...set], until);
  }

  /** True when `path` is known not to exist (its parent is known and lacks the name). */
  absent(path: string): boolean {
    const [dir, name] = split(path);
    const k = this.dirs.get(dir);
    if (!k) return false;
    if (k.until <= Date.now()) {
      this.forgetDir(dir);
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
    this.mirror?.present(path, k.until);
  }

  /** `path` exists (a status of it was read): its known directory has the name, trusted no longer than before. */
  present(path: string): void {
    const [dir, name] = split(path);
    const k = this.dirs.get(dir);
    if (!k || k.names.has(name)) return;
    if (k.names.size >= MAX_NAMES) return this.forgetDir(dir);
    k.names.add(name);
    this.mirror?.present(path, k.until);
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
    this.mirror?.gone(path, k ? k.until : 0);
  }

  forgetDir(dir: string): void {
    this.dirs.delete(dir);
    this.mirror?.forgetDir(dir);
  }

  clear(): void {
    this.dirs.clear();
    this.mirror?.clear();
  }
}

function split(path: string): [string, string] {
  const i = path.lastIndexOf('/');
  return [i <= 0 ? '/' : path.slice(0, i), path.slice(i + 1)];
}
