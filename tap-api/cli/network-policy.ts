/**
 * `meshtap advise network-policy`: a draft Kubernetes NetworkPolicy (networking.k8s.io/v1) per
 * workload, admitting exactly what was observed over a window (Inspector Gadget's advisor, from
 * meshtap's edges): ingress from the workloads that called it (selected by their pods' labels) on
 * the ports they used, egress to what it called plus DNS; unmeshed peers as /32 (/128) ipBlocks
 * with a comment. It is a draft: traffic that did not happen in the window is not admitted.
 */
import type { YAMLMap } from 'yaml';
import type { Edge, EdgeEnd, EdgeList } from '../server/index.js';
import { loadYaml } from '../lazy-deps.js';

type Obj = Record<string, unknown>;

/** Selects the kube-dns / CoreDNS pods (their conventional label) in any namespace. */
const DNS_PEER = { namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } };
const DNS_PORTS = [
  { protocol: 'UDP', port: 53 },
  { protocol: 'TCP', port: 53 },
];

export interface NetworkPolicyDraft {
  /** `deploy/web` */
  workload: string;
  namespace: string;
  policy: Obj;
  /** Comments for the rules (index in ingress / egress), e.g. why an ipBlock. */
  notes: { ingress: Map<number, string>; egress: Map<number, string> };
  /** The workload's pod labels were not known: the selector is a guess to fix. */
  assumedLabels: boolean;
}

const nameOf = (workload: string): string => workload.slice(workload.indexOf('/') + 1);

function selectorOf(end: EdgeEnd): { matchLabels: Record<string, string>; assumed: boolean } {
  if (end.labels && Object.keys(end.labels).length > 0) return { matchLabels: { ...end.labels }, assumed: false };
  return { matchLabels: { 'app.kubernetes.io/name': nameOf(end.workload!) }, assumed: true };
}

function cidrOf(address: string): string {
  const host = address.startsWith('[') ? address.slice(1, address.indexOf(']')) : address.includes('.') && address.includes(':') ? address.slice(0, address.lastIndexOf(':')) : address;
  return host.includes(':') ? `${host}/128` : `${host}/32`;
}

/** The peer clause of a rule: pods of a workload (with its namespace when another) or an ipBlock. */
function peerOf(end: EdgeEnd, policyNamespace: string): { peer: Obj; note?: string; assumed: boolean } {
  if (!end.meshed) return { peer: { ipBlock: { cidr: cidrOf(end.address!) } }, note: ` unmeshed peer ${end.address}: no sidecar, so named by address; prefer a selector if it is a pod`, assumed: false };
  const sel = selectorOf(end);
  const peer: Obj = { podSelector: { matchLabels: sel.matchLabels } };
  if (end.namespace !== policyNamespace) peer.namespaceSelector = { matchLabels: { 'kubernetes.io/metadata.name': end.namespace } };
  return { peer, assumed: sel.assumed, ...(sel.assumed ? { note: ` ${end.namespace}/${end.workload}: its pod labels are not known; app.kubernetes.io/name is a guess` } : {}) };
}

const portsOf = (e: Edge): Obj[] => e.ports.map((port) => ({ protocol: 'TCP', port }));
const same = (a: EdgeEnd, namespace: string, workload: string): boolean => a.meshed && a.namespace === namespace && a.workload === workload;

/**
 * Drafts one NetworkPolicy per meshed workload of `namespace` seen in `list` (or only `workload`).
 * `list` should list unmeshed peers by address (`unmeshed=expand`).
 */
export function draftNetworkPolicies(list: EdgeList, namespace: string, workload?: string): NetworkPolicyDraft[] {
  const workloads = new Map<string, EdgeEnd>();
  for (const e of list.items) {
    for (const end of [e.src, e.dst]) {
      if (end.meshed && end.namespace === namespace && (!workload || end.workload === workload)) workloads.set(end.workload!, end);
    }
  }
  const drafts: NetworkPolicyDraft[] = [];
  for (const [w, self] of [...workloads].sort(([a], [b]) => a.localeCompare(b))) {
    const notes = { ingress: new Map<number, string>(), egress: new Map<number, string>() };
    const sel = selectorOf(self);
    let assumed = sel.assumed;
    const ingress: Obj[] = [];
    const egress: Obj[] = [];
    for (const e of list.items) {
      if (same(e.dst, namespace, w)) {
        const p = peerOf(e.src, namespace);
        assumed ||= p.assumed;
        if (p.note) notes.ingress.set(ingress.length, p.note);
        ingress.push({ from: [p.peer], ...(e.ports.length > 0 ? { ports: portsOf(e) } : {}) });
      }
      if (same(e.src, namespace, w)) {
        const p = peerOf(e.dst, namespace);
        assumed ||= p.assumed;
        if (p.note) notes.egress.set(egress.length, p.note);
        egress.push({ to: [p.peer], ...(e.ports.length > 0 ? { ports: portsOf(e) } : {}) });
      }
    }
    notes.egress.set(egress.length, ' DNS: name lookups are not observed by meshtap, so they are always admitted');
    egress.push({ to: [DNS_PEER], ports: DNS_PORTS });
    const policy: Obj = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `${nameOf(w)}-observed`, namespace, labels: { 'app.kubernetes.io/managed-by': 'meshtap-advise' } },
      spec: { podSelector: { matchLabels: sel.matchLabels }, policyTypes: ['Ingress', 'Egress'], ingress, egress },
    };
    drafts.push({ workload: w, namespace, policy, notes, assumedLabels: assumed });
  }
  return drafts;
}

/** The drafts as a YAML stream for `kubectl apply -f -`, with a header saying what they are. */
export function renderNetworkPolicies(drafts: NetworkPolicyDraft[], list: EdgeList): string {
  const { Document, isMap, isSeq } = loadYaml();
  const docs = drafts.map((d, i) => {
    const doc = new Document(d.policy);
    const lines = [
      ` DRAFT NetworkPolicy for ${d.namespace}/${d.workload}, drafted by 'meshtap advise network-policy' from the`,
      ` traffic observed over the last ${list.window} (${Math.round(list.windowMs / 1000)}s, source: ${list.source}). Review it before applying:`,
      ' anything that did not happen in that window (a nightly job, a failover path) is NOT admitted.',
    ];
    if (d.assumedLabels) lines.push(' Some pod labels were not known: selectors marked below are guesses to fix.');
    if (i === 0 && (list.unreachable?.length ?? 0) > 0) lines.push(` Sidecars that did not answer (their traffic is missing): ${list.unreachable!.join(', ')}`);
    doc.commentBefore = lines.join('\n');
    for (const side of ['ingress', 'egress'] as const) {
      const seq = doc.getIn(['spec', side], true);
      if (!isSeq(seq)) continue;
      for (const [index, note] of d.notes[side]) {
        const item = seq.items[index];
        if (isMap(item)) (item as YAMLMap).commentBefore = note;
      }
    }
    return doc.toString({ lineWidth: 0 });
  });
  return docs.join('---\n');
}
