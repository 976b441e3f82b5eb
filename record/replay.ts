/**
 * `meshtap replay` as a function: selects exchanges, rewrites them, sends them to the target
 * on schedule (replay-schedule.ts), diffs every answer with the recording (diff.ts) and
 * returns one result per exchange. A failure to send is a `failed` result, never a throw.
 */
import type { TapFilter, HeaderList } from '../tap-protocol/index.js';
import { decodeBody, type RecordedExchange } from './format.js';
import { diffExchange, noiseBetween, type DiffOptions, type Difference } from './diff.js';
import { compileExchangeFilter } from './filter-match.js';
import { headerValue, sendableHeaders } from './headers.js';
import { withoutRedactedParams } from './redacted-query.js';
import { createGrpcReplayClient } from './replay-grpc.js';
import { createHttpReplayClient } from './replay-http.js';
import { runScheduled, type ReplayTiming } from './replay-schedule.js';
import { isUnreachableError, isUnreachableGrpc } from './replay-target.js';
import type { ReplayRequest, ReplayResponse } from './replay-types.js';

export interface RewriteOptions {
  /** Set (replace) these request headers. */
  setHeaders?: Array<[string, string]>;
  /** Drop these request headers. */
  stripHeaders?: string[];
  /** Send the target's host:port as Host/:authority instead of the recorded one. */
  rewriteHost?: boolean;
  /** Path prefix rewrites, first match wins. */
  rewritePaths?: Array<[string, string]>;
}

export interface ReplayOptions {
  /** `http://host:port` */
  target: string;
  timing?: ReplayTiming;
  concurrency?: number;
  loop?: number;
  matches?: TapFilter[][];
  rewrite?: RewriteOptions;
  diff?: DiffOptions;
  /** Send each request twice; fields differing between the two answers are noise. */
  detectNoise?: boolean;
  /** Per-exchange timeout, ms (default 30 s). */
  timeoutMs?: number;
  /** Stops the replay: exchanges not yet started are not sent, those in flight are abandoned
   * (not in the results), and the results so far are returned. */
  signal?: AbortSignal;
  /** Called after each exchange (progress). */
  onResult?: (result: ExchangeResult, done: number, total: number) => void;
}

export type ExchangeOutcome = 'match' | 'mismatch' | 'failed';

export interface ExchangeResult {
  id: string;
  /** The pod that recorded the exchange (ids repeat across pods), when the recording says. */
  pod?: string;
  /** 0-based loop number. */
  loop: number;
  protocol: RecordedExchange['protocol'];
  method: string;
  path: string;
  outcome: ExchangeOutcome;
  differences: Difference[];
  /** Why it failed (connection refused, timeout, …). */
  error?: string;
  /** Target latency: request start -> end of response, ms. */
  durationMs?: number;
  /** Fields found noisy (with noise detection). */
  noise?: string[];
  /** The target could not be reached for this exchange (connection refused, no route, …). */
  unreachable?: boolean;
}

/** Builds what to send for a recorded exchange. */
export function buildReplayRequest(ex: RecordedExchange, target: URL, rewrite: RewriteOptions = {}, timeoutMs = 30_000): ReplayRequest {
  const strip = new Set((rewrite.stripHeaders ?? []).map((h) => h.toLowerCase()));
  // A request body recorded decoded (session 16: the recording's grant did not reveal every header)
  // is sent decoded, so neither its coding nor its length on the wire may go with it. (A gRPC one is
  // framed uncompressed, valid under its grpc-encoding.)
  if (ex.requestBody?.decoded !== undefined && ex.protocol !== 'grpc') strip.add('content-encoding').add('content-length');
  const set = rewrite.setHeaders ?? [];
  for (const [n] of set) strip.add(n.toLowerCase());
  const headers: HeaderList = [...sendableHeaders(ex.requestHeaders, strip), ...set];
  // A redacted query parameter is not re-sent, as a redacted header is not (redacted-query.ts).
  let path = withoutRedactedParams(ex.path);
  for (const [from, to] of rewrite.rewritePaths ?? []) {
    if (path.startsWith(from)) {
      path = to + path.slice(from.length);
      break;
    }
  }
  const authority = rewrite.rewriteHost || !ex.authority ? target.host : ex.authority;
  return {
    protocol: ex.protocol,
    method: ex.method,
    path,
    authority,
    headers: ex.protocol === 'h2' || ex.protocol === 'grpc' ? headers.map(([n, v]) => [n.toLowerCase(), v]) : headers,
    body: decodeBody(ex.requestBody),
    trailers: sendableHeaders(ex.requestTrailers),
    messages: (ex.requestMessages ?? []).map((f) => ({ data: Buffer.from(f.data, 'base64'), compressed: f.compressed, atMs: f.atMs })),
    timeoutMs,
  };
}

/** Replays exchanges against the target; returns one result per exchange per loop. */
export async function replayExchanges(exchanges: readonly RecordedExchange[], options: ReplayOptions): Promise<ExchangeResult[]> {
  const target = new URL(options.target);
  const selected = exchanges.filter(compileExchangeFilter(options.matches ?? []));
  const concurrency = options.concurrency ?? 10;
  const http = createHttpReplayClient(target.origin, concurrency);
  const grpc = createGrpcReplayClient(target.host);
  const loops = options.loop ?? 1;
  const total = selected.length * loops;
  const results: ExchangeResult[] = [];
  const send = (ex: RecordedExchange, req: ReplayRequest): Promise<ReplayResponse> =>
    ex.protocol === 'grpc'
      ? grpc.send(req, headerValue(ex.requestHeaders, 'grpc-encoding'), ex.responseMessages?.length ?? 0)
      : http.send(req);
  try {
    for (let loop = 0; loop < loops && !options.signal?.aborted; loop++) {
      await runScheduled(
        selected,
        options.timing ?? { mode: 'recorded', speed: 1 },
        concurrency,
        async (ex) => {
          const base = { id: ex.id, ...(ex.pod ? { pod: ex.pod } : {}), loop, protocol: ex.protocol, method: ex.method, path: ex.path };
          let result: ExchangeResult;
          try {
            const req = buildReplayRequest(ex, target, options.rewrite, options.timeoutMs);
            const first = await send(ex, req);
            let noise: Set<string> | undefined;
            if (options.detectNoise) {
              const second = await send(ex, req);
              noise = noiseBetween(first, second, ex.protocol === 'grpc', options.diff);
            }
            const differences = diffExchange(ex, first, { ...options.diff, noise });
            result = { ...base, outcome: differences.length ? 'mismatch' : 'match', differences, durationMs: first.durationMs };
            if (noise?.size) result.noise = [...noise];
            if (isUnreachableGrpc(first.grpcStatus, first.grpcMessage)) result.unreachable = true;
          } catch (err) {
            result = { ...base, outcome: 'failed', differences: [], error: err instanceof Error ? err.message : String(err) };
            if (isUnreachableError(err)) result.unreachable = true;
          }
          if (options.signal?.aborted) return; // abandoned: the replay was stopped meanwhile
          results.push(result);
          options.onResult?.(result, results.length, total);
        },
        options.signal,
      );
    }
  } finally {
    if (options.signal?.aborted) http.destroy();
    else await http.close();
    grpc.close();
  }
  return results;
}
