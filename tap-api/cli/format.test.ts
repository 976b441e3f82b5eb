import { describe, expect, it } from 'vitest';
import { formatClock, formatEventText, formatMessage } from './format.js';
import type { TapEvent } from '../../tap-protocol/index.js';

const req = (over: Partial<TapEvent> = {}): TapEvent => ({
  kind: 'req',
  id: '3.1',
  ts: '2026-01-01T00:00:00.000Z',
  proxy: 'in',
  src: '10.0.0.1:5000',
  dst: '10.0.0.2:8080',
  protocol: 'h2',
  method: 'GET',
  scheme: 'http',
  authority: 'web',
  path: '/ok',
  requestHeaders: [[':path', '/ok'], ['accept', '*/*']],
  ...over,
});

describe('tap text output', () => {
  it('prints one line per event in the Linkerd style', () => {
    expect(formatEventText(req(), false)).toMatch(/^\w{3} [ \d]\d \d\d:\d\d:\d\d\.000 req id=3\.1 proxy=in src=10\.0\.0\.1:5000 dst=10\.0\.0\.2:8080 :method=GET :authority=web :path=\/ok$/);
    expect(formatEventText(req({ pod: 'web-1' }), false)).toContain(' req id=web-1/3.1 ');
  });

  it('regression (forged lines): control characters from the traffic are escaped, never written raw to the terminal', () => {
    // An h2 client may put any byte in :path or a header value; the sidecar forwards and observes it.
    const forged = '/x\nrsp id=9.9 proxy=in :status=200\r\x1b[2J';
    const text = formatEventText(req({ path: forged, authority: 'web\x07', requestHeaders: [['x-note', 'a\nreq id=1.1 fake'], ['x-\x1bname', 'v\u202e']] }), true);
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u202e]/);
    // Only the header lines of -o wide break the line, each starting with two spaces.
    for (const line of text.split('\n').slice(1)) expect(line.startsWith('  > ')).toBe(true);
    expect(text.split('\n')).toHaveLength(3);
    expect(text).toContain(':path=/x\\x0arsp id=9.9 proxy=in :status=200\\x0d\\x1b[2J');
    expect(text).toContain(':authority=web\\x07');
    expect(text).toContain('  > x-note: a\\x0areq id=1.1 fake');
    expect(text).toContain('  > x-\\x1bname: v\\u202e');
  });

  it('an end event of a stream the server never processed says so after its error (unproc13)', () => {
    const end = req({ kind: 'end', protocol: 'grpc', method: 'POST', grpcStatus: 14, durationMs: 1, requestBytes: 5, responseBytes: 0, requestMessages: 1, responseMessages: 0, error: 'reset', unprocessed: 'refused' });
    expect(formatEventText(end, false)).toMatch(/ grpc-status=14 .* error=reset unprocessed=refused$/);
    expect(formatEventText({ ...end, error: 'goaway', unprocessed: 'goaway' }, false)).toMatch(/ error=goaway unprocessed=goaway$/);
    expect(formatEventText({ ...end, unprocessed: undefined }, false)).toMatch(/ error=reset$/);
    // --color: amber, not the failure red, as the dashboard shows it; the same end without the mark is red.
    expect(formatEventText(end, false, { color: true })).toContain('\x1b[33mend\x1b[0m');
    expect(formatEventText({ ...end, unprocessed: undefined }, false, { color: true })).toContain('\x1b[31mend\x1b[0m');
  });

  it('--color: an exchange whose outcome went unseen (observer-gave-up) is amber, not the failure red (session 14)', () => {
    const end = req({ kind: 'end', protocol: 'http/1.1', method: 'GET', status: 200, durationMs: 1, requestBytes: 0, responseBytes: 3, error: 'observer-gave-up' });
    expect(formatEventText(end, false, { color: true })).toContain('\x1b[33mend\x1b[0m');
    expect(formatEventText({ ...end, error: 'upstream-closed' }, false, { color: true })).toContain('\x1b[31mend\x1b[0m');
  });

  it('--color: an HTTP/1 error after a whole response goes by its status (an upload cut after its 413: 4xx amber, not red)', () => {
    const end = req({ kind: 'end', protocol: 'http/1.1', method: 'POST', status: 413, durationMs: 1, requestBytes: 5, responseBytes: 0, error: 'client-reset', responseComplete: true });
    expect(formatEventText(end, false, { color: true })).toContain('\x1b[33mend\x1b[0m');
    expect(formatEventText({ ...end, responseComplete: undefined }, false, { color: true })).toContain('\x1b[31mend\x1b[0m');
  });

  it('-o json keeps values exact (JSON escapes them)', () => {
    const line = formatMessage({ type: 'event', event: req({ path: '/x\ny' }) }, 'json')!;
    expect(line.includes('\n')).toBe(false);
    expect((JSON.parse(line) as TapEvent).path).toBe('/x\ny');
  });

  it('the time of a line is the local time of the event to the millisecond, whatever second came before (formatClock reuses the last second)', () => {
    const byDate = (ts: string): string => {
      const d = new Date(ts);
      const p = (n: number, w = 2): string => String(n).padStart(w, '0');
      const month = d.toLocaleString('en-US', { month: 'short' });
      return `${month} ${String(d.getDate()).padStart(2)} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
    };
    const times = ['2026-12-06T05:10:01.123Z', '2026-12-06T05:10:01.999Z', '2026-12-06T05:10:02.000Z', '2026-12-31T23:59:59.001Z', '2027-01-01T00:00:00.500Z', '2026-12-06T05:10:01.007Z'];
    for (const ts of times) expect(formatClock(ts)).toBe(byDate(ts));
    expect(formatClock('not a time')).toBe('not a time');
    expect(formatClock('2026-13-45T99:99:99.000Z')).toBe('2026-13-45T99:99:99.000Z');
    expect(formatClock(Date.parse('2026-12-06T05:10:01.123Z'))).toBe(byDate('2026-12-06T05:10:01.123Z'));
  });
});
