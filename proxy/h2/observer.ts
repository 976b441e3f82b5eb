/**
 * The HTTP/2 connection observer: checks the client preface, reads frames in both
 * directions, assembles header blocks (HEADERS/PUSH_PROMISE + CONTINUATION), decodes every
 * block with that direction's HPACK decoder, follows SETTINGS that change framing or HPACK
 * limits, and hands stream events to the `StreamTracker`.
 *
 * It biases towards availability: anything it cannot follow costs only the observation of
 * this connection (one `giveUp`), never the forwarded bytes, and it never throws.
 */
import { createLogger } from '../../common/index.js';
import type { ConnectionObserver, CreateObserver, Exchange, GiveUpReason, ObserverContext } from '../observe.js';
import { H2_PREFACE } from './constants.js';
import { Side, type SideOwner } from './observer-side.js';
import { STREAM_ERROR_GAVE_UP, StreamTracker } from './stream-tracker.js';

/** MESHTAP_TRACE=h2 logs why a connection stopped being observed (never header values). */
const log = createLogger('h2');

export { STREAM_ERROR_GAVE_UP } from './stream-tracker.js';
/** Error set on exchanges still open when the connection closes without a reason. */
export const STREAM_ERROR_CLOSED = 'closed';

/** The per-connection observer (see file comment). */
class H2Observer implements ConnectionObserver, SideOwner {
  readonly streams: StreamTracker;
  readonly maxStreams: number;
  private readonly client: Side;
  private readonly server: Side;
  private prefaceFill = 0;
  private isDead = false;
  private isClosed = false;

  constructor(private readonly ctx: ObserverContext) {
    this.streams = new StreamTracker(ctx);
    this.maxStreams = ctx.limits.maxStreams;
    this.client = new Side(this, true, ctx);
    this.server = new Side(this, false, ctx);
  }

  otherSide(side: Side): Side {
    return side === this.client ? this.server : this.client;
  }

  clientData(chunk: Buffer): void {
    if (this.isDead) return;
    try {
      let rest = chunk;
      if (this.prefaceFill < H2_PREFACE.length) {
        const take = Math.min(H2_PREFACE.length - this.prefaceFill, chunk.length);
        if (chunk.compare(H2_PREFACE, this.prefaceFill, this.prefaceFill + take, 0, take) !== 0) {
          return this.giveUp('h2-frame', 'bad client preface');
        }
        this.prefaceFill += take;
        if (take === chunk.length) return;
        rest = chunk.subarray(take);
      }
      this.client.reader.push(rest);
    } catch (err) {
      this.giveUp('internal', String(err));
    }
  }

  serverData(chunk: Buffer): void {
    if (this.isDead) return;
    try {
      this.server.reader.push(chunk);
    } catch (err) {
      this.giveUp('internal', String(err));
    }
  }

  clientEnd(): void {
    // The server may still answer requests already sent: nothing ends here.
  }

  serverEnd(): void {
    if (this.isDead) return;
    try {
      this.streams.serverEnded();
    } catch (err) {
      this.giveUp('internal', String(err));
    }
  }

  close(error?: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.isDead) return;
    try {
      this.streams.endAll(error ?? STREAM_ERROR_CLOSED);
    } catch (err) {
      this.giveUp('internal', String(err));
    }
  }

  /** Stops following the connection: ends open exchanges, tells the sink once. */
  giveUp(reason: GiveUpReason, detail: string): void {
    if (this.isDead) return;
    this.isDead = true;
    if (log.isTracing) log.transition('observing', 'gave-up', { reason, detail, openStreams: this.streams.openStreams });
    this.client.reader.stop();
    this.server.reader.stop();
    try {
      this.streams.endAll(STREAM_ERROR_GAVE_UP);
    } catch {
      // A sink that throws while we give up changes nothing: we stop either way.
    }
    try {
      this.ctx.sink.giveUp(reason);
    } catch {
      // Never let a sink error escape into the data path.
    }
  }
}

/** Creates the HTTP/2 (and gRPC) observer for one connection (contract: observe.ts). */
export const createH2Observer: CreateObserver = (ctx) => new H2Observer(ctx);

/**
 * The observer for the rest of a connection that switched from HTTP/1 to h2c (`Upgrade: h2c`,
 * `101`): the upgraded request `ex` is stream 1, the client sends the preface next and the
 * server's first frame is its SETTINGS, as on any h2 connection.
 */
export function createUpgradedH2Observer(ctx: ObserverContext, ex: Exchange): ConnectionObserver {
  const observer = new H2Observer(ctx);
  observer.streams.adoptUpgraded(ex);
  return observer;
}
