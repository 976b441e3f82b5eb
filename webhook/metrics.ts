/** The webhook's Prometheus metrics (its own registry: the webhook is its own process). */
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

export interface WebhookMetrics {
  registry: Registry;
  /** Admission decisions: outcome injected|skipped|ignored|error, dry_run true|false. */
  admissions: Counter<'outcome' | 'dry_run'>;
  /** Requests refused before a decision: reason content-type|too-large|bad-body|bad-review|timeout. */
  rejected: Counter<'reason'>;
  /** Namespace lookups that failed (the pod was decided without namespace annotations). */
  namespaceLookupErrors: Counter;
  certReloads: Counter;
}

export function createWebhookMetrics(): WebhookMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'meshtap_webhook_process_' });
  return {
    registry,
    admissions: new Counter({ name: 'meshtap_webhook_admissions_total', help: 'Admission decisions by outcome', labelNames: ['outcome', 'dry_run'], registers: [registry] }),
    rejected: new Counter({ name: 'meshtap_webhook_rejected_requests_total', help: 'Requests refused before a decision, by reason', labelNames: ['reason'], registers: [registry] }),
    namespaceLookupErrors: new Counter({ name: 'meshtap_webhook_namespace_lookup_errors_total', help: 'Failed namespace annotation lookups', registers: [registry] }),
    certReloads: new Counter({ name: 'meshtap_webhook_cert_reloads_total', help: 'Serving certificate reloads', registers: [registry] }),
  };
}
