/**
 * The local demo mesh: web → (emoji, voting), each app behind its own sidecar in explicit
 * mode, plus a traffic generator hitting web through web's inbound sidecar.
 *
 *   traffic ─► [web sidecar in] ─► web ─► [web sidecar out] ─► [emoji sidecar in]  ─► emoji
 *                                      └► [web sidecar out] ─► [voting sidecar in] ─► voting
 */
import { request } from 'undici';
import { startSidecar, type Sidecar } from '../proxy/index.js';
import { EMOJI, loadDemoProto, startEmojiService, startVotingService, startWebService, type RunningService } from './services.js';

export interface DemoMeshOptions {
  /** Requests per second the generator sends (0 = no generator). */
  rps?: number;
  /** Register sidecars with this tap API. */
  tapApi?: string;
  /** The tap API's registration token. */
  tapApiToken?: string;
  namespace?: string;
  /** Keep bodies in the flight recorders. */
  recorderBodies?: boolean;
  /** The sidecars' data path engine (`meshtap demo --engine`; tests pass their project's). */
  engine: 'js' | 'native';
}

export interface DemoWorkload {
  name: string;
  workload: string;
  app: RunningService;
  sidecar: Sidecar;
  /** Where clients reach this workload (its sidecar's inbound forward). */
  inbound: string;
}

export interface DemoMesh {
  web: DemoWorkload;
  emoji: DemoWorkload;
  voting: DemoWorkload;
  /** Requests the generator sent so far. */
  readonly sent: number;
  close(): Promise<void>;
}

const loopback = (port = 0) => ({ host: '127.0.0.1', port });
const hostPort = (addr: string) => {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
};

export async function startDemoMesh(o: DemoMeshOptions): Promise<DemoMesh> {
  const namespace = o.namespace ?? 'emojivoto';
  const proto = loadDemoProto();
  const toClose: Array<() => Promise<void>> = [];
  const sidecarFor = async (name: string, forwards: Parameters<typeof startSidecar>[0]['forwards']) => {
    const s = await startSidecar({
      forwards,
      admin: loopback(),
      tap: loopback(),
      identity: { workload: `deploy/${name}`, namespace, pod: `${name}-demo-0` },
      podLabels: { app: name }, // what `meshtap advise network-policy` selects the pods by
      tapApi: o.tapApi,
      ...(o.tapApiToken ? { tapApiToken: o.tapApiToken } : {}),
      recorderBodies: o.recorderBodies,
      engine: o.engine,
    });
    toClose.push(() => s.close());
    return s;
  };
  try {
    const emojiApp = await startEmojiService(proto);
    toClose.push(() => emojiApp.close());
    const votingApp = await startVotingService(proto);
    toClose.push(() => votingApp.close());
    const emojiSidecar = await sidecarFor('emoji', [{ proxy: 'in', listen: loopback(), target: hostPort(emojiApp.address) }]);
    const votingSidecar = await sidecarFor('voting', [{ proxy: 'in', listen: loopback(), target: hostPort(votingApp.address) }]);
    const emojiIn = emojiSidecar.listeners[0].address;
    const votingIn = votingSidecar.listeners[0].address;

    const webApp = await startWebService({ emoji: '', voting: '' }, proto);
    toClose.push(() => webApp.close());
    const webSidecar = await sidecarFor('web', [
      { proxy: 'in', listen: loopback(), target: hostPort(webApp.address) },
      { proxy: 'out', listen: loopback(), target: hostPort(emojiIn) },
      { proxy: 'out', listen: loopback(), target: hostPort(votingIn) },
    ]);
    webApp.backends.emoji = webSidecar.listeners[1].address;
    webApp.backends.voting = webSidecar.listeners[2].address;
    const webIn = webSidecar.listeners[0].address;

    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    if ((o.rps ?? 5) > 0) {
      const intervalMs = 1000 / (o.rps ?? 5);
      const paths = () => {
        const r = Math.random();
        if (r < 0.15) return '/api/list';
        if (r < 0.25) return '/api/leaderboard';
        return `/api/vote?choice=${encodeURIComponent(EMOJI[Math.floor(Math.random() * EMOJI.length)].shortcode)}`;
      };
      timer = setInterval(() => {
        sent++;
        request(`http://${webIn}${paths()}`, { headers: { 'user-agent': 'meshtap-demo-traffic' } })
          .then((r) => r.body.dump())
          .catch(() => {});
      }, intervalMs);
      toClose.unshift(async () => clearInterval(timer));
    }
    const mesh: DemoMesh = {
      web: { name: 'web', workload: 'deploy/web', app: webApp, sidecar: webSidecar, inbound: webIn },
      emoji: { name: 'emoji', workload: 'deploy/emoji', app: emojiApp, sidecar: emojiSidecar, inbound: emojiIn },
      voting: { name: 'voting', workload: 'deploy/voting', app: votingApp, sidecar: votingSidecar, inbound: votingIn },
      get sent() {
        return sent;
      },
      close: async () => {
        for (const c of toClose.splice(0)) await c().catch(() => {});
      },
    };
    return mesh;
  } catch (err) {
    for (const c of toClose.splice(0)) await c().catch(() => {});
    throw err;
  }
}
