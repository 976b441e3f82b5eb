/**
 * What a live tap with bodies costs, per engine and scenario — informational rows beside the
 * goals, which judge only `-tap` (the rate users get) at max load. Max-load throughput flatters a
 * tap: a JS thread that falls behind sheds events and forwarding carries on, so the honest cost
 * is CPU per request at the fixed rate, where nothing is shed: tapped vs as shipped, for the
 * users' default rate (`-tap`) and for the firehose (`-tap-all`, what `record` or a raised
 * --max-rps asks). The tapped RSS is here too: the RSS goal is judged untapped.
 */
import type { SummaryRow } from './report.js';

/** One engine × scenario: each variant's figures next to as shipped. */
export interface TapCostRow {
  engine: 'js' | 'native';
  scenario: string;
  /** 1 − tapped / shipped max throughput (medians over repeats). */
  maxCost: { tap?: number; all?: number };
  /** Proxy CPU µs per request at the fixed rate (median over repeats). */
  rateCpuUs: { shipped?: number; tap?: number; all?: number };
  /** Peak RSS over the scenario's loads, MB. */
  peakRssMB: { shipped?: number; tap?: number; all?: number };
  /** Tap events received at max load, and those the client's --max-rps left out or the tap could not keep up with. */
  maxLoadTap: { tap?: SummaryRow['tap']; all?: SummaryRow['tap'] };
}

const VARIANTS = { shipped: '', tap: '-tap', all: '-tap-all' } as const;

/** The rows for every engine and scenario where as shipped and at least one tapped variant ran. */
export function tapCosts(rows: SummaryRow[]): TapCostRow[] {
  const out: TapCostRow[] = [];
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  for (const engine of ['native', 'js'] as const) {
    for (const scenario of scenarios) {
      const of = (v: keyof typeof VARIANTS) => rows.filter((r) => r.scenario === scenario && r.target === `meshtap-${engine}${VARIANTS[v]}`);
      const shipped = of('shipped');
      const tap = of('tap');
      const all = of('all');
      if (shipped.length === 0 || (tap.length === 0 && all.length === 0)) continue;
      const maxRps = (rs: SummaryRow[]) => rs.find((r) => r.load === 'max')?.perSecond?.median;
      const cost = (rs: SummaryRow[]) => {
        const s = maxRps(shipped);
        const t = maxRps(rs);
        return s !== undefined && t !== undefined && s > 0 ? 1 - t / s : undefined;
      };
      const rateCpu = (rs: SummaryRow[]) => rs.find((r) => r.load === 'rate')?.cpuUsPerUnit;
      const rss = (rs: SummaryRow[]) => {
        const xs = rs.map((r) => r.peakRssMB).filter((x): x is number => x !== undefined);
        return xs.length ? Math.max(...xs) : undefined;
      };
      out.push({
        engine,
        scenario,
        maxCost: { tap: cost(tap), all: cost(all) },
        rateCpuUs: { shipped: rateCpu(shipped), tap: rateCpu(tap), all: rateCpu(all) },
        peakRssMB: { shipped: rss(shipped), tap: rss(tap), all: rss(all) },
        maxLoadTap: { tap: tap.find((r) => r.load === 'max')?.tap, all: all.find((r) => r.load === 'max')?.tap },
      });
    }
  }
  return out;
}
