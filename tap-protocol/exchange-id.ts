/**
 * An exchange's id where several pods' events meet. A sidecar numbers its own connections
 * (`<connection>.<stream>`, DESIGN §5), so every pod has a `1.1`: in a tap of deploy/web's pods,
 * `jq 'select(.id == "1.1")'` or `group_by(.id)` would pair one pod's request with another's
 * response. The tap API, which merges pods, qualifies each event's id with its pod
 * (`<pod>/<connection>.<stream>`, what text output always showed); a direct tap of one sidecar
 * keeps the sidecar's own (docs/decisions.md, "Exchange ids across pods").
 */

/** `web-1/3.1` for an event of pod `web-1` with id `3.1`; the id as is without a pod, or when already qualified. */
export function podQualifiedId(e: { id: string; pod?: string }): string {
  if (!e.pod || e.id.startsWith(`${e.pod}/`)) return e.id;
  return `${e.pod}/${e.id}`;
}
