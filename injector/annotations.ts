/**
 * The `meshtap.dev/` annotations: names, and how pod and namespace values combine into the
 * settings for one pod (the pod wins). An invalid value costs a warning and the default,
 * never a broken pod.
 */
import type { MeshConfig, ProxyResources } from './config.js';
import { parseByteSize, parseCidrList, parseImage, parsePortList, parseQuantity } from './values.js';

export const ANNOTATION = {
  inject: 'meshtap.dev/inject',
  skipInboundPorts: 'meshtap.dev/skip-inbound-ports',
  skipOutboundPorts: 'meshtap.dev/skip-outbound-ports',
  skipOutboundCidrs: 'meshtap.dev/skip-outbound-cidrs',
  bodyLimit: 'meshtap.dev/body-limit',
  recorderBytes: 'meshtap.dev/recorder-bytes',
  proxyImage: 'meshtap.dev/proxy-image',
  proxyCpuRequest: 'meshtap.dev/proxy-cpu-request',
  proxyCpuLimit: 'meshtap.dev/proxy-cpu-limit',
  proxyMemoryRequest: 'meshtap.dev/proxy-memory-request',
  proxyMemoryLimit: 'meshtap.dev/proxy-memory-limit',
  nativeSidecar: 'meshtap.dev/native-sidecar',
  /** The sidecar's data path engine: `native` (default: C++ epoll workers) or `js` (the TypeScript engine). */
  engine: 'meshtap.dev/engine',
  /**
   * Native engine: the longest a worker busy-polls before it sleeps, µs (`--busy-poll-us`, 0..1000;
   * 0 = never). A pod with a tight CPU limit may want 0: polling spends its CPU to spare its peers'.
   */
  busyPollUs: 'meshtap.dev/busy-poll-us',
  /** Written by the injector: the proxy's uid (the agent's loop prevention reads it). */
  proxyUid: 'meshtap.dev/proxy-uid',
} as const;

/** Labels written on injected pods. */
export const LABEL = {
  injected: 'meshtap.dev/injected',
  proxyVersion: 'meshtap.dev/proxy-version',
} as const;

/** Largest accepted body limit / recorder size (bounded everything). */
export const MAX_BODY_LIMIT_BYTES = 16 * 1024 * 1024;
export const MAX_RECORDER_BYTES = 1024 * 1024 * 1024;
/** Largest accepted busy-poll bound, µs (the sidecar's `--busy-poll-us` takes 0..1000). */
export const MAX_BUSY_POLL_US = 1000;

/** Settings for one pod after combining annotations with the mesh config. */
export interface PodSettings {
  inject: 'enabled' | 'disabled' | undefined;
  /** Where `inject` came from, for the report. */
  injectSource: 'pod' | 'namespace' | undefined;
  skipInboundPorts?: string;
  skipOutboundPorts?: string;
  skipOutboundCidrs?: string;
  bodyLimitBytes: number;
  /** Unset: the sidecar's default for its engine. */
  recorderBytes: number | undefined;
  image: string;
  nativeSidecar: boolean;
  engine: 'js' | 'native';
  /** Unset: the sidecar's default. Passed only to the native engine (the js engine does not poll). */
  busyPollUs: number | undefined;
  resources: ProxyResources;
}

type Annotations = Record<string, string> | undefined;

/**
 * Combines pod and namespace annotations (pod wins) with the mesh config. Returns the
 * settings and one warning per invalid value (each names the annotation and the default used).
 */
export function resolvePodSettings(pod: Annotations, ns: Annotations, config: MeshConfig): { settings: PodSettings; warnings: string[] } {
  const warnings: string[] = [];
  const lookup = (key: string): { value: string; from: 'pod' | 'namespace' } | undefined => {
    const p = pod?.[key];
    if (typeof p === 'string') return { value: p, from: 'pod' };
    const n = ns?.[key];
    return typeof n === 'string' ? { value: n, from: 'namespace' } : undefined;
  };
  /** `whenUnset`: what the warning says is done when the fallback is no value at all ("skipping no ports"). */
  function read<T>(key: string, parse: (v: string) => T | undefined, fallback: T, expected: string, whenUnset = 'ignoring it'): T {
    const found = lookup(key);
    if (found === undefined) return fallback;
    const parsed = parse(found.value);
    if (parsed !== undefined) return parsed;
    const instead = fallback === undefined ? whenUnset : `using the default (${String(fallback)})`;
    warnings.push(`${found.from} annotation ${key}=${JSON.stringify(found.value)} is not ${expected}; ${instead}`);
    return fallback;
  }

  const injectFound = lookup(ANNOTATION.inject);
  const inject = read<'enabled' | 'disabled' | undefined>(
    ANNOTATION.inject,
    (v) => (v === 'enabled' || v === 'disabled' ? v : undefined),
    undefined,
    '"enabled" or "disabled"',
    'neither enabling nor disabling injection',
  );
  const cpu = (v: string): string | undefined => (parseQuantity(v) === undefined ? undefined : v.trim());
  const resources: ProxyResources = {
    cpuRequest: read(ANNOTATION.proxyCpuRequest, cpu, config.resources.cpuRequest, 'a CPU quantity (e.g. 100m)'),
    cpuLimit: read<string | undefined>(ANNOTATION.proxyCpuLimit, cpu, config.resources.cpuLimit, 'a CPU quantity (e.g. 1)', 'setting no limit'),
    memoryRequest: read(ANNOTATION.proxyMemoryRequest, cpu, config.resources.memoryRequest, 'a memory quantity (e.g. 64Mi)'),
    memoryLimit: read<string | undefined>(ANNOTATION.proxyMemoryLimit, cpu, config.resources.memoryLimit, 'a memory quantity (e.g. 256Mi)', 'setting no limit'),
  };
  checkRequestBelowLimit(resources, config.resources, 'cpu', warnings);
  checkRequestBelowLimit(resources, config.resources, 'memory', warnings);

  const settings: PodSettings = {
    inject,
    injectSource: inject === undefined ? undefined : injectFound?.from,
    skipInboundPorts: read<string | undefined>(ANNOTATION.skipInboundPorts, parsePortList, undefined, 'a list of ports (e.g. 22,8000-8100)', 'skipping no inbound ports'),
    skipOutboundPorts: read<string | undefined>(ANNOTATION.skipOutboundPorts, parsePortList, undefined, 'a list of ports (e.g. 5432,6379)', 'skipping no outbound ports'),
    skipOutboundCidrs: read<string | undefined>(ANNOTATION.skipOutboundCidrs, parseCidrList, undefined, 'a list of CIDRs (e.g. 10.0.0.0/8)', 'skipping no outbound CIDRs'),
    bodyLimitBytes: read(ANNOTATION.bodyLimit, (v) => parseByteSize(v, MAX_BODY_LIMIT_BYTES), config.bodyLimitBytes, `a size up to 16Mi (e.g. 65536, 64Ki)`),
    recorderBytes: read<number | undefined>(ANNOTATION.recorderBytes, (v) => parseByteSize(v, MAX_RECORDER_BYTES), config.recorderBytes, 'a size up to 1Gi (e.g. 8Mi)', "using the sidecar's default recorder size"),
    image: read(ANNOTATION.proxyImage, parseImage, config.image, 'an image reference'),
    nativeSidecar: read(ANNOTATION.nativeSidecar, (v) => (v === 'true' ? true : v === 'false' ? false : undefined), config.nativeSidecar, '"true" or "false"'),
    engine: read<'js' | 'native'>(ANNOTATION.engine, (v) => (v === 'js' || v === 'native' ? v : undefined), config.engine, '"js" or "native"'),
    busyPollUs: read<number | undefined>(ANNOTATION.busyPollUs, parseBusyPollUs, config.busyPollUs, `whole microseconds from 0 to ${MAX_BUSY_POLL_US} (e.g. 0 to never poll)`),
    resources,
  };
  return { settings, warnings };
}

/** A request above its limit would make the pod invalid: fall back to the configured pair. */
function checkRequestBelowLimit(r: ProxyResources, defaults: ProxyResources, what: 'cpu' | 'memory', warnings: string[]): void {
  const reqKey = what === 'cpu' ? 'cpuRequest' : 'memoryRequest';
  const limKey = what === 'cpu' ? 'cpuLimit' : 'memoryLimit';
  const req = parseQuantity(r[reqKey]);
  const lim = r[limKey] === undefined ? undefined : parseQuantity(r[limKey]);
  if (req !== undefined && lim !== undefined && req > lim) {
    warnings.push(`proxy ${what} request ${r[reqKey]} is above its limit ${r[limKey]}; using the defaults (${defaults[reqKey]}, ${defaults[limKey] ?? 'no limit'})`);
    r[reqKey] = defaults[reqKey];
    r[limKey] = defaults[limKey];
  }
}

function parseBusyPollUs(text: string): number | undefined {
  const t = text.trim();
  return /^[0-9]{1,4}$/.test(t) && Number(t) <= MAX_BUSY_POLL_US ? Number(t) : undefined;
}
