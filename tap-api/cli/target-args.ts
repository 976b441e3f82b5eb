/**
 * TARGET on the command line, as kubectl reads it: `deploy/web` or `deploy web`. Mistakes are
 * usage errors (exit 2) that say what was probably meant: `web` → "did you mean deploy/web?",
 * `deplyo/web` → "did you mean deploy/web?", `svc/web` → tap the workload behind the service.
 */
import { suggestClosest, UsageError } from '../../common/index.js';
import { formatTarget, parseTarget, resourceOfKind } from '../server/targets.js';

const KIND_WORDS = ['deploy', 'deployment', 'pod', 'po', 'ns', 'namespace', 'sts', 'statefulset', 'ds', 'daemonset', 'job'];

/** Joins `KIND NAME` into `KIND/NAME` and checks it; returns the canonical `deploy/web`, or undefined without positionals. */
export function targetFromArgs(command: string, positionals: string[]): string | undefined {
  if (positionals.length === 0) return undefined;
  let text = positionals[0]!;
  if (positionals.length === 2 && !text.includes('/') && resourceOfKind(text)) text = `${text}/${positionals[1]}`;
  else if (positionals.length > 1) throw new UsageError(`${command}: one TARGET only (got ${positionals.join(' ')}); e.g. deploy/web or 'deploy web'`);
  const slash = text.indexOf('/');
  if (slash === -1) {
    if (resourceOfKind(text)) throw new UsageError(`${command}: '${text}' needs a name: e.g. '${command} ${text}/web' or '${command} ${text} web'`);
    throw new UsageError(`${command}: '${text}' is not TYPE/NAME; did you mean deploy/${text}? (TYPE: deploy, pod, ns, sts, ds, job)`);
  }
  const kind = text.slice(0, slash);
  const name = text.slice(slash + 1);
  if (!resourceOfKind(kind)) {
    if (/^(svc|service|services)$/i.test(kind)) {
      throw new UsageError(`${command}: a service is not a tap target; tap the workload behind it, e.g. deploy/${name} (TYPE: deploy, pod, ns, sts, ds, job)`);
    }
    const near = suggestClosest(kind, KIND_WORDS);
    throw new UsageError(`${command}: unknown TYPE '${kind}'${near ? `; did you mean ${near}/${name}?` : ''} (TYPE: deploy, pod, ns, sts, ds, job)`);
  }
  const t = parseTarget(text);
  if (!t.ok) throw new UsageError(`${command}: ${t.error}`);
  return formatTarget(t.value);
}
