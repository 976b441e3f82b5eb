/**
 * `meshtap version`'s server half: the tap API's build, from `/apis/tap.meshtap.dev/v1alpha1/version`,
 * directly (local mode) or through kube-apiserver's aggregated API with a kubeconfig.
 */
import type { BuildInfo } from '../../common/index.js';
import { getTapApiJson } from './client.js';
import { connectKube } from './kube-client.js';
import type { TapApiConnection } from './source-flags.js';
import { TAP_API_PREFIX, VERSION_RESOURCE } from '../server/wire.js';

/** The tap API's build and mode. */
export interface ServerVersion extends BuildInfo {
  mode: 'local' | 'kubernetes';
}

const VERSION_PATH = `${TAP_API_PREFIX}/${VERSION_RESOURCE}`;

/** Asks the tap API for its version; failures are MeshtapErrors naming the server (not reachable, 403, …). */
export async function fetchServerVersion(connection: TapApiConnection): Promise<ServerVersion> {
  if ('tapApi' in connection) return getTapApiJson<ServerVersion>(connection.tapApi.url, VERSION_PATH, connection.tapApi.token);
  const k = await connectKube(connection.kube);
  try {
    return await getTapApiJson<ServerVersion>(k.url, VERSION_PATH, undefined, { dispatcher: k.dispatcher, headers: k.headers, describeServer: k.describeServer });
  } finally {
    void k.dispatcher.close().catch(() => undefined);
  }
}
