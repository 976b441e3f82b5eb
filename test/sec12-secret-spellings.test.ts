/**
 * review11 F6, F7 and small11's leftover: secrets that were hidden in their own field but shown
 * elsewhere, because they were not collected (or not recognised) as secrets.
 *
 * - F6: `Authorization: Basic base64("KEY:")` (the key as user name, an empty password: Stripe,
 *   Freshdesk's `KEY:X`, …) collected only the base64 text and the empty password: KEY read in
 *   full in the path, a Referer, the authority and the metric labels.
 * - Cookies joined with `,` (`Cookie: a=1, session=S`, as some clients and proxies join them):
 *   the "value" was `1, session=S`, so S alone was never scrubbed. The `;` form is checked too.
 * - F7: `GET /cb#access_token=T` (a fragment in the request target: raw clients send it) showed
 *   T in the path, `:path`-like fields and a Referer; parameters of a fragment are now read as a
 *   query's are (the same names).
 * - small11's leftover: a UTF-8 value (`é` as C3 A9 in a header) echoed in a path by a Latin-1
 *   app (`%E9`, as servlet containers, PHP and classic ASP on ISO-8859-1 write it), and the
 *   reverse (Latin-1 bytes echoed by a UTF-8 app as `é` or `%C3%A9`).
 *
 * Real sidecar processes on both engines, raw bytes on a socket, node:http as the backend; the
 * live events, the flight recorder, a filter guessing the secret and /metrics are checked.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { ENGINES } from './support/engines.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { httpGet } from './support/metrics-scrape.js';
import { sendRawBytes } from './support/one-request.js';
import { sidecarTapEvents } from './support/sidecar-tap-events.js';
import { until } from './support/until.js';

const request = (target: string, host: string, headers: Array<[string, Buffer | string]>): Buffer =>
  Buffer.concat([
    Buffer.from(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n`),
    ...headers.map(([n, v]) => Buffer.concat([Buffer.from(`${n}: `), typeof v === 'string' ? Buffer.from(v, 'latin1') : v, Buffer.from('\r\n')])),
    Buffer.from('\r\n'),
  ]);

const visible = (e: TapEvent): string => JSON.stringify(e).toLowerCase();

describe.each(ENGINES)('sec12: secrets collected from every spelling (%s engine)', (engine) => {
  let backend: http.Server;
  let h2backend: http2.Http2Server;
  let sidecar: SidecarProcess;

  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    h2backend = http2.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => h2backend.listen(0, '127.0.0.1', r));
    // prettier-ignore
    sidecar = await startSidecarProcess([
      '--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${(backend.address() as AddressInfo).port}`,
      '--forward', `127.0.0.1:0=127.0.0.1:${(h2backend.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0',
    ]);
  }, 60_000);
  afterAll(async () => {
    await sidecar?.stop();
    await new Promise((r) => backend?.close(r));
    await new Promise((r) => h2backend?.close(r));
  });

  /** Sends one request; the secret (lower-cased) must show in no live event, no recorded end, no filter's answer and no metric. */
  async function expectHidden(head: Buffer | (() => Promise<void>), secret: string, pathPrefix: string): Promise<TapEvent[]> {
    const live = await sidecarTapEvents(sidecar, {}, async () => {
      if (typeof head === 'function') await head();
      else expect(await sendRawBytes(sidecar.forwards[0]!.address, head)).toMatch(/^HTTP\/1\.1 200/);
    });
    expect(live.map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
    const history = (await sidecarTapEvents(sidecar, { last: 50 })).filter((e) => e.path.startsWith(pathPrefix));
    expect(history).toHaveLength(1);
    const guessed = (await sidecarTapEvents(sidecar, { last: 50, matches: [[{ field: 'pathRegex', value: secret }]] })).filter((e) => e.path.startsWith(pathPrefix));
    for (const e of [...live, ...history]) expect(visible(e)).not.toContain(secret.toLowerCase());
    expect(guessed).toEqual([]);
    let metrics = '';
    await until('the exchange is counted', async () => {
      metrics = (await httpGet(sidecar.admin!, '/metrics')).body;
      return metrics.includes(`route="${pathPrefix}`);
    });
    expect(metrics.toLowerCase()).not.toContain(secret.toLowerCase());
    return live;
  }

  it('F6: a Basic credential with an empty password hides its user name (the key) everywhere', async () => {
    const key = 'rkq7Zw2LmX9v';
    const basic = Buffer.from(`${key}:`).toString('base64');
    const live = await expectHidden(
      request(`/f6/charges?state=${key}&next=%2Fx%3Fk%3D${key}`, `${key}.f6.example`, [
        ['Authorization', `Basic ${basic}`],
        ['Referer', `http://app.example/back?ref=${key}`],
      ]),
      key,
      '/f6/',
    );
    expect(live[0]!.path).toBe('/f6/charges?state=[redacted]&next=%2Fx%3Fk%3D[redacted]');
    expect(live[0]!.authority).toBe('[redacted].f6.example');
    // `KEY:X` (a placeholder password too short to be a secret itself): the key is the credential.
    const key2 = 'Fd4kQ8wTz2Pn';
    await expectHidden(request(`/f6b/t?echo=${key2}`, 'f6b.example', [['Authorization', `basic ${Buffer.from(`${key2}:X`).toString('base64')}`]]), key2, '/f6b/');
  }, 90_000);

  it('cookies joined with "," (and with ";") each hide their value everywhere', async () => {
    const s1 = 'c0mmaSess1onA';
    // The value as a subdomain too: the authority label is made from it (the C++ port on native).
    await expectHidden(request(`/ck1/p?echo=${s1}`, `${s1}.ck.example`, [['Cookie', `lang=en, session=${s1}`]]), s1, '/ck1/');
    const s2 = 'c0mmaSess1onB';
    await expectHidden(request(`/ck2/p?echo=${s2}`, `${s2}.ck.example`, [['Cookie', `lang=en,session=${s2},theme=dark`]]), s2, '/ck2/');
    const s3 = 'semiSess1onC9';
    await expectHidden(request(`/ck3/p?echo=${s3}`, `${s3}.ck.example`, [['Cookie', `lang=en; session="${s3}"; theme=dark`]]), s3, '/ck3/');
  }, 120_000);

  it('F7: fragment parameters of the request target are redacted as query parameters are', async () => {
    // Nothing else hidden in this request: the native engine may write its events in C++.
    const t1 = 'fragT0kenAlpha1';
    const live1 = await expectHidden(request(`/f7a/cb#access_token=${t1}&token_type=bearer`, 'web', []), t1, '/f7a/');
    expect(live1[0]!.path).toBe('/f7a/cb#access_token=[redacted]&token_type=bearer');
    // The fragment's value echoed elsewhere: the authority (and so the label), a Referer's path.
    const t2 = 'fragt0kenbeta2';
    const live2 = await expectHidden(
      request(`/f7b/cb?x=1#state=s&id_token=${t2}`, `${t2}.f7.example`, [['Referer', `http://app.example/cb#access_token=${t2}`], ['X-Echo', `/u/${t2}`]]),
      t2,
      '/f7b/',
    );
    expect(live2[0]!.path).toBe('/f7b/cb?x=1#state=s&id_token=[redacted]');
    expect(live2[0]!.requestHeaders).toContainEqual(['Referer', 'http://app.example/cb#access_token=[redacted]']);
  }, 90_000);

  it('F7 over HTTP/2: the fragment in `:path` (nothing else hidden: the native engine may write the event in C++)', async () => {
    const t3 = 'fragT0kenGamma3';
    const live3 = await expectHidden(
      async () => {
        const session = http2.connect(`http://${sidecar.forwards[1]!.address}`);
        try {
          const req = session.request({ ':path': `/f7c/cb#access_token=${t3}&x=1` });
          req.resume();
          await new Promise<void>((resolve, reject) => {
            req.on('end', () => resolve());
            req.on('error', reject);
          });
        } finally {
          session.close();
        }
      },
      t3,
      '/f7c/',
    );
    expect(live3[0]!.path).toBe('/f7c/cb#access_token=[redacted]&x=1');
    expect(live3[0]!.requestHeaders).toContainEqual([':path', '/f7c/cb#access_token=[redacted]&x=1']);
  }, 90_000);

  it('a value encoded twice or three times (a token in a URL passed on as a parameter: %252F) is scrubbed (session 14, review14)', async () => {
    // An OAuth-style redirect_uri whose own query holds the token: `/` and `+` escaped once for the
    // inner URL and once more for the outer one; the path segment and Referer carry it too.
    await expectHidden(
      request('/dbl/ab%252Fcd%252BDBLsecret9/p?redirect_uri=https%3A%2F%2Fapp.example%2Fdone%3Fcode%3Dab%252Fcd%252BDBLsecret9', 'dbl.example', [
        ['Authorization', 'Bearer ab/cd+DBLsecret9'],
        ['Referer', 'https://dbl.example/login?next=%252Fcb%253Ftoken%253Dab%25252Fcd%25252BDBLsecret9'],
      ]),
      'dblsecret9',
      '/dbl/',
    );
  }, 60_000);

  it('a UTF-8 value echoed by a Latin-1 app (%E9 for é) is scrubbed', async () => {
    const key = Buffer.from('clé-LATIN7secret', 'utf8');
    await expectHidden(
      // The authority as the app's Latin-1 echo too (the label's source).
      request('/l1/p?state=cl%E9-LATIN7secret&again=cl%e9-LATIN7secret', 'cl%E9-LATIN7secret.l1.example', [
        ['X-Api-Key', key],
        ['X-Echo', Buffer.from('cl\xe9-LATIN7secret', 'latin1')],
      ]),
      'latin7secret',
      '/l1/',
    );
    // The reverse: a value sent as Latin-1 bytes (a raw E9 in a header, `%E9` in a query) echoed by a UTF-8 app (`é`, `%C3%A9`).
    await expectHidden(
      request('/l2/p?state=cl%C3%A9-LATIN8secret', 'clé-LATIN8secret.l2.example', [
        ['X-Api-Key', Buffer.from('cl\xe9-LATIN8secret', 'latin1')],
        ['X-Echo', Buffer.from('clé-LATIN8secret', 'utf8')],
      ]),
      'latin8secret',
      '/l2/',
    );
    await expectHidden(
      request('/l3/p?token=cl%E9-LATIN9secret', 'clé-LATIN9secret.l3.example', [['X-Echo', Buffer.from('clé-LATIN9secret', 'utf8')]]),
      'latin9secret',
      '/l3/',
    );
  }, 60_000);
});
