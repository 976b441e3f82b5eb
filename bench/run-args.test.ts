/**
 * `--until-narrow`'s flags as a user mistypes them: each mistake is one stderr line saying what
 * to do, exit 2, and nothing started (the checks come before any process). Runs dist/, so
 * `npx tsc -p .` first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const RUN = 'dist/bench/run.js';

function bench(...args: string[]) {
  const r = spawnSync(process.execPath, [RUN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!existsSync(RUN))('bench --until-narrow flags', () => {
  it.each([
    [['--until-narrow', '--only', 'h1-small,direct'], /no goal has its scenario and both targets in --only \(e\.g\. --only h2-small,direct,meshtap-native/],
    [['--until-narrow', '--goals', 'h2-max-vs-direct,nope'], /--goals: unknown goal 'nope' \(known: h2-max-vs-direct, /],
    [['--until-narrow', '--repeats', '3'], /drop --repeats/],
    [['--until-narrow', '--max-minutes', '0'], /--max-minutes takes a positive number, not '0'/],
    [['--max-minutes', '5'], /--max-minutes works with --until-narrow only/],
    [['--goals', 'grpc-tap-cost'], /--goals works with --until-narrow only/],
  ])('refuses %j in one line, exit 2', (args, message) => {
    const r = bench(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });

  it('lists the goals it can judge in --help', () => {
    const r = bench('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--until-narrow');
    expect(r.stdout).toContain('h2-max-vs-direct, h2-cpu-vs-haproxy, grpc-max-vs-haproxy, grpc-cpu-vs-haproxy, h1-tap-cost, grpc-tap-cost');
  });
});
