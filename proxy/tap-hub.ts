/**
 * Live tap subscribers. The tap stream never waits on a consumer: each subscriber has a
 * bounded queue; when it is full events are dropped, counted, and the subscriber is told how
 * many it lost. A per-subscriber token bucket enforces its max rate (per exchange).
 *
 * A subscriber whose queue is full is "not reading" (a stopped or stalled client): from then on
 * the data path makes no events and copies no bodies for it, it only counts what passed
 * (`skipped`), and the subscriber is told that count once its queue drains. So a tap that is
 * SIGSTOPped costs forwarding one counter per event, not an event and body copies per exchange.
 * The count is every event that passed meanwhile (its filter was not evaluated: an upper bound).
 *
 * Events are redacted per subscriber on the way out (the recorder keeps them whole in the
 * sidecar's memory; nothing leaves without the subscriber's grant being applied).
 *
 * Cost (issue 14: a live tap with bodies may cost at most 20 % of throughput): an event is
 * serialized once per grant shape whatever the number of subscribers, at enqueue, so a queue
 * holds JSON text rather than objects; what queued up during one turn of the event loop is
 * written as one batch (one gRPC message, tap wire v2). Two bounds per subscriber: its queue
 * (messages and body bytes; full = drop, count, stall) and the batch bytes written but not yet
 * sent on by the transport (a client that does not open its window holds at most that much).
 */
import {
  DEFAULT_SECRET_QUERY_PARAMS,
  DEFAULT_SENSITIVE_HEADERS,
  REDACTED,
  addSecrets,
  collectSecrets,
  filterView,
  redactEventSecrets,
  secretPolicy,
  TAP_BATCH_MAX_BYTES,
  TAP_BATCH_MAX_MESSAGES,
  batchText,
  type HeaderList,
  type TapBody,
  type TapEvent,
  type CompiledMatch,
  type DecisionPoint,
  type TapMessage,
} from '../tap-protocol/index.js';
import { bodyRedactionRules, DecodeBudget, DEFAULT_DECODED_BODY_CAP, redactBody, scrubBody, type BodyRedactionRules } from './body-redact.js';

/**
 * Where a subscriber's messages go, a batch at a time (tap wire v2: the JSON text of an array of
 * TapMessages). `written` is called once the transport has sent the batch on (for gRPC: handed
 * it to HTTP/2 within the stream's flow-control window); until then it counts as in flight.
 */
export interface MessageWriter {
  write(batch: string, written: () => void): void;
}

export interface SubscriberOptions {
  match: CompiledMatch;
  bodies: boolean;
  /** Only `end` events (TapRequest.endsOnly): `req`/`rsp` are never queued for it; its match is decided on the `end`. */
  endsOnly?: boolean;
  /** Header names (lower case) shown unredacted; `all` reveals every header. */
  reveal: ReadonlySet<string> | 'all';
  maxRps?: number;
  maxQueue?: number;
  /** Most body bytes waiting in the queue (default 8 MiB): a count bound alone let 1000 events with 64 KiB bodies queue 64 MiB. */
  maxQueueBodyBytes?: number;
  /**
   * Most batch characters written but not yet sent on by the transport (default 256 KiB): past it
   * nothing more is written until half of it went (the transport's own buffer, for a client with
   * a closed window, holds at most this much; the rest waits, bounded, in the queue).
   */
  maxInFlightBytes?: number;
  writer: MessageWriter;
}

/**
 * An event's message text written before it reached the hub (by C++: native/src/core/tap-event-json.h),
 * for a plain event (one no grant redacts): `text` is the event object without the identity fields
 * (`identity`, JSON members with a leading comma, go at `identityAt`; an rsp comes without its
 * requestHeaders, as eventMessageJson sends it); `cutFrom`..`cutTo` is left out (an end's body
 * members, for a grant without bodies); `bodyChars` counts the bodies' data characters;
 * `hasBodies`: the event has them.
 */
export interface EventText {
  kind: DecisionPoint;
  text: string;
  identityAt: number;
  identity: string;
  cutFrom: number;
  cutTo: number;
  bodyChars: number;
  hasBodies: boolean;
}

/** `{"type":"event","event":…}` of an EventText, with (`cut` false) or without its cut part. */
export function eventTextMessage(t: EventText, cut: boolean): string {
  const head = t.text.slice(0, t.identityAt);
  const rest = cut && t.cutFrom < t.cutTo ? t.text.slice(t.identityAt, t.cutFrom) + t.text.slice(t.cutTo) : t.text.slice(t.identityAt);
  return `{"type":"event","event":${head}${t.identity}${rest}}`;
}

/** Where a subscriber's history comes from (Subscriber.sendHistory): its messages, made when taken. */
export interface HistorySource {
  /**
   * The next message; undefined once there is none; null for "not yet": the source calls `wake`
   * (once, in a later turn) when it goes on, and until then nothing more is sent to the
   * subscriber (its live events wait behind the history, as ever).
   */
  next(wake: () => void): TapMessage | undefined | null;
  /** Lets go of what the source holds (its recorder snapshot): called once, when it is done or the subscriber closed. */
  close(): void;
}

export interface Subscriber {
  /** Queues a message directly; `force` bypasses the queue bound (a `flushed` marker is never lost). */
  send(msg: TapMessage, force?: boolean): void;
  /**
   * Sends `source`'s messages ahead of everything queued, taking them only while the transport
   * has room (the in-flight bound): a history read holds at most a few batches of its history,
   * whatever its size and its client's pace, and a client that pauses holds it there. Live
   * events queued meanwhile wait in the queue, under its bounds (past them counted and told as
   * lost, as ever), and follow the source's last message.
   */
  sendHistory(source: HistorySource): void;
  /** Stops taking live events; calls `done` once everything queued was handed to the writer. */
  finish(done: () => void): void;
  /** Stops delivery; the hub forgets the subscriber. */
  close(): void;
  readonly dropped: number;
  /** False until `startLive()` — history is sent first. */
  live: boolean;
}

/**
 * The native engine's tap gate (native/src/core/tap-gate.h): a token bucket in C++ that keeps
 * from JS, at their request head, the exchanges a rate-limited tap would drop, and counts them.
 */
export interface TapGate {
  /** Sets its rate in exchanges per second (0: off); returns its count (running total) as of the switch, exactly. */
  set(rps: number): number;
  /** Its count of exchanges kept from JS, a running total. */
  read(): number;
}

export interface TapHub {
  subscribe(options: SubscriberOptions): Subscriber;
  /** Whether a subscriber is reading (the connection layer makes no events otherwise). */
  readonly hasSubscribers: boolean;
  /** Whether a reading subscriber wants bodies (captures are made only then, or for the recorder). */
  readonly wantsBodies: boolean;
  /**
   * Calls `listener` whenever `wantsBodies` may have changed: the native engine decides in C++,
   * at each request head, whether body bytes cross to JS at all, so it must learn at once.
   */
  onWantsBodiesChange(listener: () => void): void;
  /** Calls `listener` whenever `count` changed (the native engine sends exchanges to JS only while it is above 0). */
  onCountChange(listener: () => void): void;
  /**
   * Calls `listener` with the body characters of each batch handed to a subscriber's transport
   * (bin/young-generation.ts: the native sidecar collects what a tap with bodies leaves behind).
   */
  onBodiesSent(listener: (chars: number) => void): void;
  /**
   * Calls `listener` whenever `hasSubscribers` may have changed: while subscribers are attached
   * and none is reading, the native engine sheds (sends JS no new exchange, counts its events).
   */
  onReadingChange(listener: () => void): void;
  /**
   * Where events the engine shed are counted (cumulative; native engine.shedEvents()): they are
   * events that passed while no subscriber was reading, counted and told exactly as `skipped()`
   * ones (`not-reading` in the metric, a `queue-full` loss to each subscriber).
   */
  setShedSource(read: () => number): void;
  /**
   * The native engine's gate (tap-gate.h), which the hub turns on while every subscriber is reading,
   * rate-limited and matches every exchange: at the largest subscriber rate, so that what C++ keeps
   * back is what each subscriber's own bucket would drop. What it counted is told to those
   * subscribers as rate-limit drops, as if JS had refused the exchanges itself.
   */
  setTapGate(gate: TapGate): void;
  /**
   * Whether the native tap gate is on: every subscriber is reading, rate-limited and matches every
   * exchange, so JS sees at most the largest subscriber rate of exchanges a second, not the traffic.
   */
  readonly gated: boolean;
  /** Calls `listener` whenever `gated` changed (bin/optimizing-compiler.ts). */
  onGateChange(listener: () => void): void;
  /** Counts what the shed source and the tap gate counted since last asked (the metrics do before each scrape, a Flush before its marker). */
  countShed(): void;
  /**
   * Whether a reading subscriber with bodies would be delivered the exchange `req` was published
   * for (its match decided at `req`, or not decidable yet): body bytes are copied only then.
   */
  wantsBodiesFor(req: Pick<TapEvent, 'id'>): boolean;
  /**
   * Whether a reading subscriber takes `req`/`rsp` events: false while every reading one is
   * ends-only (`record`, `top`), and then the data path makes none (their `end` says it all).
   */
  readonly wantsEarlyEvents: boolean;
  /** Every subscriber, reading or not. */
  readonly count: number;
  /**
   * Message characters held for subscribers: queued, and written but not yet sent on by the
   * transport (each subscriber's queue and in-flight bounds; a history is taken into batches only
   * within them). Read when the metrics are scraped.
   */
  readonly heldChars: number;
  publish(kind: DecisionPoint, event: TapEvent): void;
  /**
   * Publishes an event already written as text (EventText), when every subscriber it goes to takes
   * every event (a firehose: the text is then what each one's grant gets); false when one does
   * not (filters, rate limits: the caller publishes the event object instead), nothing done then.
   */
  publishText(t: EventText): boolean;
  /** Whether every subscriber takes every event (then publishText always succeeds for a reading one). */
  readonly takesEveryEvent: boolean;
  /** What is secret to every grant but `*` (the hub's rules), for whoever writes EventTexts. */
  readonly textPolicy: { sensitiveHeaders: readonly string[]; bodyFields: readonly string[]; isSupported: boolean };
  /** An event nobody reading was given: counted for the subscribers that are not reading. */
  skipped(): void;
  /** Lower-case names of the headers redacted unless revealed. */
  readonly sensitiveHeaders: ReadonlySet<string>;
  /** Redacts an event for a subscriber's grant (used for history too). */
  shape(event: TapEvent, options: Pick<SubscriberOptions, 'bodies' | 'reveal'>): TapEvent;
  /**
   * `match` testing events as this grant would be shown them (redacted: tap-protocol/redact-event.ts,
   * and scrubbed of the values of its bodies' secret fields: `shape`), so a filter is never an
   * oracle for a secret (live and history alike).
   */
  redactedMatch(match: CompiledMatch, options: Pick<SubscriberOptions, 'reveal'>): CompiledMatch;
}

const DEFAULT_MAX_QUEUE = 1000;
const DEFAULT_MAX_QUEUE_BODY_BYTES = 8 * 1024 * 1024;
const DEFAULT_MAX_IN_FLIGHT_BYTES = 256 * 1024;
/** Queued message characters (all subscribers) that are written at the end of the turn (see flushDirty). */
export const FLUSH_CHARS = 32 * 1024;
/**
 * Longest a queued message waits to be written when less than FLUSH_CHARS queued. Below the rate
 * at which FLUSH_CHARS fills within it, this sets the number of writes: at 5 ms a firehose tap at
 * 2,000 exchanges/s made ~200 writes of ~18 KiB a second, each waking the tap client and costing both
 * ends their per-write work. At 20 ms (issue 14, session 9; `bench/tap-split.sh`-style pairs at
 * 2,000/s, eight interleaved pairs over two runs with the two builds' sidecars swapped, load 8–9):
 * the sidecar's JS thread used less CPU per exchange in 7 of 8 pairs (medians 79 → 72 and 84 → 76 µs)
 * and the tap client in 8 of 8 (44 → 32, 41 → 37 µs). At max load FLUSH_CHARS decides and nothing
 * changes. A person reading a tap does not see 20 ms; the queue's bounds are unchanged.
 */
export const FLUSH_DELAY_MS = 20;
/**
 * The same while the native tap gate is on (every subscriber rate-limited, issue 14): their events
 * come at most at their rate, so at 5 ms nearly every event was a write of its own (~50–120 µs of
 * JS each); at 50 ms a write carries several. With the gate's 20 ms doorbell it halved the JS
 * thread's CPU under a 100/s tap at 2,000 req/s (8 s windows, three rounds, load 8–10: 25–28
 * ticks vs 44–59). A person reading a rate-limited tap does not see 50 ms.
 */
export const GATED_FLUSH_DELAY_MS = 50;
/** What a notice (`dropped`, `history-end`) counts toward FLUSH_CHARS. */
const NOTICE_CHARS = 64;

/**
 * The wire JSON of an event message, `{"type":"event","event":EVENT}`. An `rsp` event leaves
 * without `requestHeaders` (DESIGN §5: `req` and `end` carry them; an `rsp` is paired with its
 * `req` by `id`), which were ~20 % of a tapped exchange's JSON with a browser's or gRPC's request
 * headers. The event in memory keeps them: a filter decided at `rsp` (`--header` with `--status`)
 * tests them, and `shape` hides the secrets they hold from the rsp's other fields. They are left
 * out by reading as undefined for the one JSON.stringify (which skips undefined fields), restored
 * at once: a copy of the event without them cost more than they did (docs/decisions.md).
 */
export function eventMessageJson(e: TapEvent): string {
  if (e.kind !== 'rsp' || e.requestHeaders === undefined) return `{"type":"event","event":${JSON.stringify(e)}}`;
  const requestHeaders = e.requestHeaders;
  e.requestHeaders = undefined;
  try {
    return `{"type":"event","event":${JSON.stringify(e)}}`;
  } finally {
    e.requestHeaders = requestHeaders;
  }
}

/** Body characters an event holds (what dominates a queued message's memory when bodies are on). */
function bodyBytesOf(e: TapEvent): number {
  return (e.requestBody?.data.length ?? 0) + (e.responseBody?.data.length ?? 0);
}

/**
 * What a subscriber's shape depends on: subscribers with the same key get the same JSON, so two
 * grants must never share a key. The revealed names are JSON-quoted: joined by a bare comma, a
 * grant revealing a header named "authorization,cookie" read as one revealing both (review8).
 */
function shapeKeyOf(o: Pick<SubscriberOptions, 'bodies' | 'reveal'>): string {
  return `${o.bodies ? 'b' : '-'}|${o.reveal === 'all' ? '*' : JSON.stringify([...o.reveal].sort())}`;
}
/**
 * Rate-limit losses are told to the subscriber in one notice per this interval (or right before
 * its next event), not one per lost exchange: a notice per drop would undo the rate limit.
 */
const RATE_NOTICE_INTERVAL_MS = 1000;
const MAX_PENDING_EXCHANGES = 10_000;
const ORDER: Record<DecisionPoint, number> = { req: 0, rsp: 1, end: 2 };

export function createTapHub(
  options: {
    sensitiveHeaders?: readonly string[];
    bodyRedaction?: BodyRedactionRules;
    /** The sidecar's body limit: a coded body's decoded text is cut there (default 64 KiB). */
    bodyLimit?: number;
    /** Milliseconds a second spent decoding coded bodies, past which they are withheld (default DECODE_BUDGET_MS_PER_SECOND). */
    decodeBudgetMs?: number;
    onDropped?: (reason: string, n: number) => void;
    /**
     * A bound was hit (`scrubbed-secrets`: an event held more hidden values than are scrubbed
     * elsewhere; `decoded-body`: a coded body's decoded text reached the body limit;
     * `decode-budget`: a coded body was withheld, the second's decoding time spent).
     */
    onBoundHit?: (bound: string) => void;
  } = {},
): TapHub {
  const bodyRules = options.bodyRedaction ?? bodyRedactionRules();
  /**
   * Redacted bodies, made once per captured body whatever the number of subscribers: publish
   * hands one event to every subscriber in turn, so the newest two (an `end` event's request and
   * response bodies) are all that is kept (a WeakMap of every body cost a tap ~2 % in its GC).
   */
  const recentBodies: [TapBody | undefined, TapBody | undefined, TapBody | undefined, TapBody | undefined] = [undefined, undefined, undefined, undefined];
  /** The secret field values each of the two recent bodies held (scrubbed from the event's other fields). */
  const recentValues: [string[] | undefined, string[] | undefined] = [undefined, undefined];
  let recentSlot = 0;
  /** The secret field values of the body `redactedBody` was last asked for (undefined: none). */
  let lastBodyValues: string[] | undefined;
  let collectedValues: string[] | undefined;
  const collectValue = (v: string): void => {
    (collectedValues ??= []).push(v);
  };
  const bodyLimit = options.bodyLimit ?? DEFAULT_DECODED_BODY_CAP;
  // A coded body's decoded text cut at the body limit is a bound hit (meshtap_bound_hit_total{bound="decoded-body"}).
  const onCapped = (): void => options.onBoundHit?.('decoded-body');
  // The sidecar's time for decoding coded bodies, per second (body-redact.ts DECODE_BUDGET_MS_PER_SECOND).
  const budget = new DecodeBudget(options.decodeBudgetMs);
  const onBudgetSpent = (): void => options.onBoundHit?.('decode-budget');
  const decoding = { http: { cap: bodyLimit, grpc: false, onCapped, budget, onBudgetSpent }, grpc: { cap: bodyLimit, grpc: true, onCapped, budget, onBudgetSpent } };
  const redactedBody = (b: TapBody, headers: HeaderList | undefined, grpc: boolean): TapBody => {
    if (recentBodies[0] === b) {
      lastBodyValues = recentValues[0];
      return recentBodies[1]!;
    }
    if (recentBodies[2] === b) {
      lastBodyValues = recentValues[1];
      return recentBodies[3]!;
    }
    collectedValues = undefined;
    // A coded body is decoded (bounded by the body limit) and redacted as text: body-redact.ts.
    const r = redactBody(b, headerValue(headers, 'content-type'), bodyRules, collectValue, headers, grpc ? decoding.grpc : decoding.http);
    lastBodyValues = collectedValues;
    recentBodies[recentSlot] = b;
    recentBodies[recentSlot + 1] = r;
    recentValues[recentSlot / 2] = lastBodyValues;
    recentSlot = 2 - recentSlot;
    return r;
  };
  const sensitive = new Set((options.sensitiveHeaders ?? DEFAULT_SENSITIVE_HEADERS).map((h) => h.toLowerCase()));
  // Query parameters are secret by the body fields' names (--redact-body-field NAME too) and signed URLs' ones.
  const secrets = secretPolicy(sensitive, [...DEFAULT_SECRET_QUERY_PARAMS, ...bodyRules.fields], () => options.onBoundHit?.('scrubbed-secrets'));
  const subs = new Set<SubscriberState>();
  /** Reading subscribers, and those of them with bodies. */
  let reading = 0;
  let readingBodies = 0;
  const bodiesListeners: (() => void)[] = [];
  const countListeners: (() => void)[] = [];
  const bodiesSentListeners: ((chars: number) => void)[] = [];
  /** Adds `delta` to readingBodies and tells the listeners when it crossed zero. */
  const addReadingBodies = (delta: number): void => {
    const was = readingBodies > 0;
    readingBodies += delta;
    if (was !== readingBodies > 0) for (const l of bodiesListeners) l();
  };
  /** Subscribers that are not reading, and the events that passed while any was not (running total). */
  let stalledSubs = 0;
  let skippedTotal = 0;
  const countSkipped = (): void => {
    skippedTotal++;
    options.onDropped?.('not-reading', 1);
  };
  const readingListeners: (() => void)[] = [];
  /** Adds `delta` to reading and tells the listeners when it crossed zero. */
  const addReading = (delta: number): void => {
    const was = reading > 0;
    reading += delta;
    if (was !== reading > 0) for (const l of readingListeners) l();
  };

  // Events the native engine shed (sent no record for) while nobody was reading: read from it and
  // counted as skipped ones. Read when a subscriber resumes, when `dropped` is read, when batches
  // are written, and when the metrics are scraped (`countShed`).
  let shedRead: (() => number) | undefined;
  let shedSeen = 0;
  const syncShed = (): void => {
    if (shedRead === undefined) return;
    const now = shedRead();
    if (now <= shedSeen) return;
    const delta = now - shedSeen;
    shedSeen = now;
    skippedTotal += delta;
    options.onDropped?.('not-reading', delta);
    // The rest of an exchange shed while nobody read (its response, its end) may come after a
    // subscriber resumed: lost to it as well, and told so.
    for (const s of subs) if (!s.stalled) s.lost(delta);
  };

  // The native engine's tap gate: its rate (0: off), the subscribers its count is told to (those
  // there when the rate was last set), and its count as last read.
  let gate: TapGate | undefined;
  let gateRps = 0;
  let gatedSubs: ReadonlySet<SubscriberState> = new Set();
  let gateSeen = 0;
  let gateTimer: NodeJS.Timeout | undefined;
  const gateListeners: (() => void)[] = [];
  /** Tells the gate's count since last read (`now`: as the gate returned it) to the subscribers it was counted for. */
  const syncGate = (now = gate?.read()): void => {
    if (now === undefined || now <= gateSeen) return;
    const delta = now - gateSeen;
    gateSeen = now;
    let told = 0;
    for (const s of gatedSubs) if (s.rateLimited(delta)) told++;
    if (told > 0) options.onDropped?.('rate-limit', delta * told);
  };
  /**
   * Sets the gate's rate for the subscribers there now: the largest subscriber rate when every
   * subscriber is reading, rate-limited and matches everything, else 0. A filtered subscriber would
   * lose exchanges C++ cannot test its filter on (events are made in JS); one not reading counts
   * every event that passes (`skipped`), which a gated exchange never makes; an unlimited one
   * takes all. Each change splits the count exactly: what was gated before goes to the previous
   * subscribers (gate.set returns the count at the switch).
   */
  const recomputeGate = (): void => {
    if (gate === undefined) return;
    let rps = 0;
    for (const s of subs) {
      const r = s.opts.maxRps;
      if (s.stalled || s.opts.match.matchesAll !== true || r === undefined || !(r > 0)) {
        rps = 0;
        break;
      }
      rps = Math.max(rps, r);
    }
    const members: ReadonlySet<SubscriberState> = rps > 0 ? new Set(subs) : new Set();
    if (rps === 0 && gateRps === 0) return;
    syncGate(gate.set(rps));
    const wasGated = gateRps > 0;
    gateRps = rps;
    if (wasGated !== rps > 0) for (const l of gateListeners) l();
    gatedSubs = members;
    // Gated exchanges make no record, so no wake may come to tell them: read the count now and then.
    if (rps > 0 && gateTimer === undefined) {
      gateTimer = setInterval(() => syncGate(), RATE_NOTICE_INTERVAL_MS);
      gateTimer.unref();
    } else if (rps === 0 && gateTimer !== undefined) {
      clearInterval(gateTimer);
      gateTimer = undefined;
    }
  };

  interface SubscriberState extends Subscriber {
    opts: SubscriberOptions;
    /** shapeKeyOf(opts). */
    shapeKey: string;
    /**
     * It takes every event of every exchange as it comes (a match that accepts everything, decided
     * at `req`, and no rate limit: the firehose): delivered without the per-exchange bookkeeping,
     * which would admit each exchange at its first event and deliver the rest (the same messages).
     */
    takesAll: boolean;
    /** Queues an event message already serialized (`json`), holding `bodyBytes` of bodies. */
    enqueueJson(json: string, bodyBytes: number): void;
    /** Characters queued and in flight (TapHub.heldChars). */
    held(): number;
    /** Writes what is queued (batches), unless the transport is full. */
    pump(): void;
    pending: Map<string, TapEvent[]>;
    admitted: Set<string>;
    /** Exchanges already decided against (so a later event does not re-decide them). */
    rejected: Set<string>;
    enqueue(msg: TapMessage, force?: boolean): void;
    tokens: number;
    /**
     * `n` exchanges (default 1) were refused by this subscriber's rate limit (or the tap gate for
     * it): counted and, coalesced, told. False if it takes no live events (closed, not live).
     */
    rateLimited(n?: number): boolean;
    lastRefill: number;
    /** The queue is full: not reading. */
    stalled: boolean;
    /** `n` events it was not given (shed by the engine) while it was reading: counted and told as a queue-full loss. */
    lost(n: number): void;
  }

  /**
   * Sensitive headers, secret query parameters and the values they hide, wherever else these
   * appear in the event (tap-protocol/redact-event.ts), then bodies: redacted by field, scrubbed
   * of the same hidden values.
   */
  const shape = (e: TapEvent, o: Pick<SubscriberOptions, 'bodies' | 'reveal'>): TapEvent => {
    let hidden = collectSecrets(e, secrets, o.reveal);
    const stripBodies = !o.bodies && (e.requestBody !== undefined || e.responseBody !== undefined);
    // Secrets in bodies are revealed exactly as headers are: only to a grant revealing them all.
    // Redacted also for a viewer without bodies: the values of secret fields must not show in the path or headers.
    let qb = e.requestBody;
    let sb = e.responseBody;
    if (o.reveal !== 'all' && (qb !== undefined || sb !== undefined)) {
      let values: string[] | undefined;
      if (qb) {
        qb = redactedBody(qb, e.requestHeaders, e.protocol === 'grpc');
        values = lastBodyValues;
      }
      if (sb) {
        sb = redactedBody(sb, e.responseHeaders, e.protocol === 'grpc');
        if (lastBodyValues) values = values ? [...values, ...lastBodyValues] : lastBodyValues;
      }
      if (values) hidden = addSecrets(hidden, values, secrets);
    }
    const v = redactEventSecrets(e, secrets, o.reveal, hidden);
    if (hidden !== undefined && hidden.length > 0 && o.bodies) {
      if (qb) qb = scrubBody(qb, hidden, e.protocol === 'grpc');
      if (sb) sb = scrubBody(sb, hidden, e.protocol === 'grpc');
    }
    // grpcMessage is the grpc-message trailer's value: redacted with it when that header was made sensitive.
    const hideGrpcMessage = e.grpcMessage !== undefined && sensitive.has('grpc-message') && o.reveal !== 'all' && !o.reveal.has('grpc-message');
    if (v === e && !stripBodies && !hideGrpcMessage && qb === e.requestBody && sb === e.responseBody) return e;
    const out: TapEvent = v === e ? { ...e } : v;
    if (hideGrpcMessage) out.grpcMessage = REDACTED;
    if (qb) out.requestBody = qb;
    if (sb) out.responseBody = sb;
    if (stripBodies) {
      delete out.requestBody;
      delete out.responseBody;
    }
    return out;
  };

  /** A bucket of one second of the rate, and at least one exchange: a rate below 1/s still admits one now and then. */
  const bucketSize = (rps: number | undefined): number => (rps ? Math.max(1, rps) : 0);
  const takeToken = (s: SubscriberState): boolean => {
    const rps = s.opts.maxRps;
    if (!rps) return true;
    const now = performance.now();
    s.tokens = Math.min(bucketSize(rps), s.tokens + ((now - s.lastRefill) / 1000) * rps);
    s.lastRefill = now;
    if (s.tokens >= 1) {
      s.tokens -= 1;
      return true;
    }
    return false;
  };

  /**
   * The message JSON of event `e` shaped for `s`. Made once per event and shape, whatever the
   * number of subscribers: publish hands one event to every subscriber in turn, so the cache
   * holds the last event's texts only.
   */
  let cachedEvent: TapEvent | undefined;
  // The first shape asked for this event in a slot of its own (one subscriber, or several of one
  // grant: no Map work per event); other shapes in the Map.
  let firstKey: string | undefined;
  let firstJson = '';
  const cachedJson = new Map<string, string>();
  const messageJson = (e: TapEvent, s: SubscriberState): string => {
    if (e !== cachedEvent) {
      const json = eventMessageJson(shape(e, s.opts));
      cachedEvent = e;
      firstKey = s.shapeKey;
      firstJson = json;
      if (cachedJson.size > 0) cachedJson.clear();
      return json;
    }
    if (s.shapeKey === firstKey) return firstJson;
    let json = cachedJson.get(s.shapeKey);
    if (json === undefined) {
      json = eventMessageJson(shape(e, s.opts));
      cachedJson.set(s.shapeKey, json);
    }
    return json;
  };
  const deliver = (s: SubscriberState, e: TapEvent): void => {
    s.enqueueJson(messageJson(e, s), s.opts.bodies ? bodyBytesOf(e) : 0);
  };

  /**
   * Subscribers with something queued, written together: once FLUSH_CHARS of messages queued up
   * (at the end of that turn of the event loop), else FLUSH_DELAY_MS after the first one. Each
   * write is one gRPC message and costs the JS thread ~50–120 µs whatever its size (grpc-js, an
   * HTTP/2 DATA frame, its callbacks): written once per turn, a tap at 2,000 exchanges/s cost
   * ~40 µs per exchange in writes alone (issue 14); a few milliseconds of delay cost a human
   * reading a tap nothing.
   */
  const dirty = new Set<SubscriberState>();
  let flushScheduled: 'now' | 'later' | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  let dirtyChars = 0;
  const flushDirty = (): void => {
    flushScheduled = undefined;
    if (flushTimer !== undefined) clearTimeout(flushTimer);
    flushTimer = undefined;
    dirtyChars = 0;
    syncShed();
    syncGate();
    for (const s of dirty) {
      dirty.delete(s);
      s.pump();
    }
  };
  const schedulePump = (s: SubscriberState, chars: number): void => {
    dirty.add(s);
    dirtyChars += chars;
    if (flushScheduled === 'now') return;
    if (dirtyChars >= FLUSH_CHARS) {
      flushScheduled = 'now';
      setImmediate(flushDirty);
    } else if (flushScheduled === undefined) {
      flushScheduled = 'later';
      flushTimer = setTimeout(flushDirty, gateRps > 0 ? GATED_FLUSH_DELAY_MS : FLUSH_DELAY_MS);
    }
  };

  return {
    subscribe(opts) {
      // The queue: message JSON texts (events, serialized at enqueue) and notices (objects whose
      // count may still grow, serialized when written); `head` is the oldest.
      const queue: Array<string | TapMessage> = [];
      const queueBodies: number[] = [];
      let head = 0;
      const queued = (): number => queue.length - head;
      let dropped = 0;
      let waitingDrain = false;
      let closed = false;
      let onFlushed: (() => void) | undefined;
      let rateLimitedUntold = 0;
      let rateNoticeTimer: NodeJS.Timeout | undefined;
      const maxQueue = opts.maxQueue ?? DEFAULT_MAX_QUEUE;
      const maxBodyBytes = opts.maxQueueBodyBytes ?? DEFAULT_MAX_QUEUE_BODY_BYTES;
      let queuedBodyBytes = 0;
      const maxInFlight = opts.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES;
      let inFlight = 0;
      /** Characters of the queued messages (a notice counts NOTICE_CHARS). */
      let queuedChars = 0;
      /** The history being sent (sendHistory), and its message taken but not yet fitted into a batch. */
      let history: HistorySource | undefined;
      let historyNext: string | undefined;
      let historyNextBodies = 0;
      /** The history answered "not yet" (HistorySource.next): the pump waits for its wake. */
      let historyWaiting = false;
      const push = (item: string | TapMessage, bodyBytes: number): void => {
        queue.push(item);
        queueBodies.push(bodyBytes);
        queuedBodyBytes += bodyBytes;
        queuedChars += typeof item === 'string' ? item.length : NOTICE_CHARS;
        if (!waitingDrain) schedulePump(s, typeof item === 'string' ? item.length : NOTICE_CHARS);
      };
      const tail = (): string | TapMessage | undefined => (queued() > 0 ? queue[queue.length - 1] : undefined);
      const tellRateLimited = () => {
        if (rateNoticeTimer) clearTimeout(rateNoticeTimer);
        rateNoticeTimer = undefined;
        if (rateLimitedUntold === 0 || closed) return;
        push({ type: 'dropped', count: rateLimitedUntold, reason: 'rate-limit' }, 0);
        rateLimitedUntold = 0;
      };
      /** `skippedTotal` when this subscriber stopped reading. */
      let skippedMark = 0;
      const stall = () => {
        s.stalled = true;
        recomputeGate(); // its share of what was gated while it read is told first (it was reading)
        skippedMark = skippedTotal;
        stalledSubs++;
        if (opts.bodies) addReadingBodies(-1);
        addReading(-1);
        // Nothing more is decided for it while it does not read: what it held is lost anyway.
        s.pending.clear();
        s.admitted.clear();
        s.rejected.clear();
      };
      /** Counts `lost` events as dropped for a full queue and tells them (one notice for consecutive losses). */
      const tellLost = (lost: number): void => {
        dropped += lost;
        const t = tail();
        if (typeof t === 'object' && t.type === 'dropped' && t.reason === 'queue-full') t.count += lost;
        else push({ type: 'dropped', count: lost, reason: 'queue-full' }, 0);
      };
      const resume = () => {
        syncShed(); // what the engine shed while this subscriber was not reading is its loss too
        s.stalled = false;
        stalledSubs--;
        if (opts.bodies) addReadingBodies(1);
        const lost = skippedTotal - skippedMark;
        if (lost > 0) tellLost(lost);
        addReading(1);
        recomputeGate();
      };
      /** Body characters of the messages the last takeBatch took. */
      let takenBodyChars = 0;
      /** Takes the oldest messages, up to the batch bounds, off the queue as one batch's text. */
      const takeBatch = (): string => {
        const parts: string[] = [];
        let bytes = 0;
        takenBodyChars = 0;
        while (head < queue.length && parts.length < TAP_BATCH_MAX_MESSAGES) {
          const item = queue[head]!;
          const text = typeof item === 'string' ? item : JSON.stringify(item);
          if (parts.length > 0 && bytes + text.length > TAP_BATCH_MAX_BYTES) break;
          parts.push(text);
          bytes += text.length;
          queuedChars -= typeof item === 'string' ? item.length : NOTICE_CHARS;
          queuedBodyBytes -= queueBodies[head]!;
          takenBodyChars += queueBodies[head]!;
          // Let go of what was taken: the array keeps its slots until it is emptied or cut (below), and
          // a reader that stays behind kept up to 1024 sent messages alive (64 MB with 64 KiB bodies).
          queue[head] = '';
          head++;
        }
        if (head === queue.length) {
          queue.length = 0;
          queueBodies.length = 0;
          head = 0;
        } else if (head >= 1024 && head * 2 >= queue.length) {
          queue.splice(0, head);
          queueBodies.splice(0, head);
          head = 0;
        }
        return batchText(parts);
      };
      /** Lets go of the history source (done, or the subscriber closed). */
      const endHistory = (): void => {
        const h = history;
        history = undefined;
        historyNext = undefined;
        historyWaiting = false;
        h?.close();
      };
      /**
       * Takes the history's next messages, up to the batch bounds, as one batch's text (empty once
       * the source is done: the queue's turn then).
       */
      const takeHistoryBatch = (): string => {
        const parts: string[] = [];
        let bytes = 0;
        takenBodyChars = 0;
        while (history !== undefined && parts.length < TAP_BATCH_MAX_MESSAGES) {
          if (historyNext === undefined) {
            const msg = history.next(wakeHistory);
            if (msg === null) {
              historyWaiting = true;
              break;
            }
            if (msg === undefined) {
              endHistory();
              break;
            }
            historyNext = msg.type === 'event' ? eventMessageJson(msg.event) : JSON.stringify(msg);
            historyNextBodies = msg.type === 'event' ? bodyBytesOf(msg.event) : 0;
          }
          if (parts.length > 0 && bytes + historyNext.length > TAP_BATCH_MAX_BYTES) break;
          parts.push(historyNext);
          bytes += historyNext.length;
          takenBodyChars += historyNextBodies;
          historyNext = undefined;
        }
        return parts.length === 0 ? '' : batchText(parts);
      };
      const pump = () => {
        while ((history !== undefined || queued() > 0) && !closed) {
          if (historyWaiting) return; // wakeHistory pumps again
          if (inFlight >= maxInFlight) return waitDrain();
          const batch = history !== undefined ? takeHistoryBatch() : takeBatch();
          if (batch === '') continue; // the history ended with the batch before, or waits
          if (closed) return; // the source closed the subscriber (its read failed)
          inFlight += batch.length;
          opts.writer.write(batch, () => sent(batch.length));
          if (takenBodyChars > 0) for (const l of bodiesSentListeners) l(takenBodyChars);
          if (inFlight >= maxInFlight) return waitDrain();
          // Reading again once half the queue is free (not at the first free slot: no flapping).
          if (s.stalled && queued() <= maxQueue / 2 && queuedBodyBytes <= maxBodyBytes / 2) resume();
        }
        if (s.stalled && !closed) resume();
        if (queued() > 0 && !closed) return pump(); // resume() queued the loss notice
        if (onFlushed && queued() === 0 && history === undefined) {
          const cb = onFlushed;
          onFlushed = undefined;
          s.close();
          cb();
        }
      };
      const waitDrain = () => {
        waitingDrain = true;
      };
      /** The history goes on after a "not yet" (HistorySource.next). */
      const wakeHistory = (): void => {
        if (!historyWaiting) return;
        historyWaiting = false;
        if (!waitingDrain && !closed) pump();
      };
      /** The transport sent a batch on: write more once half of the in-flight bound is free. */
      const sent = (chars: number) => {
        inFlight -= chars;
        if (waitingDrain && inFlight <= maxInFlight / 2) {
          waitingDrain = false;
          pump();
        }
      };
      /** Whether the queue has no room for one more live message: counted, told, and the subscriber stalls. */
      const isFull = (force: boolean | undefined): boolean => {
        if ((queued() < maxQueue && queuedBodyBytes < maxBodyBytes) || force) return false;
        // The notice stands where the lost events would have been; consecutive losses share it
        // (so the queue holds at most maxQueue + 1 messages).
        dropped++;
        options.onDropped?.('queue-full', 1);
        const t = tail();
        if (typeof t === 'object' && t.type === 'dropped') t.count++;
        else push({ type: 'dropped', count: 1, reason: 'queue-full' }, 0);
        if (!s.stalled) stall();
        return true;
      };
      const s: SubscriberState = {
        opts,
        shapeKey: shapeKeyOf(opts),
        takesAll: opts.match.matchesAll === true && opts.match.point === 'req' && !opts.maxRps, // as takeToken reads maxRps
        pending: new Map(),
        admitted: new Set(),
        rejected: new Set(),
        tokens: bucketSize(opts.maxRps),
        lastRefill: performance.now(),
        live: false,
        stalled: false,
        get dropped() {
          syncShed();
          syncGate();
          return dropped + (s.stalled ? skippedTotal - skippedMark : 0);
        },
        lost(n) {
          if (!closed && s.live) tellLost(n);
        },
        rateLimited(n = 1) {
          if (closed || !s.live) return false;
          dropped += n;
          rateLimitedUntold += n;
          if (!rateNoticeTimer) {
            rateNoticeTimer = setTimeout(tellRateLimited, RATE_NOTICE_INTERVAL_MS);
            rateNoticeTimer.unref();
          }
          return true;
        },
        enqueueJson(json, bodyBytes) {
          if (closed) return;
          // Losses are told where they happened: before the next event.
          if (rateLimitedUntold > 0) tellRateLimited();
          if (isFull(false)) return;
          push(json, bodyBytes);
        },
        enqueue(msg, force) {
          if (closed) return;
          // A `flushed` marker follows every loss counted before it (tap-types.ts), as events do.
          if (rateLimitedUntold > 0 && (msg.type === 'event' || msg.type === 'flushed')) tellRateLimited();
          if (isFull(force)) return;
          push(msg.type === 'event' ? eventMessageJson(msg.event) : JSON.stringify(msg), msg.type === 'event' ? bodyBytesOf(msg.event) : 0);
        },
        pump() {
          if (!waitingDrain) pump();
        },
        held() {
          return queuedChars + inFlight + (historyNext?.length ?? 0);
        },
        send(msg, force) {
          s.enqueue(msg, force);
        },
        sendHistory(source) {
          if (closed) return source.close();
          if (history !== undefined) throw new Error('tap-hub: a subscriber takes one history');
          history = source;
          if (!waitingDrain) schedulePump(s, FLUSH_CHARS); // at the end of this turn, as a full queue is
        },
        finish(done) {
          syncGate(); // what was gated while it was live is its to be told
          s.live = false;
          tellRateLimited();
          onFlushed = done;
          if (!waitingDrain) pump();
        },
        close() {
          if (closed) return;
          closed = true;
          queue.length = 0;
          queueBodies.length = 0;
          head = 0;
          queuedBodyBytes = 0;
          queuedChars = 0;
          endHistory();
          dirty.delete(s);
          if (rateNoticeTimer) clearTimeout(rateNoticeTimer);
          if (!subs.delete(s)) return;
          if (s.stalled) stalledSubs--;
          else {
            if (opts.bodies) addReadingBodies(-1);
            addReading(-1);
          }
          recomputeGate();
          for (const l of countListeners) l();
        },
      };
      subs.add(s);
      if (opts.bodies) addReadingBodies(1);
      addReading(1);
      recomputeGate();
      for (const l of countListeners) l();
      return s;
    },
    get hasSubscribers() {
      return reading > 0;
    },
    get wantsBodies() {
      return readingBodies > 0;
    },
    onWantsBodiesChange(listener) {
      bodiesListeners.push(listener);
    },
    onCountChange(listener) {
      countListeners.push(listener);
    },
    onBodiesSent(listener) {
      bodiesSentListeners.push(listener);
    },
    onReadingChange(listener) {
      readingListeners.push(listener);
    },
    setShedSource(read) {
      shedRead = read;
      shedSeen = read();
    },
    setTapGate(g) {
      gate = g;
      gateSeen = g.read();
      recomputeGate();
    },
    get gated() {
      return gateRps > 0;
    },
    onGateChange(listener) {
      gateListeners.push(listener);
    },
    countShed() {
      syncShed();
      syncGate();
    },
    get wantsEarlyEvents() {
      for (const s of subs) if (s.live && !s.stalled && s.opts.endsOnly !== true) return true;
      return false;
    },
    wantsBodiesFor(req) {
      if (readingBodies === 0) return false;
      for (const s of subs) {
        if (!s.live || s.stalled || !s.opts.bodies) continue;
        if (s.takesAll) return true;
        if (s.admitted.has(req.id)) return true;
        if ((s.opts.endsOnly === true || s.opts.match.point !== 'req') && !s.rejected.has(req.id)) return true; // decided later: it may be delivered
      }
      return false;
    },
    skipped() {
      if (stalledSubs > 0) countSkipped();
    },
    get count() {
      return subs.size;
    },
    get heldChars() {
      let n = 0;
      for (const s of subs) n += s.held();
      return n;
    },
    sensitiveHeaders: sensitive,
    get takesEveryEvent() {
      if (subs.size === 0) return false;
      for (const s of subs) if (!s.takesAll) return false;
      return true;
    },
    // JSON paths name fields by position, which an EventText writer does not follow.
    textPolicy: { sensitiveHeaders: [...sensitive], bodyFields: [...bodyRules.fields], isSupported: bodyRules.paths.length === 0 },
    publishText(t) {
      const kind = t.kind;
      for (const s of subs) {
        if (!s.live || s.stalled || (kind !== 'end' && s.opts.endsOnly === true)) continue;
        if (!s.takesAll) return false;
      }
      // As publish does for subscribers that take all: the same messages, the same counts.
      if (stalledSubs > 0) countSkipped();
      let whole: string | undefined;
      let cut: string | undefined;
      for (const s of subs) {
        if (!s.live || s.stalled || (kind !== 'end' && s.opts.endsOnly === true)) continue;
        // shape(): a plain event is itself for every grant, less its bodies for one without them.
        if (kind === 'end' && t.hasBodies && s.opts.bodies) s.enqueueJson((whole ??= eventTextMessage(t, false)), t.bodyChars);
        else s.enqueueJson((cut ??= eventTextMessage(t, kind !== 'req')), 0);
      }
      return true;
    },
    shape,
    redactedMatch(match, o) {
      const reveal = o.reveal;
      // Nothing to hide from a match on method, status, addresses…: it tests events as they are.
      if (reveal === 'all' || match.readsSecrets === false) return match;
      // An event with bodies (an `end`: live with a capture, or the recorder's with --recorder-bodies)
      // is shown scrubbed of its secret body fields' values too: the filter tests exactly that
      // (shape, bodies left out: no filter reads them; its body redaction is cached for the delivery).
      const view = (e: TapEvent): TapEvent => (e.requestBody === undefined && e.responseBody === undefined ? filterView(e, secrets, reveal) : shape(e, { bodies: false, reveal }));
      return { point: match.point, matchesAll: match.matchesAll, test: (e) => match.test(view(e)) };
    },
    publish(kind, event) {
      if (stalledSubs > 0) countSkipped(); // the subscribers not reading miss this one too
      for (const s of subs) {
        if (!s.live || s.stalled) continue;
        // An ends-only tap decides at the `end` (nothing held, nothing admitted before it).
        if (kind !== 'end' && s.opts.endsOnly === true) continue;
        if (s.takesAll) {
          deliver(s, event);
          continue;
        }
        const id = event.id;
        if (s.admitted.has(id)) {
          deliver(s, event);
          if (kind === 'end') s.admitted.delete(id);
          continue;
        }
        const point = s.opts.match.point;
        if (ORDER[kind] < ORDER[point]) {
          // Not decidable yet: hold the event (bounded).
          let held = s.pending.get(id);
          if (!held) {
            if (s.pending.size >= MAX_PENDING_EXCHANGES) {
              options.onDropped?.('pending-full', 1);
              continue;
            }
            held = [];
            s.pending.set(id, held);
          }
          held.push(event);
          continue;
        }
        if (s.rejected.has(id)) {
          if (kind === 'end') s.rejected.delete(id);
          continue;
        }
        // Decision point (or later, for an exchange that began before the subscription).
        const held = s.pending.get(id);
        if (held) s.pending.delete(id);
        let admit = s.opts.match.test(event);
        if (admit && !takeToken(s)) {
          options.onDropped?.('rate-limit', 1);
          s.rateLimited();
          admit = false;
        }
        if (!admit) {
          if (kind !== 'end') {
            if (s.rejected.size >= MAX_PENDING_EXCHANGES) s.rejected.clear();
            s.rejected.add(id);
          }
          continue;
        }
        if (held) for (const h of held) deliver(s, h);
        deliver(s, event);
        if (kind !== 'end') s.admitted.add(id);
      }
    },
  };
}

/** The first value of header `name` (lower case) in a list, if any. */
function headerValue(headers: HeaderList | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  for (const [k, v] of headers) if (k.length === name.length && k.toLowerCase() === name) return v;
  return undefined;
}
