import { parseDurationMs, stringFlag, UsageError } from '../common/index.js';
import { startDemoMesh } from '../demo/index.js';
import { openTapStream } from '../proxy/index.js';
import { formatMessage, type TapOutput } from '../tap-api/cli/index.js';
import type { Command } from './command.js';

const help = `Start a local demo mesh and tap it: no cluster, no root.

  traffic -> web (HTTP/1) -> emoji (gRPC), voting (gRPC; votes for :doughnut: fail, others now and then)

Each app runs behind its own meshtap sidecar in explicit mode. The demo prints live tap output
for web's sidecar and where each sidecar's /metrics is, until Ctrl-C (or --duration).

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

    const mesh = await startDemoMesh({ rps });
    const err = (s: string) => process.stderr.write(s + '\n');
    err('meshtap demo: a local mesh is running (Ctrl-C stops everything)');
    for (const w of [mesh.web, mesh.emoji, mesh.voting]) {
      err(`  ${w.workload.padEnd(14)} app ${w.app.address}  via sidecar ${w.inbound}  metrics http://${w.sidecar.adminAddress}/metrics  tap ${w.sidecar.tapAddress}`);
    }
    err(`Try from another terminal:`);
    err(`  meshtap tap --proxy ${mesh.web.sidecar.tapAddress}`);
    err(`  meshtap tap --proxy ${mesh.voting.sidecar.tapAddress} --grpc-status UNKNOWN -o json`);
    err(`  curl -s http://${mesh.web.sidecar.adminAddress}/metrics | grep response_total`);
    err(`Live tap of deploy/web:`);

    const stream = openTapStream(mesh.web.sidecar.tapAddress!, { matches: [], bodies: false });
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
      } catch {
        // cancelled on shutdown
      }
    })();
    await done;
    stream.cancel();
    await printing;
    await mesh.close();
    err(`meshtap demo: stopped (sent ${mesh.sent} requests)`);
    return 0;
  },
};
export default command;
