/**
 * `meshtap tap` in Kubernetes mode: the tap goes to kube-apiserver, at the aggregated path
 * `/apis/tap.meshtap.dev/v1alpha1/watch/namespaces/NS/RESOURCE/NAME/tap`, with the kubeconfig's
 * credentials (CA, bearer token, client certificate, exec plugins — whatever
 * @kubernetes/client-node's KubeConfig applies); kube-apiserver authenticates the user and
 * proxies to the tap API. The stream and its errors are the tap API client's own.
 * Not supported: a kubeconfig `proxy-url` (the request goes straight to the server).
 */
import { existsSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Agent } from 'undici';
import type { KubeConfig } from '@kubernetes/client-node';
import { MeshtapError } from '../../common/index.js';
import type { TapRequest, TapStream } from '../../tap-protocol/index.js';
import { loadUndici } from '../lazy-deps.js';
import { openTapApiStream } from './client.js';

export interface KubeTapStreamOptions {
  /** A kubeconfig file; default KUBECONFIG, then ~/.kube/config. */
  kubeconfigPath?: string;
  /** A context other than the current one. */
  context?: string;
  /** Default: the context's namespace, else `default` (as kubectl). */
  namespace?: string;
  /** `deploy/web`, `pod/web-1`, `ns/shop`, … */
  target: string;
  /** `-l`: only the target's pods with these labels. */
  labelSelector?: string;
  request: TapRequest;
  onNotice?(notice: { pod: string; message: string }): void;
}

/**
 * The kubeconfig `meshtap tap` would use when no tap API URL is given: `explicit`, else the
 * first existing file of KUBECONFIG, else ~/.kube/config; undefined when there is none.
 */
export function findKubeconfig(explicit?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (explicit) return explicit;
  for (const p of (env.KUBECONFIG ?? '').split(delimiter)) if (p && existsSync(p)) return p;
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  return existsSync(home) ? home : undefined;
}

/** Loads a kubeconfig file (and context); a one-line MT_KUBECONFIG error when it cannot. */
export async function loadKubeconfig(path: string, context?: string): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
    if (context) kc.setCurrentContext(context);
  } catch (err) {
    throw new MeshtapError('MT_KUBECONFIG', `cannot load kubeconfig ${path}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  // A file without contexts (not a kubeconfig at all, or an empty one) has no current context: say that, not 'context "undefined"'.
  if (!kc.getCurrentContext()) throw new MeshtapError('MT_KUBECONFIG', `kubeconfig ${path} has no current context; is it a kubeconfig? (kubectl config use-context NAME, or --context NAME)`);
  if (!kc.getCurrentCluster()) throw new MeshtapError('MT_KUBECONFIG', `kubeconfig ${path}: the context "${kc.getCurrentContext()}" names no cluster`);
  return kc;
}

/** What a request through kube-apiserver needs: its URL, TLS, credentials, and the context's namespace. */
export interface KubeConnection {
  url: string;
  dispatcher: Agent;
  headers: Record<string, string>;
  /** The context's namespace, else `default` (as kubectl). */
  namespace: string;
  describeServer: { name: string; hint: string };
}

/** Reads a kubeconfig into a connection (the caller closes `dispatcher`). */
export async function connectKube(options: { kubeconfigPath?: string; context?: string }): Promise<KubeConnection> {
  const path = findKubeconfig(options.kubeconfigPath);
  if (!path) throw new MeshtapError('MT_KUBECONFIG', 'no kubeconfig found (--kubeconfig, KUBECONFIG, ~/.kube/config); or give --tap-api URL');
  const kc = await loadKubeconfig(path, options.context);
  const server = kc.getCurrentCluster()!.server;
  const opts: RequestOptions = {};
  try {
    await kc.applyToHTTPSOptions(opts);
  } catch (err) {
    throw new MeshtapError('MT_KUBECONFIG', `kubeconfig ${path}: cannot get credentials: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string' || typeof v === 'number') headers[k.toLowerCase()] = String(v);
  if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  const dispatcher = new (loadUndici().Agent)({
    connect: {
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(opts.cert ? { cert: opts.cert } : {}),
      ...(opts.key ? { key: opts.key } : {}),
      ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
      ...(opts.servername ? { servername: opts.servername } : {}),
    },
  });
  return {
    url: server,
    dispatcher,
    headers,
    namespace: kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default',
    describeServer: { name: `the Kubernetes API server at ${server}`, hint: `check the kubeconfig ${path} (context "${kc.getCurrentContext()}")` },
  };
}

/** Opens a tap through kube-apiserver's aggregated API. Errors surface from iterating `messages` (or `wire`). */
export function openKubeTapStream(options: KubeTapStreamOptions): TapStream {
  let inner: TapStream | undefined;
  let cancelled = false;
  let agent: Agent | undefined;
  async function* through<T>(pick: (s: TapStream) => AsyncIterable<T>): AsyncGenerator<T> {
    const conn = await connectKube(options);
    agent = conn.dispatcher;
    if (cancelled) {
      void agent.close().catch(() => undefined);
      return;
    }
    inner = openTapApiStream({
      url: conn.url,
      namespace: options.namespace ?? conn.namespace,
      target: options.target,
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
      request: options.request,
      dispatcher: conn.dispatcher,
      headers: conn.headers,
      describeServer: conn.describeServer,
      ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    });
    try {
      yield* pick(inner);
    } finally {
      void agent.close().catch(() => undefined);
    }
  }
  return {
    messages: through((s) => s.messages),
    wire: through((s) => s.wire!),
    cancel() {
      cancelled = true;
      inner?.cancel();
      void agent?.destroy().catch(() => undefined);
    },
  };
}
