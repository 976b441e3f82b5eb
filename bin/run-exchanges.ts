/**
 * What `meshtap run` shows of CMD's traffic: it subscribes to its own sidecar's tap before CMD
 * starts, prints one line per exchange on stderr (CMD keeps stdout, as with strace), writes a
 * recording with --record, and once CMD exits waits (bounded) for exchanges still in flight,
 * then ends the subscription itself, so no tap error is printed when the sidecar stops.
 *
 * "Still in flight" is known exactly, not guessed from a pause: when CMD exits, the runner asks
 * the sidecar to flush (`Flush` with the stream's flushToken) and reads on until the `flushed`
 * marker, which follows every event of every exchange the sidecar had seen (the native engine's
 * records drained first). Then an exchange whose `req` came and whose `end` did not is open. A
 * pause (100 ms, 81cf142) lost CMD's only exchange on a loaded CI machine.
 */
import { randomBytes } from 'node:crypto';
import { MeshtapError } from '../common/index.js';
import { createRecordingHeader, createRecordingWriter, exchangeFromEvent, type RecordingWriter } from '../record/index.js';
import { formatMessage, openSource } from '../tap-api/index.js';
import { flushTap, type TapEvent, type TapStream } from '../tap-protocol/index.js';

/** Longest wait for the sidecar's `flushed` marker (it answers at once unless its JS thread is busy). */
const FLUSH_WAIT_MS = 5_000;

export type RunOutput = 'text' | 'wide' | 'json' | 'none';

/** Longest wait, after CMD exits, for its exchanges in flight to end. */
const DRAIN_MS = 2_000;

export interface RunExchanges {
  /** Subscribes to the sidecar at `tap`; resolves once live events flow. */
  start(tap: string): Promise<void>;
  /** Waits for exchanges in flight (bounded), ends the tap, closes the recording; returns counts. */
  finish(): Promise<{ exchanges: number }>;
}

export function createRunExchanges(o: { output: RunOutput; record?: string; force?: boolean; version: string; print: (line: string) => void }): RunExchanges {
  let stream: TapStream | undefined;
  let writer: RecordingWriter | undefined;
  let reading: Promise<void> | undefined;
  let exchanges = 0;
  const open = new Set<string>();
  let idle: (() => void) | undefined;
  let tapAddress = '';
  const flushToken = randomBytes(16).toString('hex');
  let flushed: (() => void) | undefined;
  const show = (e: TapEvent) => {
    if (o.output === 'none' || e.kind !== 'end') return;
    const { requestBody: _q, responseBody: _r, ...bare } = e;
    const line = formatMessage({ type: 'event', event: bare as TapEvent }, o.output);
    if (line !== undefined) o.print(line);
  };
  /** Asks for the marker and waits for it (bounded; said on stderr when it did not come). */
  const awaitFlushed = async (): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const marked = new Promise<boolean>((resolve) => {
      flushed = () => resolve(true);
      timer = setTimeout(() => resolve(false), FLUSH_WAIT_MS);
    });
    let problem: string | undefined;
    try {
      if (!(await flushTap(tapAddress, flushToken, { deadlineMs: FLUSH_WAIT_MS }))) problem = 'the sidecar no longer knows this tap';
    } catch (err) {
      problem = `the sidecar did not answer: ${(err as { details?: string }).details ?? String(err)}`;
    }
    if (problem === undefined && !(await marked)) problem = `no answer within ${FLUSH_WAIT_MS / 1000} s`;
    clearTimeout(timer);
    flushed = undefined;
    if (problem !== undefined) o.print(`meshtap run: could not confirm that every exchange of CMD was seen (${problem}); some may be missing`);
  };

  return {
    async start(tap) {
      if (o.record) writer = await createRecordingWriter(o.record, createRecordingHeader({ kind: 'proxy', address: tap }, o.version, { bodies: true }), { force: o.force });
      // sinceMs: a tiny history window, only so the sidecar says 'history-end' once we are live.
      tapAddress = tap;
      const s = openSource({ proxy: tap }, { matches: [], bodies: writer !== undefined, sinceMs: 1, follow: true, flushToken });
      stream = s;
      let live!: () => void;
      let failed!: (err: unknown) => void;
      const ready = new Promise<void>((resolve, reject) => ((live = resolve), (failed = reject)));
      reading = (async () => {
        try {
          for await (const m of s.messages) {
            if (m.type === 'history-end') live();
            if (m.type === 'dropped') o.print(`meshtap run: ${m.count} event${m.count === 1 ? '' : 's'} dropped (${m.reason})`);
            if (m.type === 'flushed' && m.token === flushToken) flushed?.();
            if (m.type !== 'event') continue;
            const e = m.event;
            if (e.kind === 'req') open.add(e.id);
            if (e.kind !== 'end') continue;
            open.delete(e.id);
            exchanges++;
            show(e);
            if (writer) await writer.write(exchangeFromEvent(e));
            if (open.size === 0) idle?.();
          }
        } catch (err) {
          failed(err);
        } finally {
          flushed?.(); // the stream ended: no marker will come
        }
      })();
      await Promise.race([ready, reading.then(() => Promise.reject(new MeshtapError('MT_RUN_TAP', `the sidecar's tap at ${tap} ended before it started`)))]);
    },
    async finish() {
      // CMD's last events may still be on their way (the engine's doorbell, the tap hub's coalesced
      // writes): read on until the sidecar's marker says everything it had seen was delivered.
      if (stream !== undefined) await awaitFlushed();
      if (open.size > 0) await new Promise<void>((resolve) => {
        idle = resolve;
        setTimeout(resolve, DRAIN_MS).unref();
      });
      stream?.cancel();
      await reading?.catch(() => undefined);
      if (writer) {
        await writer.close();
        o.print(`meshtap run: recorded ${writer.count} exchanges to ${o.record}`);
      }
      return { exchanges };
    },
  };
}
