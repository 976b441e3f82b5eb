/**
 * Tap event printing: `-o text` (one line per event, Linkerd tap style), `-o wide` (plus
 * workloads and pod), `-o json` (NDJSON, one event per line, so jq works).
 */
import type { TapBody, TapEvent, TapMessage } from '../../proxy/index.js';

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
  let line = parts.join(' ');
  if (wide && e.kind !== 'end' && e.requestHeaders && e.kind === 'req') {
    line += '\n' + e.requestHeaders.map(([k, v]) => `  > ${k}: ${v}`).join('\n');
  }
  if (wide && e.kind === 'rsp' && e.responseHeaders) line += '\n' + e.responseHeaders.map(([k, v]) => `  < ${k}: ${v}`).join('\n');
  if (e.requestBody) line += '\n' + bodyLine('request-body', e.requestBody);
  if (e.responseBody) line += '\n' + bodyLine('response-body', e.responseBody);
  return line;
}

/** Formats one stream message; notices (dropped, history-end) are for stderr and return undefined here. */
export function formatMessage(m: TapMessage, output: TapOutput): string | undefined {
  if (m.type !== 'event') return undefined;
  if (output === 'json') return JSON.stringify(m.event);
  return formatEventText(m.event, output === 'wide');
}
