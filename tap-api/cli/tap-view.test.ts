/**
 * `tap -o json` prints events as the bytes they came as (tap-protocol/message-bytes.ts), not
 * parsed and stringified again. These tests hold that fast path to the slow one: the same
 * messages, cut from real batches (batchText → splitBatch, as a sidecar sends and the CLI reads
 * them), give byte-identical stdout and the same stderr notes as the parsed messages do, for
 * events with bodies, redacted headers, unicode and escapes, with `dropped` and `history-end`
 * messages between them.
 */
import { describe, expect, it } from 'vitest';
import { batchText, eventJsonOf, parseBatch, splitBatch, type TapEvent, type TapMessage } from '../../tap-protocol/index.js';
import { createLineOut } from './line-out.js';
import { createTapView, type TapViewOptions } from './tap-view.js';

function event(i: number, kind: TapEvent['kind'], extra: Partial<TapEvent> = {}): TapEvent {
  return {
    kind,
    id: `7.${i}`,
    ts: new Date(Date.UTC(2026, 11, 6, 14, 0, 0, i)).toISOString(),
    proxy: 'in',
    src: '127.0.0.1:50000',
    dst: '127.0.0.1:8080',
    protocol: 'http/1.1',
    method: 'POST',
    scheme: 'http',
    authority: 'web.test',
    path: `/p/${i}`,
    ...extra,
  };
}

/** Messages a tap stream may carry, with what makes serialization go wrong if anything does. */
const MESSAGES: TapMessage[] = [
  { type: 'event', event: event(1, 'req', { requestHeaders: [['authorization', '[redacted]'], ['cookie', '[redacted]'], ['x-name', 'Zoë']], requestBody: { size: 11, truncated: false, encoding: 'utf8', data: 'héllo ☃ 🎉' } }) },
  { type: 'event', event: event(1, 'rsp', { status: 200, latencyMs: 0.125, responseHeaders: [['set-cookie', '[redacted]']], responseBody: { size: 9, truncated: true, encoding: 'base64', data: '/wABAgM=' } }) },
  { type: 'dropped', count: 3, reason: 'queue-full' },
  { type: 'event', event: event(1, 'end', { status: 200, latencyMs: 0.125, durationMs: 1e-7, requestBytes: 11, responseBytes: 9 }) },
  // escapes: quotes, backslashes, control characters, line/paragraph separators, a lone surrogate
  { type: 'event', event: event(2, 'req', { path: '/q?a="b"\\c\x1b[31m\u2028\u2029\ud800', requestBody: { size: 3, truncated: false, encoding: 'utf8', data: 'a\nb\r\t' } }) },
  { type: 'dropped', count: 1, reason: 'rate-limit' },
  { type: 'event', event: event(2, 'end', { status: 503, grpcStatus: 14, grpcMessage: 'unavailable: 不可用', error: 'upstream reset' }) },
];

interface Run {
  stdout: string;
  notes: string[];
}

function viewOptions(o: Partial<TapViewOptions>): { options: TapViewOptions; result: () => Run; flush: () => void } {
  const chunks: Array<string | Buffer> = [];
  const notes: string[] = [];
  const out = createLineOut({ write: (d) => chunks.push(d) });
  return {
    options: { output: { kind: 'json' }, print: out.print, printBytes: out.printBytes, note: (t) => notes.push(t), ...o },
    flush: out.flush,
    result: () => {
      out.flush();
      return { stdout: Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))).toString('utf8'), notes };
    },
  };
}

/** Feeds `batches` (lists of message JSON texts) as the CLI reads them: bytes, cut from each batch. */
function viaBytes(batches: string[][], o: Partial<TapViewOptions> = {}): Run {
  const v = viewOptions(o);
  const view = createTapView(v.options);
  for (const b of batches) for (const m of splitBatch(Buffer.from(batchText(b)))) if (view.onBytes(m)) break;
  view.finish();
  return v.result();
}

/** The same, parsed (the path every other output takes, and what -o json printed before). */
function viaParse(batches: string[][], o: Partial<TapViewOptions> = {}): Run {
  const v = viewOptions({ ...o, printBytes: undefined });
  const view = createTapView(v.options);
  for (const b of batches) for (const m of parseBatch(Buffer.from(batchText(b)))) if (view.onMessage(m)) break;
  view.finish();
  return v.result();
}

const texts = MESSAGES.map((m) => JSON.stringify(m));

describe('tap -o json: events pass through as bytes', () => {
  it('prints the same bytes and notes as parse + stringify, whatever the batching', () => {
    const expected = viaParse([texts]);
    // every event, one per line, exactly JSON.stringify of the parsed event
    expect(expected.stdout).toBe(
      MESSAGES.filter((m) => m.type === 'event')
        .map((m) => JSON.stringify(JSON.parse(JSON.stringify((m as { event: TapEvent }).event))) + '\n')
        .join(''),
    );
    expect(expected.notes).toEqual([
      '3 events dropped: the tap could not keep up (narrow the filters or lower --max-rps)',
      '1 exchange dropped by --max-rps (the sidecar default) (raise it to see more)', // was '1 exchanges'
    ]);
    for (const batches of [[texts], texts.map((t) => [t]), [texts.slice(0, 3), texts.slice(3)]]) {
      expect(viaBytes(batches)).toEqual(expected);
    }
  });

  it('keeps history sorted and --limit counting (those read the events), then passes live events through', () => {
    const history = [JSON.stringify(MESSAGES[3]), JSON.stringify(MESSAGES[0]), JSON.stringify({ type: 'history-end', recorderBodies: false, historyStartMs: 1 })];
    const batches = [history, texts];
    const withHistory = { history: { bodies: true, last: 5 } };
    expect(viaBytes(batches, withHistory)).toEqual(viaParse(batches, withHistory));
    expect(viaBytes(batches, withHistory).notes[0]).toMatch(/^history has no bodies/);
    expect(viaBytes([texts], { limit: 1 })).toEqual(viaParse([texts], { limit: 1 }));
    expect(viaBytes([texts], { limit: 1 }).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l).kind)).toEqual(['req', 'rsp', 'end']);
  });

  it('writes the event bytes it received (no re-serialization) and reads a batch joined by bare commas', () => {
    const spaced = '{"type":"event","event":{"kind": "req", "id": "1.1"}}';
    const batch = Buffer.from(`[${spaced},\n${texts[2]}]`);
    const parts = splitBatch(batch);
    expect(parts.map((p) => p.toString())).toEqual([spaced, texts[2]]);
    expect(eventJsonOf(parts[0]!)!.toString()).toBe('{"kind": "req", "id": "1.1"}');
    expect(eventJsonOf(parts[1]!)).toBeUndefined();
    // The view prints those bytes as they are: what makes -o json cheap (the sidecar's JSON is
    // already what JSON.stringify makes; the test above and test/tap-json-passthrough hold it to that).
    const v = viewOptions({});
    const view = createTapView(v.options);
    for (const m of parts) view.onBytes(m);
    expect(v.result()).toEqual({ stdout: '{"kind": "req", "id": "1.1"}\n', notes: ['3 events dropped: the tap could not keep up (narrow the filters or lower --max-rps)'] });
    // A sidecar that joins with "," alone (one line): parsed, each message written back as JSON.
    const old = splitBatch(Buffer.from(`[${texts.join(',')}]`));
    expect(old.map((p) => p.toString())).toEqual(texts);
  });
});
