/**
 * The CLI's contract with users and scripts (house style): `--help` exits 0 on stdout; a usage
 * mistake is exactly one line on stderr naming what to fix, exit 2, nothing on stdout; a
 * runtime failure (port taken, sidecar unreachable) is one line, exit 1.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMeshtap, startSidecarProcess } from './support/meshtap-process.js';
import { connectRaw } from './support/raw-socket.js';
import { openTapCollector } from './support/tap-collector.js';

let busy: net.Server;
let busyPort: number;
let closedPort: number;

beforeAll(async () => {
  busy = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as net.AddressInfo).port;
  const tmp = net.createServer();
  await new Promise<void>((resolve) => tmp.listen(0, '127.0.0.1', resolve));
  closedPort = (tmp.address() as net.AddressInfo).port;
  await new Promise((resolve) => tmp.close(resolve));
});

afterAll(async () => {
  await new Promise((resolve) => busy?.close(resolve));
});

function expectOneLineError(r: { code: number | null; stdout: string; stderr: string }, code: number, mentions: RegExp): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: '' });
  const lines = r.stderr.split('\n');
  expect(lines.pop()).toBe('');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^meshtap: /);
  expect(lines[0]).toMatch(mentions);
  expect(lines[0]).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
}

describe('meshtap CLI usage', () => {
  it('meshtap --help lists the commands and exits 0', async () => {
    const r = await runMeshtap(['--help']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/Usage: meshtap COMMAND/);
    expect(r.stdout).toMatch(/^\s+proxy\s/m);
    expect(r.stdout).toMatch(/^\s+tap\s/m);
  });

  it.each([['proxy', /--forward \[in:\|out:\]LISTEN=TARGET/], ['tap', /--proxy HOST:PORT/]])('meshtap %s --help prints its flags and exits 0', async (cmd, flag) => {
    const r = await runMeshtap([cmd, '--help']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(flag);
  });

  it('meshtap with no command prints the overview and exits 2', async () => {
    const r = await runMeshtap([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/Commands:/);
  });

  it.each([
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'.*--help/],
    ['an unknown flag', ['proxy', '--forward', '127.0.0.1:0=127.0.0.1:1', '--bogus'], /--bogus.*meshtap proxy --help/],
    ['a flag without its value', ['proxy', '--forward'], /--forward/],
    ['nothing to listen on', ['proxy', '--admin', '127.0.0.1:0'], /--forward/],
    ['a malformed --forward', ['proxy', '--forward', 'nonsense'], /--forward 'nonsense'.*LISTEN=TARGET/],
    ['a bad port', ['proxy', '--forward', '127.0.0.1:99999=127.0.0.1:80'], /HOST:PORT/],
    ['a bad --recorder-bytes', ['proxy', '--forward', '127.0.0.1:0=127.0.0.1:1', '--recorder-bytes', 'lots'], /--recorder-bytes: 'lots'/],
    ['a bad --body-limit', ['proxy', '--forward', '127.0.0.1:0=127.0.0.1:1', '--body-limit', '-5'], /--body-limit/],
    ['a bad --observe', ['proxy', '--forward', '127.0.0.1:0=127.0.0.1:1', '--observe', 'maybe'], /--observe/],
    ['a bad --workload', ['proxy', '--forward', '127.0.0.1:0=127.0.0.1:1', '--workload', 'Web'], /--workload 'Web'/],
    ['a --busy-poll-us that is not a number', ['proxy', '--forward', '127.0.0.1:0=127.0.0.1:1', '--busy-poll-us', 'fast'], /--busy-poll-us takes whole microseconds from 0 .* to 1000, not 'fast'/],
    ['a negative --busy-poll-us', ['proxy', '--forward', '127.0.0.1:0=127.0.0.1:1', '--busy-poll-us=-1'], /--busy-poll-us .*not '-1'/],
    ['a fractional --busy-poll-us', ['proxy', '--forward', '127.0.0.1:0=127.0.0.1:1', '--busy-poll-us', '2.5'], /--busy-poll-us .*not '2\.5'/],
    ['a --busy-poll-us above its bound', ['proxy', '--forward', '127.0.0.1:0=127.0.0.1:1', '--busy-poll-us', '1001'], /--busy-poll-us .*to 1000, not '1001'/],
    ['tap without a target', ['tap'], /which workload/],
    ['tap with a bad -o', ['tap', '--proxy', '127.0.0.1:1', '-o', 'xml'], /-o takes text, wide, json/],
    ['tap with a bad --limit', ['tap', '--proxy', '127.0.0.1:1', '--limit', '0'], /--limit/],
    // Regression (session 6 walk-through): a misspelled flag named no real one.
    ['a misspelled flag', ['tap', '--proxy', '127.0.0.1:1', '--lmit', '3'], /Unknown option '--lmit'; did you mean '--limit'\?.*meshtap tap --help/],
    // Regression (session 6 walk-through): 'deploy/' said "'' is not a valid Kubernetes name".
    ['a TYPE/ without a NAME', ['tap', 'deploy/', '--tap-api', 'http://127.0.0.1:1'], /'deploy\/' has no NAME after the slash \(e\.g\. deploy\/web\)/],
  ])('%s is one line on stderr and exit 2', async (_name, args, mentions) => {
    expectOneLineError(await runMeshtap(args), 2, mentions);
  });

  it('a malformed MESHTAP_BUSY_POLL_US is the same one-line error, exit 2', async () => {
    const r = await runMeshtap(['proxy', '--forward', '127.0.0.1:0=127.0.0.1:1'], { env: { MESHTAP_BUSY_POLL_US: '50us' } });
    expectOneLineError(r, 2, /--busy-poll-us .*not '50us'/);
  });

  it('a listen address already in use is a one-line failure, exit 1', async () => {
    const r = await runMeshtap(['proxy', '--forward', `127.0.0.1:${busyPort}=127.0.0.1:1`]);
    expectOneLineError(r, 1, new RegExp(`127\\.0\\.0\\.1:${busyPort}.*EADDRINUSE`));
  });

  // Regression (session 6 walk-through): empty input printed nothing and exited 0.
  it('inject with empty input is a one-line failure that says what to give, exit 1', async () => {
    expectOneLineError(await runMeshtap(['inject'], { stdin: '\n' }), 1, /stdin is empty: give -f FILE or pipe YAML\/JSON in/);
  });

  it('tapping a sidecar that is not there is a one-line failure that says what to check, exit 1', async () => {
    const r = await runMeshtap(['tap', '--proxy', `127.0.0.1:${closedPort}`, '-o', 'json']);
    expectOneLineError(r, 1, new RegExp(`127\\.0\\.0\\.1:${closedPort}`));
  });

  it('SIGTERM stops a sidecar with open connections and a live tap: exit 0, not killed', async () => {
    const sidecar = await startSidecarProcess(['--forward', `127.0.0.1:0=127.0.0.1:${busyPort}`, '--forward', '127.0.0.1:0=127.0.0.1:1', '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0']);
    const tap = await openTapCollector(sidecar.tap!);
    const idle = await connectRaw(sidecar.forwards[1].port).catch(() => undefined);
    const halfSent = await connectRaw(sidecar.forwards[0].port);
    await halfSent.write('GET / HTTP/1.1\r\n').catch(() => {});
    const ended = await sidecar.stop();
    tap.close();
    idle?.destroy();
    halfSent.destroy();
    expect(ended).toEqual({ code: 0, signal: null });
  });
});
