/**
 * review12: `meshtap tap` escapes what the traffic could use to drive a terminal (ESC, CR, …), but
 * `meshtap top` and `meshtap routes` printed a request's path raw: an HTTP/2 client that sent
 * `:path /p<ESC>[2Jq` through a sidecar cleared the screen of whoever ran `top` or `routes` on that
 * workload (and could set its title, colours, or more, and broke the columns). Real sidecars on
 * both engines registered with a real tap API, a raw HTTP/2 client, the real CLI.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecar, type Sidecar } from '../proxy/index.js';
import type { TapApiServer } from '../tap-api/index.js';
import { ENGINES } from './support/engines.js';
import { clientStart, FLAG, FRAME, frame, hpackLiterals } from './support/h2-frames.js';
import { runMeshtap, spawnMeshtap } from './support/meshtap-process.js';
import { REGISTRATION_TOKEN, startFixtureTapApi, TOKENS, writeTapApiFixtures } from './tap-api-fixtures.js';
import { until } from './support/until.js';

const PATH = '/p\x1b[2J\x1b]0;pwned\x07q';
const SHOWN = '/p\\x1b[2J\\x1b]0;pwned\\x07q';

describe.each(ENGINES)('top and routes show a path with control characters escaped (%s engine)', (engine) => {
  let dir: string;
  let tapApi: TapApiServer;
  let sidecar: Sidecar;
  let app: net.Server;
  beforeAll(async () => {
    const f = await writeTapApiFixtures();
    dir = f.dir;
    tapApi = await startFixtureTapApi(f.rbacDir);
    // The application: answers every stream 200 (raw bytes, so nothing checks the path).
    app = net.createServer((s) => {
      s.on('error', () => undefined);
      let seen = 0;
      s.on('data', () => {
        if (seen++ === 0) s.write(Buffer.concat([frame(FRAME.SETTINGS, 0, 0), frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, hpackLiterals([[':status', '200']]))]));
      });
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    sidecar = await startSidecar({
      engine,
      forwards: [{ proxy: 'in', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: (app.address() as AddressInfo).port } }],
      admin: { host: '127.0.0.1', port: 0 },
      tap: { host: '127.0.0.1', port: 0 },
      identity: { workload: 'deploy/web', namespace: 'shop', pod: `web-${engine}-0` },
      tapApi: tapApi.url,
      tapApiToken: REGISTRATION_TOKEN,
    });
    await until('the sidecar registered', () => tapApi.registry.list().length >= 1, 10_000);
  }, 30_000);
  afterAll(async () => {
    await sidecar?.close();
    await tapApi?.close();
    await new Promise((r) => app?.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** One HTTP/2 request with PATH through the sidecar; resolves once the answer came back. */
  const send = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const [host, port] = [sidecar.listeners[0]!.address.split(':')[0]!, Number(sidecar.listeners[0]!.address.split(':')[1])];
      const c = net.connect(port, host, () => {
        c.write(Buffer.concat([clientStart(), frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, hpackLiterals([[':method', 'GET'], [':scheme', 'http'], [':path', PATH], [':authority', 'web']]))]));
      });
      let got = 0;
      c.on('data', (d) => {
        got += d.length;
        if (got >= 9 + 9) setTimeout(() => (c.destroy(), resolve()), 50);
      });
      c.on('error', reject);
    });

  const expectEscaped = (out: string) => {
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(out).toContain(SHOWN);
  };

  it('meshtap top', async () => {
    const top = spawnMeshtap(['top', '--proxy', sidecar.tapAddress!, '--duration', '6s']);
    // Until top ends: when its tap starts on a loaded machine is not known from outside.
    let done = false;
    const r = await Promise.all([
      top.done.finally(() => (done = true)),
      (async () => {
        while (!done) {
          await send();
          await new Promise((w) => setTimeout(w, 300));
        }
      })(),
    ]).then(([result]) => result);
    expect(r.code).toBe(0);
    expectEscaped(r.stdout);
  }, 30_000);

  it('meshtap routes', async () => {
    await send();
    const r = await runMeshtap(['routes', 'deploy/web', '-n', 'shop', '-t', '1m', '--tap-api', tapApi.url, '--token', TOKENS.admin]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expectEscaped(r.stdout);
  }, 30_000);
});
