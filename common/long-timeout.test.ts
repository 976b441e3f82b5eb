import { describe, expect, it, vi } from 'vitest';
import { MAX_TIMEOUT_MS, setLongTimeout } from './long-timeout.js';

describe('setLongTimeout (review10: --duration 700h and far --until fired at once)', () => {
  it('a delay past setTimeout\'s 24.8 days waits the whole delay, in steps', () => {
    vi.useFakeTimers();
    try {
      const fired = vi.fn();
      setLongTimeout(fired, 700 * 3_600_000);
      vi.advanceTimersByTime(1);
      expect(fired).not.toHaveBeenCalled();
      vi.advanceTimersByTime(MAX_TIMEOUT_MS);
      expect(fired).not.toHaveBeenCalled();
      vi.advanceTimersByTime(700 * 3_600_000 - MAX_TIMEOUT_MS - 2);
      expect(fired).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(fired).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('short and zero delays fire as setTimeout does; clear() stops it, also between steps', () => {
    vi.useFakeTimers();
    try {
      const a = vi.fn();
      const b = vi.fn();
      const c = vi.fn();
      setLongTimeout(a, 0);
      setLongTimeout(b, 50);
      const t = setLongTimeout(c, 2 * MAX_TIMEOUT_MS);
      vi.advanceTimersByTime(50);
      expect(a).toHaveBeenCalledTimes(1);
      expect(b).toHaveBeenCalledTimes(1);
      vi.advanceTimersByTime(MAX_TIMEOUT_MS);
      t.clear();
      vi.advanceTimersByTime(2 * MAX_TIMEOUT_MS);
      expect(c).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });
});
