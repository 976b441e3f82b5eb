/**
 * The native engine's C++ label helpers (native/src/core/metrics-labels.cc) against their
 * TypeScript originals: route templates (proxy/route-template.ts) and authority redaction
 * (tap-protocol/redact.ts), on the very tables the TypeScript tests use, then on random targets
 * built from the characters the rules look at (digits, hex letters, dashes, slashes, `?#:@`,
 * non-ASCII in and outside the BMP, lengths around the 200-character bound).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isNativeAvailable, loadNativeMetricsTools } from '../native/index.js';
import { GRPC_ROUTE_CASES, ROUTE_TEMPLATE_CASES } from '../proxy/route-template.cases.js';
import { routeTemplate } from '../proxy/route-template.js';
import { AUTHORITY_REDACTION_CASES } from '../tap-protocol/redact.cases.js';
import { redactAuthority } from '../tap-protocol/redact.js';
import { reportBpfSkip } from './bpf-skip.js';

const available = isNativeAvailable();
if (!available) reportBpfSkip('test/native-metrics-labels.test.ts', 'the addon is not built (bash scripts/build-native.sh)');

const PIECES = ['/', '/', '/', '1', '42', '0123abcd', 'a', 'F', 'z', 'Q', '-', '_', '?', '#', ':', '@', '.', '%C3', 'é', '😀', 'users', '5f0c7a2e-8d1b-4c3a-9e2f-0a1b2c3d4e5f', 'eyJhbGciOiJIUzI1NiJ9abc123', 'http://', 'x'.repeat(90)];
const target = fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((parts) => parts.join(''));

describe.skipIf(!available)('C++ metric labels', () => {
  const native = available ? loadNativeMetricsTools() : undefined!;

  it.each(ROUTE_TEMPLATE_CASES)('route template of %s is %s', (path, route) => {
    expect(native.routeTemplate(path, false)).toBe(route);
  });

  it('keeps gRPC methods as they are (the TS table)', () => {
    for (const [path, route] of GRPC_ROUTE_CASES) expect(native.routeTemplate(path, true)).toBe(route);
  });

  it.each(AUTHORITY_REDACTION_CASES)('authority %s is labelled %s', (input, out) => {
    expect(native.redactAuthority(input)).toBe(out);
  });

  it('makes the route template the TypeScript function makes, for any target', () => {
    fc.assert(
      fc.property(target, fc.boolean(), (t, isGrpc) => {
        expect(native.routeTemplate(t, isGrpc)).toBe(routeTemplate(t, isGrpc));
      }),
      { numRuns: 3000 },
    );
  });

  it('counts the 200-character bound in UTF-16 code units, as JS does', () => {
    for (const ch of ['é', '😀', 'a']) {
      for (let n = 95; n <= 205; n += 5) {
        const t = '/' + ch.repeat(n);
        expect(native.routeTemplate(t, false)).toBe(routeTemplate(t));
        expect(native.routeTemplate(t, true)).toBe(routeTemplate(t, true));
      }
    }
  });

  it('redacts any authority as the TypeScript function does', () => {
    fc.assert(
      fc.property(target, (a) => {
        expect(native.redactAuthority(a)).toBe(redactAuthority(a));
      }),
      { numRuns: 2000 },
    );
  });
});
