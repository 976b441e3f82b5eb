/**
 * The agent's pod watch against a stand-in API server that speaks the real list/watch
 * protocol over HTTPS (test/support/kube-api-server.ts), through
 * @kubernetes/client-node as in production: list then watch from the list's
 * resourceVersion, bookmarks, reconnect after the server closes the stream, 410 Gone →
 * re-list and converge, and the watchdog for a silent connection. Needs no root.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgentMetrics, startPodWatch, type AgentMetrics, type AgentPod, type PodWatch } from '../bpf/index.js';
import { startKubeApiServer, type KubeApiServer } from './support/kube-api-server.js';
import { pod } from './support/kube-objects.js';
import { until } from './support/until.js';

const NODE = 'node-a';

interface Harness {
  api: KubeApiServer;
  watch: PodWatch;
  metrics: AgentMetrics;
  lists: string[][];
  events: string[];
  /** What the consumer believes is on the node, by name. */
  known: Map<string, AgentPod>;
}

let current: Harness | undefined;

afterEach(async () => {
  await current?.watch.stop();
  await current?.api.close();
  current = undefined;
});

async function start(opts: { idleTimeoutMs?: number; pageSize?: number } = {}, seed: (api: KubeApiServer) => void = () => undefined): Promise<Harness> {
  const api = await startKubeApiServer();
  seed(api);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(api.kubeconfigPath);
  const metrics = createAgentMetrics();
  const lists: string[][] = [];
  const events: string[] = [];
  const known = new Map<string, AgentPod>();
  const watch = startPodWatch(
    { kubeConfig, nodeName: NODE, metrics, initialBackoffMs: 50, maxBackoffMs: 500, idleTimeoutMs: opts.idleTimeoutMs ?? 60_000, pageSize: opts.pageSize },
    {
      onList(pods) {
        lists.push(pods.map((p) => p.metadata!.name!).sort());
        known.clear();
        for (const p of pods) known.set(p.metadata!.name!, p);
      },
      onEvent(type, pod) {
        events.push(`${type} ${pod.metadata!.name}`);
        if (type === 'DELETED') known.delete(pod.metadata!.name!);
        else known.set(pod.metadata!.name!, pod);
      },
    },
  );
  current = { api, watch, metrics, lists, events, known };
  return current;
}

const watchRequests = (api: KubeApiServer) => api.requests.filter((r) => r.isWatch);
const listRequests = (api: KubeApiServer) => api.requests.filter((r) => !r.isWatch);

async function restarts(m: AgentMetrics, reason: string): Promise<number> {
  return (await m.watchRestarts.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('agent pod watch', { timeout: 60_000 }, () => {
  it('lists its node (paged), then watches from the list resourceVersion with bookmarks, seeing only its node', async () => {
    const h = await start({ pageSize: 2 }, (api) => {
      for (const name of ['a1', 'a2', 'a3']) api.add(pod({ name, nodeName: NODE }));
      api.add(pod({ name: 'other', nodeName: 'node-b' }));
    });
    const w = await h.api.waitForRequest((r) => r.isWatch);
    expect(h.lists).toEqual([['a1', 'a2', 'a3']]);
    expect(listRequests(h.api).length).toBe(2);
    expect(listRequests(h.api)[0].query.get('fieldSelector')).toBe(`spec.nodeName=${NODE}`);
    expect(listRequests(h.api)[1].query.get('continue')).toBeTruthy();
    expect(w.query.get('fieldSelector')).toBe(`spec.nodeName=${NODE}`);
    expect(w.query.get('allowWatchBookmarks')).toBe('true');
    expect(w.query.get('resourceVersion')).toBe(String(h.api.resourceVersion));
    await until('the watch stream', () => h.api.openWatches === 1);

    const added = h.api.add(pod({ name: 'a4', nodeName: NODE }));
    h.api.add(pod({ name: 'b2', nodeName: 'node-b' }));
    h.api.update(added, (p) => (p.metadata.annotations!['meshtap.dev/skip-outbound-ports'] = '5432'));
    h.api.remove('Pod', 'default', 'a1');
    await until('three events', () => h.events.length === 3);
    expect(h.events).toEqual(['ADDED a4', 'MODIFIED a4', 'DELETED a1']);
    expect(h.known.get('a4')?.metadata?.annotations?.['meshtap.dev/skip-outbound-ports']).toBe('5432');
    expect([...h.known.keys()].sort()).toEqual(['a2', 'a3', 'a4']);
  });

  it('moves its resourceVersion on a bookmark and resumes from it after the server closes the stream, without a re-list', async () => {
    const h = await start({}, (api) => api.add(pod({ name: 'a1', nodeName: NODE })));
    await until('the watch stream', () => h.api.openWatches === 1);
    // changes on another node move the server's resourceVersion; only a bookmark tells us
    h.api.add(pod({ name: 'b1', nodeName: 'node-b' }));
    h.api.add(pod({ name: 'b2', nodeName: 'node-b' }));
    const bookmarked = String(h.api.resourceVersion);
    expect(h.watch.resourceVersion).not.toBe(bookmarked);
    h.api.bookmark();
    await until('the bookmark', () => h.watch.resourceVersion === bookmarked);
    expect(h.events).toEqual([]);

    const before = watchRequests(h.api).length;
    h.api.closeWatches();
    const again = await h.api.waitForRequest((r) => r.isWatch && watchRequests(h.api).indexOf(r) >= before);
    expect(again.query.get('resourceVersion')).toBe(bookmarked);
    await until('the new watch stream', () => h.api.openWatches === 1);
    h.api.add(pod({ name: 'a2', nodeName: NODE }));
    await until('an event after the reconnect', () => h.events.includes('ADDED a2'));
    expect(listRequests(h.api)).toHaveLength(1);
    expect(await restarts(h.metrics, 'closed')).toBe(1);
  });

  it('on 410 Gone lists again and converges on what changed while it was not told', async () => {
    const h = await start({}, (api) => {
      api.add(pod({ name: 'keep', nodeName: NODE }));
      api.add(pod({ name: 'gone', nodeName: NODE }));
    });
    await until('the watch stream', () => h.api.openWatches === 1);
    h.api.silent = true;
    h.api.add(pod({ name: 'new', nodeName: NODE }));
    h.api.remove('Pod', 'default', 'gone');
    h.api.silent = false;
    expect([...h.known.keys()].sort()).toEqual(['gone', 'keep']);
    h.api.expireHistory();
    await until('the re-list', () => h.lists.length === 2);
    expect(h.lists[1]).toEqual(['keep', 'new']);
    expect([...h.known.keys()].sort()).toEqual(['keep', 'new']);
    expect(await restarts(h.metrics, 'expired')).toBe(1);
    expect((await h.metrics.relists.get()).values[0].value).toBe(2);
    // and it watches again from the new list
    await until('the watch after the re-list', () => h.api.openWatches === 1);
    h.api.add(pod({ name: 'later', nodeName: NODE }));
    await until('an event after the re-list', () => h.known.has('later'));
  });

  it('a watch from a compacted resourceVersion (410 on reconnect) also re-lists', async () => {
    const h = await start({}, (api) => api.add(pod({ name: 'a1', nodeName: NODE })));
    await until('the watch stream', () => h.api.openWatches === 1);
    h.api.silent = true;
    h.api.add(pod({ name: 'a2', nodeName: NODE }));
    h.api.silent = false;
    // compact, but close the stream without telling: the reconnect gets the 410
    h.api.closeWatches();
    h.api.expireHistory();
    await until('the re-list', () => h.lists.length === 2);
    expect(h.lists[1]).toEqual(['a1', 'a2']);
  });

  it('retries a failing list with backoff until it succeeds, then watches', async () => {
    const h = await start({}, (api) => {
      api.add(pod({ name: 'a1', nodeName: NODE }));
      api.failNextLists(3);
    });
    await until('a successful list', () => h.lists.length === 1);
    expect(h.lists[0]).toEqual(['a1']);
    expect(listRequests(h.api)).toHaveLength(4);
    expect(await restarts(h.metrics, 'list-error')).toBe(3);
    expect(h.watch.isSynced).toBe(true);
    await h.api.waitForRequest((r) => r.isWatch);
  });

  it('restarts a watch that stays silent longer than the idle timeout (watchdog)', async () => {
    const h = await start({ idleTimeoutMs: 800 }, (api) => api.add(pod({ name: 'a1', nodeName: NODE })));
    await until('a second watch request', () => watchRequests(h.api).length >= 2, 30_000);
    expect(await restarts(h.metrics, 'idle')).toBeGreaterThanOrEqual(1);
    expect(listRequests(h.api)).toHaveLength(1);
    expect(watchRequests(h.api)[1].query.get('resourceVersion')).toBe(watchRequests(h.api)[0].query.get('resourceVersion'));
  });
});
