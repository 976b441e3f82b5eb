/**
 * "Two engines, one truth": one real `meshtap proxy` per engine, each between a raw TCP client
 * and a scripted raw TCP server, fed the same generated conversation piece by piece. A run gives,
 * per engine, the bytes both ends received, the tap events (live subscriber with bodies), the
 * flight recorder's answer to a history query and the /metrics delta, each normalized the same
 * way so the differential suites can compare them with `toEqual`.
 *
 * What is normalized, and why (everything else is compared exactly):
 * - events: `ts`, `latencyMs`, `durationMs` (clock; checked to be valid, then dropped), `src`
 *   (the client's ephemeral port), `dst` (each engine has its own upstream ports: they become
 *   `upstream`, `upstream2`…), and the connection part of `id` (`<connection>.<stream>`: engines number
 *   connections independently; becomes the connection's order of appearance in the run, the
 *   stream part is kept). `pod` is the same on both (`--pod`).
 * - metrics: the delta of every series over one run (series that did not move are left out).
 *   Latency histograms' `_bucket` and `_sum` (timing), and the series whose value is an
 *   engine's own accounting, are left out: `meshtap_engine` (names the engine),
 *   `meshtap_start_time_seconds`, `meshtap_recorder_bytes` (the recorder's memory for the same
 *   records: C++ compact records vs JS objects). Latency `_count` is kept (it counts responses).
 *   Label values holding an upstream's address (`target_addr`) become its name, as in events.
 *
 * The pieces of a conversation are written one at a time and each is awaited at the far end
 * before the next, so both engines see the same reads in the same order (a split point in the
 * generated conversation is a split point in the sidecar's reads, give or take the kernel
 * coalescing nothing: the next piece is sent only once the previous one was forwarded).
 */
import { openTapStream, type TapEvent } from '../../tap-protocol/index.js';
import type { Engine } from './engines.js';
import { scrape, type Sample } from './metrics-scrape.js';
import { startSidecarProcess, type SidecarProcess } from './meshtap-process.js';
import { connectRaw, startScriptedServer, type RecordedSocket, type ScriptedServer } from './raw-socket.js';
import { openTapCollector, type TapCollector } from './tap-collector.js';

/** One write of a conversation: who writes which bytes. */
export interface Step {
  from: 'client' | 'server';
  bytes: Buffer;
}

/** A whole connection: the steps in order, then who half-closes first (the other follows on FIN). */
export interface Conversation {
  steps: Step[];
  closeFirst: 'client' | 'server';
}

/** What one engine observed during one run, normalized for comparison. */
export interface Observed {
  events: Array<Record<string, unknown>>;
  history: Array<Record<string, unknown>>;
  /** Series that moved during the run: `name{labels}` -> delta. */
  metrics: Record<string, number>;
  /** Bytes of the run's marker exchange (in `metrics`' TCP counters of `upstream` too). */
  markerBytes: { request: number; response: number };
}

/** What one engine made of one raw conversation. */
export interface RunResult extends Observed {
  /** What the server received (must equal the client's bytes). */
  serverReceived: Buffer;
  /** What the client received (must equal the server's bytes). */
  clientReceived: Buffer;
}

/** One engine's sidecar with its upstream, tap subscriber and a keep-alive marker connection. */
export interface EngineSide {
  engine: Engine;
  sidecar: SidecarProcess;
  server: ScriptedServer;
  /** The live subscriber (absent with `liveTap: false`). */
  tap?: TapCollector;
  /** Forward listener ports: [0] goes to `server`, [1 + i] to `extraTargets[i]`. */
  ports: number[];
  run(conversation: Conversation): Promise<RunResult>;
  /** Runs `traffic` (which must open and close its own connections) and returns what was observed. */
  measure(traffic: () => Promise<void>): Promise<Observed>;
  close(): Promise<void>;
}

const CRLF = '\r\n';
const POD = 'differential';

/** Series whose value is the engine's own accounting or a clock, never compared. */
const UNCOMPARED = new Set(['meshtap_engine', 'meshtap_start_time_seconds', 'meshtap_recorder_bytes']);
const isTiming = (name: string) => /latency_ms_(bucket|sum)$/.test(name) || /_seconds(_sum|_bucket)?$/.test(name);
/** Families only the native engine has (its workers' busy polling): nothing to compare them with. */
const isNativeOnly = (name: string) => name.startsWith('meshtap_native_');

export interface EngineSideOptions {
  /** Extra `meshtap proxy` flags (both engines get the same). */
  args?: string[];
  /** More upstream ports, each behind its own forward listener (`ports[1 + i]`). */
  extraTargets?: number[];
  /**
   * false: no live tap subscriber and a recorder without bodies — the path where nobody wants
   * events or bodies (the native engine then keeps exchanges in C++ and may splice bodies);
   * events are not collected, the recorder's answers and metrics still are. Default true: a
   * live subscriber with bodies, and `--recorder-bodies`.
   */
  liveTap?: boolean;
}

/** Starts `engine`'s sidecar in front of a fresh scripted server. */
export async function startEngineSide(engine: Engine, options: EngineSideOptions = {}): Promise<EngineSide> {
  const isLive = options.liveTap !== false;
  const server = await startScriptedServer();
  let sidecar: SidecarProcess | undefined;
  let tap: TapCollector | undefined;
  try {
    sidecar = await startSidecarProcess([
      '--engine', engine,
      '--forward', `127.0.0.1:0=127.0.0.1:${server.port}`,
      ...(options.extraTargets ?? []).flatMap((port) => ['--forward', `127.0.0.1:0=127.0.0.1:${port}`]),
      '--admin', '127.0.0.1:0',
      '--tap', '127.0.0.1:0',
      '--pod', POD,
      ...(isLive ? ['--recorder-bodies'] : []),
      // The decode budget is time on the machine, which the two engines' runs do not share: the
      // rig compares engines, so every coded body is decoded (test/lead16-decode-budget tests it).
      '--decode-budget', '1s',
      ...(options.args ?? []),
    ]);
    // MESHTAP_DIFF_TAP: more of the live subscriber's request, as JSON (`{"endsOnly":true}`,
    // `{"bodies":false}`, `{"revealHeaders":["cookie"]}`), for runs beyond CI's set-ups.
    if (isLive) tap = await openTapCollector(sidecar.tap!, { bodies: true, ...(process.env.MESHTAP_DIFF_TAP ? (JSON.parse(process.env.MESHTAP_DIFF_TAP) as object) : {}) });
  } catch (err) {
    tap?.close();
    await sidecar?.stop();
    await server.close();
    throw err;
  }
  const sc = sidecar;
  const tp = tap;
  const upstreams = new Map<string, string>([[String(server.port), 'upstream'], ...(options.extraTargets ?? []).map((p, i) => [String(p), `upstream${i + 2}`] as [string, string])]);

  // The marker: a keep-alive HTTP/1 connection opened once; a request on it after a run is
  // handled after every record of the run's (closed) connection, so its `end` event (or, without
  // a live tap, its entry in the recorder) marks that all of the run's events have arrived.
  const markerClient = await connectRaw(sc.forwards[0].port);
  const markerUpstream = await server.connection(0);
  let markers = 0;
  let seenConnection = 0;
  let lastScrape: Sample[] | undefined;
  async function mark(): Promise<{ connection: number; request: number; response: number }> {
    const path = `/marker/${++markers}`;
    const req = `GET ${path} HTTP/1.1${CRLF}Host: marker${CRLF}${CRLF}`;
    const rsp = `HTTP/1.1 200 OK${CRLF}Content-Length: 0${CRLF}${CRLF}`;
    const up = markerUpstream.received().length;
    const down = markerClient.received().length;
    await markerClient.write(req);
    await markerUpstream.waitForBytes(up + req.length);
    await markerUpstream.write(rsp);
    await markerClient.waitForBytes(down + rsp.length);
    const end = tp ? (await tp.waitForEnds(1, (e) => e.path === path))[0] : await recorded(sc.tap!, path);
    return { connection: connectionOf(end.id), request: req.length, response: rsp.length };
  }
  const markerConnection = (await mark()).connection;

  const side: EngineSide = {
    engine,
    sidecar: sc,
    server,
    tap: tp,
    ports: sc.forwards.map((f) => f.port),
    async measure(traffic) {
      // The previous run's last scrape is this run's baseline (nothing moves in between).
      const before = lastScrape ?? (await scrape(sc.admin!));
      const firstEvent = tp?.events.length ?? 0;
      await traffic();
      const marker = await mark();
      const events = (tp?.events ?? []).slice(firstEvent).filter((e) => connectionOf(e.id) !== markerConnection);
      const after = await scrape(sc.admin!);
      lastScrape = after;
      // The recorder's answer for this run's connections only: connections are numbered in
      // order, so the run's are above every one seen before (the marker's included).
      const recent = await lastExchanges(sc.tap!, 64);
      const kept = recent.filter((e) => connectionOf(e.id) > seenConnection && connectionOf(e.id) !== markerConnection);
      for (const e of recent) seenConnection = Math.max(seenConnection, connectionOf(e.id));
      return {
        events: normalizeEvents(events, upstreams),
        history: normalizeEvents(kept, upstreams),
        metrics: metricDelta(before, after, upstreams),
        markerBytes: { request: marker.request, response: marker.response },
      };
    },
    async run(conversation) {
      let client: RecordedSocket | undefined;
      let upstream: RecordedSocket | undefined;
      const observed = await side.measure(async () => {
        const next = server.connections.length;
        client = await connectRaw(sc.forwards[0].port);
        upstream = await server.connection(next);
        await play(conversation, client, upstream);
      });
      return { ...observed, serverReceived: upstream!.received(), clientReceived: client!.received() };
    },
    async close() {
      tp?.close();
      markerClient.destroy();
      await sc.stop();
      await server.close();
    },
  };
  return side;
}

/** Writes each step, waiting until the far end has it; then the half-closes; then waits for both closes. */
async function play(c: Conversation, client: RecordedSocket, upstream: RecordedSocket): Promise<void> {
  let toServer = 0;
  let toClient = 0;
  for (const step of c.steps) {
    if (step.from === 'client') {
      toServer += step.bytes.length;
      await client.write(step.bytes);
      await upstream.waitForBytes(toServer);
    } else {
      toClient += step.bytes.length;
      await upstream.write(step.bytes);
      await client.waitForBytes(toClient);
    }
  }
  const [first, second] = c.closeFirst === 'client' ? [client, upstream] : [upstream, client];
  first.end();
  await second.waitForEnd();
  second.end();
  await first.waitForEnd();
  await Promise.all([client.waitForClose(), upstream.waitForClose()]);
}

/** The connection number of an event id (`<connection>.<stream>`). */
function connectionOf(id: string): number {
  const n = Number.parseInt(id, 10);
  if (!Number.isSafeInteger(n)) throw new Error(`event id ${id} does not start with a connection number`);
  return n;
}

/** Polls the recorder until the exchange of `path` is in it; resolves with its event. */
async function recorded(tapAddr: string, path: string, timeoutMs = 20_000): Promise<TapEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = (await lastExchanges(tapAddr, 4)).find((e) => e.path === path);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`the recorder never showed ${path} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The flight recorder's last `n` exchanges (a history-only tap with bodies). */
async function lastExchanges(tapAddr: string, n: number): Promise<TapEvent[]> {
  const stream = openTapStream(tapAddr, { matches: [], bodies: true, last: n, follow: false }, { deadlineMs: 20_000 });
  const events: TapEvent[] = [];
  try {
    for await (const m of stream.messages) if (m.type === 'event') events.push(m.event);
  } finally {
    stream.cancel();
  }
  return events;
}

/** Events without clock, ports and connection numbers (see the file comment). */
export function normalizeEvents(events: TapEvent[], upstreams: ReadonlyMap<string, string>): Array<Record<string, unknown>> {
  const connections = new Map<string, number>();
  return events.map((e) => {
    if (Number.isNaN(Date.parse(e.ts))) throw new Error(`event ${e.id} has a bad ts: ${e.ts}`);
    for (const k of ['latencyMs', 'durationMs'] as const) {
      const v = e[k];
      if (v !== undefined && !(typeof v === 'number' && v >= 0)) throw new Error(`event ${e.id} has a bad ${k}: ${v}`);
    }
    const out: Record<string, unknown> = { ...e };
    delete out.ts;
    delete out.latencyMs;
    delete out.durationMs;
    delete out.src;
    const dot = e.id.indexOf('.');
    const conn = dot < 0 ? e.id : e.id.slice(0, dot);
    if (!connections.has(conn)) connections.set(conn, connections.size + 1);
    out.id = `c${connections.get(conn)}${dot < 0 ? '' : e.id.slice(dot)}`;
    out.dst = upstreamName(e.dst, upstreams);
    return out;
  });
}

/** `127.0.0.1:PORT` of an upstream -> its name (`upstream`, `upstream2`…); anything else unchanged. */
function upstreamName(addr: string, upstreams: ReadonlyMap<string, string>): string {
  return upstreams.get(addr.slice(addr.lastIndexOf(':') + 1)) ?? addr;
}

function seriesKey(s: Sample, upstreams: ReadonlyMap<string, string>): string {
  const labels = Object.entries(s.labels)
    .map(([k, v]) => [k, upstreamName(v, upstreams)])
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  return `${s.name}{${labels}}`;
}

/** Per-series change between two scrapes, leaving out timing and engine-own series. */
export function metricDelta(before: Sample[], after: Sample[], upstreams: ReadonlyMap<string, string>): Record<string, number> {
  const was = new Map<string, number>();
  for (const s of before) was.set(seriesKey(s, upstreams), s.value);
  const out: Record<string, number> = {};
  for (const s of after) {
    if (UNCOMPARED.has(s.name) || isTiming(s.name) || isNativeOnly(s.name)) continue;
    const key = seriesKey(s, upstreams);
    const d = s.value - (was.get(key) ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

/** Both engines' sides; `run` plays one conversation through both at once. */
export interface EnginePair {
  sides: EngineSide[];
  run(conversation: Conversation): Promise<RunResult[]>;
  /** Runs each side's traffic (given that side) at once on both engines. */
  measure(traffic: (side: EngineSide) => Promise<void>): Promise<Observed[]>;
  close(): Promise<void>;
}

export async function startEnginePair(engines: readonly Engine[], options: EngineSideOptions = {}): Promise<EnginePair> {
  const sides: EngineSide[] = [];
  try {
    for (const e of engines) sides.push(await startEngineSide(e, options));
  } catch (err) {
    await Promise.all(sides.map((s) => s.close()));
    throw err;
  }
  return {
    sides,
    run: (c) => Promise.all(sides.map((s) => s.run(c))),
    measure: (traffic) => Promise.all(sides.map((s) => s.measure(() => traffic(s)))),
    close: async () => void (await Promise.all(sides.map((s) => s.close()))),
  };
}
