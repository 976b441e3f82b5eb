import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/**
 * Every suite runs in the `js` project with MESHTAP_ENGINE=js. The sidecar suites (transparency,
 * bad input, tap, recorder, metrics, and the security suites that go through a sidecar's
 * forwarding, tap or redaction) run a second time on the native engine when the addon is built
 * here: MESHTAP_ENGINE=native reaches every spawned `meshtap proxy`, and in-process sidecars take
 * `engine: PROJECT_ENGINE` (test/support/engines.ts). Suites that compare the engines themselves run both inside
 * (`describe.each(ENGINES)`: bad-input-http1-framing, bad-input-h2-attacks, h2c-upgrade,
 * idle-timeout, grpc-status-unusable, non-ascii-targets, loopback-source, engine-selection,
 * differential-*) and are not listed. Left on js only, being engine-neutral: the tap API's own
 * suites (auth, registration, membership, Kubernetes mode), CLI and record/replay/mock files.
 */
const NATIVE_ENGINE_SUITES = [
  'test/transparency-*.test.ts',
  'test/bad-input-http1.test.ts',
  'test/bad-input-h2.test.ts',
  'test/metrics-prometheus.test.ts',
  'test/recorder.test.ts',
  'test/record-sidecar.test.ts',
  'test/tap-cli.test.ts',
  'test/tap-json-passthrough.test.ts',
  'test/tap-ends-only.test.ts',
  'test/tap-api-e2e.test.ts',
  'test/tap-history-text.test.ts',
  'test/tap-to.test.ts',
  'test/tap-shedding.test.ts',
  'test/tap-rate-gate.test.ts',
  'test/tap-rate-gate-grant.test.ts',
  'test/tap-api-stat-prometheus.test.ts',
  'test/security-sidecar.test.ts',
  'test/security-body-secrets.test.ts',
  'test/security-url-credentials.test.ts',
  'test/security-query-secrets.test.ts',
  'test/security-query-secrets-grant.test.ts',
  'test/security-regex.test.ts',
  'test/security-grant-audience.test.ts',
  'test/edges-fixture.test.ts',
  'test/peer-names-late.test.ts',
  'test/top-reveal-header.test.ts',
  'test/tap-ids-across-pods.test.ts',
  'test/tap-sidecar-stopped.test.ts',
  'test/tap-wire-batch.test.ts',
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
      // MESHTAP_ENGINE=js: native is the CLI's default wherever the addon is built (issue 14), so the
      // js project says js for every spawned sidecar; tests of the default itself clear it.
      { extends: true, test: { name: 'js', include: ['**/*.test.ts'], env: { MESHTAP_ENGINE: 'js' } } },
      ...(hasNativeAddon ? [{ extends: true as const, test: { name: 'native', include: NATIVE_ENGINE_SUITES, env: { MESHTAP_ENGINE: 'native' } } }] : []),
    ],
  },
});
