/**
 * Lays the service map out with ELK's layered algorithm (elkjs, the Eclipse Layout Kernel): one
 * compound node per namespace holding its workloads, unmeshed peers in a group of their own,
 * edges routed orthogonally between them with their labels placed by ELK. Hand-written layout
 * would tangle on the first real mesh; ELK is built for exactly this kind of diagram.
 */
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { Edge, EdgeEnd } from '../../tap-api/index.js';
import { fmtMs, fmtPct, fmtRps } from './format.js';

export interface MapNode {
  id: string;
  end: EdgeEnd;
  label: string;
  x: number;
  y: number;
  width: number;
  height: number;
  /** Requests per second into this node (sum of its incoming edges). */
  rpsIn: number;
}
export interface MapGroup {
  id: string;
  label: string;
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface MapEdge {
  id: string;
  edge: Edge;
  from: string;
  to: string;
  /** SVG path data. */
  d: string;
  label: string;
  labelX: number;
  labelY: number;
  labelWidth: number;
}
export interface MapLayout {
  width: number;
  height: number;
  groups: MapGroup[];
  nodes: MapNode[];
  edges: MapEdge[];
}

const NODE_H = 46;
const CHAR_W = 7.2;
const LABEL_CHAR_W = 6.4;
const UNMESHED_GROUP = '[unmeshed]';

export const nodeId = (e: EdgeEnd): string => (e.meshed && e.workload ? `${e.namespace}/${e.workload}` : `addr:${e.address ?? '?'}`);
const groupOf = (e: EdgeEnd): string => (e.meshed && e.namespace ? e.namespace : UNMESHED_GROUP);
const labelOf = (e: EdgeEnd): string => (e.meshed && e.workload ? e.workload : e.address === 'unmeshed' ? 'unmeshed clients' : (e.address ?? '?'));

export function edgeLabel(e: Edge): string {
  return `${fmtRps(e.rps)} rps · ${fmtPct(e.successRate)} · p99 ${fmtMs(e.latencyMs.p99)}`;
}

const elk = new ELK();

export async function layoutMap(edges: Edge[]): Promise<MapLayout> {
  const ends = new Map<string, EdgeEnd>();
  const rpsIn = new Map<string, number>();
  for (const e of edges) {
    ends.set(nodeId(e.src), e.src);
    ends.set(nodeId(e.dst), e.dst);
    rpsIn.set(nodeId(e.dst), (rpsIn.get(nodeId(e.dst)) ?? 0) + e.rps);
  }
  const groups = new Map<string, ElkNode>();
  for (const [id, end] of ends) {
    const g = groupOf(end);
    if (!groups.has(g)) {
      groups.set(g, {
        id: `group:${g}`,
        labels: [{ text: g === UNMESHED_GROUP ? 'outside the mesh' : g, width: g.length * CHAR_W, height: 16 }],
        layoutOptions: { 'elk.padding': '[top=34,left=16,bottom=16,right=16]', 'elk.nodeLabels.placement': 'INSIDE V_TOP H_LEFT' },
        children: [],
      });
    }
    const label = labelOf(end);
    groups.get(g)!.children!.push({ id, width: Math.max(120, label.length * CHAR_W + 36), height: NODE_H });
  }
  const elkEdges: ElkExtendedEdge[] = edges.map((e, i) => {
    const text = edgeLabel(e);
    return { id: `edge:${i}`, sources: [nodeId(e.src)], targets: [nodeId(e.dst)], labels: [{ text, width: text.length * LABEL_CHAR_W + 12, height: 18 }] };
  });
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.layered.spacing.nodeNodeBetweenLayers': '90',
      'elk.spacing.nodeNode': '28',
      'elk.spacing.edgeLabel': '4',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.padding': '[top=12,left=12,bottom=12,right=12]',
    },
    children: [...groups.values()],
    edges: elkEdges,
  };
  const out = await elk.layout(graph);
  const abs = new Map<string, { x: number; y: number }>([['root', { x: 0, y: 0 }]]);
  const mapGroups: MapGroup[] = [];
  const mapNodes: MapNode[] = [];
  for (const g of out.children ?? []) {
    const gx = g.x ?? 0;
    const gy = g.y ?? 0;
    abs.set(g.id, { x: gx, y: gy });
    mapGroups.push({ id: g.id, label: g.labels?.[0]?.text ?? '', x: gx, y: gy, width: g.width ?? 0, height: g.height ?? 0 });
    for (const n of g.children ?? []) {
      const end = ends.get(n.id)!;
      abs.set(n.id, { x: gx + (n.x ?? 0), y: gy + (n.y ?? 0) });
      mapNodes.push({ id: n.id, end, label: labelOf(end), x: gx + (n.x ?? 0), y: gy + (n.y ?? 0), width: n.width ?? 0, height: n.height ?? 0, rpsIn: rpsIn.get(n.id) ?? 0 });
    }
  }
  const mapEdges: MapEdge[] = [];
  const laid = (out.edges ?? []) as Array<ElkExtendedEdge & { container?: string }>;
  for (const le of collectEdges(out)) laid.includes(le) || laid.push(le);
  for (const le of laid) {
    const i = Number(le.id.slice('edge:'.length));
    const e = edges[i]!;
    const off = abs.get(le.container ?? 'root') ?? { x: 0, y: 0 };
    const s = le.sections?.[0];
    if (!s) continue;
    const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => `${(p.x + off.x).toFixed(1)},${(p.y + off.y).toFixed(1)}`);
    const l = le.labels?.[0];
    mapEdges.push({
      id: le.id,
      edge: e,
      from: nodeId(e.src),
      to: nodeId(e.dst),
      d: `M${pts.join(' L')}`,
      label: l?.text ?? edgeLabel(e),
      labelX: (l?.x ?? 0) + off.x,
      labelY: (l?.y ?? 0) + off.y,
      labelWidth: l?.width ?? 0,
    });
  }
  return { width: out.width ?? 0, height: out.height ?? 0, groups: mapGroups, nodes: mapNodes, edges: mapEdges };
}

/** Edges ELK may have moved into a compound node (their coordinates are relative to it). */
function collectEdges(n: ElkNode): Array<ElkExtendedEdge & { container?: string }> {
  const out: Array<ElkExtendedEdge & { container?: string }> = [];
  for (const c of n.children ?? []) {
    for (const e of (c.edges ?? []) as Array<ElkExtendedEdge & { container?: string }>) out.push({ ...e, container: e.container ?? c.id });
    out.push(...collectEdges(c));
  }
  return out;
}
