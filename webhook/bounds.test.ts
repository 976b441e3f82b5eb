/**
 * Regression (issue 10 item 10): the webhook's timeouts were looser than configured — with 10 s
 * request and header timeouts a one-byte-per-second client was held ~29 s, a slow body over
 * 30 s, a connection that never starts TLS 120 s (Node checks its request timers only every
 * 30 s by default, and TLS handshakes have their own 120 s) — and a 10 MiB AdmissionReview got
 * a dropped TLS connection instead of the 413 it was meant to get.
 *
 * A 2 s budget here; each slow client must be cut well before the old bounds (the 8 s ceilings
 * below are 4× the budget, far under the 30 s / 120 s this used to take).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeshConfig } from '../injector/index.js';
import { startWebhookServer, type WebhookServer } from './server.js';
import { createCertificateAuthority, serviceDnsNames } from './install/certs.js';
import { podCreateReview } from '../test/fixtures/k8s/admission.js';
import { controllerCreatedPod } from '../test/fixtures/k8s/pods.js';

const SERVICE_HOST = 'meshtap-webhook.meshtap.svc';
const BUDGET_MS = 2000;
const CEILING_MS = 8000;

let caPem: string;
let webhook: WebhookServer;
let agent: Agent;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshtap-webhook-bounds-'));
  const ca = await createCertificateAuthority('meshtap-ca');
  caPem = ca.certPem;
  const pair = await ca.issueServing(serviceDnsNames('meshtap-webhook', 'meshtap'));
  writeFileSync(join(dir, 'tls.crt'), pair.certPem);
  writeFileSync(join(dir, 'tls.key'), pair.keyPem);
  webhook = await startWebhookServer({
    host: '127.0.0.1', port: 0, certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'),
    config: createMeshConfig({ version: '0.1.0', image: 'ghcr.io/meshtap/meshtap:v0.1.0' }),
    requestTimeoutMs: BUDGET_MS,
  });
  agent = new Agent({ connect: { ca: caPem, servername: SERVICE_HOST } });
});

afterAll(async () => {
  await agent?.close();
  await webhook?.close();
});

function tlsConnect(): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: webhook.port, ca: caPem, servername: SERVICE_HOST }, () => resolve(s));
    s.on('error', reject);
  });
}

/** Writes `bytes` one per second until the server closes; resolves with how long it took. */
async function trickle(socket: net.Socket, bytes: string): Promise<number> {
  const started = Date.now();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  for (const ch of bytes) {
    if (isClosed || Date.now() - started > 3 * CEILING_MS) break;
    socket.write(ch);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
  }
  await Promise.race([closed, new Promise((r) => setTimeout(r, 3 * CEILING_MS))]);
  return Date.now() - started;
}

const timeouts = async (): Promise<number> => {
  const text = await (await request(`https://127.0.0.1:${webhook.port}/metrics`, { dispatcher: agent })).body.text();
  return Number(/meshtap_webhook_rejected_requests_total\{reason="timeout"\} (\d+)/.exec(text)?.[1] ?? 0);
};

describe('regression: webhook bounds looser than configured', () => {
  it('a client sending its head one byte per second is cut at the header timeout, counted', async () => {
    const before = await timeouts();
    const took = await trickle(await tlsConnect(), 'POST /inject HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nX-Slow: ' + 'x'.repeat(60));
    expect(took).toBeLessThan(CEILING_MS);
    expect(await timeouts()).toBe(before + 1);
  });

  it('a body sent one byte per second is cut at the request timeout, counted', async () => {
    const before = await timeouts();
    const socket = await tlsConnect();
    socket.write('POST /inject HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n');
    const took = await trickle(socket, '{' + ' '.repeat(98) + '}');
    expect(took).toBeLessThan(CEILING_MS);
    expect(await timeouts()).toBe(before + 1);
  });

  it('a TCP connection that never starts TLS is closed at the budget', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: webhook.port });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const took = await trickle(socket, '');
    expect(took).toBeLessThan(CEILING_MS);
  });

  it('a TLS connection that never sends a request is closed at the budget', async () => {
    const took = await trickle(await tlsConnect(), '');
    expect(took).toBeLessThan(CEILING_MS);
  });

  it('a 10 MiB AdmissionReview written in full before reading (as the API server does) gets the 413, not a dropped connection', async () => {
    const socket = await tlsConnect();
    const received: Buffer[] = [];
    // Like a client that writes the whole request before it reads (kube-apiserver's): nothing
    // is read until the body is out, so an early close + reset from the server discards the answer.
    socket.pause();
    socket.on('data', (b: Buffer) => received.push(b));
    const ended = new Promise<string | undefined>((resolve) => {
      socket.once('close', () => resolve(undefined));
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
    });
    const body = Buffer.alloc(10 * 1024 * 1024, 0x20);
    socket.write(`POST /inject HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body);
    await Promise.race([new Promise<void>((resolve) => socket.once('drain', () => resolve())), ended, new Promise((r) => setTimeout(r, 3000))]);
    await new Promise((r) => setTimeout(r, 200));
    // The whole request went out; now read the answer.
    socket.resume();
    const deadline = Date.now() + CEILING_MS;
    while (!Buffer.concat(received).includes('\r\n\r\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    expect(Buffer.concat(received).toString('latin1')).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('a 10 MiB AdmissionReview through undici gets the 413 and the connection serves the next request', async () => {
    const review = podCreateReview(controllerCreatedPod(), { namespace: 'shop' }) as { request: { object: { metadata: { annotations?: Record<string, string> } } } };
    review.request.object.metadata.annotations = { filler: 'x'.repeat(10 * 1024 * 1024) };
    const res = await request(`https://127.0.0.1:${webhook.port}/inject`, { method: 'POST', body: JSON.stringify(review), headers: { 'content-type': 'application/json' }, dispatcher: agent });
    expect(res.statusCode).toBe(413);
    expect(await res.body.text()).toMatch(/over the \d+-byte limit/);
    const ok = await request(`https://127.0.0.1:${webhook.port}/healthz`, { dispatcher: agent });
    expect(ok.statusCode).toBe(200);
    await ok.body.text();
  });
});
