/**
 * The worker's busy-poll window (native/src/core/busy-poll.h), driven wait by wait through a small
 * driver program (native/test/busy-poll-driver.cc) built here with the system compiler. The rule
 * (KVM's halt-polling rule): an event that came just after the worker blocked grows the window
 * (10 µs, then doubling, up to the bound); an event the poll caught keeps it; a long quiet or a
 * timer's timeout halves it, and below 10 µs it is gone — so a worker whose traffic stopped ends
 * up blocking at once, and a bound of 0 never polls.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let scratch = '';
let driver = '';
const hasCompiler = spawnSync('c++', ['--version']).status === 0;
if (!hasCompiler) process.stderr.write('skip: native/busy-poll.test.ts (no c++ compiler; apt-get install g++)\n');

beforeAll(() => {
  if (!hasCompiler) return;
  scratch = mkdtempSync(join(tmpdir(), 'meshtap-busy-poll-'));
  driver = join(scratch, 'busy-poll-driver');
  execFileSync('c++', ['-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', `-I${join(ROOT, 'native/src')}`, join(ROOT, 'native/test/busy-poll-driver.cc'), '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-o', driver], { stdio: 'pipe' });
}, 120_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Feeds waits `[waitedUs, polled, gotEvents]` to a BusyPoll bounded by `maxUs`; returns the window after each. */
function windows(maxUs: number, waits: [number, boolean, boolean][]): { enabled: boolean; initial: number; after: number[] } {
  const input = [String(maxUs), ...waits.map(([w, p, g]) => `${w} ${p ? 1 : 0} ${g ? 1 : 0}`)].join('\n') + '\n';
  const r = spawnSync(driver, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`driver exited ${r.status}: ${r.stderr}`);
  const [head, ...rest] = r.stdout.trim().split('\n');
  const [enabled, initial] = head!.split(' ').map(Number);
  return { enabled: enabled === 1, initial: initial!, after: rest.map(Number) };
}

const soon: [number, boolean, boolean] = [5, false, true]; // an event 5 µs after blocking
const caught: [number, boolean, boolean] = [3, true, true]; // the poll found it
const quiet: [number, boolean, boolean] = [5000, false, true]; // an event after 5 ms
const timeout: [number, boolean, boolean] = [1_000_000, false, false]; // a timer ran out, no event

describe.skipIf(!hasCompiler)('BusyPoll window', () => {
  it('starts closed; events just after blocking open it at 10 µs and double it up to the bound', () => {
    const r = windows(100, [soon, soon, soon, soon, soon, soon]);
    expect(r.enabled).toBe(true);
    expect(r.initial).toBe(0);
    expect(r.after).toEqual([10, 20, 40, 80, 100, 100]);
  });

  it('keeps the window while the poll catches the events', () => {
    expect(windows(100, [soon, soon, caught, caught, caught]).after).toEqual([10, 20, 20, 20, 20]);
  });

  it('halves it on a long quiet or a timeout, and closes it below 10 µs: a worker whose traffic stopped blocks at once', () => {
    expect(windows(100, [soon, soon, soon, soon, soon, quiet, timeout, quiet, timeout, quiet]).after).toEqual([10, 20, 40, 80, 100, 50, 25, 12, 0, 0]);
  });

  it('an event that came later than the bound is no reason to grow', () => {
    expect(windows(100, [[150, false, true], soon, [150, false, true]]).after).toEqual([0, 10, 0]);
  });

  it('a bound of 0 never polls, whatever the waits', () => {
    const r = windows(0, [soon, soon, caught, soon]);
    expect(r.enabled).toBe(false);
    expect(r.after).toEqual([0, 0, 0, 0]);
  });
});
