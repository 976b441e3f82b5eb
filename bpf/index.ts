/**
 * BPF interception: the programs' loader glue (scopes of pinned links and maps),
 * `meshtap run`, the node agent and the node checks. Other folders import only this.
 */
export { findCgroup2Mount, cgroupOfPid, createCgroup, removeCgroup, cgroupId } from './cgroup.js';
export { ensureBpffs, isBpffsMounted, PIN_ROOT } from './bpffs.js';
export { createNetns, deleteNetns, addIpv6, type Netns } from './netns.js';
export { spawnInScope, findListenerFd, type SpawnInScopeOptions } from './process.js';
export {
  attachCgroupScope,
  attachInbound,
  writeScopeSettings,
  detachScope,
  hasScope,
  listScopes,
  readScopeStats,
  countOriginalDstEntries,
  scopePinDir,
  CGROUP_PROGRAMS,
  NETNS_PROGRAM,
  type ScopeOptions,
} from './scope.js';
export { runIntercepted, runPrerequisiteProblem, reapStaleRuns, meshtapBin, DEFAULT_SIDECAR_UID, type RunOptions } from './run.js';
export { isLoopbackUrl } from './run-relay.js';
export { runNodeChecks } from './checks.js';
export { encodeCidrKey } from './maps.js';
export {
  startAgent, agentPrerequisiteProblem, startPodWatch, createAgentMetrics, podScopeName, scanPodCgroups, findPodCgroup, podCgroupNames,
  isMeshedPod, podScopeSettings, AGENT_ANNOTATION, AGENT_LABEL_INJECTED, DEFAULT_SIDECAR_PORTS,
  type Agent, type AgentOptions, type AgentMetrics, type AgentPod, type PodStatus, type PodWatch, type PodWatchHandlers, type PodWatchOptions, type SidecarPorts,
} from './agent/index.js';
