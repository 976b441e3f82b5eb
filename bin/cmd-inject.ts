/**
 * `meshtap inject`: adds the sidecar to Kubernetes YAML/JSON (like `linkerd inject
 * --manual`), for `meshtap inject -f app.yaml | kubectl apply -f -`. What was injected or
 * skipped, and why, goes to stderr so stdout stays a clean manifest.
 */
import { readFile } from 'node:fs/promises';
import { MeshtapError, stringFlag, type ParsedArgs } from '../common/index.js';
import { injectText } from '../injector/index.js';
import { defaultImage } from '../webhook/index.js';
import type { Command } from './command.js';
import { MESH_CONFIG_OPTIONS, meshConfigFromFlags } from './mesh-config-flags.js';


async function readInput(file: string): Promise<string> {
  if (file === '-') {
    // On a terminal, say what it waits for (as it would otherwise sit silent until Ctrl-D).
    if (process.stdin.isTTY) process.stderr.write('meshtap inject: reading Kubernetes YAML or JSON from stdin (Ctrl-D ends it; -f FILE reads a file)\n');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new MeshtapError('MT_INJECT_INPUT', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

const command: Command = {
  spec: {
    name: 'inject',
    summary: 'add the meshtap sidecar to Kubernetes YAML/JSON',
    help: `Usage: meshtap inject [-f FILE|-] [flags]

Adds the meshtap sidecar to every Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
Job and CronJob in the input (YAML streams, JSON, Lists); other kinds pass through.
YAML lines it does not change stay byte for byte (indentation, comments, quoting, other
documents): a diff of input and output shows only the sidecar. A report goes to stderr.

Flags:
  -f, --filename FILE        input file, or - for stdin (default -)
      --image IMAGE          sidecar image (default ${defaultImage()})
      --namespace NS         control plane namespace (default meshtap)
      --tap-api URL          make sidecars register with this tap API (local-mode tap APIs only;
                             in a cluster the tap API finds pods through the Kubernetes API)
      --tap-public-key KEY   Ed25519 public key (base64 raw or PEM) that verifies tap grants
      --classic              inject a classic container instead of a native sidecar
      --proxy-uid UID        the proxy's uid (default 2102)

Example:
  meshtap inject -f deploy.yaml | kubectl apply -f -
`,
    options: {
      ...MESH_CONFIG_OPTIONS,
      filename: { type: 'string', short: 'f' },
      namespace: { type: 'string', short: 'n' },
    },
  },
  async run(args: ParsedArgs): Promise<number> {
    const namespace = stringFlag(args, 'namespace', undefined, 'meshtap')!;
    const config = meshConfigFromFlags(args, namespace);
    const file = stringFlag(args, 'filename', undefined, '-')!;
    const text = await readInput(file);
    if (text.trim() === '') throw new MeshtapError('MT_INJECT_INPUT', `${file === '-' ? 'stdin' : file} is empty: give -f FILE or pipe YAML/JSON in (meshtap inject -f deploy.yaml | kubectl apply -f -)`);
    const result = injectText(text, config);
    if (!result.ok) throw new MeshtapError('MT_INJECT_INPUT', `${file === '-' ? 'stdin' : file}: ${result.error}`);
    process.stdout.write(result.output);
    for (const r of result.reports) {
      process.stderr.write(r.injected ? `${r.object} injected\n` : `${r.object} skipped: ${r.reason}\n`);
      for (const w of r.warnings) process.stderr.write(`  warning: ${w}\n`);
    }
    return 0;
  },
};

export default command;
