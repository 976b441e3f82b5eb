#!/usr/bin/env node
/**
 * The `meshtap` entry point: finds the sub-command, parses its flags, runs it.
 * Exit codes: 0 ok, 1 failure, 2 usage. Errors go to stderr as one line saying what to do.
 */
import { MeshtapError, UsageError, exitQuietlyOnBrokenPipe, wrapHelpText, isEndingForBrokenPipe, meshtapVersion, parseCommandArgs, runCleanups, suggestClosest } from '../common/index.js';
import type { Command } from './command.js';
import { COMMANDS } from './commands.js';

function topHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return [
    'meshtap: see your service-to-service traffic without disturbing it.',
    '',
    'Usage: meshtap COMMAND [flags]',
    '',
    'Commands:',
    ...lines,
    '',
    "Run 'meshtap COMMAND --help' for a command's flags.",
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest.length > 0) return main([rest[0]!, '--help']); // `meshtap help tap`, as kubectl/git
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(wrapHelpText(topHelp()));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    process.stdout.write(`meshtap ${meshtapVersion()}\n`); // the client only; `meshtap version` asks the server too
    return 0;
  }
  if (name === '__complete') {
    // What completion scripts run on TAB (bin/complete-targets.ts): quiet, bounded, exit 0. The
    // exit is forced: a request that outlived the bound must not keep the shell waiting.
    const { completeWords } = await import('./complete-targets.js');
    const words = await completeWords(rest);
    process.stdout.write(words.map((w) => w + '\n').join(''), () => process.exit(0));
    return new Promise<number>(() => {});
  }
  const entry = COMMANDS[name];
  if (!entry) {
    const near = suggestClosest(name, Object.keys(COMMANDS));
    throw new UsageError(`unknown command '${name}'${near ? `; did you mean '${near}'?` : ''} (run 'meshtap --help' for the list)`);
  }
  let command: Command;
  try {
    command = (await entry.load()).default;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(`cmd-${name}`)) {
      throw new MeshtapError('MT_NOT_BUILT', `'meshtap ${name}' is not available in this build`);
    }
    throw err;
  }
  const args = parseCommandArgs(command.spec, rest);
  if (!args) return 0;
  return command.run(args);
}

exitQuietlyOnBrokenPipe();
main(process.argv.slice(2))
  .then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (isEndingForBrokenPipe()) return; // the reader went away: a quiet exit 0 is under way
    if (err instanceof UsageError || (err instanceof MeshtapError && err.code === 'MT_USAGE')) {
      process.stderr.write(`meshtap: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof MeshtapError) {
      process.stderr.write(`meshtap: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`meshtap: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
  )
  .finally(() => runCleanups());
