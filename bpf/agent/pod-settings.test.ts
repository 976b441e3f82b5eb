/**
 * What the agent reads from pods and from the cgroup tree, without a kernel: the
 * injector's names (kept in step), skip-list parsing and its bounds, warnings for invalid
 * annotations, and pod cgroup discovery in both kubelet layouts (plain directories).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ANNOTATION, LABEL } from '../../injector/index.js';
import { findPodCgroup, podCgroupNames, scanPodCgroups } from './pod-cgroup.js';
import { AGENT_ANNOTATION, AGENT_LABEL_INJECTED, MAX_SKIP_PORTS, isMeshedPod, parseSkipCidrs, parseSkipPorts, podScopeSettings } from './pod-settings.js';

describe('pod settings', () => {
  it('uses the names the injector writes', () => {
    expect(AGENT_LABEL_INJECTED).toBe(LABEL.injected);
    expect(AGENT_ANNOTATION).toEqual({
      skipInboundPorts: ANNOTATION.skipInboundPorts,
      skipOutboundPorts: ANNOTATION.skipOutboundPorts,
      skipOutboundCidrs: ANNOTATION.skipOutboundCidrs,
      proxyUid: ANNOTATION.proxyUid,
    });
  });

  it('parses port lists with ranges and refuses what the skip map cannot hold', () => {
    expect(parseSkipPorts('22, 8000-8002,22')).toEqual([22, 8000, 8001, 8002]);
    expect(parseSkipPorts('0')).toBeUndefined();
    expect(parseSkipPorts('70000')).toBeUndefined();
    expect(parseSkipPorts('9-3')).toBeUndefined();
    expect(parseSkipPorts('http')).toBeUndefined();
    expect(parseSkipPorts('')).toBeUndefined();
    expect(parseSkipPorts(`1-${MAX_SKIP_PORTS}`)).toHaveLength(MAX_SKIP_PORTS);
    expect(parseSkipPorts(`1-${MAX_SKIP_PORTS + 1}`)).toBeUndefined();
    expect(parseSkipPorts('1-65535')).toBeUndefined();
  });

  it('parses CIDR lists (v4 and v6) and refuses bare words and bad prefixes', () => {
    expect(parseSkipCidrs('10.0.0.0/8, fd00::/8')).toEqual(['10.0.0.0/8', 'fd00::/8']);
    expect(parseSkipCidrs('10.0.0.1')).toBeUndefined();
    expect(parseSkipCidrs('10.0.0.0/33')).toBeUndefined();
    expect(parseSkipCidrs('not-a-cidr')).toBeUndefined();
  });

  it('turns annotations into scope settings, with one warning per ignored value', () => {
    const pod = {
      metadata: {
        annotations: {
          'meshtap.dev/skip-inbound-ports': '9090',
          'meshtap.dev/skip-outbound-ports': 'postgres',
          'meshtap.dev/skip-outbound-cidrs': '169.254.0.0/16',
          'meshtap.dev/proxy-uid': '-1',
        },
      },
    };
    const { settings, warnings } = podScopeSettings(pod, 2102);
    expect(settings).toEqual({ sidecarUid: 2102, skipInboundPorts: [9090], skipOutboundPorts: [], skipCidrs: ['169.254.0.0/16'] });
    expect(warnings).toHaveLength(2);
    expect(warnings.join('\n')).toMatch(/meshtap\.dev\/skip-outbound-ports="postgres".*ignored/);
    expect(warnings.join('\n')).toMatch(/meshtap\.dev\/proxy-uid="-1"/);
  });

  it('meshes injected pods with their own network that still run', () => {
    const labels = { 'meshtap.dev/injected': 'true' };
    expect(isMeshedPod({ metadata: { labels }, status: { phase: 'Running' } })).toBe(true);
    expect(isMeshedPod({ metadata: { labels }, status: { phase: 'Pending' } })).toBe(true);
    expect(isMeshedPod({ metadata: { labels }, status: { phase: 'Succeeded' } })).toBe(false);
    expect(isMeshedPod({ metadata: { labels }, spec: { hostNetwork: true } })).toBe(false);
    expect(isMeshedPod({ metadata: { labels: { 'meshtap.dev/injected': 'false' } } })).toBe(false);
    expect(isMeshedPod({ metadata: {} })).toBe(false);
  });
});

describe('pod cgroup discovery', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('finds pods in the systemd and cgroupfs layouts, under a prefix, by UID', () => {
    dir = mkdtempSync(join(tmpdir(), 'mt-cg-'));
    const a = '0f5a7c2e-9b1d-4c3e-8f00-1234567890ab';
    const b = 'd6e0c1f2-3a4b-4c5d-9e6f-a0b1c2d3e4f5';
    const c = '11111111-2222-4333-8444-555555555555';
    const sysA = join(dir, 'kubelet.slice', 'kubelet-kubepods.slice', 'kubepods-burstable.slice', `kubepods-burstable-pod${a.replace(/-/g, '_')}.slice`);
    const fsB = join(dir, 'kubepods', 'besteffort', `pod${b}`);
    const fsC = join(dir, 'kubepods', `pod${c}`);
    for (const p of [join(sysA, 'cri-containerd-abc.scope'), join(fsB, 'f00d'), fsC, join(dir, 'system.slice', 'containerd.service')]) mkdirSync(p, { recursive: true });
    expect(podCgroupNames(a)).toEqual([`pod${a}`, `pod${a.replace(/-/g, '_')}`]);
    expect(scanPodCgroups(dir)).toEqual(new Map([[a, sysA], [b, fsB], [c, fsC]]));
    expect(findPodCgroup(dir, a.toUpperCase())).toBe(sysA);
    expect(findPodCgroup(dir, '99999999-2222-4333-8444-555555555555')).toBeUndefined();
  });
});
