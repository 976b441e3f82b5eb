/**
 * The soak's report: the series as one compact table, and a summary that answers "does it
 * leak?": RSS and fds at the start, after warm-up, at the end and at their peak, and the RSS
 * slope over the second half (MiB per 10 minutes), where warm-up no longer counts.
 */
import { SOAK_MIX, type SoakCounts } from './soak-load.js';

export interface SoakSample {
  elapsedS: number;
  isTapOn: boolean;
  rssBytes: number;
  fds: number;
  openConnections: number;
  recorderBytes: number;
  requestsPerS: number;
  /** Failed requests in the interval. */
  errors: number;
  /** Requests skipped so far because too many were open (the client side's bound). */
  skipped: number;
  tapLines: number;
  /** Tap lines that carry a request or response body. */
  tapBodyLines: number;
  observerErrors: number;
  tapDropped: number;
}

export interface SoakRun {
  /** The sidecar's engine (`--engine`). */
  engine: string;
  startedAt: string;
  durationS: number;
  ratePerS: number;
  tapCycleS: number;
  samples: SoakSample[];
  totals: SoakCounts;
  /** The command line that produced it. */
  command: string;
}

const mib = (b: number): string => (b / 2 ** 20).toFixed(1);

/** Least-squares slope of y over x. */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export function renderSoakReport(run: SoakRun): string {
  const s = run.samples;
  const lines: string[] = [];
  const isDirect = run.engine === 'direct';
  lines.push(isDirect ? '# Soak: direct, no sidecar (the backend\'s RSS and fds), under mixed load' : `# Soak: one sidecar (engine ${run.engine}) under mixed load`, '');
  lines.push(
    `Started ${run.startedAt}; ${(run.durationS / 60).toFixed(1)} min at ${run.ratePerS} req/s (${SOAK_MIX}); ` +
      (isDirect ? 'no tap (no sidecar).' : `a live \`meshtap tap --bodies -o json\` attached for the first half of every ${run.tapCycleS} s.`) +
      ` Command: \`${run.command}\`.`,
    '',
  );
  lines.push('| t (min) | tap | req/s | errors | RSS MiB | fds | open conns | recorder MiB | tap lines | with bodies | observer give-ups | tap dropped |');
  lines.push('|---:|:---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const x of s) {
    lines.push(
      `| ${(x.elapsedS / 60).toFixed(1)} | ${x.isTapOn ? 'on' : 'off'} | ${x.requestsPerS.toFixed(0)} | ${x.errors} | ${mib(x.rssBytes)} | ${x.fds} | ${x.openConnections} | ${mib(x.recorderBytes)} | ${x.tapLines} | ${x.tapBodyLines ?? 0} | ${x.observerErrors} | ${x.tapDropped} |`,
    );
  }
  lines.push('');
  if (s.length >= 2) {
    const warm = s[Math.min(2, s.length - 1)]!;
    const end = s[s.length - 1]!;
    const second = s.slice(Math.floor(s.length / 2));
    const rssSlope = slope(second.map((x) => [x.elapsedS / 600, x.rssBytes / 2 ** 20]));
    const fdSlope = slope(second.map((x) => [x.elapsedS / 600, x.fds]));
    const t = run.totals;
    lines.push('Summary:', '');
    // RSS follows the tap (on: event objects and the tap stream's buffers), so the leak question
    // is answered per phase: samples with the tap on against each other, off against off.
    const phaseSlope = (isOn: boolean) => slope(second.filter((x) => x.isTapOn === isOn).map((x) => [x.elapsedS / 600, x.rssBytes / 2 ** 20]));
    lines.push(`- RSS: start ${mib(s[0]!.rssBytes)} MiB, after warm-up ${mib(warm.rssBytes)} MiB, end ${mib(end.rssBytes)} MiB, peak ${mib(Math.max(...s.map((x) => x.rssBytes)))} MiB; second-half slope ${rssSlope.toFixed(2)} MiB per 10 min (tap-on samples only ${phaseSlope(true).toFixed(2)}, tap-off only ${phaseSlope(false).toFixed(2)}).`);
    lines.push(`- fds: start ${s[0]!.fds}, end ${end.fds}, peak ${Math.max(...s.map((x) => x.fds))}; second-half slope ${fdSlope.toFixed(2)} per 10 min.`);
    lines.push(`- requests: ${t.ok} ok, ${t.errors} failed, ${t.skipped} skipped (client bound), ${t.cancelled} gRPC calls cancelled on purpose; by kind ${Object.entries(t.byKind).map(([k, n]) => `${k} ${n}`).join(', ')}; ${mib(t.tcpStreamBytes ?? 0)} MiB echoed on the long-lived TCP stream.`);
    const failures = Object.entries(t.failures ?? {}).flatMap(([kind, reasons]) => Object.entries(reasons).map(([why, n]) => `${kind}: ${why} (${n})`));
    if (failures.length > 0) lines.push(`- failures by kind and reason: ${failures.join('; ')}.`);
    lines.push('');
  }
  return lines.join('\n');
}
