// Entry of the `strata` command line: dispatches to `server`, `fs` and `fsadmin`, and turns
// every failure into one line `strata: CODE: message` on stderr (plus `{"error":…}` on stdout
// with --json) and an exit code: 0 success, 1 failure, 2 bad usage.

import { Command, CommanderError } from 'commander';
import { ErrorCode, StrataError } from '../errors.js';
import { EXIT_OK, EXIT_USAGE, exitCodeFor, printError, usage } from './format.js';
import { ownOptionsFirst } from './fs-more.js';

const VERSION = '0.1.0';

/**
 * The command groups, each loaded on first use: a command builds (and loads the modules of)
 * only its own group, so `strata fs ls /` never loads the server's or FUSE's code.
 */
const GROUPS: Record<string, () => Promise<Command>> = {
  server: async () => (await import('./server.js')).serverCommand(),
  fs: async () => (await import('./fs-commands.js')).fsCommand(),
  fsadmin: async () => (await import('./fsadmin.js')).fsadminCommand(),
  gateway: async () => (await import('./gateway.js')).gatewayCommand(),
  fuse: async () => (await import('./fuse.js')).fuseCommand(),
};

/**
 * The `strata` program: with `argv` naming a group (`fs …`), that group alone; otherwise
 * (top-level help, version, a mistyped group) every group.
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('strata')
    .description('Strata: one namespace over local disk and S3, with metadata sync and caching')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ outputError: () => {} }) // errors are printed our way, below
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false, groupItems: ownOptionsFirst })
    // Help is --help only (as in Alluxio): -h is human-readable sizes in ls and du.
    .helpOption('--help', 'display help for command');
  // Subcommands inherit exitOverride/configureOutput only when created through .command(),
  // so the groups built elsewhere get them explicitly.
  const first = argv[0];
  const names = first !== undefined && Object.hasOwn(GROUPS, first) ? [first] : Object.keys(GROUPS);
  const groups = await Promise.all(names.map((n) => GROUPS[n]!()));
  for (const group of groups) {
    inherit(group, program);
    program.addCommand(group);
  }
  program.addHelpText('after', '\nSee `strata <command> --help`, and docs/cli.md.');
  return program;
}

function inherit(cmd: Command, from: Command): void {
  cmd.copyInheritedSettings(from);
  for (const c of cmd.commands) inherit(c, cmd);
}

/** True when the user asked for JSON output (read from argv so that parse errors honour it). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const args = end < 0 ? argv : argv.slice(0, end);
  return (args[0] === 'fs' || args[0] === 'fsadmin') && args.includes('--json');
}

const QUIET_EXITS = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/** Run the command line on `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const json = wantsJson(argv);
  try {
    await (await buildProgram(argv)).parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (QUIET_EXITS.has(err.code)) return err.exitCode;
      const message = err.message.replace(/^error: /, '');
      printError(usage(new StrataError(ErrorCode.INVALID_ARGUMENT, message)), json);
      return EXIT_USAGE;
    }
    printError(err, json);
    return exitCodeFor(err);
  }
}

/** Run the command line of this process and exit with its code (what bin/strata.mjs calls). */
export async function run(): Promise<void> {
  // A closed pipe (`strata fs cat big | head`) ends the command quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_OK);
    throw err;
  });
  const code = await main(process.argv.slice(2));
  // Exit explicitly: stdout is flushed first; nothing else (sockets, timers) may keep us alive.
  process.stdout.write('', () => process.exit(code));
}
