import { describe, expect, it } from 'vitest';
import { renderSoakReport, slope, type SoakSample } from './soak-report.js';

const sample = (elapsedS: number, rssMiB: number, fds: number): SoakSample => ({
  elapsedS, isTapOn: elapsedS % 240 < 120, rssBytes: rssMiB * 2 ** 20, fds, openConnections: 10, recorderBytes: 0,
  requestsPerS: 200, errors: 0, skipped: 0, tapLines: 0, tapBodyLines: 0, observerErrors: 0, tapDropped: 0,
});

describe('soak report', () => {
  it('computes a least-squares slope', () => {
    expect(slope([[0, 1], [1, 3], [2, 5]])).toBeCloseTo(2);
    expect(slope([[0, 4], [1, 4]])).toBe(0);
  });

  it('renders one row per sample and a summary whose RSS slope tells a leak from a plateau', () => {
    const leaking = Array.from({ length: 31 }, (_, i) => sample(i * 60, 80 + i, 40));
    const flat = Array.from({ length: 31 }, (_, i) => sample(i * 60, i < 3 ? 60 + 10 * i : 90, 40));
    const run = (samples: SoakSample[]) => renderSoakReport({ engine: 'native', startedAt: 'T', durationS: 1800, ratePerS: 200, tapCycleS: 240, samples, totals: { ok: 1, errors: 0, skipped: 0, cancelled: 0, byKind: {}, tcpStreamBytes: 0 }, command: 'node dist/bench/soak.js' });
    expect(run(leaking).split('\n').filter((l) => /^\| \d/.test(l))).toHaveLength(31);
    expect(run(leaking)).toMatch(/second-half slope 10\.00 MiB per 10 min \(tap-on samples only 10\.00, tap-off only 10\.00\)/);
    expect(run(flat)).toMatch(/second-half slope 0\.00 MiB per 10 min/);
  });

  it('names every failure by kind and reason, and says nothing of failures when there were none', () => {
    const samples = Array.from({ length: 3 }, (_, i) => sample(i * 60, 60, 40));
    const base = { engine: 'native', startedAt: 'T', durationS: 180, ratePerS: 200, tapCycleS: 240, samples, command: 'node dist/bench/soak.js' };
    const failed = renderSoakReport({ ...base, totals: { ok: 5, errors: 3, skipped: 0, cancelled: 0, byKind: { h2: 4, grpc: 4 }, failures: { h2: { 'status 502, rst code none': 1 }, grpc: { '14 Connection dropped': 2 } }, tcpStreamBytes: 0 } });
    expect(failed).toContain('- failures by kind and reason: h2: status 502, rst code none (1); grpc: 14 Connection dropped (2).');
    const clean = renderSoakReport({ ...base, totals: { ok: 5, errors: 0, skipped: 0, cancelled: 0, byKind: {}, failures: {}, tcpStreamBytes: 0 } });
    expect(clean).not.toContain('failures by kind');
  });

  it('says a direct soak had no sidecar and no tap, and a sidecar soak names its engine and tap', () => {
    const samples = Array.from({ length: 3 }, (_, i) => sample(i * 60, 60, 40));
    const base = { startedAt: 'T', durationS: 180, ratePerS: 200, tapCycleS: 240, samples, totals: { ok: 5, errors: 0, skipped: 0, cancelled: 0, byKind: {}, tcpStreamBytes: 0 }, command: 'node dist/bench/soak.js' };
    const direct = renderSoakReport({ ...base, engine: 'direct' });
    expect(direct.split('\n')[0]).toBe("# Soak: direct, no sidecar (the backend's RSS and fds), under mixed load");
    expect(direct).not.toContain('meshtap tap');
    const native = renderSoakReport({ ...base, engine: 'native' });
    expect(native.split('\n')[0]).toBe('# Soak: one sidecar (engine native) under mixed load');
    expect(native).toContain('a live `meshtap tap --bodies -o json` attached for the first half of every 240 s');
  });
});
