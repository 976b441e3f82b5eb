/**
 * A history read lets the sidecar's thread go while it scans (review16). A filter that takes few
 * of the recorded exchanges made `tap --since 1h` scan the whole flight recorder in one turn: on
 * the js engine that thread forwards the traffic, and a full default recorder (88k exchanges) held
 * every request for seconds (bench/history-scan-block.sh). The read now scans in slices of a turn.
 *
 * A real sidecar of each engine, its recorder filled with one real exchange recorded many
 * times (the scan's cost is the point, not the variety), a real tap stream whose filter takes
 * nothing, and a real HTTP request through the sidecar sent once the scan has begun: it must come
 * back before the read ends, and the scan must have spanned many turns. The exact events of a read
 * with `--last` after such a scan are checked as well.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecar, type Sidecar } from '../proxy/index.js';
import { openTapStream, type TapEvent, type TapMessage, type TapRequest } from '../tap-protocol/index.js';
import { ENGINES, type Engine } from './support/engines.js';

describe.each(ENGINES)('%s engine', (engine: Engine) => {
  let backend: Server;
  let sidecar: Sidecar;
  let forward: string;
  const COPIES = 150_000;

  beforeAll(async () => {
    backend = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    sidecar = await startSidecar({
      forwards: [{ proxy: 'in', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: (backend.address() as AddressInfo).port } }],
      tap: { host: '127.0.0.1', port: 0 },
      identity: { workload: 'deploy/web', namespace: 'shop', pod: 'web-1' },
      engine,
      recorderBytes: 1024 * 1024 * 1024, // an estimate: the copies share one event
    });
    forward = sidecar.listeners[0]!.address;
    await (await fetch(`http://${forward}/first`)).text();
    let seed: TapEvent | undefined;
    for (let i = 0; i < 200 && seed === undefined; i++) {
      seed = sidecar.recorder.query({}, (e) => e.path === '/first')[0];
      if (seed === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(seed).toBeDefined();
    const copy: TapEvent = { ...seed!, path: '/copy' };
    for (let i = 0; i < COPIES; i++) sidecar.recorder.push(copy, 2000);
    await (await fetch(`http://${forward}/last-one`)).text();
    for (let i = 0; i < 200 && sidecar.recorder.query({ last: 1 })[0]?.path !== '/last-one'; i++) await new Promise((r) => setTimeout(r, 25));
  }, 60_000);

  afterAll(async () => {
    await sidecar?.close();
    await new Promise((r) => backend?.close(r));
  });

  /** Reads a history-only tap to its end; `onMessage` sees each message as it comes. */
  async function read(request: Partial<TapRequest>, onMessage: (m: TapMessage) => void = () => {}): Promise<TapMessage[]> {
    const s = openTapStream(sidecar.tapAddress!, { matches: [], bodies: false, ...request } as TapRequest, { deadlineMs: 60_000 });
    const out: TapMessage[] = [];
    try {
      for await (const m of s.messages) {
        out.push(m);
        onMessage(m);
      }
    } finally {
      s.cancel();
    }
    return out;
  }

  /** Counts turns (a setImmediate chain) and notes, per snapshot read, the turn of each event it made. */
  function watchScan(): { turns: Set<number>; started: Promise<void>; stop(): void } {
    let turn = 0;
    let ticking = true;
    const tick = (): void => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const turns = new Set<number>();
    let began!: () => void;
    const started = new Promise<void>((r) => (began = r));
    const recorder = sidecar.recorder as { snapshots: Sidecar['recorder']['snapshots'] };
    const original = recorder.snapshots;
    recorder.snapshots = function (since, accept) {
      return original.call(this, since, accept).map((l) => ({
        length: l.length,
        at(i: number) {
          turns.add(turn);
          began();
          return l.at(i);
        },
      }));
    };
    return {
      turns,
      started,
      stop() {
        ticking = false;
        recorder.snapshots = original;
      },
    };
  }

  describe('a history read over a full recorder', () => {
    it('a filter that takes nothing: the sidecar forwards a request sent mid-scan before the read ends', async () => {
      const scan = watchScan();
      const order: string[] = [];
      try {
        const reading = read({ sinceMs: 3_600_000, matches: [[{ field: 'pathPrefix', value: '/nothing' }]] }, (m) => order.push(m.type));
        await scan.started;
        const res = await fetch(`http://${forward}/mid-scan`);
        expect(await res.text()).toBe('ok');
        order.push('forwarded');
        const messages = await reading;
        expect(messages).toEqual([expect.objectContaining({ type: 'history-end' })]);
        // Before: ['history-end', 'forwarded'] and every event made in one turn.
        expect(order).toEqual(['forwarded', 'history-end']);
        expect(scan.turns.size).toBeGreaterThan(5);
      } finally {
        scan.stop();
      }
    }, 120_000);

    const wanted = [[{ field: 'pathPrefix', value: '/first' }], [{ field: 'pathPrefix', value: '/last-one' }], [{ field: 'pathPrefix', value: '/mid-scan' }]] as TapRequest['matches'];

    it.each([
      ['--last 3 (reading back through the bulk)', { last: 3 }, ['/first', '/last-one', '/mid-scan']],
      ['--since 1h', { sinceMs: 3_600_000 }, ['/first', '/last-one', '/mid-scan']],
    ] as Array<[string, Partial<TapRequest>, string[]]>)('%s with a filter that takes a few: the exact events, each once, oldest first, in slices of a turn', async (_name, request, paths) => {
      const scan = watchScan();
      const order: string[] = [];
      try {
        const reading = read({ ...request, matches: wanted }, (m) => order.push(m.type === 'event' ? m.event.path : m.type));
        await scan.started;
        const res = await fetch(`http://${forward}/during`);
        expect(await res.text()).toBe('ok');
        order.push('forwarded');
        const messages = await reading;
        expect(messages.map((m) => (m.type === 'event' ? m.event.path : m.type))).toEqual([...paths, 'history-end']);
        // The request sent mid-scan came back while the bulk was scanned: before the first event past it.
        expect(order.indexOf('forwarded')).toBeLessThan(order.indexOf('/last-one'));
        expect(scan.turns.size).toBeGreaterThan(5);
      } finally {
        scan.stop();
      }
    }, 120_000);
  });
});
