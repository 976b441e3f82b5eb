/**
 * The data path engines a sidecar suite runs on: js always, native when the addon is built
 * here (a machine without it skips those runs with a reason, as the BPF suites do).
 */
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
