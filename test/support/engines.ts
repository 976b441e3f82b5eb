/**
 * The data path engines a sidecar suite runs on: js always, native when the addon is built
 * here (a machine without it skips those runs with a reason, as the BPF suites do).
 */
import { isNativeAvailable, nativeUnavailableReason } from '../../native/index.js';

export type Engine = 'js' | 'native';

export const ENGINES: readonly Engine[] = isNativeAvailable() ? ['js', 'native'] : ['js'];

/**
 * The engine of this vitest project: `native` in the `native` project (MESHTAP_ENGINE=native),
 * else js. A spawned `meshtap proxy` reads MESHTAP_ENGINE itself; a sidecar started in-process
 * (`startSidecar`) does not, so suites pass `engine: PROJECT_ENGINE` (without it the native
 * project silently reran them on js).
 */
export const PROJECT_ENGINE: Engine = process.env.MESHTAP_ENGINE === 'native' ? 'native' : 'js';

if (!isNativeAvailable()) {
  process.stderr.write(`skip: --engine native suites (the native addon is ${nativeUnavailableReason()}; bash scripts/build-native.sh)\n`);
}
