/** `meshtap tap-api`: the tap API in local mode (token file + embedded RBAC + sidecar registry). */
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  createLogger,
  exportPublicKeyRaw,
  loadOrCreateGrantKey,
  parseBytes,
  parseCount,
  parseDurationMs,
  parseHostPort,
  stringFlag,
  UsageError,
} from '../common/index.js';
import { loadRbacDir, loadTokenFile, startTapApiServer, TAP_API_DEFAULTS } from '../tap-api/server/index.js';
import type { Command } from './command.js';

const help = `Run the tap API in local mode: sidecars register with it, users tap through it.

Usage:
  meshtap tap-api --tokens FILE --rbac DIR [--listen ADDR] [--key FILE] [flags]

Flags:
      --listen ADDR          where to listen (default 127.0.0.1:8089)
      --tokens FILE          bearer tokens, kube-apiserver static token file format:
                             token,user,uid,"group1,group2"
      --rbac DIR             Role, ClusterRole, RoleBinding, ClusterRoleBinding YAML (multi-document
                             files and kind: List are fine; other kinds are skipped). Re-read on SIGHUP.
      --key FILE             Ed25519 grant-signing key, PEM; created (mode 0600) if missing
                             (default ~/.config/meshtap/tap-api.key)
      --max-rps N            per-tap rate when the client asks for none, split across pods (default ${TAP_API_DEFAULTS.defaultMaxRps})
      --max-rps-cap N        highest per-tap rate a client may ask for (default ${TAP_API_DEFAULTS.maxRpsCap})
      --max-taps N           concurrent taps (default ${TAP_API_DEFAULTS.maxConcurrentTaps})
      --max-sidecars N       registered sidecars (default 10000)
      --client-queue SIZE    bytes queued for one tap client before it is dropped (default 1MiB)
      --sidecar-ttl DURATION forget a sidecar after this long without a heartbeat (default 6s)
      --grant-ttl DURATION   grant lifetime; sidecars check it when a stream starts (default 60s)

Permissions (API group tap.meshtap.dev, checked in the target's namespace):
  tap TYPE/NAME                verb watch on <resource>/tap     (pods, deployments, namespaces,
                                                                 statefulsets, daemonsets, jobs)
  bodies, unredacted headers   verb watch on <resource>/tap-bodies   (a separate permission)
  stat (list sidecars)         verb list on sidecars
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
  GET  /apis/tap.meshtap.dev/v1alpha1/namespaces/NS/sidecars     POST /v1/sidecars (registration)
  GET  /v1/public-key     GET /healthz     GET /metrics

Local mode trusts the network for registration: keep it on loopback or a trusted network.
`;

const command: Command = {
  spec: {
    name: 'tap-api',
    summary: 'run the tap API (local mode: tokens + embedded RBAC)',
    help,
    options: {
      listen: { type: 'string' },
      tokens: { type: 'string' },
      rbac: { type: 'string' },
      key: { type: 'string' },
      'max-rps': { type: 'string' },
      'max-rps-cap': { type: 'string' },
      'max-taps': { type: 'string' },
      'max-sidecars': { type: 'string' },
      'client-queue': { type: 'string' },
      'sidecar-ttl': { type: 'string' },
      'grant-ttl': { type: 'string' },
    },
  },
  async run(args) {
    const log = createLogger('tap-api');
    const tokensPath = stringFlag(args, 'tokens');
    const rbacDir = stringFlag(args, 'rbac');
    if (!tokensPath) throw new UsageError("tap-api: --tokens FILE is required (lines of token,user,uid,\"groups\"); see 'meshtap tap-api --help'");
    if (!rbacDir) throw new UsageError("tap-api: --rbac DIR is required (Role/RoleBinding YAML); see 'meshtap tap-api --help'");
    const listen = parseHostPort(stringFlag(args, 'listen', undefined, '127.0.0.1:8089')!, '--listen');
    const keyPath = stringFlag(args, 'key', undefined, join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'meshtap', 'tap-api.key'))!;
    const num = (flag: string): number | undefined => {
      const v = stringFlag(args, flag);
      return v === undefined ? undefined : parseCount(v, `--${flag}`);
    };
    const dur = (flag: string): number | undefined => {
      const v = stringFlag(args, flag);
      return v === undefined ? undefined : parseDurationMs(v, `--${flag}`);
    };
    const queue = stringFlag(args, 'client-queue');
    const [tokens, policy, keys] = await Promise.all([loadTokenFile(tokensPath), loadRbacDir(rbacDir), loadOrCreateGrantKey(keyPath)]);
    const opt = <T>(k: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [k]: v });
    const server = await startTapApiServer({
      host: listen.host,
      port: listen.port,
      tokens,
      policy,
      keys,
      ...opt('defaultMaxRps', num('max-rps')),
      ...opt('maxRpsCap', num('max-rps-cap')),
      ...opt('maxConcurrentTaps', num('max-taps')),
      ...opt('maxSidecars', num('max-sidecars')),
      ...opt('clientQueueBytes', queue === undefined ? undefined : parseBytes(queue, '--client-queue')),
      ...opt('sidecarTtlMs', dur('sidecar-ttl')),
      ...opt('grantTtlMs', dur('grant-ttl')),
    });
    process.stderr.write(`listening ${server.url}\npublic key ${exportPublicKeyRaw(keys.publicKey)}\n`);
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
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    process.off('SIGHUP', onHup);
    await server.close();
    return 0;
  },
};

export default command;
