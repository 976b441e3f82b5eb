/**
 * review11 ("a value hidden in one field is hidden in every field"): an `Authorization` value
 * whose scheme and credential are separated by a horizontal tab (`Bearer<HTAB>T`, as a client
 * that builds the line with '\t' sends it; HTTP parsers accept it as the header's value) is
 * redacted in its own header, but the credential T was not collected as a secret (the split
 * looked for a space only, so the whole `Bearer\tT` was the "secret"): T echoed in the path
 * read in full in the `req`, `rsp` and `end` events, the flight recorder, a `--path-regex`
 * filter confirmed it, and /metrics' route label carried it. Both engines (the C++ label port
 * has the same split). Real sidecar processes, a raw TCP client (curl would do too), node:http
 * as the backend, the tap read by the tap wire's client.
 *
 * Fixed by small11 (tap-protocol/redact-values.ts `headerSecrets`, native/src/core/metrics-secrets.cc
 * `HeaderSecrets`: the scheme ends at any white space).
 */
import { describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { ENGINES } from './support/engines.js';
import { useOkSidecar } from './support/ok-sidecar.js';
import { httpGet } from './support/metrics-scrape.js';
import { sendRawBytes } from './support/one-request.js';
import { sidecarTapEvents } from './support/sidecar-tap-events.js';
import { until } from './support/until.js';

const TOKEN = 'tabT0kenQ7xW2mZ9';

describe.each(ENGINES)('review11: an Authorization credential after a tab (%s engine)', (engine) => {
  const rig = useOkSidecar(engine);

  const send = (path: string) => sendRawBytes(rig.sidecar.forwards[0]!.address, Buffer.from(`GET ${path} HTTP/1.1\r\nHost: svc\r\nAuthorization: Bearer\t${TOKEN}\r\nConnection: close\r\n\r\n`, 'latin1'));

  it('the credential shows in no event field, no recorder answer, no filter and no metric label', async () => {
    const live = await sidecarTapEvents(rig.sidecar, {}, async () => {
      expect(await send(`/users/${TOKEN}/cart`)).toMatch(/^HTTP\/1\.1 200/);
    });
    expect(live.map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
    // The header itself is hidden (this held before).
    for (const e of live.filter((x) => x.requestHeaders !== undefined)) expect(e.requestHeaders!.find(([n]) => n === 'Authorization')?.[1]).toBe('[redacted]');
    const history = (await sidecarTapEvents(rig.sidecar, { last: 10 })).filter((e: TapEvent) => e.path.startsWith('/users/'));
    expect(history).toHaveLength(1);
    const guessed = await sidecarTapEvents(rig.sidecar, { last: 10, matches: [[{ field: 'pathRegex', value: TOKEN }]] });
    let metrics = '';
    await until('the route series is scraped', async () => {
      metrics = (await httpGet(rig.sidecar.admin!, '/metrics')).body;
      return /route="\/users\//.test(metrics);
    });
    for (const e of [...live, ...history]) expect(JSON.stringify(e)).not.toContain(TOKEN);
    expect(guessed).toEqual([]);
    expect(metrics).not.toContain(TOKEN);
  }, 60_000);
});
