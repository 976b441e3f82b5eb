/**
 * The HTTP/1 connection observer: follows requests (client -> server bytes) and responses
 * (server -> client bytes) of one connection and reports each exchange to the sink.
 *
 * It reads views of bytes that were already forwarded, so it may lag or stop but never
 * disturbs traffic. Responses match requests in order (pipelining); an exchange ends when
 * both its response and its request body are complete. A request that may switch protocols
 * (Upgrade, CONNECT) holds the client side until its response decides: a 101 (or a 2xx to
 * CONNECT) makes the rest of the connection opaque, anything else replays the held bytes as
 * HTTP/1. Anything the observer cannot follow ends open exchanges with an error and stops
 * observation of that connection (`giveUp`), once.
 */
import { OBSERVER_GAVE_UP, type HeaderList } from '../../tap-protocol/index.js';
import { createUpgradedH2Observer } from '../h2/index.js';
import type { ConnectionObserver, CreateObserver, GiveUpReason, ObserverContext } from '../observe.js';
import { BODY_ERROR, BODY_NEED_MORE, BodyReader } from './body-reader.js';
import { classifyResponse, openExchange, type Pending } from './exchange-start.js';
import { asciiLower, trimOws } from './framing.js';
import { fieldList, type ResponseHead } from './head-parse.js';
import { HEAD_BARE_LF, HEAD_NEED_MORE, HEAD_TOO_LARGE, HeadReader } from './head-reader.js';

/** Error set on exchanges ended because the observer gave up. */
export const GAVE_UP_ERROR = OBSERVER_GAVE_UP;
/** Error set on pipelined exchanges cut off by a protocol switch on an earlier one. */
export const UPGRADED_ERROR = 'connection-upgraded';

const enum Side {
  Head,
  Body,
  /** Client side only: waiting for the response to an Upgrade/CONNECT request. */
  Held,
  /** Client side only: nothing more to follow (client FIN, or the server left mid-request). */
  Ended,
}

function headError(code: number): GiveUpReason {
  return code === HEAD_TOO_LARGE ? 'h1-header-too-large' : code === HEAD_BARE_LF ? 'h1-ambiguous-framing' : 'h1-parse';
}

/** Whether `list` has an Upgrade field naming the `h2c` token. */
function upgradesToH2c(list: HeaderList): boolean {
  for (const [name, value] of list) {
    if (asciiLower(name) === 'upgrade' && value.split(',').some((t) => asciiLower(trimOws(t)) === 'h2c')) return true;
  }
  return false;
}

class Http1Observer implements ConnectionObserver {
  private isDead = false;
  /** After a `101` to h2c: the HTTP/2 observer that follows the rest of the connection. */
  private h2: ConnectionObserver | undefined;
  /** Exchanges reported by requestHead and not yet ended, in request order. */
  private queue: Pending[] = [];
  private seq = 0;

  private reqSide = Side.Head;
  private readonly reqHead: HeadReader;
  private readonly reqBody: BodyReader;
  private reqCurrent: Pending | undefined;
  private reqStartMs = -1;
  private heldBy: Pending | undefined;
  private held: Buffer[] = [];
  private heldBytes = 0;

  private rspSide = Side.Head;
  private readonly rspHead: HeadReader;
  private readonly rspBody: BodyReader;
  /** Exchange whose response body is being read; undefined for an unsolicited response. */
  private rspCurrent: Pending | undefined;

  constructor(private readonly ctx: ObserverContext) {
    const max = ctx.limits.maxHeaderBytes;
    this.reqHead = new HeadReader(max, false);
    this.rspHead = new HeadReader(max, false);
    this.reqBody = new BodyReader(max);
    this.rspBody = new BodyReader(max);
  }

  clientData(chunk: Buffer): void {
    if (this.h2 !== undefined) return this.h2.clientData(chunk);
    if (this.isDead) return;
    try {
      this.feedClient(chunk);
    } catch {
      this.giveUp('internal');
    }
  }

  serverData(chunk: Buffer): void {
    if (this.h2 !== undefined) return this.h2.serverData(chunk);
    if (this.isDead) return;
    try {
      this.feedServer(chunk);
    } catch {
      this.giveUp('internal');
    }
  }

  clientEnd(): void {
    if (this.h2 !== undefined) return this.h2.clientEnd();
    if (this.isDead) return;
    try {
      const p = this.reqCurrent;
      this.reqSide = Side.Ended;
      this.reqCurrent = undefined;
      this.reqHead.reset();
      this.held = [];
      this.heldBytes = 0;
      this.heldBy = undefined;
      if (p !== undefined) {
        p.isRequestDone = true;
        p.requestError = 'client-closed';
        if (p.isResponseDone) this.finish(p);
      }
    } catch {
      this.giveUp('internal');
    }
  }

  serverEnd(): void {
    if (this.h2 !== undefined) return this.h2.serverEnd();
    if (this.isDead) return;
    try {
      if (this.rspSide === Side.Body && this.rspBody.isCloseDelimited) {
        this.rspBody.finishOnClose();
        this.responseBodyDone();
      }
      this.rspSide = Side.Head;
      this.rspCurrent = undefined;
      this.rspHead.reset();
      if (this.reqSide === Side.Held) {
        // The server left without deciding on the protocol switch; nothing more to follow.
        this.reqSide = Side.Ended;
        this.held = [];
        this.heldBytes = 0;
        this.heldBy = undefined;
      }
      // Whatever still waits for (the rest of) a response will never get it.
      for (const p of this.queue.slice()) {
        if (!p.isResponseDone) this.endWithError(p, 'upstream-closed');
      }
    } catch {
      this.giveUp('internal');
    }
  }

  close(error?: string): void {
    if (this.h2 !== undefined) return this.h2.close(error);
    if (this.isDead) return;
    this.isDead = true;
    this.endAll(error ?? 'connection-closed');
    this.release();
  }

  // ---- client side -------------------------------------------------------------------

  private feedClient(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && !this.isDead) {
      if (this.reqSide === Side.Head) {
        const next = this.reqHead.feed(chunk, pos);
        if (next === HEAD_NEED_MORE) {
          if (this.reqStartMs < 0 && this.reqHead.isStarted) this.reqStartMs = this.ctx.now();
          return;
        }
        if (next < 0) return this.giveUp(headError(next));
        if (this.reqStartMs < 0) this.reqStartMs = this.ctx.now();
        pos = next;
        this.requestHead(this.reqHead.head as string);
      } else if (this.reqSide === Side.Body) {
        const next = this.reqBody.feed(chunk, pos);
        (this.reqCurrent as Pending).ex.requestBytes = this.reqBody.bytes;
        if (next === BODY_NEED_MORE) return;
        if (next === BODY_ERROR) return this.giveUp(this.reqBody.error ?? 'h1-parse');
        pos = next;
        this.requestBodyDone();
      } else if (this.reqSide === Side.Held) {
        return this.hold(pos === 0 ? chunk : chunk.subarray(pos));
      } else {
        return; // Ended
      }
    }
  }

  private requestHead(head: string): void {
    // Bound on pipelined exchanges held in memory (each keeps its headers).
    if (this.queue.length >= this.ctx.limits.maxStreams) return this.giveUp('h1-too-many-pipelined');
    const opened = openExchange(head, this.seq + 1, this.reqStartMs);
    if (!opened.ok) return this.giveUp(opened.error);
    this.seq++;
    this.reqStartMs = -1;
    const p = opened.pending;
    this.queue.push(p);
    this.ctx.sink.requestHead(p.ex);
    if (this.isDead) return;
    this.reqBody.start(opened.framing, p.ex.requestBody);
    if (this.reqBody.isDone) {
      this.requestBodyDone(p);
    } else {
      this.reqCurrent = p;
      this.reqSide = Side.Body;
    }
  }

  private requestBodyDone(done?: Pending): void {
    const p = done ?? (this.reqCurrent as Pending);
    this.reqCurrent = undefined;
    p.ex.requestTrailers = this.reqBody.trailers;
    p.isRequestDone = true;
    if (p.mayUpgrade) {
      this.reqSide = Side.Held;
      this.heldBy = p;
    } else {
      this.reqSide = Side.Head;
    }
    if (p.isResponseDone) this.finish(p);
  }

  private hold(bytes: Buffer): void {
    // Bounded like a head: a peer that switches protocols waits for the answer first.
    if (this.heldBytes + bytes.length > this.ctx.limits.maxHeaderBytes) return this.giveUp('h1-header-too-large');
    this.held.push(Buffer.from(bytes));
    this.heldBytes += bytes.length;
  }

  /** The held request did not switch protocols: go on reading HTTP/1 from the held bytes. */
  private unhold(): void {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.heldBy = undefined;
    this.reqSide = Side.Head;
    for (const bytes of held) {
      if (this.isDead) return;
      this.feedClient(bytes);
    }
  }

  // ---- server side -------------------------------------------------------------------

  private feedServer(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && !this.isDead) {
      if (this.rspSide === Side.Head) {
        const next = this.rspHead.feed(chunk, pos);
        if (next === HEAD_NEED_MORE) return;
        if (next < 0) return this.giveUp(headError(next));
        pos = next;
        this.responseHead(this.rspHead.head as string);
        // Switched to h2c: the rest of this chunk is the server's first HTTP/2 frames.
        if (this.h2 !== undefined) return pos < chunk.length ? this.h2.serverData(chunk.subarray(pos)) : undefined;
      } else {
        const next = this.rspBody.feed(chunk, pos);
        if (this.rspCurrent !== undefined) this.rspCurrent.ex.responseBytes = this.rspBody.bytes;
        if (next === BODY_NEED_MORE) return;
        if (next === BODY_ERROR) return this.giveUp(this.rspBody.error ?? 'h1-parse');
        pos = next;
        this.responseBodyDone();
      }
    }
  }

  private responseHead(head: string): void {
    // A response with no request waiting (e.g. a 408 before closing) is read and dropped.
    const p = this.queue.find((q) => !q.isResponseDone);
    const rsp = classifyResponse(head, p);
    if (rsp.kind === 'error') return this.giveUp(rsp.error);
    if (rsp.kind === 'interim') return; // 100-continue, 103: skipped
    if (rsp.kind === 'switch') return this.switchProtocols(p, rsp.head);
    if (p !== undefined) {
      this.reportResponseHead(p, rsp.head);
      if (this.isDead) return;
    }
    this.rspBody.start(rsp.framing, p?.ex.responseBody);
    this.rspCurrent = p;
    if (this.rspBody.isDone) this.responseBodyDone();
    else this.rspSide = Side.Body;
    if (p !== undefined && p === this.heldBy && !this.isDead) this.unhold();
    else if (p !== undefined) p.mayUpgrade = false;
  }

  private reportResponseHead(p: Pending, rsp: ResponseHead): void {
    p.ex.status = rsp.status;
    p.ex.setResponseSection(rsp.fields);
    p.ex.responseMs = this.ctx.now();
    this.ctx.sink.responseHead(p.ex);
  }

  private responseBodyDone(): void {
    const p = this.rspCurrent;
    this.rspCurrent = undefined;
    this.rspSide = Side.Head;
    if (p === undefined) return;
    p.ex.responseBytes = this.rspBody.bytes;
    p.ex.trailers = this.rspBody.trailers;
    p.isResponseDone = true;
    p.ex.isResponseComplete = true;
    if (p.isRequestDone) this.finish(p);
  }

  /**
   * 101, or 2xx to CONNECT: report and end that exchange, then the connection is opaque —
   * except a 101 to h2c (RFC 7540 §3.2), which continues as HTTP/2 with the upgraded request
   * as stream 1: its response is the h2 one, not the 101.
   */
  private switchProtocols(p: Pending | undefined, rsp: ResponseHead): void {
    if (p !== undefined && p === this.heldBy && !p.isConnect && upgradesToH2c(fieldList(rsp.fields)) && upgradesToH2c(p.ex.requestHeaders)) {
      return this.switchToH2c(p);
    }
    if (p !== undefined) {
      this.reportResponseHead(p, rsp);
      if (this.isDead) return;
      p.isResponseDone = true;
      p.ex.isResponseComplete = true;
      p.isRequestDone = true;
      this.finish(p);
    }
    if (this.isDead) return;
    this.isDead = true;
    this.endAll(UPGRADED_ERROR);
    this.release();
    this.ctx.sink.upgraded();
  }

  private switchToH2c(p: Pending): void {
    const held = this.held;
    const at = this.queue.indexOf(p);
    if (at >= 0) this.queue.splice(at, 1);
    // Requests pipelined after the upgrade request cannot be (the client waits for the 101).
    this.endAll(UPGRADED_ERROR);
    this.release();
    this.isDead = true;
    this.h2 = createUpgradedH2Observer(this.ctx, p.ex);
    for (const bytes of held) this.h2.clientData(bytes);
  }

  // ---- ending ------------------------------------------------------------------------

  private finish(p: Pending): void {
    const at = this.queue.indexOf(p);
    if (at >= 0) this.queue.splice(at, 1);
    if (this.reqCurrent === p) {
      // Ended before its request body (the server left): the client side has nothing left to report.
      this.reqCurrent = undefined;
      this.reqSide = Side.Ended;
    }
    if (p.requestError !== undefined && p.ex.error === undefined) p.ex.error = p.requestError;
    p.ex.endMs = this.ctx.now();
    this.ctx.sink.end(p.ex);
  }

  private endWithError(p: Pending, error: string): void {
    p.ex.error = error;
    this.finish(p);
  }

  /** Ends every open exchange with `error`; a throwing sink cannot stop the others. */
  private endAll(error: string): void {
    const open = this.queue;
    this.queue = [];
    for (const p of open) {
      p.ex.error = error;
      p.ex.endMs = this.ctx.now();
      try {
        this.ctx.sink.end(p.ex);
      } catch {
        // The sink's own bug; the connection is being dropped from observation anyway.
      }
    }
  }

  private release(): void {
    this.held = [];
    this.heldBytes = 0;
    this.heldBy = undefined;
    this.reqCurrent = undefined;
    this.rspCurrent = undefined;
    this.reqHead.reset();
    this.rspHead.reset();
  }

  private giveUp(reason: GiveUpReason): void {
    if (this.isDead) return;
    this.isDead = true;
    this.endAll(GAVE_UP_ERROR);
    this.release();
    try {
      this.ctx.sink.giveUp(reason);
    } catch {
      // Nothing more to do: observation of this connection is over.
    }
  }
}

/** Creates an HTTP/1 observer for one connection (see proxy/observe.ts for the contract). */
export const createHttp1Observer: CreateObserver = (ctx) => new Http1Observer(ctx);
