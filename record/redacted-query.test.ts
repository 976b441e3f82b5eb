import { describe, expect, it } from 'vitest';
import { diffObservations, type Observation } from './diff.js';
import { createMockIndex } from './mock-index.js';
import type { RecordedExchange } from './format.js';
import { asRecorded, redactedParamNames, withoutRedactedParams } from './redacted-query.js';
import { matchesRedacted } from './redacted-match.js';

describe('redacted query parameters in recordings', () => {
  it.each([
    ['/x', '/x'],
    ['/x?a=1', '/x?a=1'],
    ['/cb?access_token=[redacted]&page=2', '/cb?page=2'],
    ['/cb?page=2&token=%5Bredacted%5D#top', '/cb?page=2#top'],
    ['/cb?token=[redacted]', '/cb'],
    ['/cb?q=[redacted]x&flag', '/cb?q=[redacted]x&flag'],
  ])('replay sends %s as %s', (recorded, sent) => expect(withoutRedactedParams(recorded)).toBe(sent));

  it('mock: a parameter recorded as [redacted] takes any value; exact recorded paths are tried first', () => {
    const names = redactedParamNames(['/cb?access_token=[redacted]&state=[redacted]&page=2', '/plain?x=1']);
    expect(asRecorded('/cb?access_token=abc&state=def&page=2', names)).toBe('/cb?access_token=[redacted]&state=[redacted]&page=2');
    expect(redactedParamNames(['/a?b=1'])).toBeUndefined();
    const ex = (id: string, path: string, status: number): RecordedExchange =>
      ({ kind: 'end', id, ts: '2026-12-06T00:00:00.000Z', proxy: 'in', src: 'a:1', dst: 'b:2', protocol: 'http/1.1', method: 'GET', scheme: 'http', authority: 'web', path, status }) as RecordedExchange;
    const index = createMockIndex([ex('1.1', '/cb?token=[redacted]', 200), ex('2.1', '/cb?token=known-value', 201)]);
    expect(index.next('GET', '/cb?token=anything-else')?.status).toBe(200);
    expect(index.next('GET', '/cb?token=known-value')?.status).toBe(201);
    expect(index.next('GET', '/cb?other=1')).toBeUndefined();
  });
});

describe('replay diff against recorded [redacted] values', () => {
  it.each([
    ['Bearer [redacted]', 'Bearer abc', true],
    ['/next?token=[redacted]&a=1', '/next?token=xyz&a=1', true],
    ['/next?token=[redacted]&a=1', '/next?token=xyz&a=2', false],
    ['[redacted]', '', true],
    ['a[redacted]b[redacted]c', 'a1b2c', true],
    ['a[redacted]b[redacted]c', 'a1c', false],
    ['ab[redacted]ba', 'aba', false],
    ['plain', 'plain!', false],
  ])('%s fits %s: %s', (expected, actual, fits) => expect(matchesRedacted(expected, actual)).toBe(fits));

  it('headers, JSON strings and text bodies holding [redacted] match what fits them; other differences still show', () => {
    const obs = (headers: Array<[string, string]>, body: string): Observation => ({ isGrpc: false, status: 200, headers, trailers: [], body: Buffer.from(body), bodyIsPrefix: false, messages: [] });
    const recorded = obs([['location', '/next?token=[redacted]']], '{"seen":"Bearer [redacted]","n":1}');
    expect(diffObservations(recorded, obs([['location', '/next?token=t0k']], '{"seen":"Bearer t0k","n":1}'))).toEqual([]);
    expect(diffObservations(recorded, obs([['location', '/elsewhere']], '{"seen":"Basic t0k","n":1}')).map((d) => d.field)).toEqual(['header:location', 'body:$.seen']);
    expect(diffObservations(obs([], 'signed by [redacted].'), obs([], 'signed by me.'))).toEqual([]);
  });
});
