/**
 * Regression (grant replay): a grant named only the pod, so whoever received one — an impostor
 * registered as shop/web-1, or any sidecar the tap API dialed — could replay it to the real
 * shop/web-1 within its lifetime (an admin's grant: bodies and all). Now the tap API addresses
 * each grant to the tap address it dials (`aud`) and a sidecar refuses any other.
 *
 * Real tap API, a real grant-requiring sidecar for shop/web-1 (B), and a gRPC server speaking
 * the tap protocol that keeps the grants it is sent (A, the impostor).
 */
import * as grpc from '@grpc/grpc-js';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchText, generateGrantKeyPair, type GrantClaims, GRANT_METADATA_KEY, TAP_SERVICE, type TapMessage, type TapRequest } from '../tap-protocol/index.js';
import type { TapApiServer } from '../tap-api/server/index.js';
import { collectHistory, startSecurityRig, type SecurityRig } from './security-rig.js';
import { registerSidecar, startFixtureTapApi, TOKENS, writeTapApiFixtures } from './tap-api-fixtures.js';

const TAP = '/apis/tap.meshtap.dev/v1alpha1/watch/namespaces/shop/deployments/web/tap';

let api: TapApiServer;
let rig: SecurityRig;
let dir: string;
let impostor: grpc.Server;
let impostorAddress: string;
const captured: string[] = [];

beforeAll(async () => {
  const f = await writeTapApiFixtures();
  dir = f.dir;
  const keys = generateGrantKeyPair();
  api = await startFixtureTapApi(f.rbacDir, {}, keys);
  rig = await startSecurityRig({ recorderBodies: true }, keys);
  expect(await rig.call('/secret-body', { method: 'POST', body: 'note=only-for-admins-7731' })).toBe(200);
  impostor = new grpc.Server();
  impostor.addService(TAP_SERVICE, {
    Observe(call: grpc.ServerWritableStream<TapRequest, string>) {
      const grant = (call.metadata.get(GRANT_METADATA_KEY)[0] as string | undefined) ?? call.request.grant;
      if (grant) captured.push(grant);
      call.write(batchText([JSON.stringify({ type: 'history-end' } satisfies TapMessage)]));
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    impostor.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  impostorAddress = `127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  impostor?.forceShutdown();
  await rig?.close();
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function tapAsAdmin(): Promise<{ status: number; text: string }> {
  const res = await fetch(`${api.url}${TAP}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ bodies: true, last: 10 }),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, text: await res.text() };
}

const claimsOf = (grant: string): GrantClaims => JSON.parse(Buffer.from(grant.split('.')[0]!, 'base64url').toString('utf8')) as GrantClaims;

describe('grants are bound to the sidecar they are sent to', () => {
  it("an admin's grant received by an impostor registered as shop/web-1 is refused by the real shop/web-1 (MT_GRANT_WRONG_AUDIENCE)", async () => {
    // The impostor holds the registration token (a compromised sidecar): registration alone cannot stop it.
    expect(await registerSidecar(api.url, { workload: 'deploy/web', namespace: 'shop', pod: 'web-1', tapAddress: impostorAddress })).toBe(200);
    expect((await tapAsAdmin()).status).toBe(200);
    expect(captured).toHaveLength(1);
    const grant = captured[0]!;
    expect(claimsOf(grant)).toMatchObject({ pod: 'web-1', namespace: 'shop', bodies: true, aud: impostorAddress });

    const replay = await collectHistory(rig.sidecar.tapAddress!, { grant, bodies: true, last: 10 });
    expect(replay.events).toEqual([]);
    expect(replay.error).toMatch(/MT_GRANT_WRONG_AUDIENCE: grant is addressed to the tap at 127\.0\.0\.1:\d+, not to this sidecar/);
  });

  it('positive control: the real shop/web-1, once registered, accepts the grants the tap API sends it', async () => {
    expect(await registerSidecar(api.url, { workload: 'deploy/web', namespace: 'shop', pod: 'web-1', tapAddress: rig.sidecar.tapAddress })).toBe(200);
    const r = await tapAsAdmin();
    expect(r.status).toBe(200);
    expect(r.text).toContain('note=only-for-admins-7731');
    expect(captured).toHaveLength(1); // nothing more went to the impostor
  });
});
