/**
 * The four equalities every differential suite asserts for one played conversation: on each
 * engine the bytes each end received are exactly what the other sent; across engines the tap
 * events, the flight recorder's answers and the /metrics deltas are equal (js = expected); and
 * the TCP byte counters are the bytes sent, not only alike.
 */
import { expect } from 'vitest';
import type { Conversation, EnginePair, RunResult } from './differential-rig.js';

export interface CheckOptions {
  /**
   * Compare events and recorder answers grouped by exchange (a stable sort by id: each
   * exchange's own events keep their order). For HTTP/2, where the order *across* streams of
   * some ends is a clock's: a stream the client reset ends when the js engine's grace timer
   * (RESET_GRACE_MS) fires or the connection ends, whichever a loaded machine makes first.
   */
  isByExchange?: boolean;
}

/** Plays `conversation` through both engines and asserts the equalities; `where` describes it on failure. */
export async function checkConversation(pair: EnginePair, conversation: Conversation, describe: () => string, options: CheckOptions = {}): Promise<RunResult[]> {
  const sentByClient = Buffer.concat(conversation.steps.filter((s) => s.from === 'client').map((s) => s.bytes));
  const sentByServer = Buffer.concat(conversation.steps.filter((s) => s.from === 'server').map((s) => s.bytes));
  let results: RunResult[];
  try {
    results = await pair.run(conversation);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nconversation:\n${describe()}`);
  }
  const where = `\nconversation:\n${describe()}`;
  for (const [i, r] of results.entries()) {
    expect(r.serverReceived.equals(sentByClient), `${pair.sides[i]!.engine}: server received other bytes than the client sent${where}`).toBe(true);
    expect(r.clientReceived.equals(sentByServer), `${pair.sides[i]!.engine}: client received other bytes than the server sent${where}`).toBe(true);
  }
  const [js, native] = (options.isByExchange ? results.map(byExchange) : results) as [RunResult, RunResult];
  expect(native.events, `tap events differ (js = expected)${where}`).toEqual(js.events);
  expect(native.history, `flight recorder answers differ (js = expected)${where}`).toEqual(js.history);
  expect(native.metrics, `/metrics deltas differ (js = expected)${where}`).toEqual(js.metrics);
  const counted = (peer: string) => Object.entries(js.metrics).filter(([k]) => k.startsWith('tcp_read_bytes_total{') && k.includes(`peer="${peer}"`)).reduce((n, [, v]) => n + v, 0);
  expect([counted('src'), counted('dst')], `byte counters${where}`).toEqual([sentByClient.length + js.markerBytes.request, sentByServer.length + js.markerBytes.response]);
  return results;
}

function byExchange(r: RunResult): RunResult {
  const sort = (list: Array<Record<string, unknown>>) => list.map((e, i) => [e, i] as const).sort(([a, i], [b, j]) => compareIds(String(a.id), String(b.id)) || i - j).map(([e]) => e);
  return { ...r, events: sort(r.events), history: sort(r.history) };
}

/** Normalized ids (`c<conn>.<stream>`) in connection, then stream order. */
function compareIds(a: string, b: string): number {
  const [ca, sa] = a.slice(1).split('.').map(Number) as [number, number];
  const [cb, sb] = b.slice(1).split('.').map(Number) as [number, number];
  return ca - cb || (sa ?? 0) - (sb ?? 0);
}
