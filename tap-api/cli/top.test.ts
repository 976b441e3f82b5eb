import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { TapEvent, TapMessage } from '../../tap-protocol/index.js';
import { createTopTable, isSuccess, renderTopTable, runTop } from './top.js';

const end = (over: Partial<TapEvent>): TapEvent => ({
  kind: 'end',
  id: '1.1',
  ts: '2026-01-01T00:00:00Z',
  proxy: 'in',
  src: '10.0.0.1:5555',
  dst: '10.0.0.2:8080',
  dstWorkload: 'deploy/web',
  protocol: 'http/1.1',
  method: 'GET',
  scheme: 'http',
  authority: 'web',
  path: '/a',
  status: 200,
  latencyMs: 5,
  ...over,
});

async function* messages(list: TapMessage[], error?: Error): AsyncGenerator<TapMessage> {
  for (const m of list) yield m;
  if (error) throw error;
}

describe('top table', () => {
  it('aggregates count, best/worst/last latency and success per (source, destination, method, path)', () => {
    const t = createTopTable();
    t.add(end({ latencyMs: 5 }));
    t.add(end({ latencyMs: 2, status: 503 }));
    t.add(end({ latencyMs: 9 }));
    t.add({ ...end({}), kind: 'req' }); // only completed exchanges count
    t.add(end({ path: '/b', srcWorkload: 'deploy/front', latencyMs: undefined, durationMs: 7 }));
    expect(t.rows()).toEqual([
      { source: '10.0.0.1', destination: 'deploy/web', method: 'GET', path: '/a', count: 3, bestMs: 2, worstMs: 9, lastMs: 9, successes: 2 },
      { source: 'deploy/front', destination: 'deploy/web', method: 'GET', path: '/b', count: 1, bestMs: 7, worstMs: 7, lastMs: 7, successes: 1 },
    ]);
    expect(t.total).toBe(4);
  });

  it('classifies like Linkerd: 5xx, failing gRPC statuses, errors and no response fail', () => {
    expect(isSuccess(end({ status: 404 }))).toBe(true);
    expect(isSuccess(end({ status: 500 }))).toBe(false);
    expect(isSuccess(end({ status: 200, grpcStatus: 5 }))).toBe(true); // NotFound is not a failure
    expect(isSuccess(end({ status: 200, grpcStatus: 14 }))).toBe(false);
    expect(isSuccess(end({ status: undefined, error: 'reset' }))).toBe(false);
  });

  it('an exchange whose outcome went unseen (observer-gave-up before its response came whole) is not counted, as the series leave it out (session 14)', () => {
    const t = createTopTable();
    t.add(end({ status: 200 }));
    t.add(end({ status: 200, error: 'observer-gave-up' })); // head seen, body not: not a response
    t.add(end({ status: undefined, error: 'observer-gave-up' }));
    t.add(end({ status: 500, error: 'observer-gave-up', responseComplete: true })); // came whole: its status decides
    expect(t.rows().map((r) => [r.count, r.successes])).toEqual([[2, 1]]);
    expect(t.total).toBe(2);
  });

  it('bounds the rows it tracks and counts the rest', () => {
    const t = createTopTable(2);
    for (const p of ['/1', '/2', '/3', '/3', '/1']) t.add(end({ path: p }));
    expect(t.rows().map((r) => `${r.path}=${r.count}`)).toEqual(['/1=2', '/2=1']);
    expect(t.untracked).toBe(2);
  });

  it('renders a fixed header and cuts long paths to the terminal width', () => {
    const t = createTopTable();
    t.add(end({ path: '/' + 'x'.repeat(200) }));
    expect(renderTopTable(t.rows(), { width: 300 }).split('\n')[0]).toMatch(/^Source\s+Destination\s+Method\s+Path\s+Count\s+Best\s+Worst\s+Last\s+Success Rate$/);
    const text = renderTopTable(t.rows(), { width: 100 });
    const [head, row] = text.split('\n');
    // Narrow: the peers give way before the path does (issue 11 top habit), and keep readable names.
    expect(head).toMatch(/^Source\s+Dst\s+Method\s+Path\s+Count\s+Best\s+Worst\s+Last\s+Success$/);
    expect(head!.indexOf('Count') - head!.indexOf('Path')).toBeGreaterThan(35);
    expect(row!.length).toBeLessThanOrEqual(100);
    expect(row).toContain('…');
    expect(row).toMatch(/100\.00%$/);
  });
});

describe('runTop', () => {
  it('not a terminal: prints the table once when the stream ends, with dropped counts', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c) => (text += c));
    await runTop({ messages: messages([{ type: 'event', event: end({}) }, { type: 'dropped', count: 3, reason: 'rate-limit' }]), out, title: 'top deploy/web' });
    // Regression ('1 exchanges'): a count of one is said in the singular.
    expect(text.startsWith('top deploy/web — 1 exchange (3 events dropped)\n\nSource')).toBe(true);
    expect(text).not.toContain('\x1b[');
  });

  it('a terminal: redraws in place with ANSI home/clear and restores the cursor', async () => {
    const out = Object.assign(new PassThrough(), { isTTY: true, rows: 24, columns: 120 });
    let text = '';
    out.on('data', (c) => (text += c));
    await runTop({ messages: messages([{ type: 'event', event: end({}) }]), out, title: 't', refreshMs: 10 });
    expect(text.startsWith('\x1b[?25l\x1b[H\x1b[2J')).toBe(true);
    expect(text.endsWith('\x1b[?25h')).toBe(true);
  });

  it('a terminal: q quits (onQuit), Ctrl-C, which raw mode turns into the key \\x03, interrupts (onInterrupt: exit 130 as for SIGINT)', async () => {
    for (const [key, want] of [['q', 'quit'], ['\x03', 'interrupt']] as const) {
      const out = Object.assign(new PassThrough(), { isTTY: true, rows: 24, columns: 120 });
      out.resume();
      const raw: boolean[] = [];
      const keys = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (on: boolean) => raw.push(on) });
      let stop!: () => void;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      async function* live(): AsyncGenerator<TapMessage> {
        yield { type: 'event', event: end({}) };
        await stopped;
      }
      const got: string[] = [];
      const run = runTop({
        messages: live(),
        out,
        title: 't',
        keys: keys as unknown as NodeJS.ReadStream,
        onQuit: () => (got.push('quit'), stop()),
        onInterrupt: () => (got.push('interrupt'), stop()),
      });
      keys.write(key);
      await run;
      expect(got).toEqual([want]);
      expect(raw).toEqual([true, false]);
    }
  });

  it('a terminal, a stream that fails before any event (unreachable, refused): the empty table drawn meanwhile is cleared, the cursor given back, no final table', async () => {
    const out = Object.assign(new PassThrough(), { isTTY: true, rows: 24, columns: 120 });
    let text = '';
    out.on('data', (c) => (text += c));
    await expect(runTop({ messages: messages([], new Error('unreachable')), out, title: 't' })).rejects.toThrow('unreachable');
    expect(text.endsWith('\x1b[H\x1b[2J\x1b[?25h')).toBe(true);
  });

  it('a stream refused before any event: the error propagates and no empty table is printed', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c) => (text += c));
    await expect(runTop({ messages: messages([], new Error('forbidden')), out, title: 't' })).rejects.toThrow('forbidden');
    expect(text).toBe('');
  });
});
