/**
 * The events a tap of one sidecar process gives (loopback: trusted, nothing revealed). With
 * `act`: opens a live tap, waits until the sidecar says it is live, runs `act`, and reads live
 * events until an exchange ended. Without: reads what `request` asks of the flight recorder (e.g.
 * `last`) to its end.
 *
 * "Live" is this stream's own `history-end` (asked for with `last: 0`: no history, then live
 * events from the same tick, proxy/tap-service.ts), not the sidecar's subscriber gauge: a gauge of
 * 1 can still be the previous test's tap on its way out, and then `act`'s exchange passed before
 * this tap was attached (seen in CI under load: "the exchange ended on the tap: not within").
 */
import { openTapStream, type TapEvent, type TapRequest } from '../../tap-protocol/index.js';
import type { SidecarProcess } from './meshtap-process.js';
import { until } from './until.js';

export async function sidecarTapEvents(sidecar: SidecarProcess, request: Partial<TapRequest>, act?: () => Promise<void>): Promise<TapEvent[]> {
  const live = act !== undefined ? { last: 0, follow: true } : {};
  const stream = openTapStream(sidecar.tap!, { matches: [], bodies: false, ...request, ...live }, { deadlineMs: 30_000 });
  const events: TapEvent[] = [];
  let attached = false;
  const reading = (async () => {
    for await (const m of stream.messages) {
      if (m.type === 'event') events.push(m.event);
      else if (m.type === 'history-end') attached = true;
    }
  })();
  if (act) {
    const failed = reading.then(
      () => Promise.reject(new Error('the tap stream ended before it was live')),
      (err: unknown) => Promise.reject(err instanceof Error ? err : new Error(String(err))),
    );
    failed.catch(() => undefined);
    try {
      await Promise.race([until('the tap is live', () => attached, 20_000), failed]);
      await act();
      await until('the exchange ended on the tap', () => events.some((e) => e.kind === 'end'));
    } finally {
      stream.cancel();
    }
  }
  await reading.catch(() => undefined);
  return events;
}
