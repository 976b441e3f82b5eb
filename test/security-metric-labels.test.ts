/**
 * Regression (sec10, "redacted in one field ⇒ redacted in every label"): a hidden value that is
 * also part of the request's authority (an API key as a tenant's subdomain, a Basic password as
 * a host name) or of its path was scrubbed from the tap event (77f87f6) but read in full in
 * /metrics: `request_total{authority="tenantKey-….api.example"}` and
 * `route_response_total{route="/v1/t/tenantKey-…/items"}`; a network-path target's URL
 * credentials (`//user:pw@host/x`) read in full in the route label. Now both labels show what the
 * request's `req` event shows a viewer revealed nothing. Real sidecar processes on both engines,
 * real clients (node:http2 and node:http) and backends, /metrics scraped as Prometheus does; both
 * engines' labels must be the same.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from './support/engines.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { httpGet, parseMetrics, type Sample } from './support/metrics-scrape.js';
import { until } from './support/until.js';

const KEY = 'tenantKey-7f3a9c21';
const PASS = 's3cr3t-p4ssw0rd';
const CRED = 'pw-9d8e7f6a5b';
const LABELLED = ['request_total', 'response_total', 'response_latency_ms_count', 'route_response_total', 'route_response_latency_ms_count'];

/** The label sets of the request-derived series, per engine (compared across engines at the end). */
const seen = new Map<string, string[]>();

describe.each(ENGINES)('metric labels hide what the tap hides (%s engine)', (engine) => {
  let h2backend: http2.Http2Server;
  let h1backend: http.Server;
  let sidecar: SidecarProcess;
  let text = '';
  let samples: Sample[] = [];

  beforeAll(async () => {
    h2backend = http2.createServer((_req, res) => res.end('ok'));
    h1backend = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => h2backend.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => h1backend.listen(0, '127.0.0.1', r));
    const port = (s: { address(): unknown }) => (s.address() as AddressInfo).port;
    // prettier-ignore
    sidecar = await startSidecarProcess([
      '--engine', engine, '--admin', '127.0.0.1:0',
      '--forward', `127.0.0.1:0=127.0.0.1:${port(h2backend)}`, '--forward', `127.0.0.1:0=127.0.0.1:${port(h1backend)}`,
    ]);
    // HTTP/2: the key as the tenant's subdomain and as a path segment, sent as x-api-key.
    const session = http2.connect(`http://${sidecar.forwards[0]!.address}`);
    await new Promise<void>((resolve, reject) => {
      const req = session.request({ ':path': `/v1/t/${KEY}/items`, ':authority': `${KEY}.api.example`, 'x-api-key': KEY });
      req.on('error', reject);
      req.on('data', () => {});
      req.on('end', resolve);
    });
    session.close();
    // HTTP/1: a Basic password as the host name; URL credentials in a network-path target.
    const h1 = (path: string, headers: http.OutgoingHttpHeaders) =>
      new Promise<void>((resolve, reject) => {
        const [host, p] = sidecar.forwards[1]!.address.split(':');
        const req = http.request({ host, port: Number(p), path, headers, agent: false }, (res) => res.resume().on('end', resolve));
        req.on('error', reject);
        req.end();
      });
    await h1('/login', { host: `${PASS}.example:8080`, authorization: `Basic ${Buffer.from(`ann:${PASS}`).toString('base64')}` });
    await h1(`//ann:${CRED}@files.example/x`, { host: 'files.example' });
    await until('the three exchanges are counted', async () => {
      const r = await httpGet(sidecar.admin!, '/metrics');
      text = r.body;
      samples = parseMetrics(text);
      return samples.filter((s) => s.name === 'route_response_total').reduce((n, s) => n + s.value, 0) >= 3;
    });
  }, 60_000);
  afterAll(async () => {
    await sidecar?.stop();
    await new Promise((r) => h2backend?.close(r));
    await new Promise((r) => h1backend?.close(r));
  });

  it('no hidden value and no URL credential shows anywhere in /metrics', () => {
    for (const secret of [KEY, PASS, CRED]) expect(text).not.toContain(secret);
  });

  it('the authority label reads as the event authority does', () => {
    const authorities = new Set(samples.filter((s) => s.name === 'request_total').map((s) => s.labels.authority));
    expect([...authorities].sort()).toEqual(['[redacted].api.example', '[redacted].example:8080', 'files.example']);
  });

  it('the route label is made from the path as the event shows it', () => {
    const routes = new Set(samples.filter((s) => s.name === 'route_response_total').map((s) => s.labels.route));
    const series = samples
      .filter((s) => LABELLED.includes(s.name))
      .map((s) => `${s.name}{${Object.entries(s.labels).filter(([k]) => !['target_addr', 'src_addr', 'pod', 'namespace'].includes(k)).sort().map(([k, v]) => `${k}=${v}`).join(',')}}`)
      .sort();
    seen.set(engine, series);
    expect([...routes].sort()).toEqual(['//[redacted]@files.example/x', '/login', '/v1/t/[redacted]/items']);
  });
});

describe.skipIf(ENGINES.length < 2)('both engines', () => {
  it('label the same exchanges the same way', () => {
    expect(seen.get('js')?.length).toBeGreaterThan(0);
    expect(seen.get('native')).toEqual(seen.get('js'));
  });
});
