/**
 * The statistics of `--until-narrow`: a confidence bracket for the median of per-round ratios,
 * and the verdict it allows against a goal's bound.
 *
 * Why order statistics (the sign-test interval) rather than an interquartile range or a
 * bootstrap: the IQR measures how far single rounds spread, which does not shrink as rounds
 * accumulate, so "repeat until narrow" would never end on a machine whose rounds spread wider
 * than the margin; a bootstrap narrows, but is random (a report could change on re-rendering,
 * a test would need a seed) and is erratic at the 6–20 rounds a budget allows. The order
 * statistics x(k) and x(n−k+1) bracket the median with a coverage computed exactly from the
 * binomial distribution, whatever the noise's shape — and on this machine noise is skewed (one
 * round slowed 2× by another tenant), which would wreck a mean and a t-interval but moves an
 * order statistic by one rank. Rounds are assumed independent; looking after every round is
 * sequential testing, so the chance that some look shows a wrong decided bracket is higher
 * than 1 − level: the minimum of rounds and a 95 % level keep it small, not nil.
 */

/** A bracket of the median: [lo, hi] = [x(k), x(n−k+1)] of the sorted values, and its coverage. */
export interface MedianBracket {
  lo: number;
  hi: number;
  /** The exact probability that [lo, hi] holds the median of the distribution the values came from. */
  coverage: number;
  /** Rank of lo (1-based); hi is rank n − k + 1. */
  k: number;
  n: number;
}

/** P(X ≤ k) for X ~ Binomial(n, ½), exactly (log-space terms, so no overflow for large n). */
export function binomialHalfCdf(n: number, k: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  let logTerm = -n * Math.LN2; // log P(X = 0)
  let sum = Math.exp(logTerm);
  for (let i = 1; i <= k; i++) {
    logTerm += Math.log((n - i + 1) / i);
    sum += Math.exp(logTerm);
  }
  return Math.min(1, sum);
}

/**
 * The narrowest order-statistic bracket of the median with coverage ≥ `level`, or undefined when
 * `values` are too few for it (fewer than `minRoundsFor(level)`; NaNs are not values).
 */
export function medianBracket(values: number[], level = 0.95): MedianBracket | undefined {
  const xs = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const n = xs.length;
  // coverage of [x(k), x(n−k+1)] is 1 − 2·P(X ≤ k − 1); it falls as k grows: take the largest k that keeps it ≥ level
  let best: MedianBracket | undefined;
  for (let k = 1; 2 * k <= n + 1; k++) {
    const coverage = 1 - 2 * binomialHalfCdf(n, k - 1);
    if (coverage < level) break;
    best = { lo: xs[k - 1], hi: xs[n - k], coverage, k, n };
  }
  return best;
}

/** The fewest rounds whose widest bracket (min–max, coverage 1 − 2·½ⁿ) reaches `level`: 6 for 95 %. */
export function minRoundsFor(level: number): number {
  let n = 1;
  while (1 - 2 * 0.5 ** n < level) n++;
  return n;
}

/** A goal of the form `value ≥ bound` (atLeast) or `value ≤ bound` (atMost). */
export interface Bound {
  kind: 'atLeast' | 'atMost';
  bound: number;
}

export type NarrowVerdict = 'met' | 'missed' | 'undecided';

/**
 * met: the whole bracket is on the passing side of the bound (≥ passes for atLeast, ≤ for
 * atMost, as the single-run verdict); missed: the whole bracket is on the failing side;
 * undecided: the bracket crosses the bound, or there is no bracket yet.
 */
export function narrowVerdict(bracket: Pick<MedianBracket, 'lo' | 'hi'> | undefined, goal: Bound): NarrowVerdict {
  if (!bracket) return 'undecided';
  if (goal.kind === 'atLeast') return bracket.lo >= goal.bound ? 'met' : bracket.hi < goal.bound ? 'missed' : 'undecided';
  return bracket.hi <= goal.bound ? 'met' : bracket.lo > goal.bound ? 'missed' : 'undecided';
}

/** The median of `values` (a true median: the mean of the middle two for an even count); NaN when none. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
