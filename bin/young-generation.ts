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

/** Whether node's arguments or NODE_OPTIONS size the young generation (V8 accepts `_` for `-` in flag names). */
export function youngGenerationSetByUser(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const sizes = /^--(?:max[-_]semi[-_]space[-_]size|min[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)(?:=|$)/;
  const words = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  return words.some((w) => sizes.test(w));
}
