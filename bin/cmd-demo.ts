import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { startDashboardServer, type DashboardServer } from '../dashboard/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshtapError, meshtapVersion, onCleanup, parseDurationMs, setLongTimeout, stringFlag, UsageError } from '../common/index.js';
import { startDemoControlPlane, startDemoMesh, type DemoControlPlane, type DemoMesh } from '../demo/index.js';
import { formatMessage, openSource, type TapOutput, type TapSource } from '../tap-api/index.js';
import type { Command } from './command.js';
import { chooseEngine } from './engine-choice.js';

const help = `Start a local demo mesh and tap it: no cluster, no root.

  traffic -> web (HTTP/1) -> emoji (gRPC), voting (gRPC; votes for :doughnut: fail, others now and then)

Each app runs behind its own meshtap sidecar in explicit mode; the sidecars register with a local
tap API (tokens and RBAC generated into a temporary directory). The demo prints where each
sidecar's /metrics is, the commands to try from a second terminal (their variables are also in
an env file: 'source DIR/env'), and then a live tap of deploy/web through the tap API, until
Ctrl-C (or --duration). On a terminal the live tap waits for Enter, so the commands stay
readable; Enter during the tap shows them again. Everything it started stops on exit, and the
temporary directory (credentials included) is removed, also when the reader of its output goes
away ('meshtap demo | head').

It also starts 'meshtap dashboard' (acting as the demo's admin user) and prints its URL.

Usage: meshtap demo [--duration 30s] [--rps 5] [-o text|wide|json] [--engine native|js]

Flags:
      --duration DURATION   stop after this long (default: until Ctrl-C)
      --rps N               requests per second the traffic generator sends (default 5; 0 = none)
  -o, --output FORMAT       the live tap's lines: text (default), wide, json
      --engine native|js    the sidecars' data path engine (MESHTAP_ENGINE; default native where the
                            addon is built, else js with a line saying why)
`;

/** What a second terminal needs, as lines of shell. */
function envFile(binPath: string, cp: DemoControlPlane): string {
  return [
    '# meshtap demo: source this file from another terminal (removed when the demo stops)',
    // A function, not an alias: an alias does not apply on the line that defines it ('source … && meshtap …').
    // ('function NAME' also works where meshtap is already an alias: NAME is not alias-expanded there).
    'unalias meshtap 2>/dev/null',
    `function meshtap { node '${binPath}' "$@"; }`,
    `export MESHTAP_TAP_API=${cp.tapApi.url}`,
    `export MESHTAP_TOKEN=${cp.adminToken}`,
    `export MESHTAP_DEMO_VIEWER_TOKEN=${cp.viewerToken}`,
    '',
  ].join('\n');
}

function tryCommands(envPath: string, binPath: string, cp: DemoControlPlane, mesh: DemoMesh): string[] {
  return [
    'Try from another terminal:',
    `  source ${envPath}        # or:`,
    `  alias meshtap='node ${binPath}'   # (or npm link)`,
    `  export MESHTAP_TAP_API=${cp.tapApi.url} MESHTAP_TOKEN=${cp.adminToken}`,
    `  meshtap tap deploy/web -n emojivoto`,
    `  meshtap tap deploy/voting -n emojivoto --grpc-status UNKNOWN -o json`,
    `  meshtap tap deploy/web -n emojivoto --bodies --limit 5   # bodies of live exchanges (the recorders keep none)`,
    `  meshtap top deploy/web -n emojivoto`,
    `  meshtap stat deploy -n emojivoto`,
    `  MESHTAP_TOKEN=$MESHTAP_DEMO_VIEWER_TOKEN meshtap tap deploy/web -n emojivoto --bodies   # denied: viewer has no body permission`,
    `  curl -s http://${mesh.web.sidecar.adminAddress}/metrics | grep response_total`,
  ];
}

const command: Command = {
  spec: {
    name: 'demo',
    summary: 'local demo mesh',
    help,
    options: {
      duration: { type: 'string' },
      rps: { type: 'string' },
      output: { type: 'string', short: 'o' },
      engine: { type: 'string' },
    },
  },
  async run(args) {
    const output = (stringFlag(args, 'output', undefined, 'text') ?? 'text') as TapOutput;
    if (!['text', 'wide', 'json'].includes(output)) throw new UsageError(`demo: -o takes text, wide or json, not '${output}'`);
    const durationMs = args.values.duration ? parseDurationMs(String(args.values.duration), '--duration', { aboveZero: true }) : undefined;
    const rps = args.values.rps !== undefined ? Number(args.values.rps) : 5;
    if (!Number.isFinite(rps) || rps < 0 || rps > 1000) throw new UsageError(`demo: --rps takes a number from 0 to 1000`);
    const { engine, fallbackNote } = await chooseEngine(args, 'demo');

    const err = (s: string) => {
      if (!process.stderr.destroyed) process.stderr.write(s + '\n');
    };
    const dir = await mkdtemp(join(tmpdir(), 'meshtap-demo-'));
    // The directory holds credentials: it goes on every way out. The 'exit' hook covers what no
    // finally reaches (another part of meshtap calling process.exit, a second Ctrl-C).
    const removeDirSync = () => rmSync(dir, { recursive: true, force: true });
    process.once('exit', removeDirSync);

    // One way to stop: Ctrl-C, SIGTERM, SIGHUP (the terminal closed: unhandled, it killed the demo
    // without the 'exit' hook, leaving the env file's tokens) or --duration. When the reader of stdout goes away
    // ('| head'), common/stdout.ts runs the same teardown (onCleanup) and exits 0.
    let stop!: (why: string) => void;
    const stopped = new Promise<string>((resolve) => (stop = resolve));
    const onSignal = () => stop('signal');
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);

    let cp: DemoControlPlane | undefined;
    let mesh: DemoMesh | undefined;
    let dashboard: DashboardServer | undefined;
    let stream: ReturnType<typeof openSource> | undefined;
    let printing: Promise<void> | undefined;
    let tornDown: Promise<void> | undefined;
    const teardown = () =>
      (tornDown ??= (async () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.off('SIGHUP', onSignal);
        process.stdin.pause();
        stream?.cancel();
        await printing;
        await dashboard?.close();
        await mesh?.close();
        await cp?.tapApi.close();
        await rm(dir, { recursive: true, force: true });
        process.off('exit', removeDirSync);
      })());
    const unregister = onCleanup(teardown);
    try {
      cp = await started('its tap API', startDemoControlPlane(dir));
      if (fallbackNote) err(fallbackNote);
      mesh = await started('the mesh', startDemoMesh({ rps, tapApi: cp.tapApi.url, tapApiToken: cp.registrationToken, engine }));
      // Wait (bounded) until the three sidecars have registered, so the first tap finds them.
      for (let i = 0; i < 50 && cp.tapApi.registry.list('emojivoto').length < 3; i++) await new Promise((r) => setTimeout(r, 100));
      const binPath = process.argv[1]!;
      const envPath = join(dir, 'env');
      await writeFile(envPath, envFile(binPath, cp), { mode: 0o600 });
      const commands = tryCommands(envPath, binPath, cp, mesh);
      err(`meshtap demo: a local mesh is running on the ${engine} engine (Ctrl-C stops everything)`);
      for (const w of [mesh.web, mesh.emoji, mesh.voting]) {
        err(`  ${w.workload.padEnd(14)} app ${w.app.address}  via sidecar ${w.inbound}  metrics http://${w.sidecar.adminAddress}/metrics`);
      }
      err(`  tap API ${cp.tapApi.url} (RBAC policy in ${join(dir, 'rbac')})`);
      dashboard = await startDemoDashboard(cp.tapApi.url, cp.adminToken).catch((e: Error) => {
        err(`  (the dashboard did not start: ${e.message})`);
        return undefined;
      });
      if (dashboard) err(`  dashboard ${dashboard.url}   (acting as demo-admin)`);
      for (const l of commands) err(l);

      // On a terminal, the live tap would scroll the commands away at once: wait for Enter.
      // Enter during the tap prints them again. Piped output starts at once.
      const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
      if (interactive) {
        err('Press Enter to start the live tap of deploy/web (and again to see these commands).');
        process.stdin.resume();
        await Promise.race([new Promise((r) => process.stdin.once('data', r)), stopped]);
        process.stdin.on('data', () => {
          for (const l of commands) err(l);
        });
      }
      if (durationMs !== undefined) setLongTimeout(() => stop('duration'), durationMs).unref();
      err(`Live tap of deploy/web:`);

      const source: TapSource = { tapApi: { url: cp.tapApi.url, token: cp.adminToken, namespace: 'emojivoto', target: 'deploy/web' } };
      const tap = openSource(source, { matches: [], bodies: false, maxRps: 100 });
      stream = tap;
      printing = (async () => {
        try {
          for await (const m of tap.messages) {
            const line = formatMessage(m, output);
            if (line === undefined) continue;
            process.stdout.write(line + '\n');
          }
        } catch (e) {
          err(`meshtap demo: tap stream ended: ${(e as Error).message}`);
        }
      })();
      await Promise.race([stopped, printing]);
    } finally {
      await teardown();
      unregister();
    }
    err(`meshtap demo: stopped (sent ${mesh.sent} requests)`);
    return 0;
  },
};
/**
 * A failure to start, as one line (the finally of run() stops whatever did start, so the command
 * exits instead of hanging on what it left running); an unexpected error's stack is not for users.
 */
async function started<T>(what: string, starting: Promise<T>): Promise<T> {
  try {
    return await starting;
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new MeshtapError(e instanceof MeshtapError ? e.code : 'MT_DEMO_START', `demo: ${what} did not start: ${message}`, { cause: e });
  }
}

/** The dashboard on its usual port (a free one if taken), acting as the demo's admin user. */
async function startDemoDashboard(url: string, token: string): Promise<DashboardServer> {
  const version = meshtapVersion();
  const options = { connection: { tapApi: { url, token } }, namespaces: ['emojivoto'], version };
  return startDashboardServer({ ...options, port: 4195 }).catch(() => startDashboardServer({ ...options, port: 0 }));
}

export default command;
