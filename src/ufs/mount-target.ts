// How a UFS scheme takes part in `mount.allowed.roots`: each scheme's folder says what an
// entry of its scheme means and whether a mount target falls under one (src/auth/allowed-roots.ts
// groups the entries by scheme and asks the scheme's policy). A scheme without a policy can
// never be mounted, so a new UFS is refused until it states what its targets may reach.

/** What every policy may need to decide: never the data directory, the server's defaults. */
export interface MountTargetContext {
  /** The server's data directory, resolved: no mount may reach it. */
  dataDir: string;
  /** Server-wide UFS options (`-D s3.*`), e.g. the default S3 endpoint. */
  ufsDefaults: Record<string, string>;
  env: NodeJS.ProcessEnv;
}

/** One scheme's rules: `R` is its parsed form of a `mount.allowed.roots` entry. */
export interface MountTargetPolicy<R = unknown> {
  /** What an entry looks like, for messages (`file:///dir`). */
  readonly entryForm: string;
  /** Parse one entry of this scheme; INVALID_ARGUMENT naming `where` when malformed. */
  parseRoot(entry: string, where: string, ctx: MountTargetContext): R;
  /** PERMISSION_DENIED (naming the target and why) unless `uri` with `options` is within `roots`. */
  check(uri: string, options: Record<string, string>, roots: readonly R[], ctx: MountTargetContext): void;
}
