/**
 * The tap wire's event message (tap-hub.ts eventMessageJson) over generated events, strings
 * included that JSON must escape or may not (quotes, backslashes, control characters, lone
 * surrogates, U+2028/U+2029, astral characters): exactly `{"type":"event","event":` + what
 * JSON.stringify makes of the event as it leaves (an `rsp` without `requestHeaders`, DESIGN §5) +
 * `}`; the pass-through contract of `tap -o json` (EVENT is JSON.stringify(JSON.parse(EVENT)), no
 * raw newline); and the event in memory is left as it was (an rsp filter reads its request headers).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HeaderList, TapEvent } from '../tap-protocol/index.js';
import { eventMessageJson } from './tap-hub.js';

const oddChar = fc.constantFrom('"', '\\', '\n', '\r', '\t', '\u0000', '\u001f', '\u007f', '\u2028', '\u2029', '\ud800', '\udfff', '\ud83d\ude00', 'é', '不', '[redacted]');
const text = fc.array(fc.oneof(fc.string({ maxLength: 6 }), oddChar, fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 6 }).map((parts) => parts.join(''));
const headers: fc.Arbitrary<HeaderList> = fc.array(fc.tuple(text, text), { maxLength: 5 });
const body = fc.record({ size: fc.nat(), truncated: fc.boolean(), encoding: fc.constantFrom('utf8' as const, 'base64' as const), data: text });
const number = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.nat(), fc.constant(-0));

const event: fc.Arbitrary<TapEvent> = fc
  .record(
    {
      kind: fc.constantFrom('req' as const, 'rsp' as const, 'end' as const),
      id: text,
      ts: text,
      proxy: fc.constantFrom('in' as const, 'out' as const),
      src: text,
      dst: text,
      protocol: fc.constantFrom('http/1.1', 'h2', 'grpc'),
      method: text,
      scheme: text,
      authority: text,
      path: text,
      dstWorkload: text,
      pod: text,
      requestHeaders: headers,
      status: fc.integer({ min: 100, max: 599 }),
      latencyMs: number,
      responseHeaders: headers,
      trailers: headers,
      grpcStatus: fc.integer({ min: 0, max: 16 }),
      grpcMessage: text,
      durationMs: number,
      requestBytes: fc.nat(),
      requestBody: body,
      responseBody: body,
      error: text,
    },
    { requiredKeys: ['kind', 'id', 'ts', 'proxy', 'src', 'dst', 'protocol', 'method', 'authority', 'path'] },
  )
  .map((e) => e as TapEvent);

/** The event as it leaves the sidecar (the reference): a copy, an rsp's requestHeaders left out. */
function wireOf(e: TapEvent): TapEvent {
  const out = { ...e };
  if (out.kind === 'rsp') delete out.requestHeaders;
  return out;
}

describe('tap event message JSON (properties)', () => {
  it('is JSON.stringify of the event as it leaves, passes through tap -o json, and leaves the event as it was', () => {
    fc.assert(
      fc.property(event, (e) => {
        const keysBefore = Object.keys(e);
        const before = structuredClone(e);
        const json = eventMessageJson(e);
        expect(json).toBe(`{"type":"event","event":${JSON.stringify(wireOf(e))}}`);
        const eventText = json.slice('{"type":"event","event":'.length, -1);
        expect(JSON.stringify(JSON.parse(eventText))).toBe(eventText);
        expect(json).not.toContain('\n');
        expect(e).toEqual(before);
        expect(Object.keys(e)).toEqual(keysBefore);
        if (e.kind === 'rsp') expect(JSON.parse(json).event).not.toHaveProperty('requestHeaders');
      }),
      { numRuns: 2000 },
    );
  });
});
