/**
 * Kubernetes objects shaped as kube-apiserver returns them (trimmed of managedFields), for the
 * stand-in API server (kube-api-server.ts): a Namespace, a Deployment with its selector, the
 * ReplicaSet it owns, injected pods owned by a ReplicaSet (the injector's labels and
 * annotation, its native sidecar with the `meshtap-tap` container port, the container
 * statuses a kubelet writes), and the extension-apiserver-authentication ConfigMap.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Obj } from './kube-store.js';

export type { Obj } from './kube-store.js';

export function namespace(name: string): Obj {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
}

export function deployment(ns: string, name: string, uid: string, replicas = 2): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, uid, generation: 1, labels: { app: name }, annotations: { 'deployment.kubernetes.io/revision': '1' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `example/${name}:1.0`, ports: [{ containerPort: 8080, protocol: 'TCP' }] }] } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: { observedGeneration: 1, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas },
  };
}

export function replicaSet(ns: string, owner: Obj, hash: string, uid: string): Obj {
  const name = owner.metadata.name;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${name}-${hash}`,
      namespace: ns,
      uid,
      labels: { app: name, 'pod-template-hash': hash },
      annotations: { 'deployment.kubernetes.io/desired-replicas': '2', 'deployment.kubernetes.io/max-replicas': '3', 'deployment.kubernetes.io/revision': '1' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: { replicas: 2, selector: { matchLabels: { app: name, 'pod-template-hash': hash } }, template: { metadata: { labels: { app: name, 'pod-template-hash': hash } } } },
    status: { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 },
  };
}

export interface PodFixture {
  /** Namespace (default `default`). */
  ns?: string;
  /** Default: `<app>-<template hash>-<5 chars>`, as a ReplicaSet names its pods. */
  name?: string;
  /** Default: `{app, pod-template-hash}`. */
  labels?: Record<string, string>;
  /** `app` label and container name when `labels` are not given (default `web`). */
  app?: string;
  /** Controller owner (ReplicaSet, StatefulSet, …); default: a ReplicaSet `<app>-<hash>`. */
  owner?: Obj;
  uid?: string;
  nodeName?: string;
  meshed?: boolean;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  /** Default 127.0.0.1: the tests' sidecars listen on loopback, where the tap API dials pod IPs. */
  podIP?: string;
  annotations?: Record<string, string>;
  /** The sidecar's tap port, declared as the container port `meshtap-tap` (as the injector does). */
  tapPort?: number;
  /** The sidecar's admin port (`/metrics`), declared as the container port `meshtap-admin` (default 4191). */
  adminPort?: number;
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const IMAGE = 'ghcr.io/meshtap/meshtap:v0.1.0';

/** A pod, injected unless `meshed: false`, as kube-apiserver serves it once the kubelet reported. */
/** What `pod()` returns: an Obj whose pod fields are typed for tests that change them. */
export type Pod = Obj & {
  metadata: { uid: string; name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string>; [k: string]: unknown };
  spec: { nodeName: string; [k: string]: unknown };
  status: { phase: string; [k: string]: unknown };
};

export function pod(f: PodFixture = {}): Pod {
  const meshed = f.meshed ?? true;
  const phase = f.phase ?? 'Running';
  const hash = f.labels?.['pod-template-hash'] ?? hex(5);
  const app = f.labels?.app ?? f.app ?? 'web';
  const labels = { ...(f.labels ?? { app, 'pod-template-hash': hash }), ...(meshed ? { 'meshtap.dev/injected': 'true', 'meshtap.dev/proxy-version': '0.1.0' } : {}) };
  const owner = f.owner
    ? { apiVersion: f.owner.apiVersion, kind: f.owner.kind, name: f.owner.metadata.name, uid: f.owner.metadata.uid }
    : { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-${hash}`, uid: randomUUID() };
  const start = '2025-03-01T10:00:05Z';
  const ip = f.podIP ?? '127.0.0.1';
  const sidecar = {
    name: 'meshtap-proxy',
    image: IMAGE,
    restartPolicy: 'Always',
    args: ['proxy', '--inbound', '0.0.0.0:4143', '--tap', `0.0.0.0:${f.tapPort ?? 4190}`],
    ports: [
      { name: 'meshtap-in', containerPort: 4143, protocol: 'TCP' },
      { name: 'meshtap-tap', containerPort: f.tapPort ?? 4190, protocol: 'TCP' },
      { name: 'meshtap-admin', containerPort: f.adminPort ?? 4191, protocol: 'TCP' },
    ],
    securityContext: { runAsUser: 2102, runAsGroup: 2102, runAsNonRoot: true },
  };
  const container = { name: app, image: `example/${app}:1.0`, ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' };
  const running = (name: string, image: string) => ({ name, ready: true, started: true, restartCount: 0, image, imageID: `${image.split(':')[0]}@sha256:${hex(32)}`, containerID: `containerd://${hex(32)}`, state: { running: { startedAt: start } } });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: f.name ?? `${owner.name}-${hex(3).slice(0, 5)}`,
      generateName: `${owner.name}-`,
      namespace: f.ns ?? 'default',
      uid: f.uid ?? randomUUID(),
      labels,
      annotations: { ...(meshed ? { 'meshtap.dev/proxy-uid': '2102' } : {}), ...f.annotations },
      ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      ...(meshed ? { initContainers: [sidecar] } : {}),
      containers: [container],
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      schedulerName: 'default-scheduler',
      nodeName: f.nodeName ?? 'node-1',
    },
    status:
      phase === 'Running'
        ? {
            phase,
            conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: start }],
            hostIP: '10.0.0.11',
            podIP: ip,
            podIPs: [{ ip }],
            startTime: start,
            ...(meshed ? { initContainerStatuses: [running('meshtap-proxy', IMAGE)] } : {}),
            containerStatuses: [running(app, container.image)],
            qosClass: 'BestEffort',
          }
        : { phase, conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: start }], qosClass: 'BestEffort', startTime: start },
  };
}

/** kube-system/extension-apiserver-authentication as kube-apiserver publishes it. */
export function extensionApiserverAuthentication(frontProxyCaPem: string, clientCaPem: string, allowedNames: string[]): Obj {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'extension-apiserver-authentication', namespace: 'kube-system' },
    data: {
      'client-ca-file': clientCaPem,
      'requestheader-allowed-names': JSON.stringify(allowedNames),
      'requestheader-client-ca-file': frontProxyCaPem,
      'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
      'requestheader-group-headers': '["X-Remote-Group"]',
      'requestheader-username-headers': '["X-Remote-User"]',
    },
  };
}
