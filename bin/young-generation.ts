import { setFlagsFromString } from 'node:v8';

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
 * nobody taps runs as V8 would. The user's own young-generation flags win, as for the js engine.
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
