/**
 * Tap event printing: `-o text` (one line per event, Linkerd tap style), `-o wide` (plus
 * workloads and pod), `-o json` (NDJSON, one event per line, so jq works).
 */
import { escapeForTerminal } from '../../common/index.js';
import { outcomeTone, podQualifiedId, type TapBody, type TapEvent, type TapMessage } from '../../tap-protocol/index.js';

export type TapOutput = 'text' | 'wide' | 'json';

const BODY_PREVIEW_CHARS = 1024;

/** `1 exchange`, `2 exchanges`: a count and its noun, singular for one. */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * The one latency format of tap, top and stat: milliseconds, 2 decimals below 10 ms, 1 above
 * (`0.42ms`, `5.80ms`, `15.8ms`, `1523.0ms`): one unit, so columns and lines compare at a glance.
 */
export function formatLatencyMs(v: number): string {
  return `${v.toFixed(v < 10 ? 2 : 1)}ms`;
}

function ms(v: number | undefined): string {
  return v === undefined ? '-' : formatLatencyMs(v);
}

function bodyLine(label: string, b: TapBody): string {
  const preview = b.data.length > BODY_PREVIEW_CHARS ? b.data.slice(0, BODY_PREVIEW_CHARS) + '…' : b.data;
  // decoded=gzip: the text is the body decoded (size is still its size on the wire).
  const decoded = b.decoded !== undefined ? ` decoded=${b.decoded.replace(/\s+/g, '')}` : '';
  return `  ${label} size=${b.size}${b.truncated ? ' truncated' : ''}${b.omitted !== undefined ? ` omitted=${b.omitted}` : ''}${decoded} ${b.encoding}=${JSON.stringify(preview)}`;
}

// escapeForTerminal lives in common/ (replay's report prints values from the wire too).
export { escapeForTerminal };

/** How text lines look: colour (ANSI) only when asked (`--color`); never on escaped values' bytes. */
export interface TextStyle {
  color?: boolean;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The last second formatClock formatted from an event's ISO time, and its text: events come in runs of the same second. */
let lastSecond = '';
let lastSecondText = '';

/** `Dec  6 05:10:01.123` in local time, as Hubble prints flows; the ISO string when unparsable. */
export function formatClock(ts: string | number): string {
  // An event's `ts` (`2026-12-06T05:10:01.123Z`): its milliseconds are the same in every time
  // zone (offsets are whole seconds), so only the second needs a Date (a quarter of a text line's cost).
  if (typeof ts === 'string' && ts.length === 24 && ts.charCodeAt(19) === 0x2e && ts.charCodeAt(23) === 0x5a) {
    const second = ts.slice(0, 19);
    if (second !== lastSecond) {
      const text = formatClock(`${second}Z`);
      if (text.length !== 19) return formatClockOf(new Date(ts), ts);
      lastSecond = second;
      lastSecondText = text.slice(0, 15);
    }
    return `${lastSecondText}.${ts.slice(20, 23)}`;
  }
  return formatClockOf(new Date(ts), ts);
}

function formatClockOf(d: Date, ts: string | number): string {
  if (Number.isNaN(d.getTime())) return String(ts);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2)} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** Exchange ids repeat across sidecars (`<connection>.<stream>`): in text, prefixed with the pod when known (the tap API's ids are already). */
export function displayId(e: TapEvent): string {
  return podQualifiedId(e);
}

const SGR = { reset: '\x1b[0m', dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', cyan: '\x1b[36m' };

/** The line's colour by tap-protocol's one rule (outcomeTone), as the dashboard colours its rows. */
const TONE_SGR = { good: SGR.green, warn: SGR.yellow, bad: SGR.red, pending: SGR.yellow } as const;

/**
 * One event as text: a timestamp first (as Hubble), then `kind id=… proxy=… src=… dst=…`,
 * then what the kind carries. `end` lines carry the request too (method, authority, path), so
 * history (which has only `end` events) and filtered output read on their own.
 */
export function formatEventText(e: TapEvent, wide: boolean, style: TextStyle = {}): string {
  const parts = [`id=${displayId(e)}`, `proxy=${e.proxy}`, `src=${e.src}`, `dst=${e.dst}`];
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
    parts.push(`:method=${e.method || '-'}`, `:authority=${e.authority || '-'}`, `:path=${e.path || '-'}`);
    if (e.status !== undefined) parts.push(`:status=${e.status}`);
    if (e.grpcStatus !== undefined) parts.push(`grpc-status=${e.grpcStatus}`);
    if (e.grpcMessage) parts.push(`grpc-message=${JSON.stringify(e.grpcMessage)}`);
    parts.push(`latency=${ms(e.latencyMs)}`, `duration=${ms(e.durationMs)}`, `request-length=${e.requestBytes ?? 0}`, `response-length=${e.responseBytes ?? 0}`);
    if (e.requestMessages !== undefined) parts.push(`request-messages=${e.requestMessages}`, `response-messages=${e.responseMessages ?? 0}`);
    if (e.error) parts.push(`error=${e.error}`);
    if (e.unprocessed) parts.push(`unprocessed=${e.unprocessed}`);
  }
  // Every line is escaped on its own, before the lines are joined: a value can never add one.
  const lines = [parts.join(' ')];
  if (wide && e.kind === 'req' && e.requestHeaders) for (const [k, v] of e.requestHeaders) lines.push(`  > ${k}: ${v}`);
  if (wide && e.kind === 'rsp' && e.responseHeaders) for (const [k, v] of e.responseHeaders) lines.push(`  < ${k}: ${v}`);
  if (e.requestBody) lines.push(bodyLine('request-body', e.requestBody));
  if (e.responseBody) lines.push(bodyLine('response-body', e.responseBody));
  const escaped = lines.map(escapeForTerminal);
  // Time and kind are ours (never the traffic's), so colour can go around them safely.
  const clock = formatClock(e.ts);
  escaped[0] = style.color
    ? `${SGR.dim}${clock}${SGR.reset} ${e.kind === 'req' ? SGR.cyan : TONE_SGR[outcomeTone(e)]}${e.kind}${SGR.reset} ${escaped[0]}`
    : `${clock} ${e.kind} ${escaped[0]}`;
  return escaped.join('\n');
}

/** Formats one stream message; notices (dropped, history-end) are for stderr and return undefined here. */
export function formatMessage(m: TapMessage, output: TapOutput, style: TextStyle = {}): string | undefined {
  if (m.type !== 'event') return undefined;
  if (output === 'json') return JSON.stringify(m.event);
  return formatEventText(m.event, output === 'wide', style);
}
