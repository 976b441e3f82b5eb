import { setFlagsFromString } from 'node:v8';

/**
 * The native sidecar runs without V8's optimizing compiler (TurboFan) while its JS thread does not see
 * the traffic (issue 14: RSS ≤ 60 MB with a live tap; docs/decisions.md, session 14, rss14).
 *
 * Why: the first TurboFan job makes ~3.3 MB of node's executable resident (the compiler's own code,
 * v8::internal::compiler, and its tables), and something always gets hot enough for one: the ES module
 * loader's path functions while the sidecar's ~100 modules load, prom-client's escaping after a few
 * dozen scrapes, a tap's event code. In the native engine C++ forwards and observes; its JS thread
 * runs start-up, scrapes, and a tap's events: untapped or under rate-limited taps (the native tap gate
 * passes JS at most the taps' rate, 100 exchanges a second by default) that is too little work for
 * optimized code to pay for itself, and Sparkplug's baseline code, which stays on, runs it. A tap that
 * makes JS see every exchange (no rate limit, or a filter the gate cannot apply: the firehose, `record`,
 * `top`) turns TurboFan on while it is attached: measured, its JS thread took 35–80 % more CPU per
 * exchange without it. The js engine forwards in JS and keeps TurboFan throughout (released as soon as
 * the engine is known).
 *
 * `--turbofan` is read each time V8 considers optimizing a function, so turning it off before the
 * proxy command's modules load and on again later takes effect at once; code already optimized stays.
 * A user who chose the compiler themselves (NODE_OPTIONS or node's command line) keeps their choice.
 */

let held = false;

/** Whether node's arguments or NODE_OPTIONS choose V8's optimizing tier (V8 accepts `_` for `-`). */
export function compilerSetByUser(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const flags = /^--(?:no[-_])?(?:opt|turbofan|max[-_]opt|jitless|always[-_]opt|always[-_]turbofan)(?:=|$)/;
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((w) => flags.test(w));
}

/** Turns TurboFan off (for `meshtap proxy`, before its modules load); 'user' when the user chose the compiler. */
export function holdOptimizingCompiler(execArgv: readonly string[] = process.execArgv, nodeOptions: string | undefined = process.env.NODE_OPTIONS): 'held' | 'user' {
  if (compilerSetByUser(execArgv, nodeOptions)) return 'user';
  setFlagsFromString('--no-turbofan');
  held = true;
  return 'held';
}

/** Turns TurboFan back on if holdOptimizingCompiler turned it off (the js engine, which forwards in JS). */
export function releaseOptimizingCompiler(): void {
  if (!held) return;
  held = false;
  setFlagsFromString('--turbofan');
}

/** What `optimizeWhileJsSeesTraffic` watches: the tap hub's subscribers and the native tap gate. */
export interface TapTraffic {
  readonly count: number;
  readonly gated: boolean;
  onCountChange(listener: () => void): void;
  onGateChange(listener: () => void): void;
}

/**
 * The native engine: TurboFan on while a tap is attached and the tap gate is off (JS sees every
 * exchange), off otherwise. Nothing is done unless holdOptimizingCompiler held it ('not-held').
 */
export function optimizeWhileJsSeesTraffic(hub: TapTraffic): 'watching' | 'not-held' {
  if (!held) return 'not-held';
  let on = false;
  const update = (): void => {
    const want = hub.count > 0 && !hub.gated;
    if (want === on) return;
    on = want;
    setFlagsFromString(want ? '--turbofan' : '--no-turbofan');
  };
  hub.onCountChange(update);
  hub.onGateChange(update);
  update();
  return 'watching';
}
