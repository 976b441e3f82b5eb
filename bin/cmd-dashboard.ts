import { listFlag, meshtapVersion, parseDurationMs, parseHostPort, stringFlag, UsageError } from '../common/index.js';
import { isLoopbackHost, startDashboardServer } from '../dashboard/index.js';
import { connectionFromArgs, loadKubeconfig, SOURCE_HELP, SOURCE_OPTIONS } from '../tap-api/index.js';
import type { Command } from './command.js';

const help = `Open a web UI for live and recent traffic, request detail with bodies, workloads and a service map.

Usage:
  meshtap dashboard [-n NS]... [flags]

The dashboard runs on your machine and acts as you: it taps with your token, config file or
kubeconfig, exactly like 'meshtap tap', so it shows no more than your RBAC allows. It listens on
loopback and prints a URL carrying a random per-run secret; the first visit trades the secret for
a session cookie. Requests naming another Host (DNS rebinding) or coming from another site's page
are refused. The query bar takes the tap filter flags ('--path /api --status 5xx'; see
'meshtap tap --help') and --reveal-header NAME (needs the body permission, as in 'meshtap tap').

Flags:
  -n, --namespace NS        namespace to show (repeatable; default: default)
      --address HOST:PORT   where to listen (default 127.0.0.1:4195, a free port if that one is taken);
                            off loopback anyone who gets the URL sees what you may see
${SOURCE_HELP}
      --prometheus URL      workload statistics from this Prometheus instead of scraping the sidecars
      --stat-window DURATION  window of the workload statistics (default 5s)

Examples:
  meshtap dashboard -n emojivoto
  meshtap dashboard -n shop -n payments --tap-api http://127.0.0.1:8089
`;

const DEFAULT_PORT = 4195;
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;


const command: Command = {
  spec: {
    name: 'dashboard',
    summary: 'web UI: live traffic, request detail, workloads, service map',
    help,
    options: {
      namespace: { type: 'string', short: 'n', multiple: true },
      address: { type: 'string' },
      ...SOURCE_OPTIONS,
      prometheus: { type: 'string' },
      'stat-window': { type: 'string' },
    },
  },
  async run(args) {
    const namespaces = listFlag(args, 'namespace');
    if (namespaces.length === 0) namespaces.push('default');
    for (const ns of namespaces) if (!NAME.test(ns)) throw new UsageError(`dashboard: namespace '${ns}' is not a Kubernetes name`);
    const address = stringFlag(args, 'address');
    const { host, port } = address ? parseHostPort(address, '--address') : { host: '127.0.0.1', port: DEFAULT_PORT };
    const statWindowMs = parseDurationMs(stringFlag(args, 'stat-window', undefined, '5s')!, '--stat-window', { aboveZero: true });
    const connection = connectionFromArgs('dashboard', args);
    // A kubeconfig that cannot be read fails now, in one line, not at the first tap in the browser.
    const cluster = 'kube' in connection ? (await loadKubeconfig(connection.kube.kubeconfigPath, connection.kube.context)).getCurrentCluster()!.server : undefined;
    const prometheus = stringFlag(args, 'prometheus');
    const options = { connection, namespaces, host, statWindowMs, version: meshtapVersion(), ...(prometheus ? { prometheus } : {}) };
    let server;
    try {
      server = await startDashboardServer({ ...options, port });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' && !address) server = await startDashboardServer({ ...options, port: 0 });
      else if (code === 'EADDRINUSE') throw new UsageError(`dashboard: ${host}:${port} is in use; choose another --address (port 0 picks a free one)`);
      else if (code === 'EADDRNOTAVAIL') throw new UsageError(`dashboard: ${host} is not an address of this machine; use --address 127.0.0.1:${port}`);
      else throw err;
    }
    if (!isLoopbackHost(host)) {
      process.stderr.write(
        `meshtap dashboard: warning: listening on ${host}, off loopback: anyone who reaches it with the URL (and its secret) sees what your credentials may see, over plain HTTP\n`,
      );
    }
    process.stderr.write(`meshtap dashboard: open ${server.url}\n`);
    process.stderr.write(`meshtap dashboard: acting as you through ${'tapApi' in connection ? connection.tapApi.url : `the Kubernetes API server at ${cluster}`}; Ctrl-C stops it\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await server.close();
    return 0;
  },
};
export default command;
