/**
 * Which exchanges of a recording a replay sends. A workload's recording holds what it served
 * (`proxy: in`) and the calls it made (`proxy: out`, to other workloads). Sending both to the
 * workload under test sends its outbound calls to the wrong server (on the demo, 122 of 138
 * exchanges "mismatched"), so by default a replay sends what the workload served, and says
 * how many outbound calls it left out, to which workloads, and how to select them.
 * A recording with no inbound exchange (a client's calls, recorded with `meshtap run`) is
 * replayed whole: there the calls are what the user wants to send.
 */
import type { RecordedExchange } from './format.js';

/** `in`: what the workload served; `out`: the calls it made; `all`: both. */
export type ReplayDirection = 'in' | 'out' | 'all';

export interface DirectionSelection {
  selected: RecordedExchange[];
  /** The direction actually applied (`auto` resolves to `in` or `all`). */
  applied: ReplayDirection;
  /** Exchanges left out, per direction, per destination (`deploy/emoji`, or the address). */
  skipped: { direction: 'in' | 'out'; to: string; count: number }[];
  /**
   * HTTP/2 streams the server never processed (`unprocessed`: refused, or past its GOAWAY), left
   * out whatever the direction: the server gave no answer to compare, and the client's retry,
   * when it made one, is an exchange of its own (sending both sent the request twice).
   */
  unprocessed: number;
}

const isOut = (ex: RecordedExchange): boolean => ex.proxy === 'out';
const destination = (ex: RecordedExchange): string => ex.dstWorkload ?? (ex.authority || ex.dst || 'unknown');

/** Selects by direction; `auto` = inbound when the recording has any, else everything. */
export function selectByDirection(exchanges: readonly RecordedExchange[], direction: ReplayDirection | 'auto'): DirectionSelection {
  const applied: ReplayDirection = direction === 'auto' ? (exchanges.some((ex) => !isOut(ex)) ? 'in' : 'all') : direction;
  const selected: RecordedExchange[] = [];
  const skipped = new Map<string, { direction: 'in' | 'out'; to: string; count: number }>();
  let unprocessed = 0;
  for (const ex of exchanges) {
    if (ex.unprocessed !== undefined) {
      unprocessed++;
      continue;
    }
    const out = isOut(ex);
    if (applied === 'all' || (applied === 'out') === out) {
      selected.push(ex);
      continue;
    }
    const dir = out ? 'out' : 'in';
    const to = destination(ex);
    const key = `${dir} ${to}`;
    const entry = skipped.get(key) ?? { direction: dir, to, count: 0 };
    entry.count++;
    skipped.set(key, entry);
  }
  return { selected, applied, skipped: [...skipped.values()].sort((a, b) => b.count - a.count), unprocessed };
}

/** One line for stderr saying what was left out and how to select it, or undefined. */
export function describeSkipped(sel: DirectionSelection): string | undefined {
  const out = sel.skipped.filter((s) => s.direction === 'out');
  const inbound = sel.skipped.filter((s) => s.direction === 'in');
  const parts: string[] = [];
  if (out.length) {
    const n = out.reduce((a, s) => a + s.count, 0);
    const list = out.slice(0, 5).map((s) => `${s.count} to ${s.to}`).join(', ') + (out.length > 5 ? `, … (${out.length - 5} more destinations)` : '');
    parts.push(`replaying the ${sel.selected.length} exchanges the workload served; left out its ${n} outbound call${n === 1 ? '' : 's'} (${list}): to replay those against their destination, use --direction out --to deploy/NAME`);
  }
  if (inbound.length) {
    const n = inbound.reduce((a, s) => a + s.count, 0);
    parts.push(`left out ${n} inbound exchange${n === 1 ? '' : 's'} (--direction in or all selects them)`);
  }
  if (sel.unprocessed > 0) {
    const n = sel.unprocessed;
    parts.push(`left out ${n} exchange${n === 1 ? '' : 's'} the server never processed (HTTP/2 refused or past its GOAWAY; a client's retry is recorded as an exchange of its own)`);
  }
  return parts.length ? parts.join('; ') : undefined;
}
