import type { CommandSpec, ParsedArgs } from '../common/index.js';

/** One `meshtap` sub-command: its flags/help and what it does. Returns the exit code. */
export interface Command {
  spec: CommandSpec;
  run(args: ParsedArgs): Promise<number>;
}
