/**
 * `meshtap install`: prints the control plane for `kubectl apply -f -`. Each run makes
 * fresh certificates and a fresh tap signing key (unless --cert-manager), so re-running
 * it rotates them; sidecars pick the new key up when their pods restart.
 */
import { UsageError, stringFlag, type ParsedArgs } from '../common/index.js';
import { buildControlPlane, defaultImage, readMeshtapVersion, renderObjects } from '../webhook/index.js';
import type { Command } from './command.js';

const command: Command = {
  spec: {
    name: 'install',
    summary: 'print the control plane manifests for kubectl apply -f -',
    help: `Usage: meshtap install [flags] | kubectl apply -f -

Prints the namespace, RBAC (incl. the meshtap-tap-viewer and meshtap-tap-admin
ClusterRoles), the webhook, the tap API and its APIService, the agent DaemonSet, PDBs
and certificates.

Flags:
  -n, --namespace NS     control plane namespace (default meshtap)
      --image IMAGE      image of every component (default ${defaultImage()})
      --ha               three replicas, anti-affinity, minAvailable PDBs
      --cert-manager     let cert-manager issue certificates and inject caBundles
  -o, --output FORMAT    yaml (default) or json
`,
    options: {
      namespace: { type: 'string', short: 'n' },
      image: { type: 'string' },
      ha: { type: 'boolean' },
      'cert-manager': { type: 'boolean' },
      output: { type: 'string', short: 'o' },
    },
  },
  async run(args: ParsedArgs): Promise<number> {
    const output = stringFlag(args, 'output', undefined, 'yaml')!;
    if (output !== 'yaml' && output !== 'json') throw new UsageError(`--output: '${output}' is not yaml or json`);
    const namespace = stringFlag(args, 'namespace', undefined, 'meshtap')!;
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) throw new UsageError(`--namespace: '${namespace}' is not a valid namespace name`);
    const version = readMeshtapVersion();
    const objects = await buildControlPlane({
      namespace,
      image: stringFlag(args, 'image', undefined, defaultImage(version))!,
      version,
      ha: args.values.ha === true,
      certManager: args.values['cert-manager'] === true,
    });
    process.stdout.write(renderObjects(objects, output));
    return 0;
  },
};

export default command;
