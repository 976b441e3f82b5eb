/**
 * What the agent reads from a Pod: whether it is meshed (the label the injector writes),
 * the sidecar's uid and the skip lists (annotations). Names are the injector's
 * (injector/annotations.ts; a test keeps them in step — bpf/ does not import injector/).
 * An invalid annotation costs a warning and is ignored: never a pod without traffic.
 */
import { encodeCidrKey } from '../maps.js';

/** The injector's marks, as the agent reads them. */
export const AGENT_LABEL_INJECTED = 'meshtap.dev/injected';
export const AGENT_ANNOTATION = {
  skipInboundPorts: 'meshtap.dev/skip-inbound-ports',
  skipOutboundPorts: 'meshtap.dev/skip-outbound-ports',
  skipOutboundCidrs: 'meshtap.dev/skip-outbound-cidrs',
  proxyUid: 'meshtap.dev/proxy-uid',
} as const;

/** The skip-port map holds 1024 ports for both directions: 512 per list. */
export const MAX_SKIP_PORTS = 512;
/** The skip-CIDR map holds 1024 prefixes. */
export const MAX_SKIP_CIDRS = 1024;

/** The fields of a Pod the agent uses (JSON from a watch or a typed V1Pod from a list). */
export interface AgentPod {
  metadata?: {
    uid?: string;
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: { nodeName?: string; hostNetwork?: boolean };
  status?: { phase?: string };
}

/** What one pod asks of its scope. */
export interface PodScopeSettings {
  sidecarUid: number;
  skipInboundPorts: number[];
  skipOutboundPorts: number[];
  skipCidrs: string[];
}

/** Whether the agent should intercept this pod: injected, own network, still running. */
export function isMeshedPod(pod: AgentPod): boolean {
  if (pod.metadata?.labels?.[AGENT_LABEL_INJECTED] !== 'true') return false;
  if (pod.spec?.hostNetwork === true) return false;
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/** `22,8000-8100` → ports; undefined when a part is not a port or range, or too many. */
export function parseSkipPorts(text: string): number[] | undefined {
  const out = new Set<number>();
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) return undefined;
  for (const part of parts) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi > 65535 || hi < lo || hi - lo >= MAX_SKIP_PORTS) return undefined;
    for (let p = lo; p <= hi; p++) out.add(p);
    if (out.size > MAX_SKIP_PORTS) return undefined;
  }
  return [...out].sort((a, b) => a - b);
}

/** `10.0.0.0/8,fd00::/8` → CIDRs; undefined when a part is not a CIDR, or too many. */
export function parseSkipCidrs(text: string): string[] | undefined {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0 || parts.length > MAX_SKIP_CIDRS) return undefined;
  for (const part of parts) {
    if (!part.includes('/')) return undefined;
    try {
      encodeCidrKey(part);
    } catch {
      return undefined;
    }
  }
  return parts;
}

/** The scope settings a pod's annotations ask for, with one warning per ignored value. */
export function podScopeSettings(pod: AgentPod, defaultSidecarUid: number): { settings: PodScopeSettings; warnings: string[] } {
  const ann = pod.metadata?.annotations ?? {};
  const warnings: string[] = [];
  function read<T>(key: string, parse: (v: string) => T | undefined, fallback: T, expected: string): T {
    const v = ann[key];
    if (v === undefined) return fallback;
    const parsed = parse(v);
    if (parsed !== undefined) return parsed;
    warnings.push(`annotation ${key}=${JSON.stringify(v)} is not ${expected}; ignored`);
    return fallback;
  }
  const uid = (v: string) => (/^\d{1,10}$/.test(v.trim()) && Number(v) > 0 && Number(v) < 2 ** 31 ? Number(v) : undefined);
  return {
    settings: {
      sidecarUid: read(AGENT_ANNOTATION.proxyUid, uid, defaultSidecarUid, 'a uid'),
      skipInboundPorts: read(AGENT_ANNOTATION.skipInboundPorts, parseSkipPorts, [], `a list of ports (e.g. 22,8000-8100; at most ${MAX_SKIP_PORTS})`),
      skipOutboundPorts: read(AGENT_ANNOTATION.skipOutboundPorts, parseSkipPorts, [], `a list of ports (e.g. 5432,6379; at most ${MAX_SKIP_PORTS})`),
      skipCidrs: read(AGENT_ANNOTATION.skipOutboundCidrs, parseSkipCidrs, [], `a list of CIDRs (e.g. 10.0.0.0/8; at most ${MAX_SKIP_CIDRS})`),
    },
    warnings,
  };
}
