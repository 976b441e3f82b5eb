import { describe, expect, it } from 'vitest';
import type { Edge } from '../server/edges-wire.js';
import { renderEdgesTable } from './edges.js';

const EDGE: Edge = {
  src: { namespace: 'shop', workload: 'deploy/web', meshed: true },
  dst: { namespace: 'shop', workload: 'deploy/api', meshed: true },
  protocols: ['http/1.1'],
  ports: [80],
  requests: 12,
  rps: 0.2,
  successRate: 1,
  latencyMs: { p50: 5, p95: 95, p99: 99 },
  tcpOpen: 2,
  bytes: { sent: 100, received: 200 },
  observedBy: 'outbound',
};

const columns = (text: string) => text.split('\n').filter(Boolean).map((l) => l.split(/\s{3,}/));

describe('edges table', () => {
  it('-o wide orders latencies P50, P95, P99 as Linkerd viz does, then the rest (P95 came after TCP)', () => {
    const [head, row] = columns(renderEdgesTable([EDGE], true));
    expect(head).toEqual(['SRC', 'DST', 'SRC_NS', 'DST_NS', 'PROTO', 'SUCCESS', 'RPS', 'P50', 'P95', 'P99', 'TCP', 'REQUESTS', 'BYTES_SENT', 'BYTES_RECV', 'OBSERVED_BY']);
    expect(Object.fromEntries(head!.map((h, i) => [h, row![i]]))).toMatchObject({ P50: '5.0ms', P95: '95ms', P99: '99ms', TCP: '2', REQUESTS: '12' });
  });

  it('the default table keeps linkerd viz edges\' columns', () => {
    expect(columns(renderEdgesTable([EDGE], false))[0]).toEqual(['SRC', 'DST', 'SRC_NS', 'DST_NS', 'PROTO', 'SUCCESS', 'RPS', 'P50', 'P99', 'TCP']);
  });
});
