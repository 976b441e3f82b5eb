/** `meshtap stat`: success rate, RPS, latency percentiles and TCP connections per workload. */
import { listFlag, MeshtapError, parseDurationMs, stringFlag, UsageError } from '../common/index.js';
import { collectStats, renderStatTable } from '../tap-api/index.js';
import type { Command } from './command.js';

const help = `Show success rate, requests per second, latency and TCP connections per workload.

Usage:
  meshtap stat TYPE[/NAME] [TYPE[/NAME]...] [-n NS] [-t WINDOW] [flags]
      TYPE: deploy, pod, ns, sts, ds, job     e.g. 'stat deploy' (every deployment), 'stat deploy/web'

How: without Prometheus, the sidecars' /metrics are scraped at the start and at the end of the
window and the numbers come from the difference (so the command takes WINDOW to answer).
Inbound traffic (requests the workload served); latency percentiles interpolate within the
response_latency_ms histogram buckets like PromQL's histogram_quantile.

Flags:
  -n, --namespace NS     namespace (default: default)
  -t, --window DURATION  window (default 10s; e.g. 30s, 1m)
  -o, --output FORMAT    table (default) or json
      --tap-api URL      find the sidecars through the tap API (env MESHTAP_TAP_API, or tapApi: in ~/.config/meshtap/config.yaml);
                         needs 'list sidecars' in API group tap.meshtap.dev
      --token TOKEN      bearer token for the tap API (env MESHTAP_TOKEN, or token: in the config file; MESHTAP_CONFIG names another file)
      --admin HOST:PORT  scrape this sidecar admin address directly (repeatable; no tap API)
      --prometheus URL   query this Prometheus (HTTP API) instead of scraping

Columns: MESHED = sidecars that answered both scrapes / sidecars found; SUCCESS excludes 5xx
and failing gRPC statuses (Linkerd's classification); '-' = no requests in the window.

Examples:
  meshtap stat deploy -n shop -t 30s
  meshtap stat deploy/web --prometheus http://127.0.0.1:9090 -t 1m -o json
`;

const command: Command = {
  spec: {
    name: 'stat',
    summary: 'success rate, RPS and latency per workload',
    help,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      window: { type: 'string', short: 't' },
      output: { type: 'string', short: 'o' },
      'tap-api': { type: 'string' },
      token: { type: 'string' },
      admin: { type: 'string', multiple: true },
      prometheus: { type: 'string' },
    },
  },
  async run(args) {
    if (args.positionals.length === 0) throw new UsageError("stat: give at least one TYPE or TYPE/NAME, e.g. 'meshtap stat deploy' (see 'meshtap stat --help')");
    const output = stringFlag(args, 'output', undefined, 'table');
    if (output !== 'table' && output !== 'json') throw new UsageError(`stat: -o takes table or json, not '${output}'`);
    const namespace = stringFlag(args, 'namespace', undefined, 'default')!;
    const windowMs = parseDurationMs(stringFlag(args, 'window', undefined, '10s')!, '--window');
    const tapApi = stringFlag(args, 'tap-api', 'MESHTAP_TAP_API');
    const token = stringFlag(args, 'token', 'MESHTAP_TOKEN');
    const prometheus = stringFlag(args, 'prometheus');
    const admin = listFlag(args, 'admin');
    let rows;
    try {
      rows = await collectStats({
        targets: args.positionals,
        namespace,
        windowMs,
        ...(prometheus ? { prometheus } : {}),
        ...(admin.length ? { admin } : {}),
        ...(tapApi ? { tapApi: { url: tapApi, ...(token ? { token } : {}) } } : {}),
      });
    } catch (err) {
      if (err instanceof MeshtapError && err.code === 'MT_USAGE') throw new UsageError(`stat: ${err.message}`);
      throw err;
    }
    if (output === 'json') {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      return 0;
    }
    if (rows.length === 0) {
      process.stderr.write(`meshtap: no meshed pods found for ${args.positionals.join(' ')} in namespace "${namespace}"\n`);
      return 1;
    }
    process.stdout.write(renderStatTable(rows));
    return 0;
  },
};

export default command;
