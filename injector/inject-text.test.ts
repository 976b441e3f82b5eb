import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createMeshConfig } from './config.js';
import { injectText } from './inject-text.js';
import { applyStrict } from '../test/fixtures/k8s/strict-patch.js';

const config = createMeshConfig({ version: '0.1.0', image: 'ghcr.io/meshtap/meshtap:v0.1.0' });
const fixture = readFileSync(new URL('../test/fixtures/k8s/inject/workloads.yaml', import.meta.url), 'utf8');

describe('injectText (meshtap inject)', () => {
  it('injects every workload kind, skips with reasons, passes other kinds through', () => {
    const r = injectText(fixture, config);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.reports.map((x) => [x.object, x.injected, x.reason ?? ''])).toEqual([
      ['deployment/web', true, ''],
      ['statefulset/db', false, 'disabled by pod annotation meshtap.dev/inject'],
      ['daemonset/logs', false, 'hostNetwork pods share the node network and cannot be meshed'],
      ['cronjob/report', true, ''],
      ['service/web', false, 'kind Service has no pod template'],
      ['job/migrate', true, ''],
      ['replicaset/legacy', true, ''],
      ['pod/debug', true, ''],
    ]);
    const docs = parseAllDocuments(r.output) as ReturnType<typeof parseAllDocuments> & unknown[];
    const objs = (docs as { toJS(): Record<string, any> }[]).map((d) => d.toJS());
    expect(objs[0]!.spec.template.spec.initContainers[0].args).toContain('deploy/web');
    expect(objs[2]!.items[1].spec.jobTemplate.spec.template.spec.initContainers[0].args).toContain('cronjob/report');
    expect(objs[2]!.items[2]).toEqual({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 80, targetPort: 8080 }] } });
  });

  it('keeps comments and key order of untouched parts', () => {
    const r = injectText(fixture, config);
    if (!r.ok) throw new Error(r.error);
    expect(r.output).toMatch(/^# Workloads as a user keeps them in git/);
    expect(r.output).toContain('name: web # the storefront');
    expect(r.output).toContain('image: ghcr.io/example/web:2.0.0 # pinned by renovate');
    // The untouched StatefulSet document comes out byte for byte.
    const original = fixture.split('\n---\n')[1]!;
    expect(r.output.split('\n---\n')[1]).toBe(original);
    // Key order of the Deployment is the user's.
    const dep = (parseAllDocuments(r.output) as unknown as { toJS(): Record<string, unknown> }[])[0]!.toJS();
    expect(Object.keys(dep)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(Object.keys((dep.spec as Record<string, unknown>))).toEqual(['replicas', 'selector', 'template']);
  });

  it('output equals the original with the injection patch applied; injecting twice changes nothing', () => {
    const r = injectText(fixture, config);
    if (!r.ok) throw new Error(r.error);
    const again = injectText(r.output, config);
    if (!again.ok) throw new Error(again.error);
    expect(again.output).toBe(r.output);
    expect(again.reports.filter((x) => x.injected)).toEqual([]);
    expect(again.reports.map((x) => x.reason)).toContain('already injected');
  });

  it('JSON in, JSON out (a List)', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { 'a.io/b': 'c' } }, spec: { containers: [{ name: 'a', image: 'a' }] } }] };
    const r = injectText(JSON.stringify(list), config);
    if (!r.ok) throw new Error(r.error);
    const out = JSON.parse(r.output);
    expect(out.items[0].spec.initContainers[0].name).toBe('meshtap-proxy');
    expect(out.items[0].metadata.annotations['a.io/b']).toBe('c');
    // Same result as the pod-level injection applied as a patch.
    expect(applyStrict(list, [{ op: 'replace', path: '/items/0', value: out.items[0] }])).toEqual(out);
  });

  it('bad input: one clear error, nothing written', () => {
    const bad = injectText('kind: Pod\nmetadata: {name: [unclosed\n', config);
    expect(bad).toEqual({ ok: false, error: expect.stringMatching(/^document 1 is not valid YAML: /) });
    const badJson = injectText('{"kind": "Pod",', config);
    expect(badJson).toEqual({ ok: false, error: expect.stringMatching(/^input is not valid JSON/) });
  });

  it('empty input and empty documents pass through', () => {
    expect(injectText('', config)).toMatchObject({ ok: true, reports: [] });
    const r = injectText('---\n# only a comment\n', config);
    expect(r).toMatchObject({ ok: true, reports: [] });
  });
});
