/**
 * `GET /api/tap` and `GET /api/top`: a tap opened as the user, relayed to the page as NDJSON.
 *
 * Bodies are asked for first; when the tap API refuses them (the user lacks
 * `watch <resource>/tap-bodies`) the tap is reopened without bodies and the page is told the
 * tap API's own words, so the detail panel can name the missing permission. A query with
 * `--reveal-header` is not reopened: the user asked to see a secret, and showing it redacted
 * instead would look like an answer; the refusal ends the tap, in the tap API's words.
 *
 * The page's queue is the socket's write buffer: past `maxQueuedBytes` events are dropped and
 * counted (a `dropped` line follows once the page catches up), never waited on, so a slow tab
 * cannot hold a sidecar's stream open.
 */
import type { ServerResponse } from 'node:http';
import { MeshtapError, type Logger } from '../common/index.js';
import type { TapMessage, TapRequest, TapStream } from '../tap-protocol/index.js';
import { createTopTable } from '../tap-api/index.js';
import { openTap, type DashboardConnection } from './connection.js';
import { parseQuery, parseSince } from './query.js';
import type { DashboardLine } from './wire.js';

/** What a tap URL asks for, validated. */
export interface TapParams {
  namespace: string;
  target: string;
  request: TapRequest;
  source: 'live' | 'history';
}

export const DEFAULT_MAX_RPS = 100;
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const TARGET = /^(deploy|deployment|deployments|po|pod|pods|ns|namespace|namespaces|sts|statefulset|statefulsets|ds|daemonset|daemonsets|job|jobs)\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Reads `ns`, `target`, `q`, `source`, `since`, `rps` from a URL. */
export function tapParamsFromUrl(url: URL, defaultNamespace: string): { ok: true; value: TapParams } | { ok: false; error: string } {
  const namespace = url.searchParams.get('ns') || defaultNamespace;
  if (!NAME.test(namespace)) return { ok: false, error: `namespace '${namespace}' is not a Kubernetes name` };
  const target = url.searchParams.get('target') || `ns/${namespace}`;
  if (!TARGET.test(target)) return { ok: false, error: `target '${target}' is not TYPE/NAME (e.g. deploy/web, ns/shop)` };
  const query = parseQuery(url.searchParams.get('q') ?? '');
  if (!query.ok) return { ok: false, error: query.error };
  const source = url.searchParams.get('source') === 'history' ? 'history' : 'live';
  const rpsText = url.searchParams.get('rps');
  const maxRps = rpsText ? Number(rpsText) : DEFAULT_MAX_RPS;
  if (!Number.isInteger(maxRps) || maxRps < 1 || maxRps > 1000) return { ok: false, error: 'max-rps is a whole number from 1 to 1000' };
  const request: TapRequest = { matches: query.matches, bodies: true, maxRps, ...(query.revealHeaders.length ? { revealHeaders: query.revealHeaders } : {}) };
  if (source === 'history') {
    const since = parseSince(url.searchParams.get('since') || '5m');
    if (!since.ok) return { ok: false, error: since.error };
    request.sinceMs = since.ms;
    request.follow = false;
  }
  return { ok: true, value: { namespace, target, request, source } };
}

/** Whether a failure is the tap API refusing bodies (and only bodies). */
function isBodiesDenied(err: unknown): err is MeshtapError {
  return err instanceof MeshtapError && err.code === 'MT_RBAC_DENIED' && /tap-bodies/.test(err.message);
}

/**
 * Opens the tap with bodies, falling back to no bodies when they are forbidden. Calls `onBodies`
 * once it knows; returns the stream and its iterator with the first result already read.
 */
async function openWithBodiesFallback(
  conn: DashboardConnection,
  p: TapParams,
  onBodies: (allowed: boolean, message?: string) => void,
  onNotice: (n: { pod: string; message: string }) => void,
  register: (s: TapStream) => void,
): Promise<{ iterator: AsyncIterator<TapMessage>; first: IteratorResult<TapMessage> }> {
  let stream = openTap(conn, p.namespace, p.target, p.request, onNotice);
  register(stream);
  let iterator = stream.messages[Symbol.asyncIterator]();
  try {
    const first = await iterator.next();
    onBodies(true);
    return { iterator, first };
  } catch (err) {
    if (!isBodiesDenied(err)) throw err;
    const reveal = p.request.revealHeaders ?? [];
    if (reveal.length > 0) {
      const names = reveal.map((h) => `--reveal-header ${h}`).join(' ');
      throw new MeshtapError(err.code, `${names} was refused: ${err.message}; drop it from the query to tap with the header redacted`, { cause: err });
    }
    onBodies(false, err.message);
    stream = openTap(conn, p.namespace, p.target, { ...p.request, bodies: false }, onNotice);
    register(stream);
    iterator = stream.messages[Symbol.asyncIterator]();
    return { iterator, first: await iterator.next() };
  }
}

function startNdjson(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.flushHeaders();
}

function errorLine(err: unknown): DashboardLine {
  if (err instanceof MeshtapError) return { type: 'error', code: err.code, message: err.message };
  return { type: 'error', code: 'MT_DASHBOARD', message: err instanceof Error ? err.message : String(err) };
}

/** Relays a tap to the page. */
export async function serveTapStream(conn: DashboardConnection, res: ServerResponse, p: TapParams, log: Logger): Promise<void> {
  startNdjson(res);
  let stream: TapStream | undefined;
  let closed = false;
  res.once('close', () => {
    closed = true;
    stream?.cancel();
  });
  let dropped = 0;
  const send = (line: DashboardLine, droppable: boolean): void => {
    if (closed) return;
    if (droppable && res.writableLength > MAX_QUEUED_BYTES) {
      dropped++;
      return;
    }
    if (dropped > 0) {
      res.write(JSON.stringify({ type: 'dropped', count: dropped, reason: 'page-too-slow' } satisfies DashboardLine) + '\n');
      dropped = 0;
    }
    res.write(JSON.stringify(line) + '\n');
  };
  try {
    const { iterator, first } = await openWithBodiesFallback(
      conn,
      p,
      (allowed, message) => send({ type: 'bodies', allowed, ...(message ? { message } : {}) }, false),
      (n) => send({ type: 'notice', pod: n.pod, message: n.message }, false),
      (s) => {
        stream = s;
        if (closed) s.cancel();
      },
    );
    for (let r = first; !r.done && !closed; r = await iterator.next()) send(r.value, r.value.type === 'event');
    if (closed) return;
    if (p.source === 'history') send({ type: 'end', message: 'the flight recorders have nothing more for this query' }, false);
    else send({ type: 'error', code: 'MT_TAP_ENDED', message: 'the tap stream ended (the tap API went away)' }, false);
  } catch (err) {
    if (closed) return;
    log.debug('tap failed', { error: (err as Error).message });
    send(errorLine(err), false);
  }
  res.end();
}

/** How often the live top view is sent. */
export const TOP_REFRESH_MS = 1000;
const TOP_ROWS_SHOWN = 100;

/** Relays a tap aggregated by the CLI's `meshtap top` table, one snapshot a second. */
export async function serveTopStream(conn: DashboardConnection, res: ServerResponse, p: TapParams, log: Logger): Promise<void> {
  startNdjson(res);
  const table = createTopTable();
  const { matches, maxRps, revealHeaders } = p.request;
  // A filter on a sensitive header needs it revealed (the tap API refuses it otherwise), so the query's reveal goes along.
  // The table counts `end` events only (as `meshtap top`): the sidecars need not make req/rsp ones.
  const stream = openTap(conn, p.namespace, p.target, { matches, bodies: false, endsOnly: true, ...(maxRps ? { maxRps } : {}), ...(revealHeaders ? { revealHeaders } : {}) });
  let closed = false;
  const snapshot = (): void => {
    if (closed || res.writableLength > MAX_QUEUED_BYTES) return;
    const line: DashboardLine = { type: 'top', rows: table.rows().slice(0, TOP_ROWS_SHOWN), total: table.total, untracked: table.untracked };
    res.write(JSON.stringify(line) + '\n');
  };
  const timer = setInterval(snapshot, TOP_REFRESH_MS);
  res.once('close', () => {
    closed = true;
    clearInterval(timer);
    stream.cancel();
  });
  try {
    for await (const m of stream.messages) {
      if (closed) break;
      if (m.type === 'event') table.add(m.event);
    }
    if (!closed) res.write(JSON.stringify({ type: 'error', code: 'MT_TAP_ENDED', message: 'the tap stream ended' } satisfies DashboardLine) + '\n');
  } catch (err) {
    if (!closed) {
      log.debug('top failed', { error: (err as Error).message });
      res.write(JSON.stringify(errorLine(err)) + '\n');
    }
  }
  clearInterval(timer);
  res.end();
}
