/**
 * The discovery documents an aggregated API server must serve, so that kube-apiserver's
 * aggregator marks the APIService available and `kubectl api-resources` lists the tap
 * subresources: `/apis` (APIGroupList), `/apis/tap.meshtap.dev` (APIGroup) and
 * `/apis/tap.meshtap.dev/v1alpha1` (APIResourceList). Shapes as in meta/v1.
 */
import { TARGET_RESOURCES } from './targets.js';
import { EDGES_RESOURCE, ROUTES_RESOURCE } from './edges-wire.js';
import { SIDECARS_RESOURCE, VERSION_RESOURCE, TAP_API_GROUP, TAP_API_VERSION, TAP_BODIES_SUBRESOURCE, TAP_SUBRESOURCE } from './wire.js';

const GROUP_VERSION = `${TAP_API_GROUP}/${TAP_API_VERSION}`;
const PREFERRED = { groupVersion: GROUP_VERSION, version: TAP_API_VERSION };

/** The APIGroup object of tap.meshtap.dev. */
export function apiGroup(): Record<string, unknown> {
  return { kind: 'APIGroup', apiVersion: 'v1', name: TAP_API_GROUP, versions: [PREFERRED], preferredVersion: PREFERRED };
}

/** `/apis`: the one group this server serves. */
export function apiGroupList(): Record<string, unknown> {
  const { kind: _k, apiVersion: _a, ...group } = apiGroup();
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [group] };
}

/**
 * `/apis/tap.meshtap.dev/v1alpha1`: every target resource with its `tap` and `tap-bodies`
 * subresources (verb watch), `sidecars`, `edges`, `routes` (verb list), and `version` (verb get). The plain resources are listed too
 * (with no verbs), as Linkerd's tap API does, so subresources have a parent.
 */
export function apiResourceList(): Record<string, unknown> {
  const resources: Record<string, unknown>[] = [];
  for (const r of TARGET_RESOURCES) {
    const namespaced = r !== 'namespaces';
    resources.push({ name: r, singularName: '', namespaced, kind: 'Tap', verbs: [] });
    resources.push({ name: `${r}/${TAP_SUBRESOURCE}`, singularName: '', namespaced, kind: 'Tap', verbs: ['watch'] });
    resources.push({ name: `${r}/${TAP_BODIES_SUBRESOURCE}`, singularName: '', namespaced, kind: 'Tap', verbs: ['watch'] });
  }
  resources.push({ name: SIDECARS_RESOURCE, singularName: 'sidecar', namespaced: true, kind: 'SidecarList', verbs: ['list'] });
  resources.push({ name: EDGES_RESOURCE, singularName: 'edge', namespaced: true, kind: 'EdgeList', verbs: ['list'] });
  resources.push({ name: ROUTES_RESOURCE, singularName: 'route', namespaced: true, kind: 'RouteList', verbs: ['list'] });
  resources.push({ name: VERSION_RESOURCE, singularName: '', namespaced: false, kind: 'Version', verbs: ['get'] });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: GROUP_VERSION, resources };
}
