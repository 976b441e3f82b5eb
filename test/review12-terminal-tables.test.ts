/**
 * review12: `meshtap tap` escapes what the traffic could use to drive a terminal (ESC, CR, …), but
 * `meshtap top` and `meshtap routes` printed a request's path raw: an HTTP/2 client that sent
 * `:path /p<ESC>[2Jq` through a sidecar cleared the screen of whoever ran `top` or `routes` on that
 * workload (and could set its title, colours, or more, and broke the columns). Real sidecars on
 * both engines registered with a real tap API, a raw HTTP/2 client, the real CLI. `meshtap replay`'s
 * report likewise printed a recording's path and the recorded and answered values as they were.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
/** No control character but the line feeds that end lines. */
const expectNoControls = (out: string) => expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);

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
    expectNoControls(out);
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

describe('meshtap replay: its report shows values from the wire escaped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-review12-term-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a failed exchange\'s path and a mismatched header\'s value', async () => {
    const T0 = Date.parse('2026-12-01T10:00:00.000Z');
    const header = { format: 'meshtap-recording', version: 1, created: new Date(T0).toISOString(), source: { kind: 'workload', target: 'deploy/web', namespace: 'shop' }, meshtap: '0.1.0' };
    const ex = (id: string, path: string, responseHeaders: string[][]) => ({
      kind: 'end', id, ts: new Date(T0).toISOString(), proxy: 'in', src: '127.0.0.1:1', dst: '127.0.0.1:2', protocol: 'http/1.1', method: 'GET', scheme: 'http',
      authority: 'svc', path, requestHeaders: [['Host', 'svc']], status: 200, responseHeaders, durationMs: 1, requestBytes: 0, responseBytes: 0,
    });
    const file = join(dir, 'esc.jsonl');
    writeFileSync(file, [header, ex('1.1', PATH, []), ex('2.1', '/ok', [['X-Note', 'a\x1b[2Jb']])].map((l) => JSON.stringify(l)).join('\n') + '\n');
    const target = createHttpServer((_req, res) => res.end());
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    try {
      const r = await runMeshtap(['replay', file, '--target', `http://127.0.0.1:${(target.address() as AddressInfo).port}`, '--speed', 'max']);
      expect(r.code).toBe(1);
      expectNoControls(r.stdout);
      expect(r.stdout).toContain(`FAILED   1.1 GET ${SHOWN}`);
      expect(r.stdout).toContain('header:x-note: expected a\\x1b[2Jb, got (absent)');
    } finally {
      await new Promise((r) => target.close(r));
    }
  }, 30_000);
});
