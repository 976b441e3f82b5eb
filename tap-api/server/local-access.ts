/**
 * Local mode's access: identities from a kube-apiserver style token file, decisions from the
 * embedded RBAC engine (policy swappable on SIGHUP), pods from the sidecar registry.
 */
import type { TapApiAccess } from './access.js';
import { bearerToken } from './http-util.js';
import { authorize, withImplicitGroups, type RbacPolicy } from './rbac.js';
import { resolveTarget, type SidecarRegistry } from './registry.js';
import type { TokenAuthenticator } from './tokens.js';

/** Builds local mode's access from its three sources. */
export function createLocalAccess(tokens: TokenAuthenticator, policy: () => RbacPolicy, registry: SidecarRegistry): TapApiAccess {
  return {
    mode: 'local',
    authenticator: {
      authenticate(req) {
        const token = bearerToken(req);
        const user = token === undefined ? undefined : tokens.authenticate(token);
        if (user) return { ok: true, value: withImplicitGroups(user) };
        return { ok: false, error: token === undefined ? 'no bearer token; pass --token or set MESHTAP_TOKEN' : 'the bearer token is not in the tap API token file' };
      },
    },
    authorizer: {
      authorize: (user, attrs) => Promise.resolve(authorize(policy(), user, attrs)),
    },
    discovery: {
      resolve: (namespace, target) => Promise.resolve({ ok: true, value: resolveTarget(registry, namespace, target) }),
      list: (namespace) => Promise.resolve(registry.list(namespace)),
      listAll: () => Promise.resolve(registry.list()),
      noPodsHint: 'unknown target, or its sidecars have not registered with this tap API',
    },
  };
}
