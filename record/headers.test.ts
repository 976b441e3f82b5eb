/**
 * headersToObject (what replay and mock send a recorded header list as): repeated names become
 * one list in order, names case-folded. It once copied the list for every repeat: a recording
 * line with N values of one header cost O(N²) (100,000 repeats: minutes of the CLI). The long
 * case runs under a vm timeout, so a return of that fails the test instead of stalling it.
 */
import * as vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { HeaderList } from '../tap-protocol/index.js';
import { headersToObject } from './headers.js';

describe('headersToObject', () => {
  it('joins repeated names (any case) into one list, in order', () => {
    expect(headersToObject([['A', '1'], ['b', '2'], ['a', '3'], ['A', '4']])).toEqual({ a: ['1', '3', '4'], b: '2' });
  });

  it('takes 200,000 values of one header in linear time', () => {
    const headers: HeaderList = Array.from({ length: 200_000 }, (_, i) => ['Set-Cookie', `c=${i}`]);
    const sandbox = vm.createContext({ headersToObject, headers });
    const out = vm.runInContext('headersToObject(headers)', sandbox, { timeout: 5_000 }) as Record<string, string[]>;
    expect(out['set-cookie']!.length).toBe(200_000);
    expect(out['set-cookie']![199_999]).toBe('c=199999');
  });
});
