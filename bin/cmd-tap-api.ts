/**
 * `meshtap tap-api`: the tap API, in local mode (token file + embedded RBAC + sidecar registry)
 * or Kubernetes mode (an aggregated API behind kube-apiserver: front-proxy certificates,
 * SubjectAccessReview, pods from the API server).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createLogger, parseBytes, parseCount, parseDurationMs, parseHostPort, stringFlag, MeshtapError, UsageError, type ParsedArgs } from '../common/index.js';
import {
  defaultRegistrationTokenPath,
  loadOrCreateRegistrationToken,
  loadRbacDir,
  loadTokenFile,
  startKubeTapApiServer,
  startTapApiServer,
  TAP_API_DEFAULTS,
  type TapApiServer,
} from '../tap-api/index.js';
import type { Command } from './command.js';
import { exportPublicKeyRaw, loadOrCreateGrantKey } from '../tap-protocol/index.js';

const help = `Run the tap API. Local mode: sidecars register with it, users tap through it with a
token. Kubernetes mode: the aggregated API v1alpha1.tap.meshtap.dev behind kube-apiserver.

Usage:
  meshtap tap-api --tokens FILE --rbac DIR [--listen ADDR] [--key FILE] [flags]
  meshtap tap-api --kubernetes --tls-cert-file FILE --tls-private-key-file FILE [--key FILE] [flags]

Flags:
      --listen ADDR          where to listen (default 127.0.0.1:8089)
      --mode local|kubernetes   (default local); --kubernetes is --mode kubernetes
      --tokens FILE          bearer tokens, kube-apiserver static token file format:
                             token,user,uid,"group1,group2"
      --rbac DIR             Role, ClusterRole, RoleBinding, ClusterRoleBinding YAML (multi-document
                             files and kind: List are fine; other kinds are skipped). Re-read on SIGHUP.
      --key FILE             Ed25519 grant-signing key, PEM; created (mode 0600) if missing
                             (default ~/.config/meshtap/tap-api.key)
      --registration-token-file FILE   the token sidecars must present to register
                             (meshtap proxy --tap-api-token, or MESHTAP_TAP_API_TOKEN); created
                             (mode 0600, 32 random bytes as hex) if missing. Default: beside the
                             grant key, <key dir>/registration.token
      --insecure-registration   let anyone who reaches the tap API register any pod at any
                             address, with no token. For throwaway local tests only.
      --max-rps N            per-tap rate when the client asks for none, split across pods (default ${TAP_API_DEFAULTS.defaultMaxRps})
      --max-rps-cap N        highest per-tap rate a client may ask for (default ${TAP_API_DEFAULTS.maxRpsCap})
      --max-taps N           concurrent taps (default ${TAP_API_DEFAULTS.maxConcurrentTaps})
      --max-taps-per-user N  concurrent taps of one user (default ${TAP_API_DEFAULTS.maxTapsPerUser})
      --max-sidecars N       registered sidecars (default 10000)
      --client-queue SIZE    bytes queued for one tap client before it is dropped (default 1MiB)
      --sidecar-ttl DURATION forget a sidecar after this long without a heartbeat (default 6s)
      --grant-ttl DURATION   grant lifetime; sidecars check it when a stream starts (default 60s)

Kubernetes mode (--kubernetes):
      --kubeconfig FILE      how to reach the API server (default: in-cluster, KUBECONFIG, ~/.kube/config)
      --tls-cert-file FILE   serving certificate (PEM; the APIService's caBundle must vouch for it)
      --tls-private-key-file FILE   its key. Both are re-read when they change.
      --requestheader-client-ca-file FILE   CA of kube-apiserver's front-proxy client certificate.
                             Default: read kube-system/extension-apiserver-authentication (as
                             aggregated API servers do), which also gives the settings below.
      --requestheader-allowed-names A,B     accepted front-proxy certificate common names
                             (default: any certificate signed by that CA)
      --requestheader-username-headers H    (default X-Remote-User)
      --requestheader-group-headers H       (default X-Remote-Group)
      --requestheader-extra-headers-prefix P   (default X-Remote-Extra-)
      --sidecar-tap-port N   sidecar tap port when a pod declares no 'meshtap-tap' port (default 4190)
  Identity comes ONLY from a verified front-proxy certificate plus the X-Remote-* headers;
  anything else is 401. Permissions are asked with a SubjectAccessReview (same attributes as
  below). Pods: a target's pods by its selector and owner chain (Pod -> ReplicaSet ->
  Deployment; sts/ds/job by controller), only Running pods labelled meshtap.dev/injected=true;
  tap address = status.podIP : the pod's 'meshtap-tap' container port (else --sidecar-tap-port).

Permissions (API group tap.meshtap.dev, checked in the target's namespace):
  tap TYPE/NAME                verb watch on <resource>/tap     (pods, deployments, namespaces,
                                                                 statefulsets, daemonsets, jobs)
  bodies, unredacted headers   verb watch on <resource>/tap-bodies   (a separate permission)
  stat (list sidecars)         verb list on sidecars
  edges, advise network-policy verb list on edges      (all namespaces: cluster-wide)
  routes                       verb list on routes
  version (meshtap version)    none: /version is public, as Kubernetes' is (through kube-apiserver:
                               verb get on version, which both ClusterRoles grant)
  Ready-made ClusterRoles: meshtap-tap-viewer (no bodies), meshtap-tap-admin (with bodies),
  shipped in tap-api/server/rbac/.

RBAC semantics are Kubernetes': deny by default; apiGroups, resources with subresources,
resourceNames, verbs incl. '*'; a RoleBinding grants in its namespace only (and may reference a
ClusterRole); subjects User, Group, ServiceAccount. A user named system:serviceaccount:NS:NAME
also gets the groups system:serviceaccounts and system:serviceaccounts:NS; every user gets
system:authenticated. Not supported: ClusterRole aggregation (aggregationRule is ignored; only a
ClusterRole's own rules count), escalate/bind/impersonate checks.

HTTP API:
  POST /apis/tap.meshtap.dev/v1alpha1/watch/namespaces/NS/RESOURCE/NAME/tap   (ns: …/namespaces/NS/tap)
       Authorization: Bearer TOKEN; body: JSON TapRequest; answer: NDJSON tap messages.
       Errors are Kubernetes Status objects (401, 403 naming the missing permission, 404, 429).
  GET  /apis/tap.meshtap.dev/v1alpha1/namespaces/NS/sidecars
  GET  /apis/tap.meshtap.dev/v1alpha1/[namespaces/NS/]edges?window=1m    (local: /v1/edges?namespace=NS)
  GET  /apis/tap.meshtap.dev/v1alpha1/namespaces/NS/routes?workload=deploy/web&window=1m
       [&to=deploy/x] (local: /v1/routes?namespace=NS&…); answers EdgeList / RouteList, see
       docs/edges-api.md
  POST /v1/sidecars, DELETE /v1/sidecars/NS/POD   registration, local mode only; Authorization:
       Bearer REGISTRATION-TOKEN (401 without it). Kubernetes mode: 404 (pods come from the API).
  GET  /v1/public-key     GET /healthz     GET /metrics

Grants are addressed to the tap address they are sent to (claim aud = host:port); a sidecar
refuses a grant addressed to another, so a grant received by one sidecar is useless elsewhere.
`;

const command: Command = {
  spec: {
    name: 'tap-api',
    summary: 'run the tap API (local: tokens + embedded RBAC; --kubernetes: aggregated API)',
    help,
    options: {
      listen: { type: 'string' },
      tokens: { type: 'string' },
      rbac: { type: 'string' },
      key: { type: 'string' },
      'max-rps': { type: 'string' },
      'max-rps-cap': { type: 'string' },
      'max-taps': { type: 'string' },
      'max-taps-per-user': { type: 'string' },
      'registration-token-file': { type: 'string' },
      'insecure-registration': { type: 'boolean' },
      'max-sidecars': { type: 'string' },
      'client-queue': { type: 'string' },
      'sidecar-ttl': { type: 'string' },
      'grant-ttl': { type: 'string' },
      mode: { type: 'string' },
      kubernetes: { type: 'boolean' },
      kubeconfig: { type: 'string' },
      'tls-cert-file': { type: 'string' },
      'tls-private-key-file': { type: 'string' },
      'requestheader-client-ca-file': { type: 'string' },
      'requestheader-allowed-names': { type: 'string' },
      'requestheader-username-headers': { type: 'string' },
      'requestheader-group-headers': { type: 'string' },
      'requestheader-extra-headers-prefix': { type: 'string' },
      'sidecar-tap-port': { type: 'string' },
    },
  },
  async run(args) {
    const log = createLogger('tap-api');
    const mode = args.values.kubernetes === true ? 'kubernetes' : (stringFlag(args, 'mode', undefined, 'local') ?? 'local');
    if (mode !== 'local' && mode !== 'kubernetes') throw new UsageError(`tap-api: --mode takes local or kubernetes, not '${mode}'`);
    if (args.values.kubernetes === true && stringFlag(args, 'mode') === 'local') throw new UsageError('tap-api: --kubernetes and --mode local exclude each other');
    const tokensPath = stringFlag(args, 'tokens');
    const rbacDir = stringFlag(args, 'rbac');
    const tokenFile = stringFlag(args, 'registration-token-file');
    const insecure = args.values['insecure-registration'] === true;
    if (mode === 'kubernetes') {
      if (tokensPath || rbacDir) throw new UsageError('tap-api: --tokens/--rbac are local mode; Kubernetes mode authenticates through kube-apiserver and asks SubjectAccessReviews');
      if (tokenFile || insecure) throw new UsageError('tap-api: --registration-token-file/--insecure-registration are local mode; in Kubernetes mode sidecars do not register (pods come from the API server)');
      return runKubernetes(args);
    }
    if (!tokensPath) throw new UsageError("tap-api: --tokens FILE is required (lines of token,user,uid,\"groups\"); see 'meshtap tap-api --help'");
    if (!rbacDir) throw new UsageError("tap-api: --rbac DIR is required (Role/RoleBinding YAML); see 'meshtap tap-api --help'");
    const listen = parseHostPort(stringFlag(args, 'listen', undefined, '127.0.0.1:8089')!, '--listen');
    if (tokenFile && insecure) throw new UsageError('tap-api: --registration-token-file and --insecure-registration exclude each other');
    const keyPath = signingKeyPath(args);
    const registrationPath = tokenFile ?? defaultRegistrationTokenPath(keyPath);
    const [tokens, policy, keys, registrationToken] = await Promise.all([
      loadTokenFile(tokensPath),
      loadRbacDir(rbacDir),
      loadOrCreateGrantKey(keyPath),
      insecure ? undefined : loadOrCreateRegistrationToken(registrationPath),
    ]);
    const server = await startTapApiServer({
      host: listen.host,
      port: listen.port,
      tokens,
      policy,
      keys,
      ...(registrationToken === undefined ? { insecureRegistration: true } : { registrationToken }),
      ...commonOptions(args),
    });
    process.stderr.write(`listening ${server.url}\npublic key ${exportPublicKeyRaw(keys.publicKey)}\n`);
    process.stderr.write(insecure ? 'registration INSECURE: any caller may register any pod (throwaway local tests only)\n' : `registration token file ${registrationPath}\n`);
    process.stderr.write(`loaded ${tokens.size} token(s), ${policy.roles.length} role(s), ${policy.bindings.length} binding(s)\nready\n`);
    const onHup = (): void => {
      loadRbacDir(rbacDir).then(
        (p) => {
          server.setPolicy(p);
          log.warn('RBAC policy reloaded', { roles: p.roles.length, bindings: p.bindings.length });
        },
        (err: unknown) => log.error('RBAC policy reload failed; keeping the previous policy', { error: (err as Error).message }),
      );
    };
    process.on('SIGHUP', onHup);
    await untilStopped(server);
    process.off('SIGHUP', onHup);
    return 0;
  },
};

function signingKeyPath(args: ParsedArgs): string {
  return stringFlag(args, 'key', undefined, join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'meshtap', 'tap-api.key'))!;
}

/** The bounds both modes share. */
function commonOptions(args: ParsedArgs): Record<string, number> {
  const out: Record<string, number> = {};
  const num = (flag: string, key: string): void => {
    const v = stringFlag(args, flag);
    if (v !== undefined) out[key] = parseCount(v, `--${flag}`);
  };
  const dur = (flag: string, key: string): void => {
    const v = stringFlag(args, flag);
    if (v !== undefined) out[key] = parseDurationMs(v, `--${flag}`, { aboveZero: true });
  };
  num('max-rps', 'defaultMaxRps');
  num('max-rps-cap', 'maxRpsCap');
  num('max-taps', 'maxConcurrentTaps');
  num('max-taps-per-user', 'maxTapsPerUser');
  num('max-sidecars', 'maxSidecars');
  dur('sidecar-ttl', 'sidecarTtlMs');
  dur('grant-ttl', 'grantTtlMs');
  const queue = stringFlag(args, 'client-queue');
  if (queue !== undefined) out.clientQueueBytes = parseBytes(queue, '--client-queue');
  return out;
}

async function untilStopped(server: TapApiServer): Promise<void> {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
}

/** Kubernetes mode: HTTPS behind kube-apiserver. */
async function runKubernetes(args: ParsedArgs): Promise<number> {
  const certFile = stringFlag(args, 'tls-cert-file');
  const keyFile = stringFlag(args, 'tls-private-key-file');
  if (!certFile || !keyFile) {
    throw new UsageError("tap-api: Kubernetes mode serves HTTPS: give --tls-cert-file FILE and --tls-private-key-file FILE (the APIService's caBundle must vouch for them)");
  }
  const listen = parseHostPort(stringFlag(args, 'listen', undefined, '127.0.0.1:8089')!, '--listen');
  const list = (flag: string): string[] | undefined => {
    const v = stringFlag(args, flag);
    return v === undefined ? undefined : v.split(',').map((x) => x.trim()).filter(Boolean);
  };
  const lower = (l: string[] | undefined): string[] | undefined => l?.map((x) => x.toLowerCase());
  const tapPort = stringFlag(args, 'sidecar-tap-port');
  if (tapPort !== undefined && Number(tapPort) > 65535) throw new UsageError(`--sidecar-tap-port: '${tapPort}' is not a port`);
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  const kubeconfig = stringFlag(args, 'kubeconfig');
  try {
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new MeshtapError('MT_KUBECONFIG', `tap-api: cannot load the kubeconfig${kubeconfig ? ` ${kubeconfig}` : ''}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const keys = await loadOrCreateGrantKey(signingKeyPath(args));
  const clientCaFile = stringFlag(args, 'requestheader-client-ca-file');
  const server = await startKubeTapApiServer({
    host: listen.host,
    port: listen.port,
    keys,
    kubeconfig: kc,
    tls: { certFile, keyFile, ...(clientCaFile ? { clientCaFile } : {}) },
    requestHeader: {
      allowedNames: list('requestheader-allowed-names'),
      usernameHeaders: lower(list('requestheader-username-headers')),
      groupHeaders: lower(list('requestheader-group-headers')),
      extraHeaderPrefixes: lower(list('requestheader-extra-headers-prefix')),
    } as Record<string, string[]>,
    ...(tapPort === undefined ? {} : { sidecarTapPort: parseCount(tapPort, '--sidecar-tap-port') }),
    ...commonOptions(args),
  });
  const names = server.requestHeader.allowedNames;
  process.stderr.write(`listening ${server.url}\npublic key ${exportPublicKeyRaw(keys.publicKey)}\n`);
  process.stderr.write(`kubernetes mode: API server ${kc.getCurrentCluster()?.server ?? '?'}; front proxy ${names.length > 0 ? names.join(',') : 'any name'} from the requestheader CA\nready\n`);
  await untilStopped(server);
  return 0;
}

export default command;
