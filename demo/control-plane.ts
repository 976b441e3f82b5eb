/**
 * The demo's local control plane: a tap API in local mode with a generated token file, RBAC
 * policy (the shipped ClusterRoles bound to two demo users) and sidecar registration token,
 * written to a directory. The credential files (tokens.csv, tap-api.key, registration.token) are
 * deleted as soon as the tap API has read them: they live on in its memory only, so no way of
 * stopping the demo (even SIGKILL) leaves a usable secret behind in the directory.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOrCreateGrantKey } from '../tap-protocol/index.js';
import {
  defaultRegistrationTokenPath,
  loadOrCreateRegistrationToken,
  loadRbacDir,
  loadTokenFile,
  startTapApiServer,
  type TapApiServer,
} from '../tap-api/index.js';

export interface DemoControlPlane {
  tapApi: TapApiServer;
  dir: string;
  /** May tap with bodies (meshtap-tap-admin). */
  adminToken: string;
  /** May tap without bodies (meshtap-tap-viewer). */
  viewerToken: string;
  /** What the demo's sidecars present to register (also in `<dir>/registration.token`). */
  registrationToken: string;
}

/** tap-api/server/rbac/, from both the source tree and dist/. */
function shippedRbacDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.includes('/dist/') ? fileURLToPath(new URL('../../tap-api/server/rbac/', import.meta.url)) : fileURLToPath(new URL('../tap-api/server/rbac/', import.meta.url));
}

const binding = (user: string, role: string) => `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: demo-${user}
subjects:
  - kind: User
    name: ${user}
    apiGroup: rbac.authorization.k8s.io
roleRef:
  kind: ClusterRole
  name: ${role}
  apiGroup: rbac.authorization.k8s.io
`;

export async function startDemoControlPlane(dir: string): Promise<DemoControlPlane> {
  const rbacDir = join(dir, 'rbac');
  await mkdir(rbacDir, { recursive: true });
  const adminToken = randomBytes(16).toString('hex');
  const viewerToken = randomBytes(16).toString('hex');
  await writeFile(join(dir, 'tokens.csv'), `${adminToken},demo-admin,1001,"demo"\n${viewerToken},demo-viewer,1002,"demo"\n`, { mode: 0o600 });
  for (const f of ['meshtap-tap-viewer.yaml', 'meshtap-tap-admin.yaml']) await copyFile(join(shippedRbacDir(), f), join(rbacDir, f));
  await writeFile(join(rbacDir, 'demo-bindings.yaml'), `${binding('demo-admin', 'meshtap-tap-admin')}---\n${binding('demo-viewer', 'meshtap-tap-viewer')}`);
  const keyPath = join(dir, 'tap-api.key');
  const registrationToken = await loadOrCreateRegistrationToken(defaultRegistrationTokenPath(keyPath));
  const secretFiles = [join(dir, 'tokens.csv'), keyPath, defaultRegistrationTokenPath(keyPath)];
  try {
    const tokens = await loadTokenFile(join(dir, 'tokens.csv'));
    const keys = await loadOrCreateGrantKey(keyPath);
    const tapApi = await startTapApiServer({ host: '127.0.0.1', port: 0, tokens, policy: await loadRbacDir(rbacDir), keys, registrationToken });
    return { tapApi, dir, adminToken, viewerToken, registrationToken };
  } finally {
    for (const f of secretFiles) await rm(f, { force: true });
  }
}
