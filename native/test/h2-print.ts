/**
 * What the js sides of native/h2-streams.test.ts and native/h2-observer.test.ts share: an
 * ExchangeSink that prints every call as one line, in exactly the format the C++ drivers print
 * (native/test/h2-print-sink.h), so that the two engines' calls compare as text. Header names
 * print as octets (latin1), values and pseudo-header fields as the UTF-8 of their strings.
 */
import type { HeaderList } from '../../tap-protocol/index.js';
import { createBodyCapture, type Exchange, type ExchangeSink } from '../../proxy/observe.js';

export const hex = (s: string, enc: BufferEncoding): string => Buffer.from(s, enc).toString('hex');

export const fieldsText = (list: HeaderList): string => `${list.length}${list.map(([n, v]) => `:${hex(n, 'latin1')}=${hex(v, 'utf8')}`).join('')}`;

function bodyText(ex: Exchange, which: 'requestBody' | 'responseBody'): string {
  const capture = ex[which];
  if (capture === undefined) return 'none';
  return `b:${Buffer.concat(capture.chunks).toString('hex')}${capture.truncated ? '+' : ''}`;
}

/** An ended exchange, every field (fields 9, 12 and 22 are status, grpc status and error; 25 unprocessed). */
export function endText(ex: Exchange): string {
  return [
    'END', ex.stream, ex.protocol, hex(ex.method, 'utf8'), hex(ex.scheme, 'utf8'), hex(ex.authority, 'utf8'), hex(ex.path, 'utf8'),
    fieldsText(ex.requestHeaders), fieldsText(ex.requestTrailers), ex.status, fieldsText(ex.responseHeaders), fieldsText(ex.trailers),
    ex.grpcStatus ?? '-', ex.grpcMessage === undefined ? '-' : `m:${hex(ex.grpcMessage, 'utf8')}`,
    ex.requestBytes, ex.responseBytes, ex.requestMessages, ex.responseMessages, `${+ex.requestCompressed}${+ex.responseCompressed}`,
    ex.startMs, ex.responseMs, ex.endMs, ex.error ?? '-', bodyText(ex, 'requestBody'), bodyText(ex, 'responseBody'), ex.unprocessed ?? '-',
  ].join(' ');
}

/** Captures bodies of `ex` up to `limit` bytes per direction (as a tap or the recorder would). */
export function captureBodies(ex: Exchange, limit: number): void {
  ex.requestBody = createBodyCapture(limit);
  ex.responseBody = createBodyCapture(limit);
}

/**
 * A sink printing into `out`; `bodyLimit(ex)` says, at the request head, whether (and up to how
 * many bytes) the exchange's bodies are captured.
 */
export function createPrintingSink(out: string[], bodyLimit: (ex: Exchange) => number | undefined): ExchangeSink {
  return {
    requestHead(ex) {
      const limit = bodyLimit(ex);
      if (limit !== undefined) captureBodies(ex, limit);
      out.push(`RH ${ex.stream}`);
    },
    responseHead(ex) {
      out.push(`RS ${ex.stream} ${ex.status} ${ex.responseMs}`);
    },
    end(ex) {
      out.push(endText(ex));
    },
    giveUp(reason) {
      out.push(`GU ${reason}`);
    },
    upgraded() {
      out.push('BAD upgraded');
    },
  };
}
