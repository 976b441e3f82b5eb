/**
 * The tap API's own metrics (served on `/metrics`): every bound it enforces has a counter, so
 * an operator can tell a refused tap from a broken one. A per-server registry (not prom-client's
 * global one) so several servers can live in one process (tests, `meshtap demo`).
 */
import type { Counter, Gauge, Registry } from 'prom-client';
import { loadPromClient } from '../lazy-deps.js';

export interface TapApiMetrics {
  registry: Registry;
  /**
   * Requests refused, by reason (unauthorized, forbidden, not-found, too-many-taps,
   * too-many-taps-per-user, registration-unauthorized, body-too-large, registry-full, bad-request).
   */
  rejected: Counter<'reason'>;
  tapsStarted: Counter<string>;
  activeTaps: Gauge<string>;
  /** Clients dropped because they read too slowly. */
  slowClientsDropped: Counter<string>;
  registrations: Counter<'kind'>;
  sidecars: Gauge<string>;
  grantsIssued: Counter<string>;
}

export function createTapApiMetrics(sidecarCount: () => number): TapApiMetrics {
  const { Counter, Gauge, Registry } = loadPromClient();
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    rejected: new Counter({ name: 'meshtap_tapapi_rejected_total', help: 'Requests refused by the tap API, by reason', labelNames: ['reason'], registers }),
    tapsStarted: new Counter({ name: 'meshtap_tapapi_taps_started_total', help: 'Tap streams started', registers }),
    activeTaps: new Gauge({ name: 'meshtap_tapapi_active_taps', help: 'Tap streams in progress', registers }),
    slowClientsDropped: new Counter({
      name: 'meshtap_tapapi_slow_clients_dropped_total',
      help: 'Tap clients dropped because their queue was full',
      registers,
    }),
    registrations: new Counter({ name: 'meshtap_tapapi_registrations_total', help: 'Sidecar registrations (new) and heartbeats', labelNames: ['kind'], registers }),
    sidecars: new Gauge({
      name: 'meshtap_tapapi_sidecars',
      help: 'Registered (live) sidecars',
      registers,
      collect() {
        this.set(sidecarCount());
      },
    }),
    grantsIssued: new Counter({ name: 'meshtap_tapapi_grants_issued_total', help: 'Grants signed (one per pod per tap)', registers }),
  };
}
