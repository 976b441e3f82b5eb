/** The query bar speaks the CLI's filter flags: parsed by the CLI's parser, quoted back for the shell. */
import { describe, expect, it } from 'vitest';
import { cliCommand, parseQuery } from './query.js';
import { appendFilter, joinQuery, revealedHeaders, splitQuery } from './query-text.js';

describe('dashboard query', () => {
  it('parses the tap filter flags into the same OR-of-ANDs the CLI builds', () => {
    const r = parseQuery(`--path /api --not --status 5xx --or --method post --header 'x-user=a b' --min-latency 100ms --to deploy/voting`);
    expect(r).toEqual({
      ok: true,
      words: ['--path', '/api', '--not', '--status', '5xx', '--or', '--method', 'post', '--header', 'x-user=a b', '--min-latency', '100ms', '--to', 'deploy/voting'],
      matches: [
        [{ field: 'pathPrefix', value: '/api' }, { field: 'status', value: '5xx', negate: true }],
        [
          { field: 'method', value: 'POST' },
          { field: 'header', name: 'x-user', value: 'a b' },
          { field: 'minLatencyMs', value: 100 },
          { field: 'dstWorkload', value: 'deploy/voting' },
        ],
      ],
      revealHeaders: [],
    });
    expect(parseQuery('')).toEqual({ ok: true, words: [], matches: [], revealHeaders: [] });
  });

  it('refuses what the CLI refuses, with its one-line message', () => {
    expect(parseQuery('--status 999')).toMatchObject({ ok: false, error: expect.stringMatching(/--status: '999' is not a status/) });
    expect(parseQuery(String.raw`--path-regex '(a)\1'`)).toMatchObject({ ok: false, error: expect.stringMatching(/--path-regex/) });
    expect(parseQuery('--bodies')).toMatchObject({ ok: false, error: expect.stringMatching(/Unknown option '--bodies'/) });
    // Regression (session 6): the value of an unknown flag was reported as the mistake.
    expect(parseQuery('--path /api --reveal x-api-key')).toMatchObject({ ok: false, error: expect.stringMatching(/^Unknown option '--reveal'/) });
    expect(parseQuery('--reveal-header "x y"')).toEqual({ ok: false, error: "--reveal-header: 'x y' is not a header name (e.g. --reveal-header authorization)" });
    expect(parseQuery('--reveal-header')).toMatchObject({ ok: false, error: expect.stringMatching(/--reveal-header/) });
    expect(parseQuery('--path /api x-api-key --bogus')).toMatchObject({ ok: false, error: expect.stringMatching(/^'x-api-key' is not a filter flag/) });
    expect(parseQuery('/api')).toMatchObject({ ok: false, error: expect.stringMatching(/'\/api' is not a filter flag/) });
    expect(parseQuery('--not')).toMatchObject({ ok: false, error: expect.stringMatching(/--not must be followed/) });
    // Regression (review10 #8): a trailing, leading or doubled --or was an empty group, which matches everything.
    expect(parseQuery('--path /a --or')).toMatchObject({ ok: false, error: expect.stringMatching(/^--or needs filters after it/) });
    expect(parseQuery('--or --path /a')).toMatchObject({ ok: false, error: expect.stringMatching(/^--or needs filters before it/) });
    expect(parseQuery('--path /a --or --or --path /b')).toMatchObject({ ok: false, error: expect.stringMatching(/^--or twice in a row/) });
    // Regression (review10 #9): a filter on a hidden header without revealing it is said here, not by the tap API.
    expect(parseQuery('--header Authorization=x')).toEqual({
      ok: false,
      error: '--header authorization=… filters on a header the tap shows redacted; add --reveal-header authorization (needs the tap-bodies permission)',
    });
    expect(parseQuery(`--path 'unclosed`)).toEqual({ ok: false, error: "unclosed ' quote" });
    expect(parseQuery('--help')).toMatchObject({ ok: false });
  });

  it('takes --reveal-header NAME as meshtap tap does (repeatable, any case, * for all), beside the filters', () => {
    expect(parseQuery('--reveal-header Authorization --header authorization=x --reveal-header=x-api-key --reveal-header authorization')).toEqual({
      ok: true,
      words: ['--reveal-header', 'Authorization', '--header', 'authorization=x', '--reveal-header=x-api-key', '--reveal-header', 'authorization'],
      matches: [[{ field: 'header', name: 'authorization', value: 'x' }]],
      revealHeaders: ['authorization', 'x-api-key'],
    });
    expect(parseQuery("--reveal-header '*'")).toMatchObject({ ok: true, revealHeaders: ['*'] });
    expect(revealedHeaders('--path /a --reveal-header Cookie --reveal-header=x-api-key')).toEqual(['cookie', 'x-api-key']);
    expect(cliCommand('deploy/web', 'shop', '--reveal-header authorization', { source: 'live' })).toBe('meshtap tap deploy/web -n shop --reveal-header authorization');
  });

  it('quotes clicked values so the shell and the parser read them back unchanged', () => {
    const values = ['/api/vote?choice=:taco:', "it's", 'a b', '$HOME', '', 'x"y\\z'];
    for (const v of values) {
      const q = appendFilter('--method GET', 'path', v);
      expect(splitQuery(q)).toEqual({ ok: true, words: ['--method', 'GET', '--path', v] });
    }
    expect(joinQuery(['meshtap', 'tap', 'deploy/web'])).toBe('meshtap tap deploy/web');
  });

  it('prints the meshtap tap command that shows the same exchanges', () => {
    expect(cliCommand('ns/shop', 'shop', "--path '/a b'", { source: 'live' })).toBe("meshtap tap ns/shop --path '/a b'");
    expect(cliCommand('deploy/web', 'shop', '--status 5xx', { source: 'history', since: '10m', maxRps: 50 })).toBe(
      'meshtap tap deploy/web -n shop --status 5xx --since 10m --max-rps 50',
    );
  });
});
