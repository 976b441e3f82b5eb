/**
 * Several taps with different grants on one hub (the real hub, its real redaction and match
 * compiler): a firehose (takes everything: the fast path of issue 14), a filtered tap with bodies
 * and a revealed header, a rate-limited tap, and taps attached and detached in between. Each must
 * get exactly what its own grant allows, whatever the others take and in whatever order they came:
 * the per-event shape cache (one JSON per grant) must never hand one grant's text to another.
 */
import { describe, expect, it } from 'vitest';
import { compileMatches, type TapEvent, type TapMessage } from '../tap-protocol/index.js';
import { createTapHub, FLUSH_DELAY_MS, type MessageWriter } from './tap-hub.js';

function transport() {
  const written: TapMessage[] = [];
  const writer: MessageWriter = {
    write(batch, sent) {
      written.push(...(JSON.parse(batch) as TapMessage[]));
      sent();
    },
  };
  return { writer, written, events: () => written.filter((m) => m.type === 'event').map((m) => (m as { event: TapEvent }).event) };
}

const turn = () => new Promise<void>((resolve) => setTimeout(resolve, FLUSH_DELAY_MS * 2));
const body = { size: 6, truncated: false, encoding: 'utf8' as const, data: 'hello!' };

const ev = (kind: TapEvent['kind'], n: number, extra: Partial<TapEvent> = {}): TapEvent => ({
  kind,
  id: `9.${n}`,
  ts: '2026-12-06T23:00:00.000Z',
  proxy: 'in',
  src: '10.0.0.1:5000',
  dst: '10.0.0.2:8080',
  protocol: 'http/1.1',
  method: 'GET',
  scheme: 'http',
  authority: 'web',
  path: `/p/${n}`,
  requestHeaders: [
    ['authorization', `Bearer token-${n}`],
    ['cookie', `session=cookie-${n}`],
    ['accept', '*/*'],
  ],
  ...extra,
});

/** An exchange's three events (the end with a request body). */
function exchange(n: number): Array<[TapEvent['kind'], TapEvent]> {
  return [
    ['req', ev('req', n)],
    ['rsp', ev('rsp', n, { status: 200 })],
    ['end', ev('end', n, { status: 200, requestBody: body })],
  ];
}

describe('tap hub: taps with different grants side by side (review8)', () => {
  it('a firehose, a filtered tap with bodies and a revealed header, and a rate-limited tap each get exactly their grant, in any subscription order', async () => {
    for (const order of [
      ['fire', 'filtered', 'limited'],
      ['filtered', 'limited', 'fire'],
      ['limited', 'fire', 'filtered'],
    ] as const) {
      const hub = createTapHub();
      const taps = new Map<string, ReturnType<typeof transport>>();
      for (const name of order) {
        const t = transport();
        taps.set(name, t);
        const opts =
          name === 'fire'
            ? { match: compileMatches([]), bodies: false, reveal: new Set<string>() }
            : name === 'filtered'
              ? { match: hub.redactedMatch(compileMatches([[{ field: 'pathPrefix', value: '/p/1' }]]), { reveal: new Set(['authorization']) }), bodies: true, reveal: new Set(['authorization']) }
              : { match: compileMatches([]), bodies: false, reveal: new Set<string>(), maxRps: 1 };
        hub.subscribe({ ...opts, writer: t.writer }).live = true;
      }
      // Interleaved exchanges: 1 and 10 match the filter (/p/1…), 2 does not.
      const [a, b, c] = [exchange(1), exchange(2), exchange(10)];
      for (const [kind, e] of [a[0]!, b[0]!, a[1]!, c[0]!, b[1]!, a[2]!, c[1]!, b[2]!, c[2]!]) hub.publish(kind, e);
      await turn();

      const fire = taps.get('fire')!.events();
      expect(fire.map((e) => `${e.kind} ${e.id}`)).toEqual(['req 9.1', 'req 9.2', 'rsp 9.1', 'req 9.10', 'rsp 9.2', 'end 9.1', 'rsp 9.10', 'end 9.2', 'end 9.10']);
      for (const e of fire) {
        expect(e.requestHeaders ?? [], order.join()).not.toContainEqual(['authorization', expect.stringContaining('token')]);
        expect(JSON.stringify(e)).not.toMatch(/token-|cookie-|hello!/);
      }

      const filtered = taps.get('filtered')!.events();
      expect(filtered.map((e) => `${e.kind} ${e.id}`)).toEqual(['req 9.1', 'rsp 9.1', 'req 9.10', 'end 9.1', 'rsp 9.10', 'end 9.10']);
      for (const e of filtered) {
        const n = e.id.split('.')[1];
        if (e.kind !== 'rsp') expect(e.requestHeaders).toEqual([['authorization', `Bearer token-${n}`], ['cookie', '[redacted]'], ['accept', '*/*']]);
        if (e.kind === 'end') expect(e.requestBody).toEqual(body);
        expect(JSON.stringify(e)).not.toMatch(/cookie-/);
      }

      // One exchange per second: the first one begun, all of its events, and none of the others'.
      const limited = taps.get('limited')!.events();
      expect(limited.map((e) => `${e.kind} ${e.id}`)).toEqual(['req 9.1', 'rsp 9.1', 'end 9.1']);
      for (const e of limited) expect(JSON.stringify(e)).not.toMatch(/token-|cookie-|hello!/);
    }
  });

  it('regression (shape cache keyed by reveal names joined with commas): a grant revealing a header named "authorization,cookie" is not handed the text of a grant revealing authorization and cookie', async () => {
    for (const first of ['both', 'odd'] as const) {
      const hub = createTapHub();
      const both = transport();
      const odd = transport();
      const subscribe = (which: 'both' | 'odd') =>
        (hub.subscribe({ match: compileMatches([]), bodies: false, reveal: which === 'both' ? new Set(['authorization', 'cookie']) : new Set(['authorization,cookie']), writer: (which === 'both' ? both : odd).writer }).live = true);
      subscribe(first);
      subscribe(first === 'both' ? 'odd' : 'both');
      for (const [kind, e] of exchange(1)) hub.publish(kind, e);
      await turn();
      expect(both.events()[0]!.requestHeaders).toEqual([['authorization', 'Bearer token-1'], ['cookie', 'session=cookie-1'], ['accept', '*/*']]);
      for (const e of odd.events()) expect(JSON.stringify(e), `subscribed first: ${first}`).not.toMatch(/token-|cookie-1/);
    }
  });

  it('taps attached and detached repeatedly: a firehose attached after a filtered tap left gets everything, redacted; the count goes back to zero', async () => {
    const hub = createTapHub();
    const counts: number[] = [];
    hub.onCountChange(() => counts.push(hub.count));
    for (let round = 0; round < 3; round++) {
      const filtered = transport();
      const f = hub.subscribe({ match: compileMatches([[{ field: 'pathPrefix', value: `/p/${2 + round * 10}` }]]), bodies: true, reveal: 'all', writer: filtered.writer });
      f.live = true;
      for (const [kind, e] of exchange(2 + round * 10)) hub.publish(kind, e);
      await turn();
      expect(filtered.events()).toHaveLength(3);
      expect(filtered.events()[0]!.requestHeaders![0]).toEqual(['authorization', `Bearer token-${2 + round * 10}`]);
      f.close();
      const fire = transport();
      const s = hub.subscribe({ match: compileMatches([]), bodies: false, reveal: new Set(), writer: fire.writer });
      s.live = true;
      for (const [kind, e] of exchange(3 + round * 10)) hub.publish(kind, e);
      await turn();
      expect(fire.events().map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
      for (const e of fire.events()) expect(JSON.stringify(e)).not.toMatch(/token-|cookie-|hello!/);
      s.close();
    }
    expect(hub.count).toBe(0);
    expect(counts).toEqual(Array.from({ length: 6 }, () => [1, 0]).flat());
  });
});
