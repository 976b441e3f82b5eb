/**
 * Tap event printing: `-o text` (one line per event, Linkerd tap style), `-o wide` (plus
 * workloads and pod), `-o json` (NDJSON, one event per line, so jq works).
 */
import type { TapBody, TapEvent, TapMessage } from '../../tap-protocol/index.js';

export type TapOutput = 'text' | 'wide' | 'json';

const BODY_PREVIEW_CHARS = 1024;

function ms(v: number | undefined): string {
  if (v === undefined) return '-';
  return v < 1 ? `${Math.round(v * 1000)}µs` : `${v.toFixed(v < 10 ? 2 : 1)}ms`;
}

function bodyLine(label: string, b: TapBody): string {
  const preview = b.data.length > BODY_PREVIEW_CHARS ? b.data.slice(0, BODY_PREVIEW_CHARS) + '…' : b.data;
  return `  ${label} size=${b.size}${b.truncated ? ' truncated' : ''} ${b.encoding}=${JSON.stringify(preview)}`;
}

/** C0/C1 controls, DEL, line/paragraph separators and bidi overrides: they could forge or hide lines on a terminal. */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Escapes what the traffic could use to forge tap lines or drive the terminal (`\n`, ESC, …)
 * as `\xNN` / `\uNNNN`. Values come from the wire (an h2 client may send any byte in `:path`
 * or a header); text output must show them, not obey them. `-o json` needs none of this.
 */
export function escapeForTerminal(value: string): string {
  return value.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

export function formatEventText(e: TapEvent, wide: boolean): string {
  const parts = [e.kind, `id=${e.id}`, `proxy=${e.proxy}`, `src=${e.src}`, `dst=${e.dst}`];
  if (wide) {
    if (e.pod) parts.push(`pod=${e.pod}`);
    if (e.srcWorkload) parts.push(`src_workload=${e.srcNamespace ? e.srcNamespace + '/' : ''}${e.srcWorkload}`);
    if (e.dstWorkload) parts.push(`dst_workload=${e.dstNamespace ? e.dstNamespace + '/' : ''}${e.dstWorkload}`);
    parts.push(`protocol=${e.protocol}`);
  }
  if (e.kind === 'req') {
    parts.push(`:method=${e.method}`, `:authority=${e.authority}`, `:path=${e.path}`);
  } else if (e.kind === 'rsp') {
    parts.push(`:status=${e.status}`, `latency=${ms(e.latencyMs)}`);
  } else {
    if (e.status !== undefined) parts.push(`:status=${e.status}`);
    if (e.grpcStatus !== undefined) parts.push(`grpc-status=${e.grpcStatus}`);
    if (e.grpcMessage) parts.push(`grpc-message=${JSON.stringify(e.grpcMessage)}`);
    parts.push(`duration=${ms(e.durationMs)}`, `request-length=${e.requestBytes ?? 0}`, `response-length=${e.responseBytes ?? 0}`);
    if (e.requestMessages !== undefined) parts.push(`request-messages=${e.requestMessages}`, `response-messages=${e.responseMessages ?? 0}`);
    if (e.error) parts.push(`error=${e.error}`);
    if (!e.method) parts.push(':method=-');
    else if (wide) parts.push(`:method=${e.method}`, `:path=${e.path}`);
  }
  // Every line is escaped on its own, before the lines are joined: a value can never add one.
  const lines = [parts.join(' ')];
  if (wide && e.kind === 'req' && e.requestHeaders) for (const [k, v] of e.requestHeaders) lines.push(`  > ${k}: ${v}`);
  if (wide && e.kind === 'rsp' && e.responseHeaders) for (const [k, v] of e.responseHeaders) lines.push(`  < ${k}: ${v}`);
  if (e.requestBody) lines.push(bodyLine('request-body', e.requestBody));
  if (e.responseBody) lines.push(bodyLine('response-body', e.responseBody));
  return lines.map(escapeForTerminal).join('\n');
}

/** Formats one stream message; notices (dropped, history-end) are for stderr and return undefined here. */
export function formatMessage(m: TapMessage, output: TapOutput): string | undefined {
  if (m.type !== 'event') return undefined;
  if (output === 'json') return JSON.stringify(m.event);
  return formatEventText(m.event, output === 'wide');
}
