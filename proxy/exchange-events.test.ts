import { describe, expect, it } from 'vitest';
import { wallClock } from './exchange-events.js';

describe('wallClock', () => {
  it('gives the same ISO-8601 text as Date, across second boundaries and in any order', () => {
    const base = Math.floor((Date.now() - performance.timeOrigin) / 1000) * 1000;
    for (const offset of [0, 1, 9, 10, 99, 100, 999, 999.9, 1000, 1000.5, 5, 2001, 37, 86_400_000]) {
      const perf = base + offset;
      expect(wallClock(perf)).toBe(new Date(Math.floor(performance.timeOrigin + perf)).toISOString());
    }
  });
});
