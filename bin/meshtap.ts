#!/usr/bin/env node
/**
 * The `meshtap` entry point: finds the sub-command, parses its flags, runs it.
 * Exit codes: 0 ok, 1 failure, 2 usage. Errors go to stderr as one line saying what to do.
 */
import { MeshtapError, UsageError, exitQuietlyOnBrokenPipe, isEndingForBrokenPipe, meshtapVersion, parseCommandArgs, runCleanups, suggestClosest } from '../common/index.js';
import type { Command } from './command.js';

/** Sub-commands, loaded lazily so `meshtap proxy` never loads Kubernetes or dashboard code. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ default: Command }> }> = {
  proxy: { summary: 'run the sidecar (explicit --forward or transparent listeners)', load: () => import('./cmd-proxy.js') },
  demo: { summary: 'start a local demo mesh and tap it (no cluster, no root)', load: () => import('./cmd-demo.js') },
  tap: { summary: 'stream live (and recent) requests of a workload or one sidecar', load: () => import('./cmd-tap.js') },
  dashboard: { summary: 'web UI: live traffic, request detail, workloads, service map', load: () => import('./cmd-dashboard.js') },
  top: { summary: 'live table of the busiest paths of a workload', load: () => import('./cmd-top.js') },
  stat: { summary: 'success rate, RPS and latency per workload', load: () => import('./cmd-stat.js') },
  edges: { summary: 'who calls whom: success rate, RPS and latency per pair of workloads', load: () => import('./cmd-edges.js') },
  routes: { summary: "a workload's routes: success rate, RPS and latency per route", load: () => import('./cmd-routes.js') },
  advise: { summary: 'draft a NetworkPolicy from the observed edges (advise network-policy)', load: () => import('./cmd-advise.js') },
  'tap-api': { summary: 'run the tap API (local: tokens + embedded RBAC; --kubernetes: aggregated API)', load: () => import('./cmd-tap-api.js') },
  record: { summary: 'record tapped traffic to a file', load: () => import('./cmd-record.js') },
  replay: { summary: 'replay a recording against a target and diff the answers', load: () => import('./cmd-replay.js') },
  mock: { summary: 'serve recorded responses as a mock server', load: () => import('./cmd-mock.js') },
  convert: { summary: 'convert recordings to and from HAR', load: () => import('./cmd-convert.js') },
  run: { summary: 'run a command with its traffic intercepted by BPF and a sidecar (root)', load: () => import('./cmd-run.js') },
  agent: { summary: 'node agent: attach BPF interception to meshed pods (DaemonSet)', load: () => import('./cmd-agent.js') },
  check: { summary: 'check this node (and a cluster) for what meshtap needs', load: () => import('./cmd-check.js') },
  inject: { summary: 'add the meshtap sidecar to Kubernetes YAML/JSON', load: () => import('./cmd-inject.js') },
  webhook: { summary: 'run the mutating admission webhook (HTTPS)', load: () => import('./cmd-webhook.js') },
  install: { summary: 'print the control plane manifests for kubectl apply -f -', load: () => import('./cmd-install.js') },
  version: { summary: 'print the client and server (tap API) versions', load: () => import('./cmd-version.js') },
};

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
    process.stdout.write(topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    process.stdout.write(`meshtap ${meshtapVersion()}\n`); // the client only; `meshtap version` asks the server too
    return 0;
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
