/**
 * `--color auto|always|never` (as ls, git, Hubble): auto colours only a terminal, and never
 * when NO_COLOR is set (no-color.org) or TERM is dumb.
 */
import { stringFlag, UsageError, type ParsedArgs } from '../../common/index.js';

export const COLOR_HELP = `      --color WHEN          auto (default: on a terminal, unless NO_COLOR is set), always, never`;

/** Whether to colour stdout. */
export function colorFromArgs(args: ParsedArgs, command: string, out: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  const when = stringFlag(args, 'color', undefined, 'auto')!;
  if (when === 'always') return true;
  if (when === 'never') return false;
  if (when !== 'auto') throw new UsageError(`${command}: --color takes auto, always or never, not '${when}'`);
  return out.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}
