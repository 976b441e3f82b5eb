/**
 * Shared fixtures for tap API tests: a token file and an RBAC directory made of the shipped
 * ClusterRoles plus bindings for a cast of users, the sidecar registration token, and helpers
 * to start a real tap API server and to register a sidecar with it.
 */
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateGrantKeyPair, type GrantKeyPair } from '../tap-protocol/index.js';
import { loadRbacDir, parseTokenFile, startTapApiServer, type TapApiServer, type TapApiServerOptions } from '../tap-api/server/index.js';

export const TOKENS = {
  viewer: 'tok-viewer-alice',
  admin: 'tok-admin-bob',
  nobody: 'tok-nobody-carol',
  otherNs: 'tok-otherns-dave',
  named: 'tok-named-erin',
  sa: 'tok-sa-ci',
};

/** The registration token of fixture tap APIs (what sidecars present to register). */
export const REGISTRATION_TOKEN = 'reg-token-0123456789abcdef';

export const TOKEN_FILE = [
  `${TOKENS.viewer},alice,1001,"viewers"`,
  `${TOKENS.admin},bob,1002`,
  `${TOKENS.nobody},carol,1003,"nobodies"`,
  `${TOKENS.otherNs},dave,1004`,
  `${TOKENS.named},erin,1005`,
  `${TOKENS.sa},system:serviceaccount:ci:tapper,1006`,
].join('\n');

export const BINDINGS = `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewers, namespace: shop}
subjects: [{kind: Group, name: viewers, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: meshtap-tap-viewer, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bob-admin, namespace: shop}
subjects: [{kind: User, name: bob}]
roleRef: {kind: ClusterRole, name: meshtap-tap-admin}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dave-elsewhere, namespace: other}
subjects: [{kind: User, name: dave}]
roleRef: {kind: ClusterRole, name: meshtap-tap-viewer}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: tap-api-only, namespace: shop}
rules:
- apiGroups: [tap.meshtap.dev]
  resources: [deployments/tap]
  resourceNames: [api]
  verbs: [watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: erin-api, namespace: shop}
subjects: [{kind: User, name: erin}]
roleRef: {kind: Role, name: tap-api-only}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ci-tappers}
subjects: [{kind: Group, name: "system:serviceaccounts:ci"}]
roleRef: {kind: ClusterRole, name: meshtap-tap-viewer}
`;

const RBAC_SHIPPED = fileURLToPath(new URL('../tap-api/server/rbac/', import.meta.url));

/** Writes the token file and RBAC dir to a temp dir; returns their paths. */
export async function writeTapApiFixtures(): Promise<{ dir: string; tokensPath: string; rbacDir: string; keyPath: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'meshtap-tapapi-'));
  const tokensPath = join(dir, 'tokens.csv');
  await writeFile(tokensPath, TOKEN_FILE + '\n');
  const { mkdir } = await import('node:fs/promises');
  const rbacDir = join(dir, 'rbac');
  await mkdir(rbacDir);
  for (const f of ['meshtap-tap-viewer.yaml', 'meshtap-tap-admin.yaml']) await copyFile(join(RBAC_SHIPPED, f), join(rbacDir, f));
  await writeFile(join(rbacDir, 'bindings.yaml'), BINDINGS);
  return { dir, tokensPath, rbacDir, keyPath: join(dir, 'tap-api.key') };
}

/** Starts a real tap API on 127.0.0.1:0 with the fixtures (registration token: REGISTRATION_TOKEN). */
export async function startFixtureTapApi(
  rbacDir: string,
  more: Partial<TapApiServerOptions> = {},
  keys: GrantKeyPair = generateGrantKeyPair(),
): Promise<TapApiServer> {
  return startTapApiServer({ port: 0, tokens: parseTokenFile(TOKEN_FILE), policy: await loadRbacDir(rbacDir), keys, registrationToken: REGISTRATION_TOKEN, ...more });
}

/** The instance key `registerSidecar` sends unless the registration names its own (one "test sidecar" instance). */
export const FIXTURE_INSTANCE_KEY = 'fixture-sidecar-instance-key-0001';

/**
 * POSTs one registration as a sidecar would (with `token`, default the fixture's; null = none;
 * `instanceKey` default FIXTURE_INSTANCE_KEY); resolves with the HTTP status.
 */
export async function registerSidecar(apiUrl: string, registration: Record<string, unknown>, token: string | null = REGISTRATION_TOKEN): Promise<number> {
  const r = await fetch(`${apiUrl}/v1/sidecars`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ instanceKey: FIXTURE_INSTANCE_KEY, ...registration }),
  });
  await r.text();
  return r.status;
}
