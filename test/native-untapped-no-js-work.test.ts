/**
 * Issue 13, "the JS thread does no per-connection work when nobody taps" (DESIGN §3). The bug it
 * reproduces: under `--engine native` an untapped HTTP/1 connection still sent JS three records
 * (open, detected, close) and an opaque one two, so every connection woke the JS thread. Now a
 * connection is announced to JS only before the first record JS needs, and what JS counted from
 * those records (protocol detected, detect timeout, give-ups) is counted in C++ and read at scrape.
 *
 * Real sockets, real in-process sidecars (native and js) in front of one node:http server: the
 * same traffic (HTTP/1 requests, TLS-looking bytes, a malformed request, a partial first line that
 * times out) through each; the native one must cost the JS thread no wake and no record, and both
 * must show the same detection, give-up and TCP counts on /metrics.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isNativeAvailable, nativeDeliveries } from '../native/index.js';
import { startSidecar, type Sidecar } from '../proxy/index.js';
import { reportBpfSkip } from './bpf-skip.js';
import { httpGet } from './support/metrics-scrape.js';

const available = isNativeAvailable();
if (!available) reportBpfSkip('test/native-untapped-no-js-work.test.ts', 'the addon is not built (bash scripts/build-native.sh)');

/** HTTP/1 connections, one request each. */
const N = 30;
const DETECT_TIMEOUT_MS = 150;

let cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** Sends `bytes` on a new connection and resolves when the proxy closes it (the server answered or hung up). */
function exchange(address: string, bytes: Buffer | string, endAfterMs?: number): Promise<string> {
  const at = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: address.slice(0, at), port: Number(address.slice(at + 1)) });
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.write(bytes);
    if (endAfterMs !== undefined) setTimeout(() => s.end(), endAfterMs);
  });
}

/** The traffic of the test, through one sidecar's listener. */
async function drive(address: string): Promise<void> {
  for (let i = 0; i < N; i++) {
    const answer = await exchange(address, `GET /users/${i} HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n`);
    expect(answer.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
  }
  // Opaque: a TLS ClientHello's first bytes (the server hangs up on garbage after its timeout; we end first).
  for (let i = 0; i < 3; i++) await exchange(address, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 1, 2, 3]), 20);
  // An HTTP/1 request the observer refuses (a space in a field name: h1-parse), answered by the server with 400.
  await exchange(address, 'GET / HTTP/1.1\r\nHost: web\r\nBad Field: x\r\n\r\n', 300);
  // Half an HTTP/2 preface that outlives the detect timeout: opaque, counted as detect-timeout.
  await exchange(address, 'PRI * HTTP/2.0\r\n', DETECT_TIMEOUT_MS * 3);
}

/** The lines of the families this test is about (the rest differ by construction: engine, start time). */
async function countsOf(sidecar: Sidecar): Promise<string[]> {
  const { body } = await httpGet(sidecar.adminAddress!, '/metrics');
  const families = ['meshtap_protocol_detected_total', 'meshtap_observer_errors_total', 'tcp_open_total', 'tcp_close_total', 'request_total'];
  return body
    .split('\n')
    .filter((l) => families.some((f) => l.startsWith(`${f}{`)))
    .sort();
}

describe.skipIf(!available)('native engine, nobody tapping: no per-connection work on the JS thread', () => {
  it(`${N} HTTP/1, 3 opaque, 1 refused and 1 timed-out connection cost JS no wake and no record, and /metrics counts them as the js engine does`, async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const target = { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port };

    const counts: Record<string, string[]> = {};
    for (const engine of ['js', 'native'] as const) {
      const sidecar = await startSidecar({
        engine,
        forwards: [{ proxy: 'in', listen: { host: '127.0.0.1', port: 0 }, target }],
        admin: { host: '127.0.0.1', port: 0 },
        identity: { workload: 'deploy/web', namespace: 'default' },
        detectTimeoutMs: DETECT_TIMEOUT_MS,
      });
      cleanups.push(() => sidecar.close());
      const before = nativeDeliveries();
      await drive(sidecar.listeners[0]!.address);
      // Closed connections are counted on both sides once the proxy saw both closes.
      await new Promise((r) => setTimeout(r, 100));
      counts[engine] = await countsOf(sidecar);
      if (engine === 'native') expect(nativeDeliveries()).toEqual(before);
    }
    // Counted, not just absent: every connection is there.
    expect(counts.native).toContain(`meshtap_protocol_detected_total{protocol="h1",namespace="default",deployment="web"} ${N + 1}`);
    expect(counts.native).toContain('meshtap_protocol_detected_total{protocol="opaque",namespace="default",deployment="web"} 4');
    expect(counts.native).toContain('meshtap_observer_errors_total{reason="h1-parse",namespace="default",deployment="web"} 1');
    expect(counts.native).toContain('meshtap_observer_errors_total{reason="detect-timeout",namespace="default",deployment="web"} 1');
    expect(counts.native).toEqual(counts.js);
  });
});
