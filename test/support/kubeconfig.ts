/**
 * A kubeconfig file for the stand-in API servers: one cluster (`standin`) with its CA, one user
 * authenticated by bearer token or client certificate, one current context.
 */
import { writeFileSync } from 'node:fs';

export type KubeconfigUser = { token: string } | { cert: { certPem: string; keyPem: string } };

export function writeKubeconfig(path: string, o: { server: string; caPem: string; user: KubeconfigUser; userName?: string; namespace?: string }): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const userName = o.userName ?? 'standin-user';
  const userLines = 'token' in o.user ? [`    token: ${o.user.token}`] : [`    client-certificate-data: ${b64(o.user.cert.certPem)}`, `    client-key-data: ${b64(o.user.cert.keyPem)}`];
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: standin',
      '  cluster:',
      `    server: ${o.server}`,
      `    certificate-authority-data: ${b64(o.caPem)}`,
      'users:',
      `- name: ${userName}`,
      '  user:',
      ...userLines,
      'contexts:',
      '- name: standin',
      '  context:',
      '    cluster: standin',
      `    user: ${userName}`,
      ...(o.namespace ? [`    namespace: ${o.namespace}`] : []),
      'current-context: standin',
      '',
    ].join('\n'),
  );
  return path;
}
