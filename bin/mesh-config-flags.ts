/**
 * The mesh config flags `meshtap inject` and `meshtap webhook` share (image, tap API key,
 * classic sidecar, proxy uid), turned into the injector's MeshConfig.
 */
import { UsageError, stringFlag, type OptionSpec, type ParsedArgs } from '../common/index.js';
import { createMeshConfig, type MeshConfig } from '../injector/index.js';
import { defaultImage, readMeshtapVersion } from '../webhook/index.js';

export const MESH_CONFIG_OPTIONS: OptionSpec = {
  image: { type: 'string' },
  'tap-api': { type: 'string' },
  'tap-public-key': { type: 'string' },
  classic: { type: 'boolean' },
  'proxy-uid': { type: 'string' },
};

/**
 * In a cluster the tap API finds pods through the Kubernetes API and sidecars only need its
 * public key, so `--tap-api` (sidecar registration) is given to sidecars only when asked for.
 */
export function meshConfigFromFlags(args: ParsedArgs, controlPlaneNamespace: string): MeshConfig {
  const uidText = stringFlag(args, 'proxy-uid');
  if (uidText !== undefined && !/^[1-9]\d{0,9}$/.test(uidText)) throw new UsageError(`--proxy-uid: '${uidText}' is not a non-root uid`);
  const version = readMeshtapVersion();
  return createMeshConfig({
    version,
    image: stringFlag(args, 'image', undefined, defaultImage(version)),
    controlPlaneNamespace,
    tapApiUrl: stringFlag(args, 'tap-api'),
    tapPublicKey: stringFlag(args, 'tap-public-key', 'MESHTAP_TAP_PUBLIC_KEY'),
    nativeSidecar: args.values.classic !== true,
    ...(uidText ? { proxyUid: Number(uidText) } : {}),
  });
}
