/**
 * One exchange in full: summary, timing, addresses, request and response headers, trailers,
 * bodies (or the missing permission, in the tap API's words), gRPC messages one per frame, and
 * exports of this exchange (curl, HAR, NDJSON, recording).
 */
import { useEffect, useState } from 'preact/hooks';
import type { HeaderList, TapEvent } from '../../tap-protocol/index.js';
import { copyText, downloadExport, postJson } from './api.js';
import { BodyView, decodeBase64, hexDump } from './body-view.js';
import { curlCommand } from './curl.js';
import { appendFilter, revealedHeaders } from '../query-text.js';
import { setUrlState } from './url-state.js';
import { fmtBytes, fmtMs, GRPC_NAMES, isOutcomeUnseen, outcomeTone, REDACTED } from './format.js';
import type { Row } from './traffic-feed.js';

interface GrpcFrameWire {
  compressed: boolean;
  data: string;
  size: number;
  truncated?: boolean;
}
interface ExchangeWire {
  requestMessages?: GrpcFrameWire[];
  responseMessages?: GrpcFrameWire[];
}

interface Props {
  row: Row;
  bodiesAllowed?: boolean;
  bodiesMessage?: string;
  namespace: string;
  target: string;
  query: string;
  onClose(): void;
}

type Tab = 'overview' | 'request' | 'response';

export function DetailPanel({ row, bodiesAllowed, bodiesMessage, namespace, target, query, onClose }: Props) {
  const [tab, setTab] = useState<Tab>('overview');
  const [note, setNote] = useState<string>();
  const [curl, setCurl] = useState<string>();
  const e = row.end ?? row.e;
  const done = row.end !== undefined;
  const exportOne = (format: 'har' | 'ndjson' | 'recording') =>
    downloadExport({ format, events: [row.end!], namespace, target, query }).then(
      () => setNote(`Exported ${format.toUpperCase()}`),
      (err: Error) => setNote(err.message),
    );
  return (
    <aside class="detail" aria-label="Exchange detail" data-testid="detail">
      <div class="detail-head">
        <div class="detail-title">
          <span class={`method m-${e.method.toLowerCase()}`}>{e.method}</span>
          <code class="detail-path" title={e.path}>
            {e.path}
          </code>
        </div>
        <button type="button" class="btn ghost" aria-label="Close the detail" onClick={onClose}>
          ✕
        </button>
      </div>
      <div class="detail-sub">
        <Outcome e={e} />
        <span class="muted">
          {e.srcWorkload ?? e.src} → {e.dstWorkload ?? e.dst} · {e.protocol} · seen {e.proxy === 'in' ? 'inbound' : 'outbound'} by {e.pod ?? 'the sidecar'}
        </span>
      </div>
      <div class="tabs-inline" role="tablist">
        {(['overview', 'request', 'response'] as Tab[]).map((t) => (
          <button type="button" role="tab" aria-selected={tab === t} class={tab === t ? 'itab on' : 'itab'} onClick={() => setTab(t)}>
            {t === 'overview' ? 'Overview' : t === 'request' ? 'Request' : 'Response'}
          </button>
        ))}
      </div>
      <div class="detail-body">
        {tab === 'overview' && <Overview e={e} done={done} startMs={row.startMs} />}
        {tab === 'request' && (
          <Side
            headers={e.requestHeaders}
            trailers={e.requestTrailers}
            body={e.requestBody}
            label="Request"
            e={e}
            done={done}
            bodiesAllowed={bodiesAllowed}
            bodiesMessage={bodiesMessage}
            frames={row.end}
            which="request"
            query={query}
          />
        )}
        {tab === 'response' && (
          <Side
            headers={e.responseHeaders}
            trailers={e.trailers}
            body={e.responseBody}
            label="Response"
            e={e}
            done={done}
            bodiesAllowed={bodiesAllowed}
            bodiesMessage={bodiesMessage}
            frames={row.end}
            which="response"
            query={query}
          />
        )}
      </div>
      <div class="detail-foot">
        <span class="muted">Export this exchange:</span>
        <button type="button" class="btn small" disabled={!done} onClick={() => setCurl(curlCommand(e))}>
          curl
        </button>
        <button type="button" class="btn small" disabled={!done} onClick={() => exportOne('har')}>
          HAR
        </button>
        <button type="button" class="btn small" disabled={!done} onClick={() => exportOne('ndjson')}>
          NDJSON
        </button>
        <button type="button" class="btn small" disabled={!done} onClick={() => exportOne('recording')}>
          Recording
        </button>
        {note && <span class="muted">{note}</span>}
      </div>
      {curl !== undefined && (
        <div class="curl">
          <pre class="code" data-testid="curl">
            {curl}
          </pre>
          <button
            type="button"
            class="btn small"
            onClick={async () => setNote((await copyText(curl)) ? 'curl command copied' : 'Select the command to copy it')}
          >
            Copy
          </button>
        </div>
      )}
    </aside>
  );
}

/** Why a stream is not a response (tap-protocol `unprocessed`): its client may have retried it. */
const UNPROCESSED: Record<NonNullable<TapEvent['unprocessed']>, string> = {
  refused: 'the server refused the stream (REFUSED_STREAM) before answering; a client may retry it, so it is not counted as a response',
  goaway: "the server's GOAWAY said it did not process this stream; a client may retry it, so it is not counted as a response",
};

/** Why an exchange whose observer gave up is not counted (format.ts isOutcomeUnseen). */
const UNOBSERVED = 'meshtap stopped following this connection before the response ended (malformed bytes, or one of its own bounds: see meshtap_observer_errors_total); the bytes still passed unchanged, so it is not counted as a response';

function Outcome({ e }: { e: TapEvent }) {
  const text = e.unprocessed ? `not processed (${e.unprocessed})` : isOutcomeUnseen(e) ? 'outcome not seen (observer gave up)' : e.error ? e.error : e.status !== undefined ? `${e.status}${e.grpcStatus !== undefined ? ` · ${GRPC_NAMES[e.grpcStatus] ?? e.grpcStatus}` : ''}` : 'waiting for the response';
  // 4xx and gRPC codes that are not failures count as success (Linkerd's classification) but are
  // shown amber, as in the table and `tap --color` (outcomeTone).
  const cls = outcomeTone(e);
  return <span class={`badge ${cls}`}>{text}</span>;
}

function Overview({ e, done, startMs }: { e: TapEvent; done: boolean; startMs: number }) {
  const items: Array<[string, string | undefined]> = [
    // An event's `ts` is when it happened (an `end`: when the exchange ended); the row's start is the table's TIME.
    ['Started', new Date(startMs).toISOString()],
    ['Ended', done ? e.ts : undefined],
    ['Latency (to response headers)', e.latencyMs !== undefined ? fmtMs(e.latencyMs) : undefined],
    ['Duration (to end of response)', e.durationMs !== undefined ? fmtMs(e.durationMs) : done ? undefined : 'in progress'],
    ['Request body', e.requestBytes !== undefined ? fmtBytes(e.requestBytes) : undefined],
    ['Response body', e.responseBytes !== undefined ? fmtBytes(e.responseBytes) : undefined],
    ['gRPC messages', e.requestMessages !== undefined ? `${e.requestMessages} sent · ${e.responseMessages ?? 0} received` : undefined],
    ['gRPC status', e.grpcStatus !== undefined ? `${e.grpcStatus} ${GRPC_NAMES[e.grpcStatus] ?? ''}${e.grpcMessage ? ` — ${e.grpcMessage}` : ''}` : undefined],
    ['Error', e.error],
    ['Not processed', e.unprocessed === undefined ? undefined : UNPROCESSED[e.unprocessed]],
    ['Outcome not seen', isOutcomeUnseen(e) ? UNOBSERVED : undefined],
    ['Source', `${e.src}${e.srcWorkload ? ` (${e.srcWorkload}${e.srcNamespace ? `, ${e.srcNamespace}` : ''})` : ''}`],
    ['Destination', `${e.dst}${e.dstWorkload ? ` (${e.dstWorkload}${e.dstNamespace ? `, ${e.dstNamespace}` : ''})` : ''}`],
    ['Authority', e.authority],
    ['Path', e.path],
    ['Scheme · protocol', `${e.scheme} · ${e.protocol}`],
    // The tap API's ids carry their pod (`web-1/3.1`, tap-protocol/exchange-id.ts).
    ['Exchange id', e.pod && !e.id.startsWith(`${e.pod}/`) ? `${e.pod}/${e.id}` : e.id],
  ];
  return (
    <dl class="kv">
      {items
        .filter(([, v]) => v !== undefined && v !== '')
        .map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd class={k === 'Error' ? 'err-text' : ''}>{v}</dd>
          </>
        ))}
    </dl>
  );
}

/**
 * A header list; a redacted value offers to add `--reveal-header NAME` to the query (the tap API
 * then shows it if your permission allows, or says why not). A name already asked for that still
 * reads redacted is a value no grant reveals (credentials in a URL) or a secret repeated from
 * another field.
 */
function Headers({ list, title, query }: { list: HeaderList | undefined; title: string; query: string }) {
  if (!list || list.length === 0) return null;
  const asked = new Set(revealedHeaders(query));
  return (
    <section>
      <h3>{title}</h3>
      <table class="headers">
        <tbody>
          {list.map(([n, v]) => (
            <tr>
              <th scope="row">{n}</th>
              <td>
                {v === REDACTED ? (
                  asked.has(n.toLowerCase()) || asked.has('*') ? (
                    <span class="redacted" title="Still redacted though the query reveals this header: the same value is the secret of another field the query does not reveal">
                      redacted
                    </span>
                  ) : (
                    <>
                      <span class="redacted" title="Redacted by the sidecar: revealing it needs the body permission and --reveal-header">
                        redacted
                      </span>{' '}
                      <button
                        type="button"
                        class="btn small ghost reveal"
                        title={`Add --reveal-header ${n.toLowerCase()} to the query (needs the tap-bodies permission; the tap restarts)`}
                        onClick={() => setUrlState({ q: appendFilter(query, 'reveal-header', n.toLowerCase()) })}
                      >
                        reveal
                      </button>
                    </>
                  )
                ) : v.includes(`${REDACTED}@`) ? (
                  <>
                    <span class="redacted">redacted</span>@{v.split(`${REDACTED}@`).slice(1).join('')}
                  </>
                ) : (
                  v
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

interface SideProps {
  headers: HeaderList | undefined;
  trailers: HeaderList | undefined;
  body: TapEvent['requestBody'];
  label: string;
  e: TapEvent;
  done: boolean;
  bodiesAllowed?: boolean;
  bodiesMessage?: string;
  frames: TapEvent | undefined;
  which: 'request' | 'response';
  query: string;
}

function Side({ headers, trailers, body, label, e, done, bodiesAllowed, bodiesMessage, frames, which, query }: SideProps) {
  return (
    <div>
      <Headers list={headers} title={`${label} headers`} query={query} />
      {!headers && <p class="muted">No {label.toLowerCase()} headers were seen (the tap started mid-exchange).</p>}
      <section>
        <h3>{label} body</h3>
        {bodiesAllowed === false ? (
          <div class="permission" role="note" data-testid="bodies-denied">
            <strong>Bodies are hidden: your credentials lack the body permission.</strong>
            <p>{bodiesMessage}</p>
            <p class="muted">Ask for verb watch on the tap-bodies subresource (the meshtap-tap-admin ClusterRole grants it).</p>
          </div>
        ) : !done ? (
          <p class="muted">The exchange is still in progress.</p>
        ) : e.protocol === 'grpc' && body ? (
          <GrpcFrames event={frames!} which={which} />
        ) : body ? (
          <BodyView body={body} label={label} />
        ) : (which === 'request' ? e.requestBytes : e.responseBytes) ? (
          <p class="muted">The body was not captured (the flight recorder keeps no bodies unless started with --recorder-bodies).</p>
        ) : (
          <p class="muted">Empty body.</p>
        )}
      </section>
      <Headers list={trailers} title={`${label} trailers`} query={query} />
    </div>
  );
}

function GrpcFrames({ event, which }: { event: TapEvent; which: 'request' | 'response' }) {
  const [ex, setEx] = useState<ExchangeWire>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    postJson<ExchangeWire>('/api/exchange', event).then(setEx, (e: Error) => setError(e.message));
  }, [event]);
  if (error) return <p class="error">{error}</p>;
  if (!ex) return <p class="muted">Splitting the gRPC messages…</p>;
  const frames = which === 'request' ? ex.requestMessages : ex.responseMessages;
  if (!frames || frames.length === 0) return <p class="muted">No messages.</p>;
  return (
    <ol class="frames" data-testid={`grpc-${which}`}>
      {frames.map((f, i) => (
        <li>
          <div class="muted">
            Message {i + 1} · {fmtBytes(f.size)}
            {f.compressed ? ' · compressed' : ''}
            {f.truncated ? ' · truncated' : ''}
          </div>
          <pre class="code">{hexDump(decodeBase64(f.data))}</pre>
        </li>
      ))}
    </ol>
  );
}
