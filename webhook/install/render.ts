/** Prints objects for `kubectl apply -f -`: a YAML stream, or one JSON `List`. */
import { stringify } from 'yaml';

export type OutputFormat = 'yaml' | 'json';

/** Renders the objects in order; YAML documents are separated by `---`. */
export function renderObjects(objects: unknown[], format: OutputFormat): string {
  if (format === 'json') return JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: {}, items: objects }, null, 2) + '\n';
  return objects.map((o) => '---\n' + stringify(o, { lineWidth: 0 })).join('');
}
