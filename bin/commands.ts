import type { Command } from './command.js';

/**
 * Sub-commands, loaded lazily so `meshtap proxy` never loads Kubernetes or dashboard code. The one
 * list: bin/meshtap.ts dispatches with it and `meshtap completion` derives its scripts from it
 * (names, summaries, and each command's own flag spec and help).
 */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<{ default: Command }> }> = {
  proxy: {
    summary: 'run the sidecar (explicit --forward or transparent listeners)',
    // TurboFan off before the sidecar's modules load (bin/optimizing-compiler.ts); cmd-proxy turns it back on for the js engine.
    load: async () => {
      (await import('./optimizing-compiler.js')).holdOptimizingCompiler();
      return import('./cmd-proxy.js');
    },
  },
  demo: { summary: 'start a local demo mesh and tap it (no cluster, no root)', load: () => import('./cmd-demo.js') },
  tap: { summary: 'stream live (and recent) requests of a workload or one sidecar', load: () => import('./cmd-tap.js') },
  dashboard: { summary: 'web UI: live traffic, request detail, workloads, service map', load: () => import('./cmd-dashboard.js') },
  top: { summary: 'live table of the busiest paths of a workload', load: () => import('./cmd-top.js') },
  stat: { summary: 'success rate, RPS and latency per workload', load: () => import('./cmd-stat.js') },
  edges: { summary: 'who calls whom: success rate, RPS and latency per pair of workloads', load: () => import('./cmd-edges.js') },
  routes: { summary: "a workload's routes: success rate, RPS and latency per route", load: () => import('./cmd-routes.js') },
  advise: { summary: 'draft a NetworkPolicy from the observed edges (advise network-policy)', load: () => import('./cmd-advise.js') },
  'tap-api': { summary: 'run the tap API (local: tokens + embedded RBAC; --kubernetes: aggregated API)', load: () => import('./cmd-tap-api.js') },
  record: { summary: 'record tapped traffic to a file', load: () => import('./cmd-record.js') },
  replay: { summary: 'replay a recording against a target and diff the answers', load: () => import('./cmd-replay.js') },
  mock: { summary: 'serve recorded responses as a mock server', load: () => import('./cmd-mock.js') },
  convert: { summary: 'convert recordings to and from HAR', load: () => import('./cmd-convert.js') },
  run: { summary: 'run a command with its traffic intercepted by BPF and a sidecar (root)', load: () => import('./cmd-run.js') },
  agent: { summary: 'node agent: attach BPF interception to meshed pods (DaemonSet)', load: () => import('./cmd-agent.js') },
  check: { summary: 'check this node (and a cluster) for what meshtap needs', load: () => import('./cmd-check.js') },
  inject: { summary: 'add the meshtap sidecar to Kubernetes YAML/JSON', load: () => import('./cmd-inject.js') },
  webhook: { summary: 'run the mutating admission webhook (HTTPS)', load: () => import('./cmd-webhook.js') },
  install: { summary: 'print the control plane manifests for kubectl apply -f -', load: () => import('./cmd-install.js') },
  version: { summary: 'print the client and server (tap API) versions', load: () => import('./cmd-version.js') },
  completion: { summary: 'print a shell completion script (bash, zsh, fish)', load: () => import('./cmd-completion.js') },
};
