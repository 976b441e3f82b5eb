/**
 * Tap messages as bytes, for readers that pass events through without decoding them.
 *
 * `meshtap tap -o json` prints each event's JSON as one line. Parsing a message and stringifying
 * its event again (and the UTF-8 conversions around both) was most of the CLI's CPU per event,
 * on the CPU it shares with the traffic it watches. The sidecar and the tap API already send each
 * event as the exact text `JSON.stringify` makes of it, on a line of its own: a reader can cut the
 * event out of the message's bytes and write those bytes. The contract every writer of tap
 * messages keeps (tests hold the sidecar and the tap API to it):
 *  1. a message's JSON text has no raw newline (JSON.stringify never writes one);
 *  2. an event message is exactly EVENT_MESSAGE_PREFIX + EVENT + `}`;
 *  3. EVENT is what `JSON.stringify(JSON.parse(EVENT))` gives (key order, numbers, escapes), so
 *     the bytes passed through equal what parse + stringify would print.
 */
import { MeshtapError } from '../common/index.js';
import { TAP_WIRE_VERSION } from './constants.js';
import type { TapMessage } from './tap-types.js';

/** How every event message's JSON begins (a TapMessage's keys in order: `type`, then `event`). */
export const EVENT_MESSAGE_PREFIX = '{"type":"event","event":';
const PREFIX = Buffer.from(EVENT_MESSAGE_PREFIX, 'latin1');
const NEWLINE = 0x0a;
const CLOSE_BRACE = 0x7d;

/**
 * The event JSON inside an event message's bytes (a view, no copy), or undefined when the
 * message is not an event (`dropped`, `history-end`, a tap API `notice` …) or not in that shape.
 */
export function eventJsonOf(message: Buffer): Buffer | undefined {
  const n = PREFIX.length;
  if (message.length <= n + 1 || message[message.length - 1] !== CLOSE_BRACE) return undefined;
  // compare() on views: one native call, no allocation beyond the view.
  if (message.compare(PREFIX, 0, n, 0, n) !== 0) return undefined;
  return message.subarray(n, message.length - 1);
}

/** Parses one message's bytes; anything but a JSON object is a wire mismatch (MT_TAP_WIRE). */
export function parseMessageBytes(message: Buffer): TapMessage {
  let v: unknown;
  try {
    v = JSON.parse(message.toString('utf8'));
  } catch (err) {
    throw new MeshtapError('MT_TAP_WIRE', 'received a tap message that is not JSON: run the same meshtap version on both ends', { cause: err });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new MeshtapError('MT_TAP_WIRE', 'received a tap message that is not a JSON object: run the same meshtap version on both ends');
  }
  return v as TapMessage;
}

/** Parses one batch; anything but an array is a wire mismatch (MT_TAP_WIRE). */
export function parseBatch(bytes: Buffer): TapMessage[] {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new MeshtapError('MT_TAP_WIRE', 'the sidecar sent a tap message that is not JSON', { cause: err });
  }
  if (!Array.isArray(v)) throw new MeshtapError('MT_TAP_WIRE', `the sidecar sent a tap message that is not a v${TAP_WIRE_VERSION} batch: run the same meshtap version on both ends`);
  return v as TapMessage[];
}

/**
 * Splits a tap batch (`[m1,\nm2,\n…mN]`, see batchText) into its messages' bytes, as views into
 * `batch`. A batch on one line is one message, or comes from a sidecar that joins messages with
 * a bare `,` (it still is a v2 batch): it is parsed, and each message written back as JSON.
 */
export function splitBatch(batch: Buffer): Buffer[] {
  let nl = batch.indexOf(NEWLINE);
  if (nl === -1) return parseBatch(batch).map((m) => Buffer.from(JSON.stringify(m), 'utf8'));
  const out: Buffer[] = [];
  let start = 1; // after `[`
  for (; nl !== -1; nl = batch.indexOf(NEWLINE, start)) {
    out.push(batch.subarray(start, nl - 1)); // without the `,` before the newline
    start = nl + 1;
  }
  out.push(batch.subarray(start, batch.length - 1)); // without the closing `]`
  return out;
}

/**
 * Cuts NDJSON into lines as byte views, for a reader fed by chunks: `push(chunk)` returns the
 * complete lines (without their newline; empty lines dropped), keeping a partial last line for
 * the next chunk (a last line without its newline is never returned). A partial line longer than `maxLineBytes` throws MT_TAP_API_PROTOCOL.
 *
 * A partial line is held as its pieces and joined once, when its newline comes: each byte is
 * scanned and copied a bounded number of times. (Joining the partial line to every chunk, as
 * this once did, rescanned and recopied it per chunk: a 16 MiB line in 1 KiB chunks took 206 s.)
 */
export function createLineSplitter(maxLineBytes: number): { push(chunk: Buffer): Buffer[] } {
  /** The partial line's pieces (copies, so that a short tail does not keep its whole chunk alive). */
  let held: Buffer[] = [];
  let heldBytes = 0;
  return {
    push(chunk) {
      const lines: Buffer[] = [];
      const cut = (data: Buffer, start: number, nl: number): void => {
        let end = nl;
        if (end > start && data[end - 1] === 0x0d) end--; // tolerate CRLF
        if (end > start) lines.push(data.subarray(start, end));
      };
      let start = 0;
      let nl = chunk.indexOf(NEWLINE);
      if (nl !== -1 && heldBytes > 0) {
        held.push(chunk.subarray(0, nl));
        const line = Buffer.concat(held, heldBytes + nl);
        held = [];
        heldBytes = 0;
        cut(line, 0, line.length);
        start = nl + 1;
        nl = chunk.indexOf(NEWLINE, start);
      }
      for (; nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
        cut(chunk, start, nl);
        start = nl + 1;
      }
      if (start < chunk.length) {
        const partialBytes = heldBytes + chunk.length - start;
        if (partialBytes > maxLineBytes) {
          held = [];
          heldBytes = 0;
          throw new MeshtapError('MT_TAP_API_PROTOCOL', `tap API sent a line longer than ${maxLineBytes} bytes`);
        }
        held.push(Buffer.from(chunk.subarray(start)));
        heldBytes = partialBytes;
      }
      return lines;
    },
  };
}
