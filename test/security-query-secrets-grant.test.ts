/**
 * The same redactions as test/security-query-secrets.test.ts, through signed grants (what the tap
 * API hands a sidecar for a user): a grant without reveals sees secret query parameters and the
 * bearer credential echoed in the path as [redacted], and its filters (the request's and the
 * grant's own) cannot confirm them; a grant revealing `authorization` sees that header and its
 * value wherever it is, still not the parameter redacted by name; `*` sees all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectHistory, startSecurityRig, type SecurityRig } from './security-rig.js';

const TOKEN = 'gRaNt-T0ken-0123456789';
const PARAM = 'pArAm-s3cret-abcdef';
const PATH = `/cb?access_token=${PARAM}&state=${TOKEN}`;

let rig: SecurityRig;
beforeAll(async () => {
  rig = await startSecurityRig({ recorderBodies: true });
  expect(await rig.call(PATH, { headers: { authorization: `Bearer ${TOKEN}` } })).toBe(200);
});
afterAll(async () => {
  await rig?.close();
});

const tap = (): string => rig.sidecar.tapAddress!;

describe('query secrets and echoed values under grants', () => {
  it("a grant without reveals: [redacted] in the path and in the response body echoing it; filters (the request's and the grant's) see the same", async () => {
    const r = await collectHistory(tap(), { grant: rig.grant({ bodies: true }), bodies: true, last: 10 });
    expect(r.error).toBeUndefined();
    const text = JSON.stringify(r.events);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(PARAM);
    expect(r.events[0]!.path).toBe('/cb?access_token=[redacted]&state=[redacted]');
    // The backend answers `ok <url>`: the secrets it echoes are scrubbed from the body too.
    expect(r.events[0]!.responseBody!.data).toBe('ok /cb?access_token=[redacted]&state=[redacted]');
    for (const value of [`.*${TOKEN}.*`, `.*${PARAM}.*`]) {
      const guessed = await collectHistory(tap(), { grant: rig.grant(), last: 10, matches: [[{ field: 'pathRegex', value }]] });
      expect([guessed.error, guessed.events.length], value).toEqual([undefined, 0]);
      // The grant's own scope cannot be an oracle either.
      const scoped = await collectHistory(tap(), { grant: rig.grant({ matches: [[{ field: 'pathRegex', value }]] }), last: 10 });
      expect([scoped.error, scoped.events.length], value).toEqual([undefined, 0]);
    }
  });

  it("a grant revealing authorization shows it and its value everywhere; '*' shows everything", async () => {
    const one = await collectHistory(tap(), { grant: rig.grant({ revealHeaders: ['authorization'] }), revealHeaders: ['authorization'], last: 10 });
    expect(one.error).toBeUndefined();
    expect(one.events[0]!.path).toBe(`/cb?access_token=[redacted]&state=${TOKEN}`);
    expect(one.events[0]!.requestHeaders).toContainEqual(['authorization', `Bearer ${TOKEN}`]);
    expect(JSON.stringify(one.events)).not.toContain(PARAM);
    const all = await collectHistory(tap(), { grant: rig.grant({ revealHeaders: ['*'] }), revealHeaders: ['*'], last: 10 });
    expect(all.events[0]!.path).toBe(PATH);
  });
});
