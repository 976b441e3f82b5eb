/**
 * Issue 14 (a live tap with bodies costs ≤ 20 % of throughput): a `meshtap proxy` on the native
 * engine lowers its JS thread's priority once its C++ workers started, so that forwarding wins the
 * CPU over tap work. The workers keep the process's niceness; the js engine (which forwards on the
 * JS thread) is never reniced; MESHTAP_JS_NICE sets the step (0: none) and a bad value is a usage error.
 * Read from /proc/PID/task/TID/stat (field 19, nice), no timing involved.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { isNativeAvailable } from '../native/index.js';
import { DEFAULT_JS_NICE } from '../bin/js-thread-priority.js';
import { reportBpfSkip } from './bpf-skip.js';
import { runMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';

const available = isNativeAvailable() && existsSync('/proc/self/task');
if (!available) reportBpfSkip('test/native-js-priority.test.ts', 'the addon is not built (bash scripts/build-native.sh) or /proc is missing');

let running: SidecarProcess | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** Niceness of each thread of `pid`, the main (JS) thread first. */
function threadNiceness(pid: number): { main: number; others: number[] } {
  const nice = (tid: string) => Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
  const tids = readdirSync(`/proc/${pid}/task`);
  return { main: nice(String(pid)), others: tids.filter((t) => t !== String(pid)).map(nice) };
}

async function start(engine: 'js' | 'native', threads: number, env: NodeJS.ProcessEnv = {}): Promise<{ main: number; others: number[] }> {
  running = await startSidecarProcess(['--engine', engine, '--native-threads', String(threads), '--forward', '127.0.0.1:0=127.0.0.1:9', '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0'], {
    env: { MESHTAP_ENGINE: engine, ...env },
  });
  const n = threadNiceness(running.child.pid!);
  await running.stop();
  running = undefined;
  return n;
}

describe.skipIf(!available)('the native sidecar JS thread yields the CPU to its workers (issue 14)', () => {
  const base = getPriority(0);
  const expected = Math.min(19, base + DEFAULT_JS_NICE);

  it('native: the JS thread is reniced by MESHTAP_JS_NICE; each C++ worker keeps the process niceness', async () => {
    const one = await start('native', 1, { MESHTAP_JS_NICE: '10' });
    const four = await start('native', 4, { MESHTAP_JS_NICE: '10' });
    expect(one.main).toBe(Math.min(19, base + 10));
    expect(four.main).toBe(Math.min(19, base + 10));
    // Three more workers, three more threads at the process's niceness (they started before the renice).
    expect(four.others.filter((n) => n === base).length - one.others.filter((n) => n === base).length).toBe(3);
    const five = await start('native', 1, { MESHTAP_JS_NICE: '5' });
    expect(five.main).toBe(Math.min(19, base + 5));
    const none = await start('native', 1, { MESHTAP_JS_NICE: '0' });
    expect(none.main).toBe(base);
    const unset = await start('native', 1, { MESHTAP_JS_NICE: '' });
    expect(unset.main).toBe(expected);
  });

  it('js: the JS thread forwards, so it keeps the process niceness', async () => {
    const js = await start('js', 1);
    expect(js.main).toBe(base);
  });

  it('a bad MESHTAP_JS_NICE is a one-line usage error (exit 2) before anything listens', async () => {
    const r = await runMeshtap(['proxy', '--engine', 'native', '--forward', '127.0.0.1:0=127.0.0.1:9'], { env: { MESHTAP_ENGINE: 'native', MESHTAP_JS_NICE: 'high' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/MESHTAP_JS_NICE takes a niceness to add from 0 to 19, not 'high'/);
    expect(r.stderr).not.toMatch(/^listening/m);
  });
});
