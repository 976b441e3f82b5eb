/**
 * `meshtap stat`: success rate, RPS, latency percentiles and TCP connections per workload over a
 * window. Without Prometheus: finds the sidecars (through the tap API's registry, or given
 * directly with `--admin`), scrapes each one's `/metrics` at the start and the end of the
 * window and works on the deltas. With `--prometheus URL`: the same numbers as PromQL queries.
 */
import { get as httpGet } from 'node:http';
import { fetchWithin, MeshtapError, setLongTimeout } from '../../common/index.js';
import { parseTarget, resourceOfKind, type TargetResource } from '../server/index.js';
import { listSidecars } from './client.js';
import { nearestName } from '../server/did-you-mean.js';
import { namesOfKind } from './target-names.js';
import { connectKube, type KubeConnection } from './kube-client.js';
import type { SidecarInfo } from '../server/wire.js';
import { computeStats, parsePromText, type PromSample, type SidecarScrape, type StatRow } from './stat-metrics.js';

export { renderStatTable } from './stat-metrics.js';
export type { StatRow } from './stat-metrics.js';

/** A stat selector: a kind (`deploy`) or one object (`deploy/web`). */
export interface StatSelector {
  resource: TargetResource;
  name?: string;
}

export interface StatOptions {
  /** `deploy`, `deploy/web`, `po`, `ns/shop`, … (at least one). */
  targets: string[];
  /** Namespace of TYPE/NAME selectors; undefined: the kubeconfig context's, else `default`. */
  namespace?: string;
  /** `-A`: every namespace (as `stat ns` without a name always does). */
  allNamespaces?: boolean;
  /** Find sidecars through kube-apiserver's aggregated API with this kubeconfig. */
  kube?: { kubeconfigPath: string; context?: string };
  windowMs: number;
  /** Find sidecars through the tap API registry. */
  tapApi?: { url: string; token?: string };
  /** Or scrape these admin addresses (`host:port`) directly. */
  admin?: string[];
  /** Or ask a Prometheus HTTP API. */
  prometheus?: string;
  scrapeTimeoutMs?: number;
}

const SHORT: Record<TargetResource, string> = { pods: 'pod', deployments: 'deploy', namespaces: 'ns', statefulsets: 'sts', daemonsets: 'ds', jobs: 'job' };
/** Metric label that names the workload of each kind (Linkerd's labels). */
const LABEL: Record<TargetResource, string> = {
  pods: 'pod',
  deployments: 'deployment',
  namespaces: 'namespace',
  statefulsets: 'statefulset',
  daemonsets: 'daemonset',
  jobs: 'job',
};

/** Parses `deploy` or `deploy/web`. */
export function parseStatSelector(text: string): StatSelector {
  if (!text.includes('/')) {
    const resource = resourceOfKind(text);
    if (!resource) throw new MeshtapError('MT_USAGE', `unknown resource type '${text}'; use deploy, pod, ns, sts, ds or job`);
    return { resource };
  }
  const t = parseTarget(text);
  if (!t.ok) throw new MeshtapError('MT_USAGE', t.error);
  return t.value;
}

/** Gathers stats for the selectors. Resolves after the window (scrape mode). */
export async function collectStats(o: StatOptions): Promise<StatRow[]> {
  const selectors = o.targets.map(parseStatSelector);
  if (o.prometheus) return queryPrometheusStats(o.prometheus, selectors, o.allNamespaces ? undefined : (o.namespace ?? 'default'), o.windowMs);
  const sidecars = await findSidecars(o, selectors);
  const timeoutMs = o.scrapeTimeoutMs ?? 5_000;
  const scrapeAll = (): Promise<ScrapeResult[]> => Promise.all(sidecars.map((s) => scrapeMetrics(s.admin, timeoutMs)));
  const samplesOf = (r: ScrapeResult): PromSample[] | undefined => ('samples' in r ? r.samples : undefined);
  const t0 = Date.now();
  const first = await scrapeAll();
  if (o.admin && o.admin.length > 0) {
    // Addresses the user named: one that cannot be scraped is an error that names it and says why
    // (it read "no meshed pods found" as if the sidecar were there and idle).
    const failed = first.flatMap((r, i) => ('why' in r ? [`${sidecars[i]!.admin} (${r.why})`] : []));
    if (failed.length > 0) {
      throw new MeshtapError('MT_ADMIN_UNREACHABLE', `cannot scrape the sidecar admin address${failed.length === 1 ? '' : 'es'} ${failed.join(', ')}: is 'meshtap proxy --admin ADDR' running there?`);
    }
  }
  const before = first.map(samplesOf);
  const wait = o.windowMs - (Date.now() - t0);
  // A window past setTimeout's 24.8 days fired after 1 ms ('stat -t 1000h' answered at once, review14).
  if (wait > 0) await new Promise<void>((r) => void setLongTimeout(r, wait));
  const after = (await scrapeAll()).map(samplesOf);
  const windowMs = Date.now() - t0;
  const scrapes: SidecarScrape[] = [];
  sidecars.forEach((s, i) => {
    const samples = after[i] ?? before[i];
    for (const sel of selectors) {
      const group = s.groupOf(sel, samples);
      if (!group) continue;
      scrapes.push({ namespace: group.namespace, group: group.name, ...(before[i] ? { before: before[i] } : {}), ...(after[i] ? { after: after[i] } : {}) });
    }
  });
  return computeStats(scrapes, windowMs);
}

interface FoundSidecar {
  admin: string;
  groupOf(sel: StatSelector, samples: PromSample[] | undefined): { namespace: string; name: string } | undefined;
}

async function findSidecars(o: StatOptions, selectors: StatSelector[]): Promise<FoundSidecar[]> {
  const all = o.allNamespaces === true;
  if (o.admin && o.admin.length > 0) {
    const namespace = o.namespace ?? 'default';
    // Direct mode: the sidecar's own metric labels say which workload it is.
    return o.admin.map((admin) => ({
      admin,
      groupOf(sel, samples) {
        const labels = samples?.find((s) => s.labels[LABEL[sel.resource]] !== undefined)?.labels;
        const value = labels?.[LABEL[sel.resource]];
        if (!value || (sel.name && value !== sel.name)) return undefined;
        const ns = sel.resource === 'namespaces' ? value : (labels?.namespace ?? namespace);
        if (!all && sel.resource !== 'namespaces' && ns !== namespace) return undefined;
        return { namespace: ns, name: `${SHORT[sel.resource]}/${value}` };
      },
    }));
  }
  let list: (ns: string | undefined) => Promise<SidecarInfo[]>;
  let kube: KubeConnection | undefined;
  if (o.tapApi) {
    const t = o.tapApi;
    list = (ns) => listSidecars({ url: t.url, ...(t.token ? { token: t.token } : {}), ...(ns !== undefined ? { namespace: ns } : {}) });
  } else if (o.kube) {
    const k = (kube = await connectKube(o.kube));
    list = (ns) => listSidecars({ url: k.url, dispatcher: k.dispatcher, headers: k.headers, describeServer: k.describeServer, ...(ns !== undefined ? { namespace: ns } : {}) });
  } else throw new MeshtapError('MT_USAGE', 'stat needs --tap-api URL (or MESHTAP_TAP_API), a kubeconfig, --admin HOST:PORT, or --prometheus URL');
  const namespace = o.namespace ?? kube?.namespace ?? 'default';
  // `stat ns` (no name) means every namespace, as in Linkerd; so does -A.
  const everywhere = all || selectors.some((s) => s.resource === 'namespaces' && !s.name);
  const namespaces = everywhere ? [undefined] : [...new Set(selectors.map((s) => (s.resource === 'namespaces' && s.name ? s.name : namespace)))];
  let lists: SidecarInfo[][];
  try {
    lists = await Promise.all(namespaces.map((ns) => list(ns)));
    if (!everywhere && isEmptyKindQuery(selectors, lists.flat())) {
      // Where they are, when the caller may list sidecars everywhere (a hint is optional).
      const elsewhere = await list(undefined).catch(() => [] as SidecarInfo[]);
      throw new MeshtapError('MT_NOT_FOUND', noResourcesMessage(selectors, namespace, elsewhere));
    }
  } finally {
    void kube?.dispatcher.close().catch(() => undefined);
  }
  refuseMissing(selectors, lists.flat(), everywhere ? undefined : namespace);
  const found: FoundSidecar[] = [];
  for (const info of lists.flat()) {
    if (!info.adminAddress) continue;
    const workload = info.workload ? parseTarget(info.workload) : undefined;
    found.push({
      admin: info.adminAddress,
      groupOf(sel) {
        if (sel.resource === 'namespaces') return !sel.name || sel.name === info.namespace ? { namespace: info.namespace, name: `ns/${info.namespace}` } : undefined;
        if (!all && info.namespace !== namespace) return undefined;
        if (sel.resource === 'pods') return !sel.name || sel.name === info.pod ? { namespace: info.namespace, name: `pod/${info.pod}` } : undefined;
        if (!workload?.ok || workload.value.resource !== sel.resource) return undefined;
        if (sel.name && workload.value.name !== sel.name) return undefined;
        return { namespace: info.namespace, name: `${SHORT[sel.resource]}/${workload.value.name}` };
      },
    });
  }
  return found;
}

/** Most bytes read of one /metrics answer (a sidecar's is a few hundred KiB at most: its label sets are bounded). */
const MAX_METRICS_BYTES = 32 * 1024 * 1024;

type ScrapeResult = { samples: PromSample[] } | { why: string };

/**
 * One scrape of `http://ADDRESS/metrics`: its samples, or why there are none (a failure of a sidecar
 * found by the tap API or kube is counted as not meshed in this window). node:http rather than
 * fetch: fetch retried a connection reset until the timeout (so "reset" read "no answer"), and
 * refuses some ports outright (the Fetch standard's "bad ports": 6000, 6665-6669, …).
 */
function scrapeMetrics(address: string, timeoutMs: number): Promise<ScrapeResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ScrapeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = httpGet(`http://${address}/metrics`, { agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return finish({ why: `HTTP ${res.statusCode} for /metrics` });
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        bytes += c.length;
        if (bytes > MAX_METRICS_BYTES) finish({ why: `an answer to /metrics over ${MAX_METRICS_BYTES / 1024 / 1024} MiB` });
      });
      res.on('end', () => finish({ samples: parsePromText(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', (err) => finish({ why: whyNoAnswer(err) }));
    });
    req.on('error', (err) => finish({ why: whyNoAnswer(err) }));
    const timer = setTimeout(() => finish({ why: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
}

/** Why a request got no answer, in a few words: refused, reset, closed, not HTTP, … */
function whyNoAnswer(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      // node's words for a connection closed (FIN) before any answer; a reset (RST) says "read ECONNRESET".
      return e.message === 'socket hang up' ? 'connection closed before an answer' : 'connection reset';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host';
  }
  if (typeof e?.code === 'string' && e.code.startsWith('HPE_')) return 'not an HTTP/1 answer';
  return e?.message ?? String(err);
}

export interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

export async function promQuery(base: string, query: string): Promise<PromVector[]> {
  let answer: { status: number; body: { status?: string; error?: string; data?: { result?: PromVector[] } } };
  try {
    answer = await fetchWithin(new URL(`/api/v1/query?query=${encodeURIComponent(query)}`, base), 15_000, async (res) => ({ status: res.status, body: (await res.json().catch(() => ({}))) as typeof answer.body }));
  } catch (err) {
    throw new MeshtapError('MT_PROMETHEUS_UNREACHABLE', `cannot reach Prometheus at ${base}: ${(err as Error).message}`, { cause: err });
  }
  const { body } = answer;
  if (body.status !== 'success') throw new MeshtapError('MT_PROMETHEUS_QUERY', `Prometheus refused the query: ${body.error ?? `HTTP ${answer.status}`}`);
  return body.data?.result ?? [];
}

/** The same statistics from a Prometheus that scrapes the sidecars. */
async function queryPrometheusStats(base: string, selectors: StatSelector[], namespace: string | undefined, windowMs: number): Promise<StatRow[]> {
  const range = `${Math.max(1, Math.round(windowMs / 1000))}s`;
  const rows = new Map<string, StatRow>();
  for (const sel of selectors) {
    const label = LABEL[sel.resource];
    const matchers = [`direction="inbound"`];
    if (sel.resource !== 'namespaces' && namespace !== undefined) matchers.push(`namespace="${namespace}"`);
    if (sel.name) matchers.push(`${label}="${sel.name}"`);
    const m = matchers.join(',');
    const by = sel.resource === 'namespaces' ? 'namespace' : `namespace, ${label}`;
    const [total, success, p50, p95, p99, tcp, pods] = await Promise.all([
      promQuery(base, `sum by (${by}) (increase(response_total{${m}}[${range}]))`),
      promQuery(base, `sum by (${by}) (increase(response_total{${m},classification="success"}[${range}]))`),
      ...[0.5, 0.95, 0.99].map((q) => promQuery(base, `histogram_quantile(${q}, sum by (le, ${by}) (increase(response_latency_ms_bucket{${m}}[${range}])))`)),
      promQuery(base, `sum by (${by}) (tcp_open_connections{${m},peer="src"})`),
      promQuery(base, `count by (${by}) (count by (${by}, pod) (tcp_open_total{${m}}))`),
    ]);
    const row = (v: PromVector): StatRow | undefined => {
      const name = v.metric[label];
      const ns = v.metric.namespace;
      if (!name || !ns) return undefined;
      const key = `${ns}\u0000${SHORT[sel.resource]}/${name}`;
      let r = rows.get(key);
      if (!r) {
        r = { namespace: ns, name: `${SHORT[sel.resource]}/${name}`, meshed: { ok: 0, total: 0 }, rps: 0, tcpConnections: 0 };
        rows.set(key, r);
      }
      return r;
    };
    const num = (v: PromVector): number => Number(v.value[1]);
    const totals = new Map<StatRow, number>();
    for (const v of pods) {
      const r = row(v);
      if (r) r.meshed = { ok: num(v), total: num(v) };
    }
    for (const v of total) {
      const r = row(v);
      if (!r) continue;
      totals.set(r, num(v));
      r.rps = num(v) / (windowMs / 1000);
    }
    for (const v of success) {
      const r = row(v);
      const t = r ? totals.get(r) : undefined;
      if (r && t && t > 0) r.successRate = num(v) / t;
    }
    for (const [vec, field] of [
      [p50, 'latencyMsP50'],
      [p95, 'latencyMsP95'],
      [p99, 'latencyMsP99'],
    ] as const) {
      for (const v of vec) {
        const r = row(v);
        if (r && Number.isFinite(num(v))) r[field] = num(v);
      }
    }
    for (const v of tcp) {
      const r = row(v);
      if (r) r.tcpConnections = num(v);
    }
  }
  return [...rows.values()].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/**
 * A named selector that no listed sidecar is for fails at once, as kubectl fails on a missing
 * object (before the window is waited for), with the nearest name of its kind when one is near
 * (`stat deploy/wbe` → "did you mean deploy/web?"; the names are what the user may list already).
 */
/** Most namespaces named in the hint of an empty answer. */
const MAX_HINT_NAMESPACES = 5;

/** `stat deploy` (kinds only, no name) where the namespace has no meshed workload of any of those kinds. */
function isEmptyKindQuery(selectors: StatSelector[], inNamespace: SidecarInfo[]): boolean {
  if (selectors.some((s) => s.name || s.resource === 'namespaces')) return false;
  return selectors.every((s) => namesOfKind(inNamespace, s.resource).length === 0);
}

/**
 * kubectl's answer for an empty namespace ("No resources found in default namespace."), and where
 * meshed workloads of those kinds are, from `elsewhere` (every namespace's sidecars the caller
 * may list; empty when they may not): the namespace to pass with -n, or -A.
 */
export function noResourcesMessage(selectors: StatSelector[], namespace: string, elsewhere: SidecarInfo[]): string {
  const found = `No resources found in ${namespace} namespace.`;
  const where = [...new Set(elsewhere.filter((s) => s.namespace !== namespace && selectors.some((sel) => namesOfKind([s], sel.resource).length > 0)).map((s) => s.namespace))].sort();
  if (where.length === 0) return found;
  const kinds = [...new Set(selectors.map((s) => s.resource))].join(' and ');
  const shown = where.slice(0, MAX_HINT_NAMESPACES).join(', ') + (where.length > MAX_HINT_NAMESPACES ? ` and ${where.length - MAX_HINT_NAMESPACES} more` : '');
  return `${found} Meshed ${kinds} are in namespace${where.length === 1 ? '' : 's'} ${shown}: add -n ${where[0]} (or -A for every namespace).`;
}

function refuseMissing(selectors: StatSelector[], sidecars: SidecarInfo[], namespace: string | undefined): void {
  for (const sel of selectors) {
    if (!sel.name) continue;
    const inScope = sel.resource === 'namespaces' ? sidecars : sidecars.filter((s) => namespace === undefined || s.namespace === namespace);
    const names = namesOfKind(inScope, sel.resource);
    if (names.includes(sel.name)) continue;
    const target = `${SHORT[sel.resource]}/${sel.name}`;
    const where = sel.resource === 'namespaces' ? '' : namespace === undefined ? ' in any namespace' : ` in namespace "${namespace}"`;
    const near = sel.resource === 'namespaces' ? undefined : nearestName(sel.name, names);
    throw new MeshtapError('MT_NOT_FOUND', `no meshed pods found for ${target}${where}${near ? `; did you mean ${SHORT[sel.resource]}/${near}?` : ''}`);
  }
}
