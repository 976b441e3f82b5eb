/**
 * Where `tap`, `top` and `stat` reach the tap plane, from the same flags in each: `--proxy`
 * (one sidecar), `--tap-api URL` (+ `--token`), or a kubeconfig (`--kubeconfig`, `--context`,
 * KUBECONFIG, ~/.kube/config) through kube-apiserver's aggregated API.
 */
import { stringFlag, UsageError, type OptionSpec, type ParsedArgs } from '../../common/index.js';
import { findKubeconfig } from './kube-client.js';
import { parseLabelSelector } from '../server/label-selector.js';
import type { TapSource } from './tap.js';

/** The connection flags and their help lines (in common/, so `meshtap version --client` loads none of this folder). */
export { SOURCE_OPTIONS, SOURCE_HELP } from '../../common/index.js';

/** `-l/--selector` of tap and top. */
export const SELECTOR_OPTION: OptionSpec = { selector: { type: 'string', short: 'l' } };
export const SELECTOR_HELP = `  -l, --selector SELECTOR   only pods with these labels (app=web,tier!=db,env in (a,b)); without
                            a TARGET: every such pod of the namespace (needs the namespace tap)`;

/**
 * The rate a tap asks for when `--max-rps` is not given and it goes through the tap API (which
 * splits it across the pods and caps it, 1000 by default). A `--proxy` tap of one sidecar asks
 * for no limit: it is local debugging, and the sidecar's own bounded queue still protects traffic.
 */
export const DEFAULT_TAP_MAX_RPS = 100;

/** The `--max-rps` help lines of tap and record (true for both ways of tapping). */
export const MAX_RPS_HELP = `      --max-rps N           most exchanges per second. Through the tap API: ${DEFAULT_TAP_MAX_RPS} unless given,
                            split across the pods (the tap API caps it: --max-rps-cap, 1000 by
                            default). With --proxy: no limit unless given`;

/** `top` sends no rate unless given: the tap API's own default applies. */
export const TOP_MAX_RPS_HELP = `      --max-rps N           most exchanges per second. Through the tap API: its default unless given
                            (meshtap tap-api --max-rps, 100), split across the pods. With --proxy:
                            no limit unless given`;

/** Where the tap API is: a URL (local mode) or a kubeconfig (cluster). */
export type TapApiConnection = { tapApi: { url: string; token?: string } } | { kube: { kubeconfigPath: string; context?: string } };

/** Reads the connection flags; a usage error saying what to give when there is none. */
export function connectionFromArgs(command: string, args: ParsedArgs): TapApiConnection {
  const url = stringFlag(args, 'tap-api', 'MESHTAP_TAP_API');
  if (url) {
    const token = stringFlag(args, 'token', 'MESHTAP_TOKEN');
    return { tapApi: { url, ...(token ? { token } : {}) } };
  }
  const kubeconfigPath = findKubeconfig(stringFlag(args, 'kubeconfig'));
  if (kubeconfigPath) {
    const context = stringFlag(args, 'context');
    return { kube: { kubeconfigPath, ...(context ? { context } : {}) } };
  }
  throw new UsageError(`${command}: where is the tap API? give --tap-api URL, set MESHTAP_TAP_API, or have a kubeconfig (--kubeconfig, KUBECONFIG, ~/.kube/config)`);
}

/** The tap source of a TARGET in a namespace (undefined namespace: the tap API's default / the context's). */
export function sourceFor(connection: TapApiConnection, target: string, namespace: string | undefined, labelSelector?: string): TapSource {
  const sel = labelSelector ? { labelSelector } : {};
  if ('tapApi' in connection) return { tapApi: { ...connection.tapApi, namespace: namespace ?? 'default', target, ...sel } };
  return { kube: { ...connection.kube, target, ...(namespace ? { namespace } : {}), ...sel } };
}

/**
 * `-l/--selector` checked on the client (a usage error, exit 2), and the target it implies: with
 * no TARGET, the namespace (`ns/NS`), as `kubectl get pods -l …` selects within one.
 */
export function selectorFromArgs(command: string, args: ParsedArgs): string | undefined {
  const sel = stringFlag(args, 'selector');
  if (sel === undefined) return undefined;
  const parsed = parseLabelSelector(sel);
  if (!parsed.ok) throw new UsageError(`${command}: -l: ${parsed.error}`);
  return sel;
}
