/**
 * The demo mesh's applications (no sidecars here): `emoji` and `voting` gRPC services and the
 * `web` HTTP/1 frontend that calls them. Used by `meshtap demo` and by tests that need real
 * services speaking HTTP/1 and all four gRPC call kinds.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as http from 'node:http';
import { fileURLToPath } from 'node:url';

/** demo/emojivoto.proto, found from both the source tree and dist/. */
export function protoPath(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.includes('/dist/') ? fileURLToPath(new URL('../../demo/emojivoto.proto', import.meta.url)) : fileURLToPath(new URL('./emojivoto.proto', import.meta.url));
}

export const EMOJI = [
  { unicode: '🍩', shortcode: ':doughnut:' },
  { unicode: '🐱', shortcode: ':cat:' },
  { unicode: '🚀', shortcode: ':rocket:' },
  { unicode: '🌮', shortcode: ':taco:' },
  { unicode: '🎉', shortcode: ':tada:' },
  { unicode: '🦄', shortcode: ':unicorn:' },
];

type ServiceCtor = grpc.ServiceClientConstructor;
export interface DemoProto {
  EmojiService: ServiceCtor;
  VotingService: ServiceCtor;
}

export function loadDemoProto(): DemoProto {
  const def = protoLoader.loadSync(protoPath(), { keepCase: true, longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { emojivoto: { v1: DemoProto } };
  return pkg.emojivoto.v1;
}

async function bind(server: grpc.Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
}

export interface RunningService {
  address: string;
  close(): Promise<void>;
}

const closeGrpc = (server: grpc.Server) => () =>
  new Promise<void>((resolve) => {
    server.tryShutdown(() => resolve());
    setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 500).unref();
  });

export async function startEmojiService(proto = loadDemoProto()): Promise<RunningService> {
  const server = new grpc.Server();
  server.addService(proto.EmojiService.service, {
    ListAll: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { list: EMOJI }),
    FindByShortcode: (call: grpc.ServerUnaryCall<{ shortcode: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const e = EMOJI.find((x) => x.shortcode === call.request.shortcode);
      if (!e) cb({ code: grpc.status.NOT_FOUND, details: `no emoji ${call.request.shortcode}` });
      else cb(null, { emoji: e });
    },
    StreamAll: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      for (const e of EMOJI) call.write(e);
      call.end();
    },
  });
  const port = await bind(server);
  return { address: `127.0.0.1:${port}`, close: closeGrpc(server) };
}

export interface VotingOptions {
  /** Probability that a vote for anything but :doughnut: fails with UNAVAILABLE. */
  flakiness?: number;
}

export async function startVotingService(proto = loadDemoProto(), options: VotingOptions = {}): Promise<RunningService & { votes: Map<string, number> }> {
  const votes = new Map<string, number>();
  const flakiness = options.flakiness ?? 0.05;
  const count = (shortcode: string) => {
    const n = (votes.get(shortcode) ?? 0) + 1;
    votes.set(shortcode, n);
    return n;
  };
  const server = new grpc.Server();
  server.addService(proto.VotingService.service, {
    Vote: (call: grpc.ServerUnaryCall<{ shortcode: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const sc = call.request.shortcode;
      if (sc === ':doughnut:') return cb({ code: grpc.status.UNKNOWN, details: 'ERROR: doughnuts are off the menu' });
      if (Math.random() < flakiness) return cb({ code: grpc.status.UNAVAILABLE, details: 'voting backend is busy, try again' });
      cb(null, { count: count(sc) });
    },
    Results: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, { results: [...votes.entries()].sort((a, b) => b[1] - a[1]).map(([shortcode, n]) => ({ shortcode, votes: n })) }),
    VoteMany: (call: grpc.ServerReadableStream<{ shortcode: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      let n = 0;
      call.on('data', (v: { shortcode: string }) => {
        count(v.shortcode);
        n++;
      });
      call.on('end', () => cb(null, { count: n }));
    },
    VoteLive: (call: grpc.ServerDuplexStream<{ shortcode: string }, unknown>) => {
      call.on('data', (v: { shortcode: string }) => call.write({ count: count(v.shortcode) }));
      call.on('end', () => call.end());
    },
  });
  const port = await bind(server);
  return { address: `127.0.0.1:${port}`, votes, close: closeGrpc(server) };
}

/** Where `web` finds its backends (through its outbound sidecar forwards, once known). */
export interface WebBackends {
  emoji: string;
  voting: string;
}

/** The `web` HTTP/1 frontend: /api/list, /api/vote?choice=:cat:, /api/leaderboard, /. */
export async function startWebService(backends: WebBackends, proto = loadDemoProto()): Promise<RunningService & { backends: WebBackends }> {
  let emojiClient: grpc.Client | undefined;
  let votingClient: grpc.Client | undefined;
  let clientsFor = '';
  const clients = () => {
    const key = `${backends.emoji}|${backends.voting}`;
    if (key !== clientsFor) {
      emojiClient?.close();
      votingClient?.close();
      emojiClient = new proto.EmojiService(backends.emoji, grpc.credentials.createInsecure());
      votingClient = new proto.VotingService(backends.voting, grpc.credentials.createInsecure());
      clientsFor = key;
    }
    return { emoji: emojiClient as unknown as Record<string, Function>, voting: votingClient as unknown as Record<string, Function> };
  };
  const unary = (client: Record<string, Function>, method: string, req: unknown) =>
    new Promise<unknown>((resolve, reject) => client[method].call(client, req, { deadline: Date.now() + 5000 }, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res))));

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://web');
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    try {
      const c = clients();
      if (url.pathname === '/api/list') json(200, await unary(c.emoji, 'ListAll', {}));
      else if (url.pathname === '/api/vote') {
        const choice = url.searchParams.get('choice') ?? '';
        await unary(c.emoji, 'FindByShortcode', { shortcode: choice });
        json(200, await unary(c.voting, 'Vote', { shortcode: choice }));
      } else if (url.pathname === '/api/leaderboard') json(200, await unary(c.voting, 'Results', {}));
      else if (url.pathname === '/') res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>emojivoto</title><h1>Vote for your favourite emoji</h1>');
      else json(404, { error: 'not found' });
    } catch (err) {
      const e = err as grpc.ServiceError;
      json(e.code === grpc.status.NOT_FOUND ? 404 : 500, { error: e.details ?? String(err) });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    backends,
    close: () =>
      new Promise<void>((resolve) => {
        emojiClient?.close();
        votingClient?.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
