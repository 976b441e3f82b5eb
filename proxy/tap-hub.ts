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
 */
import { DEFAULT_SENSITIVE_HEADERS, REDACTED, type HeaderList, type TapBody, type TapEvent, type CompiledMatch, type DecisionPoint, type TapMessage } from '../tap-protocol/index.js';
import { bodyRedactionRules, redactBody, type BodyRedactionRules } from './body-redact.js';

/** Where a subscriber's messages go: write returns false when the transport is full. */
export interface MessageWriter {
  write(msg: TapMessage): boolean;
  onDrain(cb: () => void): void;
}

export interface SubscriberOptions {
  match: CompiledMatch;
  bodies: boolean;
  /** Header names (lower case) shown unredacted; `all` reveals every header. */
  reveal: ReadonlySet<string> | 'all';
  maxRps?: number;
  maxQueue?: number;
  /** Most body bytes waiting in the queue (default 8 MiB): a count bound alone let 1000 events with 64 KiB bodies queue 64 MiB. */
  maxQueueBodyBytes?: number;
  writer: MessageWriter;
}

export interface Subscriber {
  /**
   * Queues a message directly. History uses `force` to bypass the queue bound (it is already
   * bounded by the flight recorder's size) so that `--last N` is never cut by the live bound.
   */
  send(msg: TapMessage, force?: boolean): void;
  /** Stops taking live events; calls `done` once everything queued was handed to the writer. */
  finish(done: () => void): void;
  /** Stops delivery; the hub forgets the subscriber. */
  close(): void;
  readonly dropped: number;
  /** False until `startLive()` — history is sent first. */
  live: boolean;
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
   * Whether a reading subscriber with bodies would be delivered the exchange `req` was published
   * for (its match decided at `req`, or not decidable yet): body bytes are copied only then.
   */
  wantsBodiesFor(req: TapEvent): boolean;
  /** Every subscriber, reading or not. */
  readonly count: number;
  publish(kind: DecisionPoint, event: TapEvent): void;
  /** An event nobody reading was given: counted for the subscribers that are not reading. */
  skipped(): void;
  /** Lower-case names of the headers redacted unless revealed. */
  readonly sensitiveHeaders: ReadonlySet<string>;
  /** Redacts an event for a subscriber's grant (used for history too). */
  shape(event: TapEvent, options: Pick<SubscriberOptions, 'bodies' | 'reveal'>): TapEvent;
}

const DEFAULT_MAX_QUEUE = 1000;
const DEFAULT_MAX_QUEUE_BODY_BYTES = 8 * 1024 * 1024;

/** Body characters a queued message holds (what dominates its memory when bodies are on). */
function bodyBytesOf(m: TapMessage): number {
  return m.type === 'event' ? (m.event.requestBody?.data.length ?? 0) + (m.event.responseBody?.data.length ?? 0) : 0;
}
/**
 * Rate-limit losses are told to the subscriber in one notice per this interval (or right before
 * its next event), not one per lost exchange: a notice per drop would undo the rate limit.
 */
const RATE_NOTICE_INTERVAL_MS = 1000;
const MAX_PENDING_EXCHANGES = 10_000;
const ORDER: Record<DecisionPoint, number> = { req: 0, rsp: 1, end: 2 };

export function redactHeaders(headers: HeaderList | undefined, sensitive: ReadonlySet<string>, reveal: ReadonlySet<string> | 'all'): HeaderList | undefined {
  if (!headers || reveal === 'all') return headers;
  let out: HeaderList | undefined;
  for (let i = 0; i < headers.length; i++) {
    const lower = headers[i][0].toLowerCase();
    if (sensitive.has(lower) && !reveal.has(lower)) {
      out ??= headers.slice();
      out[i] = [headers[i][0], REDACTED];
    }
  }
  return out ?? headers;
}

export function createTapHub(
  options: { sensitiveHeaders?: readonly string[]; bodyRedaction?: BodyRedactionRules; onDropped?: (reason: string, n: number) => void } = {},
): TapHub {
  const bodyRules = options.bodyRedaction ?? bodyRedactionRules();
  /** Redacted bodies, made once per captured body whatever the number of subscribers. */
  const redactedBodies = new WeakMap<TapBody, TapBody>();
  const redactedBody = (b: TapBody, headers: HeaderList | undefined): TapBody => {
    let r = redactedBodies.get(b);
    if (r === undefined) {
      r = redactBody(b, headerValue(headers, 'content-type'), bodyRules);
      redactedBodies.set(b, r);
    }
    return r;
  };
  const sensitive = new Set((options.sensitiveHeaders ?? DEFAULT_SENSITIVE_HEADERS).map((h) => h.toLowerCase()));
  const subs = new Set<SubscriberState>();
  /** Reading subscribers, and those of them with bodies. */
  let reading = 0;
  let readingBodies = 0;
  const bodiesListeners: (() => void)[] = [];
  const countListeners: (() => void)[] = [];
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

  interface SubscriberState extends Subscriber {
    opts: SubscriberOptions;
    pending: Map<string, TapEvent[]>;
    admitted: Set<string>;
    /** Exchanges already decided against (so a later event does not re-decide them). */
    rejected: Set<string>;
    enqueue(msg: TapMessage, force?: boolean): void;
    tokens: number;
    /** An exchange was refused by this subscriber's rate limit: counted and, coalesced, told. */
    rateLimited(): void;
    lastRefill: number;
    /** The queue is full: not reading. */
    stalled: boolean;
  }

  const shape = (e: TapEvent, o: Pick<SubscriberOptions, 'bodies' | 'reveal'>): TapEvent => {
    const rq = redactHeaders(e.requestHeaders, sensitive, o.reveal);
    const rs = redactHeaders(e.responseHeaders, sensitive, o.reveal);
    const tr = redactHeaders(e.trailers, sensitive, o.reveal);
    const rqt = redactHeaders(e.requestTrailers, sensitive, o.reveal);
    const stripBodies = !o.bodies && (e.requestBody !== undefined || e.responseBody !== undefined);
    // Secrets in bodies are revealed exactly as headers are: only to a grant revealing them all.
    const qb = o.bodies && o.reveal !== 'all' && e.requestBody ? redactedBody(e.requestBody, e.requestHeaders) : e.requestBody;
    const sb = o.bodies && o.reveal !== 'all' && e.responseBody ? redactedBody(e.responseBody, e.responseHeaders) : e.responseBody;
    // grpcMessage is the grpc-message trailer's value: redacted with it when that header was made sensitive.
    const hideGrpcMessage = e.grpcMessage !== undefined && sensitive.has('grpc-message') && o.reveal !== 'all' && !o.reveal.has('grpc-message');
    if (rq === e.requestHeaders && rs === e.responseHeaders && tr === e.trailers && rqt === e.requestTrailers && !stripBodies && !hideGrpcMessage && qb === e.requestBody && sb === e.responseBody) return e;
    const out: TapEvent = { ...e };
    if (hideGrpcMessage) out.grpcMessage = REDACTED;
    if (rq) out.requestHeaders = rq;
    if (rs) out.responseHeaders = rs;
    if (tr) out.trailers = tr;
    if (rqt) out.requestTrailers = rqt;
    if (qb) out.requestBody = qb;
    if (sb) out.responseBody = sb;
    if (stripBodies) {
      delete out.requestBody;
      delete out.responseBody;
    }
    return out;
  };

  const takeToken = (s: SubscriberState): boolean => {
    const rps = s.opts.maxRps;
    if (!rps) return true;
    const now = performance.now();
    s.tokens = Math.min(rps, s.tokens + ((now - s.lastRefill) / 1000) * rps);
    s.lastRefill = now;
    if (s.tokens >= 1) {
      s.tokens -= 1;
      return true;
    }
    return false;
  };

  const deliver = (s: SubscriberState, events: TapEvent[]) => {
    for (const e of events) s.enqueue({ type: 'event', event: shape(e, s.opts) });
  };

  return {
    subscribe(opts) {
      const queue: TapMessage[] = [];
      let dropped = 0;
      let waitingDrain = false;
      let closed = false;
      let onFlushed: (() => void) | undefined;
      let rateLimitedUntold = 0;
      let rateNoticeTimer: NodeJS.Timeout | undefined;
      const maxQueue = opts.maxQueue ?? DEFAULT_MAX_QUEUE;
      const maxBodyBytes = opts.maxQueueBodyBytes ?? DEFAULT_MAX_QUEUE_BODY_BYTES;
      let queuedBodyBytes = 0;
      const tellRateLimited = () => {
        if (rateNoticeTimer) clearTimeout(rateNoticeTimer);
        rateNoticeTimer = undefined;
        if (rateLimitedUntold === 0 || closed) return;
        queue.push({ type: 'dropped', count: rateLimitedUntold, reason: 'rate-limit' });
        rateLimitedUntold = 0;
        if (!waitingDrain) pump();
      };
      /** `skippedTotal` when this subscriber stopped reading. */
      let skippedMark = 0;
      const stall = () => {
        s.stalled = true;
        skippedMark = skippedTotal;
        stalledSubs++;
        reading--;
        if (opts.bodies) addReadingBodies(-1);
        // Nothing more is decided for it while it does not read: what it held is lost anyway.
        s.pending.clear();
        s.admitted.clear();
        s.rejected.clear();
      };
      const resume = () => {
        s.stalled = false;
        stalledSubs--;
        reading++;
        if (opts.bodies) addReadingBodies(1);
        const lost = skippedTotal - skippedMark;
        if (lost > 0) {
          dropped += lost;
          const tail = queue[queue.length - 1];
          if (tail?.type === 'dropped' && tail.reason === 'queue-full') tail.count += lost;
          else queue.push({ type: 'dropped', count: lost, reason: 'queue-full' });
        }
      };
      const pump = () => {
        while (queue.length > 0 && !closed) {
          const msg = queue.shift()!;
          queuedBodyBytes -= bodyBytesOf(msg);
          if (!opts.writer.write(msg)) return waitDrain();
          // Reading again once half the queue is free (not at the first free slot: no flapping).
          if (s.stalled && queue.length <= maxQueue / 2 && queuedBodyBytes <= maxBodyBytes / 2) resume();
        }
        if (s.stalled && !closed) resume();
        if (onFlushed && queue.length === 0) {
          const cb = onFlushed;
          onFlushed = undefined;
          s.close();
          cb();
        }
      };
      const waitDrain = () => {
        if (waitingDrain) return;
        waitingDrain = true;
        opts.writer.onDrain(() => {
          waitingDrain = false;
          pump();
        });
      };
      const s: SubscriberState = {
        opts,
        pending: new Map(),
        admitted: new Set(),
        rejected: new Set(),
        tokens: opts.maxRps ?? 0,
        lastRefill: performance.now(),
        live: false,
        stalled: false,
        get dropped() {
          return dropped + (s.stalled ? skippedTotal - skippedMark : 0);
        },
        rateLimited() {
          if (closed) return;
          dropped++;
          rateLimitedUntold++;
          if (!rateNoticeTimer) {
            rateNoticeTimer = setTimeout(tellRateLimited, RATE_NOTICE_INTERVAL_MS);
            rateNoticeTimer.unref();
          }
        },
        enqueue(msg, force) {
          if (closed) return;
          // Losses are told where they happened: before the next event.
          if (rateLimitedUntold > 0 && msg.type === 'event') tellRateLimited();
          if ((queue.length >= maxQueue || queuedBodyBytes >= maxBodyBytes) && !force) {
            // The notice stands where the lost events would have been; consecutive losses share it
            // (so the queue holds at most maxQueue + 1 messages).
            dropped++;
            options.onDropped?.('queue-full', 1);
            const tail = queue[queue.length - 1];
            if (tail?.type === 'dropped') tail.count++;
            else queue.push({ type: 'dropped', count: 1, reason: 'queue-full' });
            if (!s.stalled) stall();
            return;
          }
          queue.push(msg);
          queuedBodyBytes += bodyBytesOf(msg);
          if (!waitingDrain) pump();
        },
        send(msg, force) {
          s.enqueue(msg, force);
        },
        finish(done) {
          s.live = false;
          tellRateLimited();
          onFlushed = done;
          if (!waitingDrain) pump();
        },
        close() {
          if (closed) return;
          closed = true;
          queue.length = 0;
          queuedBodyBytes = 0;
          if (rateNoticeTimer) clearTimeout(rateNoticeTimer);
          if (!subs.delete(s)) return;
          if (s.stalled) stalledSubs--;
          else {
            reading--;
            if (opts.bodies) addReadingBodies(-1);
          }
          for (const l of countListeners) l();
        },
      };
      subs.add(s);
      reading++;
      if (opts.bodies) addReadingBodies(1);
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
    wantsBodiesFor(req) {
      if (readingBodies === 0) return false;
      for (const s of subs) {
        if (!s.live || s.stalled || !s.opts.bodies) continue;
        if (s.admitted.has(req.id)) return true;
        if (s.opts.match.point !== 'req' && !s.rejected.has(req.id)) return true; // decided later: it may be delivered
      }
      return false;
    },
    skipped() {
      if (stalledSubs > 0) countSkipped();
    },
    get count() {
      return subs.size;
    },
    sensitiveHeaders: sensitive,
    shape,
    publish(kind, event) {
      if (stalledSubs > 0) countSkipped(); // the subscribers not reading miss this one too
      for (const s of subs) {
        if (!s.live || s.stalled) continue;
        const id = event.id;
        if (s.admitted.has(id)) {
          deliver(s, [event]);
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
        if (held) deliver(s, held);
        deliver(s, [event]);
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
