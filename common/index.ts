/** Small pieces every folder may share: the error base class, logging. No I/O of its own. */
export { MeshtapError, UsageError, isErrnoException } from './errors.js';
export type { Result } from './errors.js';
export { createLogger } from './log.js';
export type { Logger } from './log.js';
export { parseCommandArgs, stringFlag, listFlag, parseDurationMs, parseCount, parseBytes, parseHostPort } from './cli.js';
export type { CommandSpec, OptionSpec, ParsedArgs } from './cli.js';
export type { CheckResult } from './check.js';
