/**
 * The flags that say where the tap API is (`--tap-api`, `--token`, `--kubeconfig`, `--context`)
 * and their help lines: plain data, here rather than in `tap-api/` so that a command can list
 * them without loading the tap API client (`meshtap version --client` loads nothing of it).
 * `tap-api/` re-exports them and reads them (`connectionFromArgs`).
 */
import type { OptionSpec } from './cli.js';

/** The connection flags, to merge into a command's options. */
export const SOURCE_OPTIONS: OptionSpec = {
  'tap-api': { type: 'string' },
  token: { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
};

/** Help lines for SOURCE_OPTIONS. */
export const SOURCE_HELP = `      --tap-api URL         the tap API (env MESHTAP_TAP_API, or tapApi: in ~/.config/meshtap/config.yaml)
      --token TOKEN         bearer token (env MESHTAP_TOKEN, or token: in the config file; MESHTAP_CONFIG names another file)
      --kubeconfig FILE     without --tap-api: go through the cluster's API server (aggregated API
                            tap.meshtap.dev) with this kubeconfig (default KUBECONFIG, ~/.kube/config)
      --context NAME        kubeconfig context`;
