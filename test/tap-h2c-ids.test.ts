/**
 * Regression (review9's R4, fixed by sec10): after an h2c upgrade made on a keep-alive
 * connection's Nth HTTP/1 request, the upgraded exchange kept its HTTP/1 number as its stream
 * (`<conn>.N`) and the client's HTTP/2 stream N had the same id while both were open. Ids are
 * "stable per exchange" (DESIGN §5), and the tap hub decides a filtered tap per id: a tap filtered
 * on the upgraded request's path was handed the other exchange too, and `jq group_by(.id)` paired
 * the two. Now exchange numbers go on after the HTTP/1 ones (docs/decisions.md, sec10): the
 * upgraded request keeps N (it is stream 1), HTTP/2 stream s is N - 1 + s; both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTapStream, type TapEvent } from '../tap-protocol/index.js';
import { startEngineSide, type EngineSide } from './support/differential-rig.js';
import { ENGINES } from './support/engines.js';
import { toH2Conversation, type H2ConversationSpec } from './support/h2-conversations.js';
import { waitForMetric } from './support/metrics-scrape.js';
import { until } from './support/until.js';

const PLAIN_BLOCK = { styles: [{ rep: 'without', isNameIndexed: false, isHuffman: false }], fragments: 1, padding: null, hasPriority: false, sizeUpdate: 'none' } as const;
const block = (fields: Array<[string, string]>) => ({ ...PLAIN_BLOCK, styles: [...PLAIN_BLOCK.styles], fields });
const direction = (fields: Array<[string, string]>, body: string) => ({ interim: [], head: block(fields), body, dataSizes: [100], dataPadding: [], trailers: null, isEmptyDataEnd: false });

/** The upgrade as the 3rd HTTP/1 request (`/up`), then HTTP/2 stream 3 (`/three`) while the upgraded exchange is open. */
const SPEC: H2ConversationSpec = {
  isServerFirst: false, clientSettings: [], serverSettings: [], extras: [], mutation: null, pieces: [100_000], stopAfter: null, serverClosesFirst: false,
  schedule: [0, 1, 0, 0],
  upgrade: { before: 2, method: 'GET', path: '/up', body: '', response: direction([[':status', '200']], 'ok') },
  streams: [{ request: direction([[':method', 'GET'], [':scheme', 'http'], [':path', '/three']], ''), response: direction([[':status', '204']], ''), reset: null }],
};

describe.each(ENGINES)('h2c upgrade on a keep-alive connection (%s engine)', (engine) => {
  let side: EngineSide;
  beforeAll(async () => {
    side = await startEngineSide(engine, { liveTap: false });
  }, 60_000);
  afterAll(async () => {
    await side?.close();
  });

  it('a tap filtered on the upgraded request\'s path gets that exchange only, under an id no other exchange has', async () => {
    const tap = openTapStream(side.sidecar.tap!, { matches: [[{ field: 'pathPrefix', value: '/up' }]], bodies: false });
    const events: TapEvent[] = [];
    const reading = (async () => {
      for await (const m of tap.messages) if (m.type === 'event') events.push(m.event);
    })().catch(() => undefined);
    try {
      // The tap is live once the sidecar counts its subscriber (the upstream is scripted: no probe request).
      await waitForMetric(side.sidecar.admin!, 'meshtap_tap_subscribers', {}, (v) => v >= 1, 30_000);
      await side.run(toH2Conversation(SPEC));
      await until('the upgraded exchange ended', () => events.some((e) => e.kind === 'end' && e.path === '/up'));
      const upId = events.find((e) => e.path === '/up')!.id;
      // Before, both engines handed it [req /up, rsp /up, req /three, end /up], all with id <conn>.3.
      expect(events.map((e) => [e.kind, e.path])).toEqual([['req', '/up'], ['rsp', '/up'], ['end', '/up']]);
      expect(new Set(events.map((e) => e.id))).toEqual(new Set([upId]));
      expect(upId).toMatch(/\.3$/);
    } finally {
      tap.cancel();
      await reading;
    }
  }, 60_000);

  it('every exchange of the connection has its own id: HTTP/1 1, 2, the upgrade 3, stream 3 numbered 5', async () => {
    const tap = openTapStream(side.sidecar.tap!, { matches: [], bodies: false, last: 50 });
    const ends: TapEvent[] = [];
    for await (const m of tap.messages) if (m.type === 'event' && m.event.kind === 'end') ends.push(m.event);
    // The recorder holds the first test's conversation: four exchanges on one connection.
    const conn = ends.find((e) => e.path === '/up')!.id.replace(/\.\d+$/, '');
    const mine = ends.filter((e) => e.id.startsWith(`${conn}.`));
    expect(mine.map((e) => [e.id.slice(conn.length + 1), e.path]).sort()).toEqual([['1', '/before/0'], ['2', '/before/1'], ['3', '/up'], ['5', '/three']]);
  }, 60_000);
});
