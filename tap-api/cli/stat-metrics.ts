/**
 * The arithmetic of `meshtap stat` over two scrapes of sidecars' `/metrics` (Linkerd metric
 * names, DESIGN §6): success rate and RPS from `response_total` deltas, p50/p95/p99 from
 * `response_latency_ms` bucket deltas (interpolated like PromQL's histogram_quantile), TCP
 * connections from the `tcp_open_connections` gauge. Inbound traffic only, as `linkerd viz stat`
 * reports a workload's served requests.
 */

import { formatLatencyMs } from './format.js';

/** One sample of the Prometheus text format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?\s*$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;

/** Parses the Prometheus text exposition format (comments and malformed lines are skipped). */
export function parsePromText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2]) {
      LABEL.lastIndex = 0;
      let l: RegExpExecArray | null;
      while (LABEL.lastIndex < m[2].length && (l = LABEL.exec(m[2])) !== null) {
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
      }
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    if (!Number.isNaN(value) || m[3] === 'NaN') out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** Per-group statistics over a window. */
export interface StatRow {
  namespace: string;
  /** `deploy/web`, `pod/web-1`, `ns/shop`, … */
  name: string;
  /** Sidecars that answered both scrapes / sidecars known for the group. */
  meshed: { ok: number; total: number };
  /** 0..1, undefined without requests. */
  successRate?: number;
  rps: number;
  latencyMsP50?: number;
  latencyMsP95?: number;
  latencyMsP99?: number;
  tcpConnections: number;
}

/** Everything scraped from one sidecar (both scrapes, or undefined when a scrape failed). */
export interface SidecarScrape {
  namespace: string;
  /** Group name this sidecar belongs to (`deploy/web`, …). */
  group: string;
  before?: PromSample[];
  after?: PromSample[];
}

const INBOUND = (s: PromSample): boolean => s.labels.direction === 'inbound';

function seriesKey(s: PromSample): string {
  return Object.keys(s.labels)
    .sort()
    .map((k) => `${k}=${s.labels[k]}`)
    .join(',');
}

/** Per-series increase between scrapes; a counter that went down (restart) counts from zero. */
function increases(before: PromSample[], after: PromSample[], name: string): PromSample[] {
  const prev = new Map(before.filter((s) => s.name === name && INBOUND(s)).map((s) => [seriesKey(s), s.value]));
  return after
    .filter((s) => s.name === name && INBOUND(s))
    .map((s) => {
      const p = prev.get(seriesKey(s)) ?? 0;
      return { ...s, value: s.value >= p ? s.value - p : s.value };
    });
}

/** PromQL-style histogram_quantile over cumulative `(le, count)` buckets. */
export function histogramQuantile(q: number, buckets: Array<{ le: number; count: number }>): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length === 0) return undefined;
  const total = sorted[sorted.length - 1]!.count;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe; // beyond the highest finite bucket: its bound
      if (b.count === prevCount) return b.le;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / (b.count - prevCount);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** Aggregates scrapes by group into stat rows (sorted by namespace, name). */
export function computeStats(scrapes: SidecarScrape[], windowMs: number): StatRow[] {
  const groups = new Map<string, SidecarScrape[]>();
  for (const s of scrapes) {
    const k = `${s.namespace}\u0000${s.group}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const rows: StatRow[] = [];
  for (const members of groups.values()) {
    const ok = members.filter((m) => m.before && m.after);
    let total = 0;
    let success = 0;
    const buckets = new Map<number, number>();
    let tcp = 0;
    for (const m of ok) {
      for (const s of increases(m.before!, m.after!, 'response_total')) {
        total += s.value;
        if (s.labels.classification === 'success') success += s.value;
      }
      for (const s of increases(m.before!, m.after!, 'response_latency_ms_bucket')) {
        const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
        buckets.set(le, (buckets.get(le) ?? 0) + s.value);
      }
      for (const s of m.after!) {
        if (s.name === 'tcp_open_connections' && INBOUND(s) && (s.labels.peer === undefined || s.labels.peer === 'src')) tcp += s.value;
      }
    }
    const b = [...buckets].map(([le, count]) => ({ le, count }));
    const row: StatRow = {
      namespace: members[0]!.namespace,
      name: members[0]!.group,
      meshed: { ok: ok.length, total: members.length },
      rps: windowMs > 0 ? total / (windowMs / 1000) : 0,
      tcpConnections: tcp,
    };
    if (total > 0) {
      row.successRate = success / total;
      const p50 = histogramQuantile(0.5, b);
      const p95 = histogramQuantile(0.95, b);
      const p99 = histogramQuantile(0.99, b);
      if (p50 !== undefined) row.latencyMsP50 = p50;
      if (p95 !== undefined) row.latencyMsP95 = p95;
      if (p99 !== undefined) row.latencyMsP99 = p99;
    }
    rows.push(row);
  }
  return rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** Renders rows as the `linkerd viz stat`-shaped table. */
export function renderStatTable(rows: StatRow[]): string {
  const head = ['NAMESPACE', 'NAME', 'MESHED', 'SUCCESS', 'RPS', 'LATENCY_P50', 'LATENCY_P95', 'LATENCY_P99', 'TCP_CONN'];
  const ms = (v?: number): string => (v === undefined ? '-' : formatLatencyMs(v));
  const cells = rows.map((r) => [
    r.namespace,
    r.name,
    r.meshed.total === 0 ? '-' : `${r.meshed.ok}/${r.meshed.total}`,
    r.successRate === undefined ? '-' : `${(r.successRate * 100).toFixed(2)}%`,
    `${r.rps.toFixed(1)}rps`,
    ms(r.latencyMsP50),
    ms(r.latencyMsP95),
    ms(r.latencyMsP99),
    String(r.tcpConnections),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [head, ...cells].map((line) => line.map((c, i) => c.padEnd(widths[i]!)).join('   ').trimEnd()).join('\n') + '\n';
}
