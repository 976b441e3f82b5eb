/**
 * `meshtap webhook`: the mutating admission webhook (HTTPS). Reads namespaces through the
 * in-cluster service account (or KUBECONFIG) to honour namespace-level annotations.
 */
import { MeshtapError, UsageError, createLogger, parseHostPort, stringFlag, type ParsedArgs } from '../common/index.js';
import { createKubeNamespaceLookup, defaultImage, startWebhookServer, type NamespaceLookup } from '../webhook/index.js';
import type { Command } from './command.js';
import { MESH_CONFIG_OPTIONS, meshConfigFromFlags } from './mesh-config-flags.js';

const log = createLogger('webhook');

const command: Command = {
  spec: {
    name: 'webhook',
    summary: 'run the mutating admission webhook (HTTPS)',
    help: `Usage: meshtap webhook --cert FILE --key FILE [flags]

Serves POST /inject (AdmissionReview v1 and v1beta1), /healthz and /metrics over HTTPS.
The certificate files are re-read when they change. Fails open unless --strict.

Flags:
      --listen ADDR                 address to listen on (default 0.0.0.0:8443)
      --cert FILE                   serving certificate (PEM)
      --key FILE                    its private key (PEM)
      --image IMAGE                 sidecar image (default ${defaultImage()})
      --tap-api URL                 make sidecars register with this tap API (local-mode only;
                                    in a cluster the tap API finds pods itself)
      --tap-public-key KEY          Ed25519 public key given to sidecars (base64 raw or PEM)
      --control-plane-namespace NS  never inject this namespace (default meshtap)
      --proxy-uid UID               the proxy's uid (default 2102)
      --classic                     inject classic containers instead of native sidecars
      --strict                      deny pods when injection fails internally
      --no-namespace-lookup         do not read namespace annotations from the API server
`,
    options: {
      ...MESH_CONFIG_OPTIONS,
      listen: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      'control-plane-namespace': { type: 'string' },
      strict: { type: 'boolean' },
      'no-namespace-lookup': { type: 'boolean' },
    },
  },
  async run(args: ParsedArgs): Promise<number> {
    const listen = parseHostPort(stringFlag(args, 'listen', undefined, '0.0.0.0:8443')!, '--listen');
    const certFile = stringFlag(args, 'cert');
    const keyFile = stringFlag(args, 'key');
    if (!certFile || !keyFile) throw new UsageError("webhook: --cert and --key are required (see 'meshtap webhook --help')");
    const namespace = stringFlag(args, 'control-plane-namespace', undefined, 'meshtap')!;
    const config = meshConfigFromFlags(args, namespace);
    let lookupNamespace: NamespaceLookup | undefined;
    if (args.values['no-namespace-lookup'] !== true) {
      const { KubeConfig } = await import('@kubernetes/client-node');
      const kc = new KubeConfig();
      try {
        kc.loadFromDefault();
        lookupNamespace = await createKubeNamespaceLookup(kc);
      } catch (err) {
        log.warn('no Kubernetes access: namespace annotations are ignored', { error: (err as Error).message });
      }
    }
    const server = await startWebhookServer({ host: listen.host, port: listen.port, certFile, keyFile, config, lookupNamespace, strict: args.values.strict === true });
    log.info('listening', { address: `${listen.host}:${server.port}` });
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await server.close().catch((err: unknown) => {
      throw new MeshtapError('MT_WEBHOOK_CLOSE', `closing failed: ${(err as Error).message}`, { cause: err });
    });
    return 0;
  },
};

export default command;
