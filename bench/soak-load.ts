/**
 * The soak's traffic: a steady mix of HTTP/1 (keep-alive pool, fresh connections, bodies),
 * h2c (one session, replaced every minute) and gRPC unary calls (some cancelled at once, so
 * resets and the observer's reset path are exercised), at a fixed total rate. Open requests are
 * bounded: when the sidecar (or the machine) falls behind, requests are skipped and counted
 * rather than piling up in the client, so the client's memory never masks the sidecar's.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { Pool } from 'undici';

export interface SoakCounts {
  ok: number;
  errors: number;
  skipped: number;
  cancelled: number;
  byKind: Record<string, number>;
}

export interface SoakLoad {
  readonly counts: SoakCounts;
  stop(): Promise<void>;
}

/** Most requests in flight at once. */
const MAX_IN_FLIGHT = 256;
/** Ticks per second of the scheduler. */
const TICKS_PER_S = 50;
/** An h2 session lives this long before a new connection replaces it. */
const H2_SESSION_MS = 60_000;

const raw = (b: Buffer) => b;
const POST_BODY = Buffer.alloc(2048, 'p');

/** Starts the mix against `h1` (HTTP/1 forward address) and `h2` (h2c/gRPC forward address). */
export function startSoakLoad(h1: string, h2: string, ratePerS: number): SoakLoad {
  const counts: SoakCounts = { ok: 0, errors: 0, skipped: 0, cancelled: 0, byKind: {} };
  let inFlight = 0;
  const pool = new Pool(`http://${h1}`, { connections: 8, pipelining: 1 });
  let session: http2.ClientHttp2Session | undefined;
  let sessionBorn = 0;
  const grpcClient = new grpc.Client(h2, grpc.credentials.createInsecure());
  const [h1Host, h1Port] = h1.split(':') as [string, string];

  const done = (kind: string, isOk: boolean) => {
    inFlight--;
    if (isOk) counts.ok++;
    else counts.errors++;
    counts.byKind[kind] = (counts.byKind[kind] ?? 0) + 1;
  };

  const h2Session = (): http2.ClientHttp2Session => {
    const now = Date.now();
    if (session === undefined || session.destroyed || session.closed || now - sessionBorn > H2_SESSION_MS) {
      session?.close();
      session = http2.connect(`http://${h2}`);
      session.on('error', () => {});
      sessionBorn = now;
    }
    return session;
  };

  const one = (n: number) => {
    if (inFlight >= MAX_IN_FLIGHT) {
      counts.skipped++;
      return;
    }
    inFlight++;
    const pick = n % 20;
    if (pick < 6) {
      // HTTP/1 keep-alive GET.
      pool.request({ path: `/h1/${n % 50}`, method: 'GET' }).then(
        (r) => r.body.dump().then(() => done('h1-get', r.statusCode === 200)),
        () => done('h1-get', false),
      );
    } else if (pick < 8) {
      // HTTP/1 POST with a 2 KiB body.
      pool.request({ path: '/h1/post', method: 'POST', body: POST_BODY, headers: { 'content-type': 'application/octet-stream' } }).then(
        (r) => r.body.dump().then(() => done('h1-post', r.statusCode === 200)),
        () => done('h1-post', false),
      );
    } else if (pick === 8) {
      // A fresh HTTP/1 connection per request (connection churn).
      const req = http.request({ host: h1Host, port: Number(h1Port), path: '/h1/fresh', agent: false, headers: { connection: 'close' } }, (res) => {
        res.resume();
        res.on('end', () => done('h1-fresh', res.statusCode === 200));
        res.on('error', () => done('h1-fresh', false));
      });
      req.on('error', () => done('h1-fresh', false));
      req.end();
    } else if (pick < 14) {
      // h2c GET on the shared session.
      const s = h2Session().request({ ':path': `/h2/${n % 50}` });
      let status = 0;
      s.on('response', (h) => (status = Number(h[':status'])));
      s.on('error', () => {});
      s.resume();
      s.on('close', () => done('h2', status === 200));
    } else {
      // gRPC unary; one in ten is cancelled right away (a client RST_STREAM).
      const isCancel = pick === 19 && Math.floor(n / 20) % 2 === 0;
      const call = grpcClient.makeUnaryRequest('/soak.Svc/Call', raw, raw, Buffer.from('req'), (err) => {
        if (isCancel) {
          counts.cancelled++;
          done('grpc-cancel', err?.code === grpc.status.CANCELLED);
        } else done('grpc', err === null);
      });
      if (isCancel) call.cancel();
    }
  };

  // Paced by the clock, not by tick count: a late tick issues what is owed.
  let n = 0;
  const startedAt = performance.now();
  const timer = setInterval(() => {
    const owed = Math.floor(((performance.now() - startedAt) / 1000) * ratePerS);
    while (n < owed) one(n++);
  }, 1000 / TICKS_PER_S);

  return {
    counts,
    async stop() {
      clearInterval(timer);
      const deadline = Date.now() + 5000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      session?.close();
      grpcClient.close();
      await pool.close();
    },
  };
}
