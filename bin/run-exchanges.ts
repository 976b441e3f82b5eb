/**
 * What `meshtap run` shows of CMD's traffic: it subscribes to its own sidecar's tap before CMD
 * starts, prints one line per exchange on stderr (CMD keeps stdout, as with strace), writes a
 * recording with --record, and once CMD exits waits (bounded) for exchanges still in flight,
 * then ends the subscription itself, so no tap error is printed when the sidecar stops.
 */
import { MeshtapError } from '../common/index.js';
import { createRecordingHeader, createRecordingWriter, exchangeFromEvent, type RecordingWriter } from '../record/index.js';
import { formatMessage, openSource } from '../tap-api/index.js';
import type { TapEvent, TapStream } from '../tap-protocol/index.js';

/** How long `finish` lets events already produced reach the tap client (the hub writes within 5 ms). */
const SETTLE_MS = 100;

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
  const show = (e: TapEvent) => {
    if (o.output === 'none' || e.kind !== 'end') return;
    const { requestBody: _q, responseBody: _r, ...bare } = e;
    const line = formatMessage({ type: 'event', event: bare as TapEvent }, o.output);
    if (line !== undefined) o.print(line);
  };
  return {
    async start(tap) {
      if (o.record) writer = await createRecordingWriter(o.record, createRecordingHeader({ kind: 'proxy', address: tap }, o.version, { bodies: true }), { force: o.force });
      // sinceMs: a tiny history window, only so the sidecar says 'history-end' once we are live.
      const s = openSource({ proxy: tap }, { matches: [], bodies: writer !== undefined, sinceMs: 1, follow: true });
      stream = s;
      let live!: () => void;
      let failed!: (err: unknown) => void;
      const ready = new Promise<void>((resolve, reject) => ((live = resolve), (failed = reject)));
      reading = (async () => {
        try {
          for await (const m of s.messages) {
            if (m.type === 'history-end') live();
            if (m.type === 'dropped') o.print(`meshtap run: ${m.count} events dropped (${m.reason})`);
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
        }
      })();
      await Promise.race([ready, reading.then(() => Promise.reject(new MeshtapError('MT_RUN_TAP', `the sidecar's tap at ${tap} ended before it started`)))]);
    },
    async finish() {
      // CMD's last exchange may still be on its way (the engine's doorbell, the tap hub's coalesced
      // writes: FLUSH_DELAY_MS): let it land before deciding that nothing is open.
      await new Promise((r) => setTimeout(r, SETTLE_MS));
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
