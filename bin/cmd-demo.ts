import { parseDurationMs, stringFlag, UsageError } from '../common/index.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDashboardServer, type DashboardServer } from '../dashboard/index.js';
import { startDemoControlPlane, startDemoMesh } from '../demo/index.js';
import { formatMessage, openSource, type TapOutput, type TapSource } from '../tap-api/index.js';
import type { Command } from './command.js';

const help = `Start a local demo mesh and tap it: no cluster, no root.

  traffic -> web (HTTP/1) -> emoji (gRPC), voting (gRPC; votes for :doughnut: fail, others now and then)

Each app runs behind its own meshtap sidecar in explicit mode; the sidecars register with a local
tap API (tokens and RBAC generated into a temporary directory). The demo prints live tap output for
deploy/web through the tap API, the commands to try from a second terminal, and where each
sidecar's /metrics is, until Ctrl-C (or --duration). Everything it started stops on exit.

It also starts 'meshtap dashboard' (acting as the demo's admin user) and prints its URL.

Usage: meshtap demo [--duration 30s] [--rps 5] [-o text|wide|json]
`;

const command: Command = {
  spec: {
    name: 'demo',
    summary: 'local demo mesh',
    help,
    options: {
      duration: { type: 'string' },
      rps: { type: 'string' },
      output: { type: 'string', short: 'o' },
    },
  },
  async run(args) {
    const output = (stringFlag(args, 'output', undefined, 'text') ?? 'text') as TapOutput;
    if (!['text', 'wide', 'json'].includes(output)) throw new UsageError(`demo: -o takes text, wide or json, not '${output}'`);
    const durationMs = args.values.duration ? parseDurationMs(String(args.values.duration), '--duration') : undefined;
    const rps = args.values.rps !== undefined ? Number(args.values.rps) : 5;
    if (!Number.isFinite(rps) || rps < 0 || rps > 1000) throw new UsageError(`demo: --rps takes a number from 0 to 1000`);

    const dir = await mkdtemp(join(tmpdir(), 'meshtap-demo-'));
    const cp = await startDemoControlPlane(dir);
    const mesh = await startDemoMesh({ rps, tapApi: cp.tapApi.url, tapApiToken: cp.registrationToken }).catch(async (e) => {
      await cp.tapApi.close();
      throw e;
    });
    // Wait (bounded) until the three sidecars have registered, so the first tap finds them.
    for (let i = 0; i < 50 && cp.tapApi.registry.list('emojivoto').length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    const err = (s: string) => process.stderr.write(s + '\n');
    err('meshtap demo: a local mesh is running (Ctrl-C stops everything)');
    for (const w of [mesh.web, mesh.emoji, mesh.voting]) {
      err(`  ${w.workload.padEnd(14)} app ${w.app.address}  via sidecar ${w.inbound}  metrics http://${w.sidecar.adminAddress}/metrics`);
    }
    err(`  tap API ${cp.tapApi.url} (tokens and RBAC in ${dir})`);
    const dashboard = await startDemoDashboard(cp.tapApi.url, cp.adminToken).catch((e: Error) => {
      err(`  (the dashboard did not start: ${e.message})`);
      return undefined;
    });
    if (dashboard) err(`  dashboard ${dashboard.url}   (acting as demo-admin)`);
    err(`Try from another terminal:`);
    err(`  alias meshtap='node ${process.argv[1]}'   # or: npm link`);
    err(`  export MESHTAP_TAP_API=${cp.tapApi.url} MESHTAP_TOKEN=${cp.adminToken}`);
    err(`  meshtap tap deploy/web -n emojivoto`);
    err(`  meshtap tap deploy/voting -n emojivoto --grpc-status UNKNOWN -o json`);
    err(`  meshtap tap deploy/web -n emojivoto --bodies --last 5`);
    err(`  meshtap top deploy/web -n emojivoto`);
    err(`  meshtap stat deploy -n emojivoto`);
    err(`  MESHTAP_TOKEN=${cp.viewerToken} meshtap tap deploy/web -n emojivoto --bodies   # denied: viewer has no body permission`);
    err(`  curl -s http://${mesh.web.sidecar.adminAddress}/metrics | grep response_total`);
    err(`Live tap of deploy/web:`);

    const source: TapSource = { tapApi: { url: cp.tapApi.url, token: cp.adminToken, namespace: 'emojivoto', target: 'deploy/web' } };
    const stream = openSource(source, { matches: [], bodies: false, maxRps: 100 });
    const done = new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
      if (durationMs !== undefined) setTimeout(resolve, durationMs).unref();
    });
    const printing = (async () => {
      try {
        for await (const m of stream.messages) {
          const line = formatMessage(m, output);
          if (line !== undefined) process.stdout.write(line + '\n');
        }
      } catch (e) {
        err(`meshtap demo: tap stream ended: ${(e as Error).message}`);
      }
    })();
    await done;
    stream.cancel();
    await printing;
    await dashboard?.close();
    await mesh.close();
    await cp.tapApi.close();
    await rm(dir, { recursive: true, force: true });
    err(`meshtap demo: stopped (sent ${mesh.sent} requests)`);
    return 0;
  },
};
/** The dashboard on its usual port (a free one if taken), acting as the demo's admin user. */
async function startDemoDashboard(url: string, token: string): Promise<DashboardServer> {
  const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const options = { connection: { tapApi: { url, token } }, namespaces: ['emojivoto'], version };
  return startDashboardServer({ ...options, port: 4195 }).catch(() => startDashboardServer({ ...options, port: 0 }));
}

export default command;
