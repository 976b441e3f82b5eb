/**
 * The data path engines a sidecar suite runs on: js always, native when the addon is built
 * here (a machine without it skips those runs with a reason, as the BPF suites do).
 */
import { readdirSync, statSync } from 'node:fs';
import { isNativeAvailable, nativeUnavailableReason } from '../../native/index.js';

export type Engine = 'js' | 'native';

export const ENGINES: readonly Engine[] = isNativeAvailable() ? ['js', 'native'] : ['js'];

/**
 * The engine of this vitest project: MESHTAP_ENGINE, which vitest.config.ts sets in each project
 * (`js`: js, `native`: native). Since native became the CLI's default (issue 14) the js project
 * says js too: a spawned `meshtap proxy`/`run`/`demo` reads MESHTAP_ENGINE itself, and a sidecar
 * started in-process (`startSidecar`, `startDemoMesh`) takes `engine: PROJECT_ENGINE`, which both
 * require. Outside a project (no MESHTAP_ENGINE) this refuses to guess: a suite that ran on the
 * default would test whichever engine this machine happens to have built.
 */
export const PROJECT_ENGINE: Engine = projectEngine(process.env.MESHTAP_ENGINE);

function projectEngine(value: string | undefined): Engine {
  if (value === 'js' || value === 'native') return value;
  throw new Error(`MESHTAP_ENGINE is '${value ?? ''}': run the suites through vitest.config.ts's projects (npx vitest run --project js|native …), which set it`);
}

if (!isNativeAvailable()) {
  process.stderr.write(`skip: --engine native suites (the native addon is ${nativeUnavailableReason()}; bash scripts/build-native.sh)\n`);
}

/**
 * A native run must test today's C++: an addon older than any of its sources (a rebase or an edit
 * since the last scripts/build-native.sh) is refused, not run. Session 15's "known disagreement"
 * (an HTTP/2 500 before a give-up counted by js, not by native) was such an addon, built before
 * the C++ rule it was judged against (session 16, diff16).
 */
function newestSourceMs(dir: URL): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const url = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMs(url) : statSync(url).mtimeMs);
  }
  return newest;
}
if (isNativeAvailable()) {
  // MESHTAP_NATIVE_ADDON: another build of the same sources (scripts/native-sanitize.sh's ASan one).
  const addonMs = statSync(process.env.MESHTAP_NATIVE_ADDON ?? new URL('../../native/build/Release/meshtap_native.node', import.meta.url)).mtimeMs;
  const sourcesMs = Math.max(newestSourceMs(new URL('../../native/src/', import.meta.url)), statSync(new URL('../../native/binding.gyp', import.meta.url)).mtimeMs);
  if (sourcesMs > addonMs) {
    throw new Error('the native addon is older than native/src (or binding.gyp): rebuild it first (nice -n 19 bash scripts/build-native.sh), or the native engine under test is not the code checked out');
  }
}
