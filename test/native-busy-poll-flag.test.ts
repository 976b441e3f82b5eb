/**
 * `meshtap proxy --busy-poll-us N` (and MESHTAP_BUSY_POLL_US) reaches the native engine: /metrics
 * shows the bound as the C++ engine holds it (`meshtap_native_busy_poll_max_seconds`, read from
 * its EngineConfig at scrape), and a bound of 0 never polls, whatever the traffic
 * (`meshtap_native_busy_polls_total` stays 0 while requests flow). Before the flag existed the
 * bound was the engine's built-in 50 µs for every sidecar, with no way to turn it off for a
 * CPU-limited pod. The js engine does not poll: it takes the flag and shows no poll metrics.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNativeAvailable } from '../native/index.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';

const BODY = Buffer.alloc(300, 'b');
const REQUESTS = 200;

let origin: http.Server;
let originPort: number;
const sidecars: SidecarProcess[] = [];

beforeAll(async () => {
  origin = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(BODY));
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  originPort = (origin.address() as { port: number }).port;
});

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  await new Promise((r) => origin.close(r));
});

async function sidecar(engine: 'native' | 'js', extra: string[], env: NodeJS.ProcessEnv = {}): Promise<SidecarProcess> {
  const s = await startSidecarProcess(['--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${originPort}`, '--admin', '127.0.0.1:0', ...extra], { env });
  sidecars.push(s);
  return s;
}

/** `REQUESTS` keep-alive requests through the sidecar, one after another; every body checked. */
async function traffic(s: SidecarProcess): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < REQUESTS; i++) {
      const body = await new Promise<Buffer>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: s.forwards[0]!.port, path: `/r${i}`, agent }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve(Buffer.concat(chunks)));
          })
          .on('error', reject);
      });
      expect(body.equals(BODY)).toBe(true);
    }
  } finally {
    agent.destroy();
  }
}

describe.skipIf(!isNativeAvailable())('--busy-poll-us reaches the native engine', () => {
  it('the engine runs with the bound given by the flag, by MESHTAP_BUSY_POLL_US, or its default of 50 µs', async () => {
    const [flag, fromEnv, byDefault] = await Promise.all([
      sidecar('native', ['--busy-poll-us', '120']),
      sidecar('native', [], { MESHTAP_BUSY_POLL_US: '7' }),
      sidecar('native', [], { MESHTAP_BUSY_POLL_US: '' }),
    ]);
    const bound = async (s: SidecarProcess) => sumMetric(await scrape(s.admin!), 'meshtap_native_busy_poll_max_seconds');
    expect(await bound(flag)).toBeCloseTo(120e-6, 12);
    expect(await bound(fromEnv)).toBeCloseTo(7e-6, 12);
    expect(await bound(byDefault)).toBeCloseTo(50e-6, 12);
  });

  it('--busy-poll-us 0: the workers never poll while traffic flows, and every byte still arrives', async () => {
    const off = await sidecar('native', ['--busy-poll-us', '0']);
    await traffic(off);
    const samples = await scrape(off.admin!);
    expect(sumMetric(samples, 'meshtap_native_busy_poll_max_seconds')).toBe(0);
    expect(sumMetric(samples, 'request_total')).toBe(REQUESTS);
    // The series exist (the native engine exports them) and count nothing.
    for (const name of ['meshtap_native_busy_polls_total', 'meshtap_native_busy_poll_seconds_total']) {
      expect(samples.filter((x) => x.name === name).map((x) => x.labels.result).sort()).toEqual(['caught', 'missed']);
    }
    expect(sumMetric(samples, 'meshtap_native_busy_polls_total')).toBe(0);
    expect(sumMetric(samples, 'meshtap_native_busy_poll_seconds_total')).toBe(0);
  });

  it('the js engine takes the flag and has no poll metrics (it does not poll)', async () => {
    const js = await sidecar('js', ['--busy-poll-us', '80']);
    await traffic(js);
    const samples = await scrape(js.admin!);
    expect(sumMetric(samples, 'request_total')).toBe(REQUESTS);
    expect(samples.some((x) => x.name.startsWith('meshtap_native_busy_poll'))).toBe(false);
  });
});
