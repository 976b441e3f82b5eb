/**
 * `meshtap inject` leaves the lines it does not change byte for byte. Regression (issue 11,
 * habits: "meshtap inject leaves untouched lines byte for byte (lists are re-indented today)"):
 * the injected stream was rendered again from the parsed tree, so a manifest with its own
 * indentation came back with every list re-indented, a 4-space file became 2-space, and a diff
 * of the output against the input showed the whole document. Now the output is the input with
 * lines inserted where the sidecar goes (and a grown flow collection rewritten on its own line);
 * documents the injection does not touch are byte-identical; the output stays valid Kubernetes
 * objects (kubernetes-models' OpenAPI validation) with the same content as before.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Pod } from 'kubernetes-models/v1/Pod';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { MESHTAP_BIN } from './support/meshtap-process.js';

const SERVICE = `# untouched: a Service, with its own style
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
      - port: 80          # list indented by 6
        targetPort: 8080
  selector: {app: web}
`;

const MANIFEST = `# The shop: a deployment, a service, a cron job, a pod and a config map.
apiVersion: apps/v1
kind: Deployment
metadata:
    name: web          # four-space indentation here, on purpose
    namespace: shop
    labels: {app: web, tier: "frontend"}
spec:
    replicas: 2
    selector:
        matchLabels:
            app: web
    template:
        metadata:
            labels:
                app: web
            annotations: {prometheus.io/scrape: "true"}
        spec:
            # lists not indented under their key
            containers:
            - name: web
              image: "nginx:1.27"
              args: [--port, "8080"]
              ports:
              -   containerPort: 8080   # odd dash spacing
                  name: http
            volumes:
            - name: data
              emptyDir: {}
            # end of the pod spec
---
${SERVICE}...
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: '0 3 * * *'
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          initContainers:
            - name: migrate
              image: 'shop/migrate:2'
          containers:
            - name: report
              image: shop/report:1
              command: ["/bin/report", '--all']
---
apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: shop
spec:
  containers:
  - {name: shell, image: busybox, command: [sleep, "3600"]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data:
  key: 'single-quoted value'
`;

const dir = mkdtempSync(join(tmpdir(), 'mt-inject-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function inject(manifest: string, ...flags: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(dir, `in-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, manifest);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MESHTAP_BIN, 'inject', '-f', file, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The lines of `output` that are not lines of `input` kept in order: input must be a subsequence
 * of output, line for line (undefined if a line of the input is missing or was changed).
 */
function insertedLines(input: string, output: string): string[] | undefined {
  const a = input.split('\n');
  const b = output.split('\n');
  const inserted: string[] = [];
  let i = 0;
  for (const line of b) {
    if (i < a.length && line === a[i]) i++;
    else inserted.push(line);
  }
  return i === a.length ? inserted : undefined;
}

/** Every object of a YAML stream, validated against the Kubernetes OpenAPI schema where we have a model. */
function validate(output: string): Array<Record<string, any>> {
  const objects = parseAllDocuments(output).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Record<string, any>;
  });
  for (const o of objects) {
    if (o.kind === 'Deployment') expect(() => new Deployment(o as never).validate()).not.toThrow();
    if (o.kind === 'CronJob') expect(() => new CronJob(o as never).validate()).not.toThrow();
    if (o.kind === 'Pod') expect(() => new Pod(o as never).validate()).not.toThrow();
  }
  return objects;
}

describe('meshtap inject keeps what it does not change byte for byte', () => {
  it('native sidecar: only inserted lines, plus the one flow map that grew; untouched documents identical', async () => {
    const r = await inject(MANIFEST);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('deployment/web injected\n');
    expect(r.stderr).toContain('cronjob/nightly injected\n');
    expect(r.stderr).toContain('pod/debug injected\n');
    // The one line the injection must change: a flow map that grew, written as a block where it was.
    const flowLine = '            annotations: {prometheus.io/scrape: "true"}';
    const inserted = insertedLines(MANIFEST.replace(`${flowLine}\n`, ''), r.stdout);
    expect(inserted, r.stdout).toBeDefined();
    expect(r.stdout).not.toContain(flowLine);
    expect(r.stdout).toContain('            annotations:\n                prometheus.io/scrape: "true"\n');
    // Untouched documents: the same bytes, comments, quoting, `...` end marker included.
    expect(r.stdout).toContain(`---\n${SERVICE}...\n---\n`);
    expect(r.stdout.endsWith("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata:\n  key: 'single-quoted value'\n")).toBe(true);
    // What was inserted is the sidecar and its volume and labels, nothing else.
    expect(inserted!.filter((l) => /name: meshtap-proxy$/.test(l))).toHaveLength(3);
    // Valid objects, each with the sidecar first among its init containers and the app untouched.
    const [web, , cron, pod] = validate(r.stdout);
    expect(web!.spec.template.spec.initContainers.map((c: { name: string }) => c.name)).toEqual(['meshtap-proxy']);
    expect(web!.spec.template.spec.containers[0].ports).toEqual([{ containerPort: 8080, name: 'http' }]);
    expect(web!.spec.template.metadata.annotations['prometheus.io/scrape']).toBe('true');
    expect(cron!.spec.jobTemplate.spec.template.spec.initContainers.map((c: { name: string }) => c.name)).toEqual(['meshtap-proxy', 'migrate']);
    expect(pod!.spec.containers).toEqual([{ name: 'shell', image: 'busybox', command: ['sleep', '3600'] }]);
  });

  it('classic container (--classic): inserted before the app containers, nothing else moves', async () => {
    const plain = MANIFEST.replace('            annotations: {prometheus.io/scrape: "true"}\n', '');
    const r = await inject(plain, '--classic');
    expect(r.code, r.stderr).toBe(0);
    expect(insertedLines(plain, r.stdout), r.stdout).toBeDefined();
    const [web, , cron] = validate(r.stdout);
    expect(web!.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['meshtap-proxy', 'web']);
    expect(cron!.spec.jobTemplate.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['meshtap-proxy', 'report']);
  });

  it('a CRLF manifest stays CRLF, and injecting the output again changes nothing', async () => {
    const crlf = MANIFEST.replace(/\n/g, '\r\n');
    const r = await inject(crlf);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.replace(/\r\n/g, '')).not.toContain('\n');
    const again = await inject(r.stdout);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(r.stdout);
  });
});
