import { describe, expect, it, vi } from 'vitest';
import { type TapEvent, compileMatches, type TapMessage } from '../tap-protocol/index.js';
import { createTapHub, FLUSH_CHARS, FLUSH_DELAY_MS, type MessageWriter } from './tap-hub.js';

/**
 * A transport that sends every batch on at once, or (`hold`) keeps them in flight until drained:
 * with `maxInFlightBytes: 1` a subscriber then writes one batch and waits.
 */
function transport(hold = false) {
  const written: TapMessage[] = [];
  const batches: TapMessage[][] = [];
  let held: Array<() => void> = [];
  const writer: MessageWriter = {
    write(batch, sent) {
      const messages = JSON.parse(batch) as TapMessage[];
      batches.push(messages);
      written.push(...messages);
      if (hold) held.push(sent);
      else sent();
    },
  };
  return {
    writer,
    written,
    batches,
    drain() {
      const cbs = held;
      held = [];
      for (const cb of cbs) cb();
    },
  };
}

const ev = (kind: TapEvent['kind'], n: number, extra: Partial<TapEvent> = {}): TapEvent => ({
  kind,
  id: `7.${n}`,
  ts: new Date().toISOString(),
  proxy: 'in',
  src: '10.0.0.1:5000',
  dst: '10.0.0.2:8080',
  protocol: 'http/1.1',
  method: 'GET',
  scheme: 'http',
  authority: 'web',
  path: `/p/${n}`,
  requestHeaders: [['Authorization', 'Bearer secret'], ['accept', '*/*']],
  ...extra,
});

/** Long enough for the hub to write what was published meanwhile (at most FLUSH_DELAY_MS later). */
const turn = () => new Promise<void>((resolve) => setTimeout(resolve, FLUSH_DELAY_MS * 2));
/** One turn of the event loop. */
const oneTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const events = (t: ReturnType<typeof transport>) => t.written.filter((m) => m.type === 'event').map((m) => (m as { event: TapEvent }).event);

describe('tap hub', () => {
  it('delivers req, rsp and end of matching exchanges only', async () => {
    const hub = createTapHub();
    const t = transport();
    const s = hub.subscribe({ match: compileMatches([[{ field: 'pathPrefix', value: '/p/1' }]]), bodies: false, reveal: new Set(), writer: t.writer });
    s.live = true;
    for (const n of [1, 2]) {
      hub.publish('req', ev('req', n));
      hub.publish('rsp', ev('rsp', n, { status: 200 }));
      hub.publish('end', ev('end', n, { status: 200 }));
    }
    await turn();
    expect(events(t).map((e) => `${e.kind}:${e.id}`)).toEqual(['req:7.1', 'rsp:7.1', 'end:7.1']);
  });

  it('sends rsp events without requestHeaders (DESIGN §5), yet filters and redacts them with the request headers', async () => {
    const hub = createTapHub();
    const t = transport();
    // `--header` with `--status`: decided at rsp, on the request headers the rsp event holds in memory.
    const match = hub.redactedMatch(compileMatches([[{ field: 'header', name: 'accept', value: '*/*' }, { field: 'status', value: '2xx' }]]), { reveal: new Set() });
    expect(match.point).toBe('rsp');
    const s = hub.subscribe({ match, bodies: false, reveal: new Set(), writer: t.writer });
    s.live = true;
    // The response echoes the request's bearer token: hidden there because the request header held it.
    const rsp = ev('rsp', 1, { status: 200, responseHeaders: [['x-echo', 'token=secret-token-1234']] });
    const headers = [['Authorization', 'Bearer secret-token-1234'], ['accept', '*/*']] as Array<[string, string]>;
    hub.publish('req', ev('req', 1, { requestHeaders: headers }));
    hub.publish('rsp', { ...rsp, requestHeaders: headers });
    hub.publish('end', ev('end', 1, { status: 200, requestHeaders: headers }));
    await turn();
    const out = events(t);
    expect(out.map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
    expect(out[1]).not.toHaveProperty('requestHeaders');
    expect(out[1]!.responseHeaders).toEqual([['x-echo', 'token=[redacted]']]);
    expect(out[0]!.requestHeaders).toEqual([['Authorization', '[redacted]'], ['accept', '*/*']]);
    expect(out[2]!.requestHeaders).toEqual([['Authorization', '[redacted]'], ['accept', '*/*']]);
    // The batch text holds no trace of them either.
    const rspLine = t.batches.flat().find((m) => m.type === 'event' && m.event.kind === 'rsp');
    expect(JSON.stringify(rspLine)).not.toContain('secret-token');
  });

  it('an ends-only tap (record, top) gets only end events, its request-side filter decided on the end, bodies wanted', async () => {
    const hub = createTapHub();
    const ends = transport();
    const all = transport();
    const e = hub.subscribe({ match: compileMatches([[{ field: 'pathPrefix', value: '/p/1' }]]), bodies: true, endsOnly: true, reveal: new Set(), writer: ends.writer });
    e.live = true;
    expect(hub.wantsEarlyEvents).toBe(false);
    // Its match is decided at the end: the exchange may be delivered, so its bodies are wanted.
    expect(hub.wantsBodiesFor({ id: '7.1' })).toBe(true);
    const a = hub.subscribe({ match: compileMatches([]), bodies: false, reveal: new Set(), writer: all.writer });
    a.live = true;
    expect(hub.wantsEarlyEvents).toBe(true);
    for (const n of [1, 2]) {
      hub.publish('req', ev('req', n));
      hub.publish('rsp', ev('rsp', n, { status: 200 }));
      hub.publish('end', ev('end', n, { status: 200, responseBody: { size: 2, truncated: false, encoding: 'utf8', data: 'ok' } }));
    }
    await turn();
    expect(events(ends).map((x) => `${x.kind}:${x.id}`)).toEqual(['end:7.1']);
    expect(events(ends)[0]!.responseBody?.data).toBe('ok');
    expect(events(ends)[0]!.requestHeaders).toEqual([['Authorization', '[redacted]'], ['accept', '*/*']]);
    expect(events(all).map((x) => `${x.kind}:${x.id}`)).toEqual(['req:7.1', 'rsp:7.1', 'end:7.1', 'req:7.2', 'rsp:7.2', 'end:7.2']);
  });

  it('holds events until a response-side match can be decided, then delivers them in order', async () => {
    const hub = createTapHub();
    const t = transport();
    const s = hub.subscribe({ match: compileMatches([[{ field: 'status', value: '5xx' }]]), bodies: false, reveal: new Set(), writer: t.writer });
    s.live = true;
    hub.publish('req', ev('req', 1));
    hub.publish('req', ev('req', 2));
    await turn();
    expect(events(t)).toEqual([]);
    hub.publish('rsp', ev('rsp', 1, { status: 200 }));
    hub.publish('rsp', ev('rsp', 2, { status: 503 }));
    hub.publish('end', ev('end', 1, { status: 200 }));
    hub.publish('end', ev('end', 2, { status: 503 }));
    await turn();
    expect(events(t).map((e) => `${e.kind}:${e.id}`)).toEqual(['req:7.2', 'rsp:7.2', 'end:7.2']);
  });

  it('decides gRPC status matches at end', async () => {
    const hub = createTapHub();
    const t = transport();
    const s = hub.subscribe({ match: compileMatches([[{ field: 'grpcStatus', value: 'UNAVAILABLE' }]]), bodies: false, reveal: new Set(), writer: t.writer });
    s.live = true;
    hub.publish('req', ev('req', 1, { protocol: 'grpc' }));
    hub.publish('rsp', ev('rsp', 1, { protocol: 'grpc', status: 200 }));
    hub.publish('end', ev('end', 1, { protocol: 'grpc', status: 200, grpcStatus: 14 }));
    await turn();
    expect(events(t).map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
  });

  it('redacts sensitive headers unless revealed, and strips bodies without the body grant', async () => {
    const hub = createTapHub();
    const plain = transport();
    const revealed = transport();
    const a = hub.subscribe({ match: compileMatches([]), bodies: false, reveal: new Set(), writer: plain.writer });
    const b = hub.subscribe({ match: compileMatches([]), bodies: true, reveal: new Set(['authorization']), writer: revealed.writer });
    a.live = b.live = true;
    const body = { size: 2, truncated: false, encoding: 'utf8' as const, data: 'hi' };
    const original = ev('end', 1, { requestBody: body });
    hub.publish('end', original);
    await turn();
    expect(events(plain)[0].requestHeaders).toEqual([['Authorization', '[redacted]'], ['accept', '*/*']]);
    expect(events(plain)[0].requestBody).toBeUndefined();
    expect(events(revealed)[0].requestHeaders).toEqual([['Authorization', 'Bearer secret'], ['accept', '*/*']]);
    expect(events(revealed)[0].requestBody).toEqual(body);
    // the shared event was not modified in place
    expect(original.requestHeaders![0][1]).toBe('Bearer secret');
  });

  it('shapes each event once per grant: subscribers sharing a grant get its JSON, others theirs, in any subscription order (issue 14)', async () => {
    for (const order of [
      ['plain', 'revealed', 'plain'],
      ['revealed', 'plain', 'revealed'],
    ] as const) {
      const hub = createTapHub();
      const taps = order.map((grant) => {
        const t = transport();
        hub.subscribe({ match: compileMatches([]), bodies: grant === 'revealed', reveal: grant === 'revealed' ? new Set(['authorization']) : new Set(), writer: t.writer }).live = true;
        return { grant, t };
      });
      const body = { size: 2, truncated: false, encoding: 'utf8' as const, data: 'hi' };
      hub.publish('req', ev('req', 1));
      hub.publish('end', ev('end', 1, { requestBody: body }));
      hub.publish('end', ev('end', 2, { requestBody: body }));
      await turn();
      for (const { grant, t } of taps) {
        const got = events(t);
        expect(got.map((e) => `${e.kind} ${e.id}`)).toEqual(['req 7.1', 'end 7.1', 'end 7.2']);
        for (const e of got) {
          expect(e.requestHeaders![0]).toEqual(['Authorization', grant === 'revealed' ? 'Bearer secret' : '[redacted]']);
          if (e.kind === 'end') expect(e.requestBody).toEqual(grant === 'revealed' ? body : undefined);
        }
      }
    }
  });

  it('a tap that takes everything (no filter, no rate: the firehose) gets the same messages, in the same order, as one whose filter admits everything by its terms (issue 14)', async () => {
    const hub = createTapHub();
    const fast = transport();
    const slow = transport();
    const everything = compileMatches([]);
    // Matches every exchange, but not by form (matchesAll is false): decided per exchange, as before.
    const byTerms = compileMatches([[{ field: 'method', value: 'GET' }], [{ field: 'method', value: 'GET', negate: true }]]);
    expect(everything.matchesAll).toBe(true);
    expect(byTerms.matchesAll).toBe(false);
    const a = hub.subscribe({ match: everything, bodies: true, reveal: new Set(), writer: fast.writer });
    const b = hub.subscribe({ match: byTerms, bodies: true, reveal: new Set(), writer: slow.writer });
    a.live = b.live = true;
    // Exchanges interleaved, one begun before the taps (its rsp and end only), one without a response.
    const body = { size: 2, truncated: false, encoding: 'utf8' as const, data: 'hi' };
    const steps: Array<[TapEvent['kind'], number, Partial<TapEvent>]> = [
      ['rsp', 0, { status: 200 }],
      ['req', 1, {}],
      ['req', 2, { method: 'POST' }],
      ['end', 0, { status: 200, responseBody: body }],
      ['rsp', 2, { status: 500, method: 'POST' }],
      ['rsp', 1, { status: 200 }],
      ['req', 3, {}],
      ['end', 1, { status: 200, requestBody: body }],
      ['end', 3, { error: 'reset' }],
      ['end', 2, { status: 500, method: 'POST' }],
    ];
    for (const [kind, n, extra] of steps) {
      hub.publish(kind, ev(kind, n, extra));
      // As the data path asks, right after an exchange's first event: both would be given its bodies.
      expect(hub.wantsBodiesFor({ id: `7.${n}` })).toBe(true);
    }
    await turn();
    expect(events(fast).map((e) => `${e.kind} ${e.id}`)).toEqual(steps.map(([kind, n]) => `${kind} 7.${n}`));
    expect(fast.written).toEqual(slow.written);
  });

  it('redacts sensitive request and response trailers too', async () => {
    const hub = createTapHub({ sensitiveHeaders: ['x-signature'] });
    const t = transport();
    const s = hub.subscribe({ match: compileMatches([]), bodies: false, reveal: new Set(), writer: t.writer });
    s.live = true;
    hub.publish('end', ev('end', 1, { requestHeaders: [], requestTrailers: [['X-Signature', 'abc'], ['x-sum', '3']], trailers: [['x-signature', 'def']] }));
    await turn();
    expect(events(t)[0].requestTrailers).toEqual([['X-Signature', '[redacted]'], ['x-sum', '3']]);
    expect(events(t)[0].trailers).toEqual([['x-signature', '[redacted]']]);
  });

  it('drops and counts when a subscriber cannot keep up, then tells it how many it lost', async () => {
    const dropped: number[] = [];
    const hub = createTapHub({ onDropped: (_r, n) => dropped.push(n) });
    const t = transport(true); // one batch in flight fills it
    const s = hub.subscribe({ match: compileMatches([]), bodies: false, reveal: new Set(), writer: t.writer, maxQueue: 5, maxInFlightBytes: 1 });
    s.live = true;
    for (let n = 0; n < 20; n++) hub.publish('end', ev('end', n));
    // 5 queued, the 6th dropped (queue-full): from then on the subscriber is not read for (14 more lost)
    expect(s.dropped).toBe(15);
    expect(dropped.reduce((a, b) => a + b, 0)).toBe(15);
    await turn();
    expect(t.batches.length).toBe(1); // everything queued went out as one batch
    const kinds = () => t.written.map((m) => (m.type === 'event' ? m.event.id : `${m.type}:${(m as { count?: number }).count}`));
    expect(kinds()).toEqual(['7.0', '7.1', '7.2', '7.3', '7.4', 'dropped:1']);
    t.drain();
    expect(kinds()).toEqual(['7.0', '7.1', '7.2', '7.3', '7.4', 'dropped:1', 'dropped:14']);
    expect(s.dropped).toBe(15);
  });

  it('regression (queue bound by count only): body bytes bound the queue too, and past it the subscriber is not read for', async () => {
    const hub = createTapHub();
    const t = transport(true);
    const s = hub.subscribe({ match: compileMatches([]), bodies: true, reveal: 'all', writer: t.writer, maxQueueBodyBytes: 10_000, maxInFlightBytes: 1 });
    s.live = true;
    const body = { size: 4000, truncated: false, encoding: 'utf8' as const, data: 'x'.repeat(4000) };
    for (let n = 0; n < 10; n++) hub.publish('end', ev('end', n, { requestBody: body }));
    expect(s.dropped).toBe(7); // 3 queued (12,000 body bytes ≥ 10,000), the rest dropped
    expect(hub.wantsBodies).toBe(false);
    await turn();
    expect(events(t).length).toBe(3);
    expect(hub.wantsBodies).toBe(false); // the transport is full: still not reading
    t.drain();
    expect(hub.wantsBodies).toBe(true);
  });

  it('enforces a per-subscriber rate in exchanges per second', async () => {
    const dropped: string[] = [];
    const hub = createTapHub({ onDropped: (r) => dropped.push(r) });
    const t = transport();
    const s = hub.subscribe({ match: compileMatches([]), bodies: false, reveal: new Set(), writer: t.writer, maxRps: 3 });
    s.live = true;
    for (let n = 0; n < 10; n++) {
      hub.publish('req', ev('req', n));
      hub.publish('end', ev('end', n));
    }
    await turn();
    const ids = new Set(events(t).map((e) => e.id));
    expect(ids.size).toBe(3);
    expect(events(t).length).toBe(6); // req + end of each admitted exchange, none of the others
    expect(dropped.filter((r) => r === 'rate-limit').length).toBe(7);
  });

  it('admits an exchange now and then at a rate below one per second (the bucket held less than one token before)', async () => {
    const hub = createTapHub();
    const t = transport();
    const s = hub.subscribe({ match: compileMatches([]), bodies: false, reveal: new Set(), writer: t.writer, maxRps: 0.5 });
    s.live = true;
    for (let n = 0; n < 4; n++) {
      hub.publish('req', ev('req', n));
      hub.publish('end', ev('end', n));
    }
    await turn();
    expect(new Set(events(t).map((e) => e.id)).size).toBe(1);
  });

  it('forgets closed subscribers and reports whether bodies are wanted', () => {
    const hub = createTapHub();
    expect(hub.hasSubscribers).toBe(false);
    const s = hub.subscribe({ match: compileMatches([]), bodies: true, reveal: new Set(), writer: transport().writer });
    expect(hub.wantsBodies).toBe(true);
    s.close();
    expect(hub.hasSubscribers).toBe(false);
    expect(hub.wantsBodies).toBe(false);
  });

  it('redacts sensitive headers case-insensitively in requestHeaders, responseHeaders and trailers, every duplicate, without touching the shared event', () => {
    const hub = createTapHub();
    const e = ev('end', 1, {
      requestHeaders: [['Cookie', 'a=1'], ['cookie', 'b=2'], ['AUTHORIZATION', 'Bearer x'], ['accept', '*/*']],
      responseHeaders: [['Set-Cookie', 's=1'], ['set-cookie', 's=2']],
      trailers: [['x-api-key', 'k']],
      requestBody: { size: 1, truncated: false, encoding: 'utf8', data: 'q' },
    });
    const before = JSON.stringify(e);
    const out = hub.shape(e, { bodies: false, reveal: new Set(['cookie']) });
    expect(out.requestHeaders).toEqual([['Cookie', 'a=1'], ['cookie', 'b=2'], ['AUTHORIZATION', '[redacted]'], ['accept', '*/*']]);
    expect(out.responseHeaders).toEqual([['Set-Cookie', '[redacted]'], ['set-cookie', '[redacted]']]);
    expect(out.trailers).toEqual([['x-api-key', '[redacted]']]);
    expect(out.requestBody).toBeUndefined();
    expect(JSON.stringify(e)).toBe(before); // another subscriber (with the body grant) still gets it whole
    expect(hub.shape(e, { bodies: true, reveal: 'all' }).requestBody?.data).toBe('q');
  });

  it('regression (grpcMessage beside a redacted grpc-message trailer): a header made sensitive is redacted in the field derived from it too', () => {
    const hub = createTapHub({ sensitiveHeaders: ['authorization', 'grpc-message'] });
    const e = ev('end', 1, { protocol: 'grpc', trailers: [['grpc-status', '7'], ['grpc-message', 'user 42 not in group admins']], grpcStatus: 7, grpcMessage: 'user 42 not in group admins' });
    const out = hub.shape(e, { bodies: false, reveal: new Set() });
    expect(out.trailers).toEqual([['grpc-status', '7'], ['grpc-message', '[redacted]']]);
    expect(out.grpcMessage).toBe('[redacted]');
    expect(out.grpcStatus).toBe(7);
    expect(hub.shape(e, { bodies: false, reveal: new Set(['grpc-message']) }).grpcMessage).toBe('user 42 not in group admins');
    expect(e.grpcMessage).toBe('user 42 not in group admins');
  });
  it('writes a few events together a few milliseconds later, and a turn holding FLUSH_CHARS of them at the end of that turn', async () => {
    // The hub's delay timer is faked (the turns stay real): on a loaded machine five turns of the
    // event loop can take longer than FLUSH_DELAY_MS of wall time, and the test would then see the
    // timer, not the batching, decide.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const hub = createTapHub();
      const t = transport();
      const s = hub.subscribe({ match: compileMatches([]), bodies: false, reveal: new Set(), writer: t.writer });
      s.live = true;
      // Published over several turns, each too small to write alone: one batch, FLUSH_DELAY_MS after the first.
      for (let i = 0; i < 5; i++) {
        hub.publish('req', ev('req', i));
        await oneTurn();
      }
      expect(t.batches.length).toBe(0);
      vi.advanceTimersByTime(FLUSH_DELAY_MS - 1);
      await oneTurn();
      expect(t.batches.length).toBe(0);
      vi.advanceTimersByTime(1);
      await oneTurn();
      expect(t.batches.map((b) => b.length)).toEqual([5]);
      // A turn that queues FLUSH_CHARS or more is written at its end, without waiting.
      const big = 'p'.repeat(1024);
      for (let i = 0; i * 1024 < FLUSH_CHARS; i++) hub.publish('req', ev('req', 100 + i, { path: `/${big}/${i}` }));
      await oneTurn();
      expect(t.batches.length).toBeGreaterThan(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
