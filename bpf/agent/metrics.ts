/**
 * The agent's own health, for its admin port's /metrics: how many pods are intercepted,
 * how often the watch had to restart (and why), and every place a bound was hit.
 */
import * as prom from 'prom-client';

/** Why a watch ended and was started again. */
export type WatchRestartReason = 'closed' | 'error' | 'idle' | 'expired' | 'list-error';

/** The agent's metrics and their registry. */
export interface AgentMetrics {
  registry: prom.Registry;
  podsAttached: prom.Gauge;
  podsInbound: prom.Gauge;
  podsPending: prom.Gauge;
  watchRestarts: prom.Counter<'reason'>;
  relists: prom.Counter;
  watchEvents: prom.Counter<'type'>;
  attachErrors: prom.Counter<'stage'>;
  attaches: prom.Counter<'how'>;
  detaches: prom.Counter;
  queueDropped: prom.Counter;
  annotationWarnings: prom.Counter;
}

/** A fresh registry with the agent's metrics (one per agent, so tests can run several). */
export function createAgentMetrics(): AgentMetrics {
  const registry = new prom.Registry();
  const r = [registry];
  return {
    registry,
    podsAttached: new prom.Gauge({ name: 'meshtap_agent_pods_attached', help: 'Meshed pods whose cgroup programs are attached', registers: r }),
    podsInbound: new prom.Gauge({ name: 'meshtap_agent_pods_inbound_attached', help: 'Meshed pods whose sk_lookup program holds the sidecar listener', registers: r }),
    podsPending: new prom.Gauge({ name: 'meshtap_agent_pods_pending', help: 'Meshed pods not intercepted yet (cgroup or sidecar not found, or attach failed)', registers: r }),
    watchRestarts: new prom.Counter({ name: 'meshtap_agent_watch_restarts_total', help: 'Pod watch restarts by reason', labelNames: ['reason'], registers: r }),
    relists: new prom.Counter({ name: 'meshtap_agent_relists_total', help: 'Full pod lists (start, 410 Gone, list errors)', registers: r }),
    watchEvents: new prom.Counter({ name: 'meshtap_agent_watch_events_total', help: 'Watch events received by type', labelNames: ['type'], registers: r }),
    attachErrors: new prom.Counter({ name: 'meshtap_agent_attach_errors_total', help: 'Failed attach/detach steps by stage', labelNames: ['stage'], registers: r }),
    attaches: new prom.Counter({ name: 'meshtap_agent_attaches_total', help: 'Scopes attached (new) or adopted (valid pins found)', labelNames: ['how'], registers: r }),
    detaches: new prom.Counter({ name: 'meshtap_agent_detaches_total', help: 'Scopes removed (pod gone, not meshed, or stale pins)', registers: r }),
    queueDropped: new prom.Counter({ name: 'meshtap_agent_queue_dropped_total', help: 'Pod updates dropped because the work queue was full (the next resync repairs them)', registers: r }),
    annotationWarnings: new prom.Counter({ name: 'meshtap_agent_annotation_warnings_total', help: 'Invalid meshtap.dev annotations ignored', registers: r }),
  };
}
