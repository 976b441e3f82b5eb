import { getPriority, setPriority } from 'node:os';
import { UsageError } from '../common/index.js';

/**
 * Niceness added to the JS thread of a native-engine sidecar by default (MESHTAP_JS_NICE). 0 for now:
 * niced, the JS thread falls behind during busy periods and hands a tap its events in bursts
 * afterwards, which a reader slower than the burst loses (told, counted); test/transparency-slow-tap
 * assumes its reader keeps pace and failed 4 runs in 6 under load at 10 (docs/decisions.md).
 */
export const DEFAULT_JS_NICE = 0;

/**
 * Lowers the scheduling priority of the calling (JS) thread of a `meshtap proxy` whose native
 * engine runs, so that the C++ forwarding workers win the CPU over tap work (decoding records,
 * JSON, gRPC writes) when both want it: principle 1, the traffic first. On Linux setpriority(2)
 * with who=0 applies to the calling thread only, and threads started later inherit it, so this
 * runs after the engine's workers started (they keep the process's niceness). An unprivileged
 * process cannot undo it: the JS thread stays there for the process's life, which is what we want.
 *
 * Safe since the JS thread holds at most one record batch (native/index.ts): a JS thread that falls
 * behind leaves records in C++'s bounded ring, whose overflow is counted (native-event-batch), and a
 * tap that does not keep up is shed and counted (meshtap_tap_dropped_events_total). Only the CLI's
 * proxy start path calls this, never a library user or a test runner's own process.
 *
 * `add`: from `jsNiceFromEnv`. Returns the niceness added (0 when the platform refused: best effort,
 * a sidecar never fails to start over it).
 */
export function lowerJsThreadPriority(add: number): number {
  if (add === 0) return 0;
  try {
    const now = getPriority(0);
    const next = Math.min(19, now + add);
    setPriority(0, next);
    return next - now;
  } catch {
    return 0;
  }
}

/** MESHTAP_JS_NICE: the niceness to add, 0–19 (0 leaves the priority alone); DEFAULT_JS_NICE when unset. Throws UsageError. */
export function jsNiceFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.MESHTAP_JS_NICE;
  if (text === undefined || text === '') return DEFAULT_JS_NICE;
  if (!/^[0-9]{1,2}$/.test(text) || Number(text) > 19) throw new UsageError(`proxy: MESHTAP_JS_NICE takes a niceness to add from 0 to 19, not '${text}'`);
  return Number(text);
}
