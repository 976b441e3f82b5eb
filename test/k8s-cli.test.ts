/**
 * The Kubernetes commands as a user runs them: the built CLI (dist/) in a child process,
 * real files, stdin/stdout/stderr and exit codes; `check` against the stand-in API
 * server; `webhook` serving a real AdmissionReview over HTTPS and stopping on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createCertificateAuthority, serviceDnsNames } from '../webhook/install/index.js';
import { podCreateReview, verifyAdmissionResponse } from './fixtures/k8s/admission.js';
import { startKubeApiServer, type KubeApiServer } from './support/kube-api-server.js';
import { installInto } from './fixtures/k8s/cluster.js';
import { apiPod } from './fixtures/k8s/pods.js';
import { runMeshtap, type CliResult } from './support/meshtap-process.js';

const BIN = new URL('../dist/bin/meshtap.js', import.meta.url).pathname;
const FIXTURE = new URL('./fixtures/k8s/inject/workloads.yaml', import.meta.url).pathname;

/** The real CLI, with no kubeconfig unless a test names one. */
function run(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return runMeshtap(args, { env: { KUBECONFIG: '/nonexistent', ...opts.env }, stdin: opts.stdin ?? '' });
}

let api: KubeApiServer | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe('meshtap inject', () => {
  it('reads a file, writes the injected stream, reports on stderr', async () => {
    const r = await run(['inject', '-f', FIXTURE]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('deployment/web injected\n');
    expect(r.stderr).toContain('statefulset/db skipped: disabled by pod annotation meshtap.dev/inject\n');
    const docs = parseAllDocuments(r.stdout) as unknown as { errors: unknown[]; toJS(): any }[];
    expect(docs.every((d) => d.errors.length === 0)).toBe(true);
    expect(docs[0]!.toJS().spec.template.spec.initContainers[0].image).toMatch(/^ghcr\.io\/meshtap\/meshtap:v\d/);
    // sidecars register with a tap API only when told to (in a cluster the tap API finds pods itself)
    expect(docs[0]!.toJS().spec.template.spec.initContainers[0].args).not.toContain('--tap-api');
  });

  it('with the tap API key, sidecars require grants; --tap-api makes them register', async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const r = await run(['inject', '-f', FIXTURE, '--tap-public-key', key, '--tap-api', 'http://127.0.0.1:8089']);
    expect(r.code).toBe(0);
    const proxy = (parseAllDocuments(r.stdout) as unknown as { toJS(): any }[])[0]!.toJS().spec.template.spec.initContainers[0];
    expect(proxy.args).toContain('--tap-require-grant');
    expect(proxy.args[proxy.args.indexOf('--tap-api') + 1]).toBe('http://127.0.0.1:8089');
    expect(proxy.env).toContainEqual({ name: 'MESHTAP_TAP_PUBLIC_KEY', value: key });
  });

  it('reads stdin with -f - and honours --image and --classic', async () => {
    const r = await run(['inject', '-f', '-', '--image', 'reg.local/meshtap:dev', '--classic'], { stdin: readFileSync(FIXTURE, 'utf8') });
    expect(r.code).toBe(0);
    const dep = (parseAllDocuments(r.stdout) as unknown as { toJS(): any }[])[0]!.toJS();
    expect(dep.spec.template.spec.containers[0]).toMatchObject({ name: 'meshtap-proxy', image: 'reg.local/meshtap:dev' });
  });

  it('bad input: exit 1, one line on stderr, nothing on stdout', async () => {
    const r = await run(['inject'], { stdin: 'kind: Pod\nmetadata: {name: [\n' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^meshtap: stdin: document 1 is not valid YAML/);
    const missing = await run(['inject', '-f', '/nonexistent.yaml']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read \/nonexistent\.yaml/);
  });
});

describe('meshtap install', () => {
  it('-o json prints one List; -n sets the namespace everywhere; bad flags exit 2', async () => {
    const r = await run(['install', '-o', 'json', '-n', 'mesh-system', '--ha']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout);
    expect(list.kind).toBe('List');
    expect(list.items.find((o: any) => o.kind === 'Namespace').metadata.name).toBe('mesh-system');
    expect(list.items.find((o: any) => o.kind === 'Deployment').spec.replicas).toBe(3);
    const bad = await run(['install', '-o', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--output: 'xml' is not yaml or json/);
  });
});

describe('meshtap check --cluster-only', () => {
  it('exit 0 and ✔ lines on a healthy installation', async () => {
    api = await startKubeApiServer();
    await installInto(api);
    const r = await run(['check', '--cluster-only', '--kubeconfig', api.kubeconfigPath]);
    expect(r.stdout).toContain('✔ webhook caBundle valid and not expiring');
    expect(r.stdout).toContain('all checks passed');
    expect(r.code).toBe(0);
  });

  it('exit 1 with ✖ lines and hints on a broken one; -o json', async () => {
    api = await startKubeApiServer();
    await installInto(api, { daemonSetReady: 1 });
    const r = await run(['check', '--cluster-only', '--kubeconfig', api.kubeconfigPath]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('✖ agent ready on every node: 1/3 nodes ready\n    hint: kubectl -n meshtap get pods');
    const j = await run(['check', '--cluster-only', '--kubeconfig', api.kubeconfigPath, '-o', 'json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout).cluster.find((c: any) => c.name === 'agent ready on every node').ok).toBe(false);
  });

  it('no kubeconfig: a clear failure; conflicting flags: usage error', async () => {
    const r = await run(['check', '--cluster-only'], { env: { HOME: mkdtempSync(join(tmpdir(), 'home-')), KUBERNETES_SERVICE_HOST: '' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✖ kubeconfig loaded: /);
    const both = await run(['check', '--node-only', '--cluster-only']);
    expect(both.code).toBe(2);
  });
});

describe('meshtap webhook', () => {
  it('serves /inject over HTTPS and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshtap-wh-'));
    const ca = await createCertificateAuthority('ca');
    const pair = await ca.issueServing(serviceDnsNames('meshtap-webhook', 'meshtap'));
    writeFileSync(join(dir, 'tls.crt'), pair.certPem);
    writeFileSync(join(dir, 'tls.key'), pair.keyPem);
    const child = spawn(process.execPath, [BIN, 'webhook', '--listen', '127.0.0.1:0', '--cert', join(dir, 'tls.crt'), '--key', join(dir, 'tls.key'), '--no-namespace-lookup'], {
      env: { ...process.env, MESHTAP_LOG: 'info' },
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let buf = '';
        child.stderr.on('data', (d: Buffer) => {
          buf += d.toString();
          const m = /"msg":"listening","address":"127\.0\.0\.1:(\d+)"/.exec(buf);
          if (m) resolve(Number(m[1]));
        });
        child.on('close', (code) => reject(new Error(`webhook exited early (${code}): ${buf}`)));
      });
      const agent = new Agent({ connect: { ca: ca.certPem, servername: 'meshtap-webhook.meshtap.svc' } });
      const review = podCreateReview(apiPod({ name: 'web', namespace: 'shop', annotations: { 'meshtap.dev/inject': 'enabled' } }), { namespace: 'shop' });
      const res = await request(`https://127.0.0.1:${port}/inject?timeout=10s`, { method: 'POST', body: JSON.stringify(review), headers: { 'content-type': 'application/json' }, dispatcher: agent });
      const out = verifyAdmissionResponse(review, await res.body.json());
      expect(out.patch!.some((op) => op.path === '/spec/initContainers')).toBe(true);
      await agent.close();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('missing --cert is a usage error', async () => {
    const r = await run(['webhook']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--cert and --key are required/);
  });
});

describe('install and the commands it runs agree', () => {
  it('the webhook Deployment args parse with `meshtap webhook` flags', async () => {
    const { parseCommandArgs } = await import('../common/index.js');
    const webhookCmd = (await import('../bin/cmd-webhook.js')).default;
    const { buildControlPlane } = await import('../webhook/install/index.js');
    const objs = (await buildControlPlane({ namespace: 'mesh-system', image: 'img:1', version: '0.1.0', ha: false, certManager: false })) as any[];
    const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'meshtap-webhook');
    const [sub, ...args] = dep.spec.template.spec.containers[0].args as string[];
    expect(sub).toBe('webhook');
    const parsed = parseCommandArgs(webhookCmd.spec, args)!;
    expect(parsed.values).toMatchObject({ listen: '0.0.0.0:8443', 'control-plane-namespace': 'mesh-system', image: 'img:1' });
    // In a cluster sidecars verify grants with the key and are found through the Kubernetes API.
    expect(parsed.values['tap-public-key']).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(parsed.values['tap-api']).toBeUndefined();
    const mounts = dep.spec.template.spec.containers[0].volumeMounts.map((m: any) => m.mountPath);
    expect(mounts.some((m: string) => (parsed.values.cert as string).startsWith(m + '/'))).toBe(true);
  });
});

describe('install passes flags its components accept', () => {
  async function argsOf(kind: string, name: string): Promise<string[]> {
    const { buildControlPlane } = await import('../webhook/install/index.js');
    const objs = (await buildControlPlane({ namespace: 'meshtap', image: 'img:1', version: '0.1.0', ha: false, certManager: false })) as any[];
    return objs.find((o) => o.kind === kind && o.metadata.name === name).spec.template.spec.containers[0].args;
  }

  it('tap-api args parse with `meshtap tap-api` flags', async () => {
    const { parseCommandArgs } = await import('../common/index.js');
    const [sub, ...args] = await argsOf('Deployment', 'meshtap-tap-api');
    expect(sub).toBe('tap-api');
    const spec = (await import('../bin/cmd-tap-api.js')).default.spec;
    const parsed = parseCommandArgs(spec, args)!;
    // An aggregated API server: Kubernetes mode, HTTPS from the mounted serving certificate.
    expect(parsed.values).toMatchObject({ kubernetes: true, listen: '0.0.0.0:8089', 'tls-cert-file': '/var/run/meshtap/tls/tls.crt', 'tls-private-key-file': '/var/run/meshtap/tls/tls.key' });
  });

  const agentSource = new URL('../bin/cmd-agent.ts', import.meta.url);
  it.skipIf(!existsSync(agentSource))('agent args parse with `meshtap agent` flags (skipped: bin/cmd-agent.ts not in this tree)', async () => {
    const { parseCommandArgs } = await import('../common/index.js');
    const [sub, ...args] = await argsOf('DaemonSet', 'meshtap-agent');
    expect(sub).toBe('agent');
    const spec = (await import(/* @vite-ignore */ agentSource.href)).default.spec;
    expect(() => parseCommandArgs(spec, args)).not.toThrow();
  });
});
