import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/**
 * The sidecar suites that spawn `meshtap proxy` run a second time on the native engine
 * (MESHTAP_ENGINE=native reaches every spawned sidecar) when the addon is built here. Suites
 * that compare the engines themselves list them inside (test/support/engines.ts).
 */
const NATIVE_ENGINE_SUITES = [
  'test/transparency-*.test.ts',
  'test/bad-input-http1.test.ts',
  'test/bad-input-h2.test.ts',
  'test/metrics-prometheus.test.ts',
  'test/recorder.test.ts',
  'test/record-sidecar.test.ts',
  'test/tap-cli.test.ts',
  'test/tap-api-e2e.test.ts',
];
const hasNativeAddon = existsSync(new URL('./native/build/Release/meshtap_native.node', import.meta.url));

export default defineConfig({
  test: {
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'js', include: ['**/*.test.ts'] } },
      ...(hasNativeAddon ? [{ extends: true as const, test: { name: 'native', include: NATIVE_ENGINE_SUITES, env: { MESHTAP_ENGINE: 'native' } } }] : []),
    ],
  },
});
