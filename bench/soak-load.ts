/**
 * The soak's traffic: a steady mix of HTTP/1 (keep-alive pool, fresh connections, bodies),
 * h2c (one session, replaced every minute), gRPC unary calls (some cancelled at once, so
 * resets and the observer's reset path are exercised) and opaque TCP (a fresh connection per
 * exchange, plus one long-lived stream), at a fixed total rate. Open requests are
 * bounded: when the sidecar (or the machine) falls behind, requests are skipped and counted
 * rather than piling up in the client, so the client's memory never masks the sidecar's.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Pool } from 'undici';

export interface SoakCounts {
  ok: number;
  errors: number;
  skipped: number;
  cancelled: number;
  byKind: Record<string, number>;
  /** Failed requests by kind and reason (`status 502`, `ECONNRESET`, a gRPC code and details): at most
   * MAX_REASONS distinct reasons per kind, the rest counted as `other`. */
  failures?: Record<string, Record<string, number>>;
  /** Bytes echoed back on the long-lived opaque TCP stream. */
  tcpStreamBytes: number;
}

/** The mix, in words, for the report (kept beside the code that makes it). */
export const SOAK_MIX =
  'HTTP/1 keep-alive GET 30%, POST 2 KiB 10%, fresh connection 5%, h2c 20% on a session replaced every minute, ' +
  'gRPC unary 30% of which 1 in 12 cancelled at once, opaque TCP 5% (a fresh connection echoing 16 KiB); ' +
  'plus one long-lived opaque TCP stream echoing 8 KiB every 20 ms';

export interface SoakLoad {
  readonly counts: SoakCounts;
  stop(): Promise<void>;
}

/** Most requests in flight at once. */
const MAX_IN_FLIGHT = 256;
/** Distinct failure reasons kept per kind (a bound: reasons can carry arbitrary text). */
const MAX_REASONS = 8;
/** Longest reason kept, in characters. */
const MAX_REASON_CHARS = 120;

/** Why a request failed, in a few words: its error's code and message. */
function reasonOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; details?: unknown } | undefined;
  const code = e?.code === undefined ? '' : `${String(e.code)} `;
  const text = typeof e?.details === 'string' && e.details ? e.details : typeof e?.message === 'string' ? e.message : String(err);
  return `${code}${text}`.trim();
}

/** Ticks per second of the scheduler. */
const TICKS_PER_S = 50;
/** An h2 session lives this long before a new connection replaces it. */
const H2_SESSION_MS = 60_000;

const raw = (b: Buffer) => b;
const POST_BODY = Buffer.alloc(2048, 'p');
/** Opaque bytes: no HTTP method, no h2 preface, so detection calls them TCP. */
const TCP_CHUNK = Buffer.alloc(16 * 1024, 0xa5);
const TCP_STREAM_CHUNK = TCP_CHUNK.subarray(0, 8 * 1024);

/** One opaque TCP exchange on a fresh connection: write `bytes`, read them echoed, close. */
function tcpEcho(host: string, port: number, bytes: Buffer, done: (isOk: boolean, reason?: string) => void): void {
  let got = 0;
  let isSettled = false;
  const settle = (isOk: boolean, reason?: string) => {
    if (isSettled) return;
    isSettled = true;
    socket.destroy();
    done(isOk, reason);
  };
  const socket = net.connect(port, host, () => socket.write(bytes));
  socket.setTimeout(10_000, () => settle(false, `timeout after ${got} of ${bytes.length} bytes`));
  socket.on('data', (b: Buffer) => {
    got += b.length;
    if (got >= bytes.length) settle(got === bytes.length, `echoed ${got} bytes for ${bytes.length}`);
  });
  socket.on('error', (err) => settle(false, reasonOf(err)));
  socket.on('close', () => settle(false, `closed after ${got} of ${bytes.length} bytes`));
}

/**
 * Starts the mix against `h1` (HTTP/1 forward address), `h2` (h2c/gRPC forward address) and
 * `tcp` (a forward to a TCP echo server).
 */
export function startSoakLoad(h1: string, h2: string, tcp: string, ratePerS: number): SoakLoad {
  const counts: SoakCounts = { ok: 0, errors: 0, skipped: 0, cancelled: 0, byKind: {}, failures: {}, tcpStreamBytes: 0 };
  let inFlight = 0;
  const pool = new Pool(`http://${h1}`, { connections: 8, pipelining: 1 });
  let session: http2.ClientHttp2Session | undefined;
  let sessionBorn = 0;
  const grpcClient = new grpc.Client(h2, grpc.credentials.createInsecure());
  const [h1Host, h1Port] = h1.split(':') as [string, string];
  const [tcpHost, tcpPort] = tcp.split(':') as [string, string];

  // The long-lived opaque stream: reopened if it ever closes (each reopen counts as an error).
  let stream: net.Socket | undefined;
  let isStopping = false;
  const openStream = () => {
    const s = net.connect(Number(tcpPort), tcpHost);
    s.on('data', (b: Buffer) => (counts.tcpStreamBytes += b.length));
    s.on('error', () => {});
    s.on('close', () => {
      if (isStopping) return;
      counts.errors++;
      counts.byKind['tcp-stream-reopen'] = (counts.byKind['tcp-stream-reopen'] ?? 0) + 1;
      stream = undefined;
    });
    stream = s;
  };
  openStream();

  const done = (kind: string, isOk: boolean, reason = 'unknown') => {
    inFlight--;
    if (isOk) counts.ok++;
    else {
      counts.errors++;
      const reasons = (counts.failures![kind] ??= {});
      const key = reason.slice(0, MAX_REASON_CHARS);
      const slot = key in reasons || Object.keys(reasons).length < MAX_REASONS ? key : 'other';
      reasons[slot] = (reasons[slot] ?? 0) + 1;
    }
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
        (r) => r.body.dump().then(
          () => done('h1-get', r.statusCode === 200, `status ${r.statusCode}`),
          (err) => done('h1-get', false, `body: ${reasonOf(err)}`),
        ),
        (err) => done('h1-get', false, reasonOf(err)),
      );
    } else if (pick < 8) {
      // HTTP/1 POST with a 2 KiB body.
      pool.request({ path: '/h1/post', method: 'POST', body: POST_BODY, headers: { 'content-type': 'application/octet-stream' } }).then(
        (r) => r.body.dump().then(
          () => done('h1-post', r.statusCode === 200, `status ${r.statusCode}`),
          (err) => done('h1-post', false, `body: ${reasonOf(err)}`),
        ),
        (err) => done('h1-post', false, reasonOf(err)),
      );
    } else if (pick === 8) {
      // A fresh HTTP/1 connection per request (connection churn).
      const req = http.request({ host: h1Host, port: Number(h1Port), path: '/h1/fresh', agent: false, headers: { connection: 'close' } }, (res) => {
        res.resume();
        res.on('end', () => done('h1-fresh', res.statusCode === 200, `status ${res.statusCode}`));
        res.on('error', (err) => done('h1-fresh', false, `body: ${reasonOf(err)}`));
      });
      req.on('error', (err) => done('h1-fresh', false, reasonOf(err)));
      req.end();
    } else if (pick === 13) {
      // Opaque TCP on a fresh connection.
      tcpEcho(tcpHost, Number(tcpPort), TCP_CHUNK, (isOk, reason) => done('tcp', isOk, reason));
    } else if (pick < 13) {
      // h2c GET on the shared session.
      const s = h2Session().request({ ':path': `/h2/${n % 50}` });
      let status = 0;
      let error = '';
      s.on('response', (h) => (status = Number(h[':status'])));
      s.on('error', (err) => (error = reasonOf(err)));
      s.resume();
      s.on('close', () => done('h2', status === 200, error || `status ${status}, rst code ${s.rstCode ?? 'none'}`));
    } else {
      // gRPC unary; one in ten is cancelled right away (a client RST_STREAM).
      const isCancel = pick === 19 && Math.floor(n / 20) % 2 === 0;
      const call = grpcClient.makeUnaryRequest('/soak.Svc/Call', raw, raw, Buffer.from('req'), (err) => {
        if (isCancel) {
          counts.cancelled++;
          done('grpc-cancel', err?.code === grpc.status.CANCELLED, err ? reasonOf(err) : 'completed though cancelled');
        } else done('grpc', err === null, reasonOf(err));
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
    if (stream === undefined) openStream();
    else if (stream.writableLength < TCP_STREAM_CHUNK.length * 4) stream.write(TCP_STREAM_CHUNK);
  }, 1000 / TICKS_PER_S);

  return {
    counts,
    async stop() {
      clearInterval(timer);
      isStopping = true;
      stream?.destroy();
      const deadline = Date.now() + 5000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      session?.close();
      grpcClient.close();
      await pool.close();
    },
  };
}
