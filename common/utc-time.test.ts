import { describe, expect, it } from 'vitest';
import { httpDate, isoTime } from './utc-time.js';

/** What Date itself writes, or the error's class when it throws. */
const viaDate = (f: () => string): string => {
  try {
    return f();
  } catch (err) {
    return `throws ${(err as Error).constructor.name}`;
  }
};

const EDGES = [
  0, -0, 1, -1, 0.9, -0.9, 1.5, -1.5, 999, 1000, -999, -1000, 86_399_999, 86_400_000, -86_400_000,
  Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(1900, 1, 28), Date.UTC(2100, 2, 1), Date.UTC(1600, 1, 29),
  -62_167_219_200_000, -62_167_219_200_001, // 0000-01-01T00:00:00.000Z and the last ms of year -1
  253_402_300_799_999, 253_402_300_800_000, // 9999-12-31T23:59:59.999Z and year 10000
  8.64e15, -8.64e15, 8.64e15 + 1, -8.64e15 - 1, NaN, Infinity, -Infinity,
];

describe('UTC times as text without Date (issue 14: Date text loads ICU time-zone data)', () => {
  it('isoTime is toISOString and httpDate is toUTCString, at the edges', () => {
    for (const t of EDGES) {
      expect(viaDate(() => isoTime(t)), String(t)).toBe(viaDate(() => new Date(t).toISOString()));
      expect(httpDate(t), String(t)).toBe(new Date(t).toUTCString());
    }
  });

  it('the same for 200,000 times spread over every year Date can hold, and 200,000 around now', () => {
    let seed = 14;
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const times: number[] = [];
    for (let i = 0; i < 200_000; i++) times.push(Math.floor((random() * 2 - 1) * 8.64e15));
    for (let i = 0; i < 200_000; i++) times.push(Date.now() + (random() * 2 - 1) * 1e11);
    const bad = times.filter((t) => isoTime(t) !== viaDate(() => new Date(t).toISOString()) || httpDate(t) !== new Date(t).toUTCString());
    expect(bad).toEqual([]);
  });
});
