/**
 * The data path engines a sidecar suite runs on: js always, native when the addon is built
 * here (a machine without it skips those runs with a reason, as the BPF suites do).
 */
import { isNativeAvailable, nativeUnavailableReason } from '../../native/index.js';

export type Engine = 'js' | 'native';

export const ENGINES: readonly Engine[] = isNativeAvailable() ? ['js', 'native'] : ['js'];

if (!isNativeAvailable()) {
  process.stderr.write(`skip: --engine native suites (the native addon is ${nativeUnavailableReason()}; bash scripts/build-native.sh)\n`);
}
