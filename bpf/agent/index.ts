/**
 * The node agent (`meshtap agent`): watches the pods of its node and keeps BPF
 * interception pinned on each meshed pod's cgroup and network namespace.
 */
export { startAgent, agentPrerequisiteProblem, DEFAULT_SIDECAR_PORTS, type Agent, type AgentOptions } from './agent.js';
export { startPodWatch, type PodWatch, type PodWatchHandlers, type PodWatchOptions, type PodEventType } from './pod-watch.js';
export { createAgentMetrics, type AgentMetrics } from './metrics.js';
export { podScopeName, type PodStatus, type SidecarPorts } from './reconciler.js';
export { scanPodCgroups, findPodCgroup, podCgroupNames } from './pod-cgroup.js';
export { AGENT_ANNOTATION, AGENT_LABEL_INJECTED, isMeshedPod, podScopeSettings, type AgentPod } from './pod-settings.js';
