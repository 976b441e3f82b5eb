/**
 * The events a tap of one sidecar process gives (loopback: trusted, nothing revealed). With
 * `act`: waits until the tap is attached, runs `act`, and reads live events until an exchange
 * ended. Without: reads what `request` asks of the flight recorder (e.g. `last`) to its end.
 */
import { openTapStream, type TapEvent, type TapRequest } from '../../tap-protocol/index.js';
import type { SidecarProcess } from './meshtap-process.js';
import { waitForMetric } from './metrics-scrape.js';
import { until } from './until.js';

export async function sidecarTapEvents(sidecar: SidecarProcess, request: Partial<TapRequest>, act?: () => Promise<void>): Promise<TapEvent[]> {
  const stream = openTapStream(sidecar.tap!, { matches: [], bodies: false, ...request }, { deadlineMs: 20_000 });
  const events: TapEvent[] = [];
  const reading = (async () => {
    for await (const m of stream.messages) if (m.type === 'event') events.push(m.event);
  })();
  if (act) {
    await waitForMetric(sidecar.admin!, 'meshtap_tap_subscribers', {}, (v) => v >= 1, 30_000);
    await act();
    await until('the exchange ended on the tap', () => events.some((e) => e.kind === 'end'));
    stream.cancel();
  }
  await reading.catch(() => undefined);
  return events;
}
