/**
 * review11: headers whose whole value is a credential a service accepts on its own were shown in
 * full to every viewer (no body permission needed): Azure OpenAI's and Azure AI Search's
 * `api-key`, Supabase's `apikey`, Google's `x-goog-api-key`, Azure API Management's
 * `ocp-apim-subscription-key`, Azure Functions' `x-functions-key`, HashiCorp Vault's
 * `x-vault-token`, GitLab's `private-token`, the common `x-access-token`, and AWS's session token
 * `x-amz-security-token`. The sidecar redacted only authorization, proxy-authorization, cookie,
 * set-cookie, x-api-key and x-auth-token, while the same names as query parameters (`?api-key=`,
 * `?apikey=`, `?X-Amz-Security-Token=`) were already hidden: one value, hidden in a URL, shown in
 * a header. Now they are default sensitive headers: `[redacted]` in the header, scrubbed from the
 * path, the recorder and /metrics labels, and a `--header` filter on them needs `--reveal-header`.
 * Both engines; real sidecar processes, curl as the client, the tap read by the tap wire's client.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hiddenHeaderFilterError } from '../tap-api/cli/filter-flags.js';
import type { TapEvent } from '../tap-protocol/index.js';
import { ENGINES } from './support/engines.js';
import { useOkSidecar } from './support/ok-sidecar.js';
import { httpGet } from './support/metrics-scrape.js';
import { sidecarTapEvents } from './support/sidecar-tap-events.js';
import { until } from './support/until.js';

const run = promisify(execFile);

/** Header name -> a credential of the shape the service issues (fake). */
const CREDENTIALS: Record<string, string> = {
  'api-key': 'azkey7Hq2Lr9Wd4Tz',
  apikey: 'sbkey3Nf8Kp1Xc6Vb',
  'x-goog-api-key': 'AIzaSyFakeKey0123456789',
  'ocp-apim-subscription-key': 'apimKey5Gh2Jk8Lm3',
  'x-functions-key': 'fnKey9Qw3Er7Ty1Ui',
  'x-vault-token': 'hvs.FakeVaultToken42',
  'private-token': 'glpat-FakeToken12345',
  'x-access-token': 'accTok6Zx1Cv4Bn8Mq',
  'x-amz-security-token': 'IQoJb3JpZ2luX2VjFakeSessionToken',
};

describe.each(ENGINES)('review11: credential headers a service accepts alone are hidden (%s engine)', (engine) => {
  const rig = useOkSidecar(engine);

  it('each reads [redacted] in its header and shows nowhere else: path, recorder, metric labels', async () => {
    const names = Object.keys(CREDENTIALS);
    // Each credential also echoed as a path segment (a tenant or key in the URL).
    const path = `/v1/${Object.values(CREDENTIALS).join('/')}/x`;
    const live = await sidecarTapEvents(rig.sidecar, {}, async () => {
      await run('curl', ['-sS', '-o', '/dev/null', ...names.flatMap((n) => ['-H', `${n}: ${CREDENTIALS[n]}`]), `http://${rig.sidecar.forwards[0]!.address}${path}`]);
    });
    const req = live.find((e) => e.kind === 'req')!;
    for (const n of names) expect(req.requestHeaders!.find(([h]) => h.toLowerCase() === n)?.[1], n).toBe('[redacted]');
    const history = (await sidecarTapEvents(rig.sidecar, { last: 10 })).filter((e: TapEvent) => e.path.startsWith('/v1/'));
    expect(history).toHaveLength(1);
    let metrics = '';
    await until('the route series is scraped', async () => {
      metrics = (await httpGet(rig.sidecar.admin!, '/metrics')).body;
      return /route="\/v1\//.test(metrics);
    });
    for (const value of Object.values(CREDENTIALS)) {
      for (const e of [...live, ...history]) expect(JSON.stringify(e), value).not.toContain(value);
      expect(metrics, value).not.toContain(value);
    }
  }, 60_000);

  it('a --header filter on one needs --reveal-header (the CLI says so before contacting anyone)', () => {
    expect(hiddenHeaderFilterError([[{ field: 'header', name: 'api-key', value: 'azkey7Hq2Lr9Wd4Tz' }]], undefined)).toMatch(/--reveal-header api-key/);
  });
});
