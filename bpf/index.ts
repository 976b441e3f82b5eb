/**
 * BPF interception: the programs' loader glue (scopes of pinned links and maps),
 * `meshtap run`, the node agent and the node checks. Other folders import only this, and
 * it carries only what they use; the folder's own tests import its files directly.
 */
export { findCgroup2Mount, createCgroup, removeCgroup } from './cgroup.js';
export { createNetns, deleteNetns, type Netns } from './netns.js';
export { spawnInScope } from './process.js';
export { detachScope, listScopes } from './scope.js';
export { runIntercepted, runPrerequisiteProblem, DEFAULT_SIDECAR_UID } from './run.js';
export { isLoopbackUrl } from './run-relay.js';
export { encodeCidrKey } from './maps.js';
export { runNodeChecks } from './checks.js';
export {
  startAgent, agentPrerequisiteProblem, startPodWatch, createAgentMetrics,
  type AgentMetrics, type AgentPod, type PodWatch,
} from './agent/index.js';
