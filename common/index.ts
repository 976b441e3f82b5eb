/** Small pieces every folder may share: the error base class, logging. No I/O of its own. */
export { MeshtapError, UsageError, isErrnoException } from './errors.js';
export type { Result } from './errors.js';
export { createLogger } from './log.js';
export type { Logger } from './log.js';
export { parseCommandArgs, stringFlag, listFlag, parseDurationMs, parseTimeOrAgo, parseCount, parseBytes, parseHostPort, editDistance, suggestClosest } from './cli.js';
export { wrapHelpText, HELP_WIDTH } from './help-text.js';
export { onCleanup, runCleanups, exitQuietlyOnBrokenPipe, endForBrokenPipe, isEndingForBrokenPipe, isBrokenPipe } from './stdout.js';
export type { CommandSpec, OptionSpec, ParsedArgs } from './cli.js';
export { SOURCE_OPTIONS, SOURCE_HELP } from './source-flags.js';
export type { CheckResult } from './check.js';
export { formatHostPort } from './host-port.js';
export { setLongTimeout, MAX_TIMEOUT_MS } from './long-timeout.js';
export type { LongTimeout } from './long-timeout.js';
export { configFilePath, loadCliConfig } from './config.js';
export { startAdminServer } from './admin-server.js';
export type { AdminServer, AdminServerOptions } from './admin-server.js';
export { meshtapVersion, buildInfo } from './version.js';
export type { BuildInfo } from './version.js';
