import * as vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { TapEvent } from './events.js';
import { compileMatches, MAX_PATH_REGEXES, parseGrpcStatus } from './tap-filter.js';
import type { TapFilter } from './tap-types.js';

const e: TapEvent = {
  kind: 'end', id: '1.1', ts: new Date().toISOString(), proxy: 'out', src: '10.0.0.1:5555', dst: '[::1]:8080',
  protocol: 'grpc', method: 'POST', scheme: 'http', authority: 'voting:8080', path: '/emojivoto.v1.VotingService/Vote',
  requestHeaders: [['x-user', 'ann']], status: 200, latencyMs: 120, grpcStatus: 14, dstWorkload: 'deploy/voting', dstNamespace: 'emojivoto',
};

describe('tap filters', () => {
  it.each([
    [[{ field: 'method', value: 'post' }], true],
    [[{ field: 'method', value: 'GET' }], false],
    [[{ field: 'pathPrefix', value: '/emojivoto.v1.VotingService/' }], true],
    [[{ field: 'pathRegex', value: 'Vot(e|ing)$' }], true],
    [[{ field: 'authority', value: 'voting:8080' }], true],
    [[{ field: 'header', name: 'X-User', value: 'ann' }], true],
    [[{ field: 'header', name: 'x-user', value: 'bob' }], false],
    [[{ field: 'src', value: '10.0.0.1' }], true],
    [[{ field: 'dst', value: '::1' }], true],
    [[{ field: 'dst', value: '[::1]:8080' }], true],
    [[{ field: 'status', value: '2xx' }], true],
    [[{ field: 'status', value: '5xx' }], false],
    [[{ field: 'grpcStatus', value: 'Unavailable' }], true],
    [[{ field: 'grpcStatus', value: '14' }], true],
    [[{ field: 'minLatencyMs', value: 100 }], true],
    [[{ field: 'minLatencyMs', value: 200 }], false],
    [[{ field: 'dstWorkload', value: 'deploy/voting' }], true],
    [[{ field: 'method', value: 'POST' }, { field: 'status', value: '5xx', negate: true }], true],
    [[{ field: 'method', value: 'POST' }, { field: 'status', value: '2xx', negate: true }], false],
  ] as const)('%j -> %s', (filters, want) => {
    expect(compileMatches([filters as never]).test(e)).toBe(want);
  });

  it('ORs across matches and decides at the latest field it needs', () => {
    const m = compileMatches([[{ field: 'method', value: 'GET' }], [{ field: 'grpcStatus', value: 'UNAVAILABLE' }]]);
    expect(m.test(e)).toBe(true);
    expect(m.point).toBe('end');
    expect(compileMatches([[{ field: 'status', value: '404' }]]).point).toBe('rsp');
    expect(compileMatches([]).point).toBe('req');
  });

  it('says when a match accepts every exchange (the tap gate may then decide losses before any event is made)', () => {
    expect(compileMatches([]).matchesAll).toBe(true);
    expect(compileMatches([[]]).matchesAll).toBe(true);
    expect(compileMatches([[{ field: 'method', value: 'GET' }], []]).matchesAll).toBe(true); // OR with an empty AND
    expect(compileMatches([[{ field: 'method', value: 'GET' }]]).matchesAll).toBe(false);
    expect(compileMatches([[{ field: 'method', value: 'GET', negate: true }], [{ field: 'method', value: 'GET' }]]).matchesAll).toBe(false); // all in effect, not by form
  });

  it('refuses regexes that could stall the event loop, and bad values, with a clear error', () => {
    // Regression (ReDoS): path regexes run on RE2, so a catastrophic pattern is harmless, and what
    // RE2 cannot run (backreferences, lookaround) is refused by name.
    const hostile = { ...e, path: '/' + 'a'.repeat(64) + '!' };
    for (const value of ['(a+)+$', '(a|a)+$', '(a|aa)*b']) expect(compileMatches([[{ field: 'pathRegex', value }]]).test(hostile)).toBe(false);
    expect(() => compileMatches([[{ field: 'pathRegex', value: '(a)\\1' }]])).toThrow(/RE2 syntax/);
    expect(() => compileMatches([[{ field: 'pathRegex', value: '^(?!/health)' }]])).toThrow(/RE2 syntax/);
    expect(() => compileMatches([[{ field: 'pathRegex', value: '(' }]])).toThrow(/path regex/);
    expect(() => compileMatches([[{ field: 'status', value: '5x' }]])).toThrow(/status/);
    expect(() => compileMatches([[{ field: 'grpcStatus', value: 'NOPE' }]])).toThrow(/grpc status/);
  });

  it('parses gRPC status names in every common spelling', () => {
    expect(parseGrpcStatus('DEADLINE_EXCEEDED')).toBe(4);
    expect(parseGrpcStatus('DeadlineExceeded')).toBe(4);
    expect(parseGrpcStatus('deadline-exceeded')).toBe(4);
    expect(parseGrpcStatus('16')).toBe(16);
    expect(parseGrpcStatus('17')).toBeUndefined();
  });
});

describe('path regex bound', () => {
  it('refuses more than MAX_PATH_REGEXES path regexes before compiling any (the sidecar does it before the grant check)', () => {
    const regexes = (n: number): TapFilter[][] => [Array.from({ length: n }, (_, i): TapFilter => ({ field: 'pathRegex', value: `[a-z]{1,200}${i}[0-9]{1,40}` }))];
    expect(() => compileMatches(regexes(MAX_PATH_REGEXES))).not.toThrow();
    expect(() => compileMatches([...regexes(MAX_PATH_REGEXES), [{ field: 'pathRegex', value: '^/x' }]])).toThrow(/at most 16 path regexes/);
    // 4,000 such regexes were compiled one by one (7.6 s of the sidecar's thread); now refused at once.
    const sandbox = vm.createContext({ compileMatches, matches: regexes(4_000), error: undefined });
    vm.runInContext('try { compileMatches(matches) } catch (e) { error = e }', sandbox, { timeout: 2_000 });
    expect((sandbox.error as { code?: string }).code).toBe('MT_BAD_FILTER');
  });
});
