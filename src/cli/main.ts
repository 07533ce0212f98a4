// Entry of the `strata` command line: dispatches to `server`, `fs` and `fsadmin`, and turns
// every failure into one line `strata: CODE: message` on stderr (plus `{"error":…}` on stdout
// with --json) and an exit code: 0 success, 1 failure, 2 bad usage.

import { Command, CommanderError } from 'commander';
import { ErrorCode, StrataError } from '../errors.js';
import { EXIT_OK, EXIT_USAGE, exitCodeFor, printError, usage } from './format.js';
import { serverCommand } from './server.js';
import { fsCommand } from './fs-commands.js';
import { fsadminCommand } from './fsadmin.js';
import { gatewayCommand } from './gateway.js';
import { fuseCommand } from './fuse.js';
import { ownOptionsFirst } from './fs-more.js';

const VERSION = '0.1.0';

/** The whole `strata` program. */
export function buildProgram(): Command {
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
  for (const group of [serverCommand(), fsCommand(), fsadminCommand(), gatewayCommand(), fuseCommand()]) {
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
    await buildProgram().parseAsync([...argv], { from: 'user' });
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

// A closed pipe (`strata fs cat big | head`) ends the command quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT_OK);
  throw err;
});

const code = await main(process.argv.slice(2));
// Exit explicitly: stdout is flushed first; nothing else (sockets, timers) may keep us alive.
process.stdout.write('', () => process.exit(code));
