import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mallocTrim, reduceMemory } from '../native/index.js';

/**
 * Keeps the sidecar's V8 young generation at the size it has at start (issue 3: the js engine's RSS
 * under load ≤ 80 MB; it was 110 MB).
 *
 * Node 20 lets V8 grow each of the young generation's two semi-spaces to 16 MiB when many objects
 * survive a scavenge, which a proxy under load makes happen at once (each in-flight request's
 * objects survive one or two): 32 MiB of new space, resident, for objects that die young either
 * way. Capped, the new space stays at 2–4 MiB; the objects that live past two scavenges move to the
 * old generation a little sooner, which costs nothing measurable per request (docs/decisions.md).
 *
 * Why a run-time flag and not `--max-semi-space-size` on node's command line: V8 sizes its heap
 * before any of our code runs, and the sidecar is started in several ways (the image's entry point,
 * `npx meshtap proxy`, `node dist/bin/meshtap.js proxy` in the bench and the tests, `meshtap run`);
 * a flag each of them must remember would be lost in one. `--semi-space-growth-factor` is read each
 * time V8 considers growing the new space, so setting it to 1 here (before the sidecar starts
 * allocating per request) holds it where it is for the process's life.
 *
 * A user who set the young generation's size themselves (`--max-semi-space-size`,
 * `--min-semi-space-size` or `--semi-space-growth-factor` in NODE_OPTIONS or on node's command line)
 * keeps their choice: nothing is set, and 'user' is returned.
 */
export function capYoungGeneration(execArgv: readonly string[] = process.execArgv, nodeOptions: string | undefined = process.env.NODE_OPTIONS): 'capped' | 'user' {
  if (youngGenerationSetByUser(execArgv, nodeOptions)) return 'user';
  setFlagsFromString(YOUNG_GENERATION_CAP_FLAG);
  return 'capped';
}

/** The V8 flag `capYoungGeneration` sets: the new space never grows past its size at the call. */
export const YOUNG_GENERATION_CAP_FLAG = '--semi-space-growth-factor=1';
/** V8's own growth factor (Node 20's V8 11.3), set back when the native sidecar's last tap leaves. */
export const YOUNG_GENERATION_DEFAULT_FLAG = '--semi-space-growth-factor=2';

/** What `capYoungGenerationWhileTapped` watches: the tap hub's subscriber count. */
export interface TapCount {
  readonly count: number;
  onCountChange(listener: () => void): void;
}

/**
 * The native engine's young generation, capped while a tap is attached (issue 14: the tapped
 * sidecar's RSS ≤ 60 MB under load; it was 70–74 MB, 107–186 MB with 64 KiB bodies).
 *
 * Untapped, the native sidecar's JS thread allocates next to nothing and its new space stays at its
 * start size by itself. A tap makes the JS thread build events, JSON and batches for every exchange
 * it delivers; V8 grows the new space by the bytes that survive scavenges, summed since its last
 * growth, whatever the rate, so under a tap it grows to 8 MiB within seconds and on to its 32 MiB
 * bound over a long tap (or at once with 64 KiB bodies, whose strings wait in the tap's queue).
 * Capped, the tapped JS thread scavenges more often and promotes a little more (docs/decisions.md:
 * measured pairs at 2,000 req/s, ~2–3 % more CPU per request, inside this machine's noise).
 *
 * Set when the first tap attaches and set back to V8's default when the last one leaves, so a sidecar
 * nobody taps runs as V8 would. A settled sidecar (settleNativeMemory) is capped at V8's smallest
 * new space, 1 MiB (session 11: at the default 100/s ~2.5 MB less than at the 4 MiB start-up left;
 * a firehose tap's JS thread scavenges more often for it, docs/decisions.md). The user's own
 * young-generation flags win, as for the js engine.
 */
export function capYoungGenerationWhileTapped(hub: TapCount, execArgv: readonly string[] = process.execArgv, nodeOptions: string | undefined = process.env.NODE_OPTIONS): 'watching' | 'user' {
  if (youngGenerationSetByUser(execArgv, nodeOptions)) return 'user';
  let capped = false;
  hub.onCountChange(() => {
    const tapped = hub.count > 0;
    if (tapped === capped) return;
    capped = tapped;
    setFlagsFromString(tapped ? YOUNG_GENERATION_CAP_FLAG : YOUNG_GENERATION_DEFAULT_FLAG);
  });
  return 'watching';
}

/** Whether node's arguments or NODE_OPTIONS size the young generation (V8 accepts `_` for `-` in flag names). */
export function youngGenerationSetByUser(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const sizes = /^--(?:max[-_]semi[-_]space[-_]size|min[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)(?:=|$)/;
  const words = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  return words.some((w) => sizes.test(w));
}

/** What `collectAfterTappedBodies` watches: the tap hub's subscribers and the body text it sends them. */
export interface TapBodies extends TapCount {
  onBodiesSent(listener: (chars: number) => void): void;
}

/** Body characters handed to taps between two collections: the tap queue's own body bound (tap-hub.ts, 8 MiB). */
export const COLLECT_AFTER_BODY_CHARS = 8 * 1024 * 1024;
/** Fewest milliseconds between two collections. */
export const COLLECT_MIN_INTERVAL_MS = 1000;

/**
 * The native sidecar collects what a tap with bodies leaves behind (issue 14: RSS ≤ 60 MB with a
 * live tap; docs/decisions.md, session 10, mem3): a full V8 collection and glibc's malloc_trim(0)
 * after every COLLECT_AFTER_BODY_CHARS of body text handed to taps (at most once a second). When the
 * last tap leaves, settleNativeMemory's reduction collects what it left (session 11).
 *
 * Why: a body waits in the tap's queue (up to 8 MiB of them) long enough for V8 to promote its text,
 * its event's JSON and the Buffers it was captured in to the old generation; once sent they are
 * garbage that V8 collects only once the old generation grew past its limit, and the Buffers'
 * memory is freed only then (measured: one full collection in a 10 s run at 100 bodies of 64 KiB a
 * second; a full collection at its end took the old generation's used bytes from 32 to 7 MB and the
 * sidecar's anonymous memory from 74 to 30 MB). Once collected, ~5 MB more stayed resident as free
 * chunks inside malloc's arenas until malloc_trim gave them back.
 * The native engine's JS thread carries no traffic (C++ forwards), so the pause (13–75 ms on this
 * machine) delays tap events only; it costs the JS thread ~1–3 % of a core at 6 MB/s of bodies.
 * The js engine, whose JS thread does carry traffic, does not do this.
 */
export function collectAfterTappedBodies(
  hub: TapBodies,
  collect: () => void = collectGarbage,
  options: { afterChars?: number; minIntervalMs?: number } = {},
): void {
  const afterChars = options.afterChars ?? COLLECT_AFTER_BODY_CHARS;
  const minIntervalMs = options.minIntervalMs ?? COLLECT_MIN_INTERVAL_MS;
  let chars = 0;
  let last = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  const run = (): void => {
    timer = undefined;
    chars = 0;
    last = performance.now();
    collect();
  };
  // On a timer of its own: never inside the hub's write path, and spaced by minIntervalMs.
  const schedule = (): void => {
    if (timer !== undefined) return;
    timer = setTimeout(run, Math.max(0, last + minIntervalMs - performance.now()));
    timer.unref();
  };
  hub.onBodiesSent((n) => {
    chars += n;
    if (chars >= afterChars) schedule();
  });
}

/** Milliseconds after the last tap left before the native sidecar reduces its memory (a tap that comes back at once costs nothing). */
export const SETTLE_AFTER_UNTAP_MS = 1000;
/** Milliseconds after the process's first tap attached before the native sidecar reduces its memory once. */
export const SETTLE_AFTER_FIRST_TAP_MS = 1000;

/**
 * The native sidecar gives back what start-up and taps left resident (issue 14: RSS under load
 * ≤ 60 MB untapped too; docs/decisions.md, session 11, mem4): V8's low-memory notification (full
 * collections that shrink the young generation to its smallest size and give V8's pooled pages
 * back) and malloc_trim(0), once just after start, once SETTLE_AFTER_FIRST_TAP_MS after the first
 * tap attached, once each time the last tap has been gone for SETTLE_AFTER_UNTAP_MS, and while
 * rate-limited taps are attached each time their garbage grew the old space by a MiB (settleWhileTapped).
 *
 * Why: loading and starting grew V8's new space to 2 × 2 MiB and left pages pooled; V8's memory
 * reducer gives them back by itself only 8–25 s later (measured: RssAnon 12.9 → 10.0 MB at ~23 s
 * idle; under load 17.1 → 14.1 MB at ~8 s), so a sidecar's first seconds, a restart's and a
 * rollout's, held ~3 MB more than its steady state. The first tap loads the tap port's modules
 * (node:http2 and the ~35 builtins it requires), whose compilation leaves garbage in the old space
 * that V8 collects only once it grows past its limit (session 14, rss14: 0.2–0.7 MB of the tapped
 * peak; later taps load nothing). A tap's session, its events and their garbage
 * likewise stayed until V8 next collected. The native engine's JS thread carries no traffic (C++
 * forwards), so the ~40 ms this takes delays only a scrape or a tap's start, never a request;
 * the js engine, whose JS thread carries traffic, does not do this.
 */
export function settleNativeMemory(
  hub: TapSettle,
  reduce: () => void = reduceMemory,
  untapMs: number = SETTLE_AFTER_UNTAP_MS,
  firstTapMs: number = SETTLE_AFTER_FIRST_TAP_MS,
  whileTapped: TappedSettle = {},
): void {
  const atStart = setTimeout(reduce, 0);
  atStart.unref();
  settleWhileTapped(hub, reduce, whileTapped);
  let firstTapSeen = false;
  hub.onCountChange(() => {
    if (firstTapSeen || hub.count === 0) return;
    firstTapSeen = true;
    // Still tapped then: a tap gone by then is settled after its leaving, below.
    setTimeout(() => {
      if (hub.count > 0) reduce();
    }, firstTapMs).unref();
  });
  let timer: NodeJS.Timeout | undefined;
  let tapped = false;
  hub.onCountChange(() => {
    if (hub.count > 0) {
      tapped = true;
      clearTimeout(timer);
      timer = undefined;
      return;
    }
    if (!tapped || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (hub.count > 0) return;
      tapped = false;
      reduce();
    }, untapMs);
    timer.unref();
  });
}

/** Old-space bytes a rate-limited tap's garbage may add past what the last settling left before the sidecar settles again. */
export const SETTLE_TAPPED_OLD_GROWTH_BYTES = 1024 * 1024;
/** How often the sidecar reads its old space's size while every tap is rate-limited (ms). */
export const SETTLE_TAPPED_CHECK_MS = 2000;
/** Fewest milliseconds between two settlings while tapped (bounds their CPU, ~40 ms each, to ≤ 0.4 % of a core). */
export const SETTLE_TAPPED_MIN_INTERVAL_MS = 10_000;

/** What settleNativeMemory watches: the tap hub's subscribers and whether the native tap gate is on. */
export interface TapSettle extends TapCount {
  /** Every subscriber is rate-limited and the native gate passes JS at most their rate (tap-hub.ts). */
  readonly gated: boolean;
}

/** Knobs of the settling while tapped (tests lower them). */
export interface TappedSettle {
  growthBytes?: number;
  checkMs?: number;
  minIntervalMs?: number;
  /** The old space's used bytes (V8's heap statistics unless given). */
  oldSpaceUsed?: () => number;
}

function v8OldSpaceUsed(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'old_space') return s.space_used_size;
  return 0;
}

/**
 * While taps are attached and the tap gate is on (every tap rate-limited: the default `meshtap tap`,
 * the tap API's, the bench's `-tap` rows), the native sidecar settles again each time its V8 old
 * space grew by SETTLE_TAPPED_OLD_GROWTH_BYTES past what the last settling left (read every
 * SETTLE_TAPPED_CHECK_MS, at most once per SETTLE_TAPPED_MIN_INTERVAL_MS; session 15, perf15).
 *
 * Why: a tap's JS objects that live past two scavenges (its queued batches and their writes, timers,
 * the compiled code and feedback of its path) are promoted, and V8 starts a full collection only
 * once the old generation grows past a limit several MB above what is live. With the young
 * generation capped at 1 MiB (capYoungGenerationWhileTapped), a 100/s tap under gRPC load promoted
 * ~50–150 KB a second: the old space went from 6 to 12 MB in 50 s and the external memory its dead
 * Buffers held from 2.6 to 3.4 MB, all of it dead (measured, docs/decisions.md). Settled, the old
 * space stays within ~1 MiB of what is live. The JS thread carries no traffic in the native engine
 * and runs at a lower priority than the forwarding threads; the pause delays tap events only, which
 * the C++ event ring holds meanwhile.
 *
 * Not while the gate is off (a firehose, `record`, `top`, a filtered tap): JS then sees every
 * exchange, its garbage comes at the traffic's rate, V8's own incremental collections keep up with
 * it, and a blocking settlement every 10 s would delay a busy tap's events for its length.
 */
function settleWhileTapped(hub: TapSettle, reduce: () => void, o: TappedSettle): void {
  const growth = o.growthBytes ?? SETTLE_TAPPED_OLD_GROWTH_BYTES;
  const checkMs = o.checkMs ?? SETTLE_TAPPED_CHECK_MS;
  const minIntervalMs = o.minIntervalMs ?? SETTLE_TAPPED_MIN_INTERVAL_MS;
  const oldSpaceUsed = o.oldSpaceUsed ?? v8OldSpaceUsed;
  let timer: NodeJS.Timeout | undefined;
  // The old space's used bytes after the last settling (or V8's own collection, or the tap's arrival).
  let baseline = 0;
  let last = -Infinity;
  const check = (): void => {
    const used = oldSpaceUsed();
    if (used < baseline) baseline = used;
    if (!hub.gated || used - baseline < growth || performance.now() - last < minIntervalMs) return;
    reduce();
    last = performance.now();
    baseline = oldSpaceUsed();
  };
  hub.onCountChange(() => {
    if (hub.count > 0 && timer === undefined) {
      baseline = oldSpaceUsed();
      timer = setInterval(check, checkMs);
      timer.unref();
    } else if (hub.count === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  });
}

let gc: (() => void) | undefined;

/**
 * A full V8 collection, then malloc_trim(0) (the addon's, when it is loaded). V8's `gc` is exposed
 * at run time as the young generation's cap is set (node's command line is not ours to choose);
 * a user's own --expose-gc is used as it is.
 */
export function collectGarbage(): void {
  gc ??= (globalThis as { gc?: () => void }).gc ?? exposeGc();
  gc();
  mallocTrim();
}

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
