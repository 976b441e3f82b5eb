/**
 * Regression (ReDoS through a tap filter): a tapper's `--path-regex` runs on the sidecar's event
 * loop, which is the traffic's. `(a|a)+$` slipped past the old nested-quantifier check and
 * backtracks exponentially on a path of many `a`s, freezing the sidecar (and every connection it
 * forwards) for hours. Path regexes now run on a linear-time engine (RE2). The real `meshtap proxy`
 * process is used so that a regression fails this test (traffic stops) instead of hanging vitest.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTapStream, type TapEvent, type TapFilter } from '../tap-protocol/index.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';

let backend: Server;
let sidecar: SidecarProcess;

beforeAll(async () => {
  backend = createServer((req, res) => res.end(`ok ${req.url}`));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const port = (backend.address() as AddressInfo).port;
  sidecar = await startSidecarProcess(['--forward', `127.0.0.1:0=127.0.0.1:${port}`, '--tap', '127.0.0.1:0']);
});

afterAll(async () => {
  await sidecar?.stop();
  await new Promise((r) => backend?.close(r));
});

async function history(matches: TapFilter[][]): Promise<{ events: TapEvent[]; error?: string }> {
  const s = openTapStream(sidecar.tap!, { matches, bodies: false, last: 100 }, { deadlineMs: 15_000 });
  const events: TapEvent[] = [];
  try {
    for await (const m of s.messages) if (m.type === 'event') events.push(m.event);
    return { events };
  } catch (err) {
    return { events, error: String((err as { details?: string }).details ?? err) };
  } finally {
    s.cancel();
  }
}

describe('path regex filters cannot stall the sidecar', () => {
  it.each(['(a|a)+$', '(a+)+$', '(\\w|a)+@$', '\\w*\\w*\\w*\\w*\\w*\\w*$x'])('%s over a hostile path: the tap answers and traffic keeps flowing', async (regex) => {
    const hostile = '/' + 'a'.repeat(64) + '!';
    const r1 = await fetch(`http://${sidecar.forwards[0]!.address}${hostile}`, { signal: AbortSignal.timeout(15_000) });
    expect(await r1.text()).toBe(`ok ${hostile}`);
    const h = await history([[{ field: 'pathRegex', value: regex }]]);
    expect(h.error).toBeUndefined();
    expect(h.events.filter((e) => e.path === hostile)).toEqual([]);
    const r2 = await fetch(`http://${sidecar.forwards[0]!.address}/after`, { signal: AbortSignal.timeout(15_000) });
    expect(await r2.text()).toBe('ok /after');
  });

  it('positive control: an ordinary regex still selects exchanges', async () => {
    await (await fetch(`http://${sidecar.forwards[0]!.address}/api/v2/users/7`)).text();
    const h = await history([[{ field: 'pathRegex', value: '^/api/v[0-9]+/users/[0-9]+$' }]]);
    expect(h.error).toBeUndefined();
    expect(h.events.map((e) => e.path)).toContain('/api/v2/users/7');
  });

  it('a regex the linear engine cannot run (backreference) is refused with a clear message', async () => {
    const h = await history([[{ field: 'pathRegex', value: '(a)\\1' }]]);
    expect(h.error).toMatch(/path regex/);
  });
});
