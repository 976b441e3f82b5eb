/**
 * The local-mode sidecar registry: sidecars POST their identity and addresses every couple of
 * seconds; an entry not refreshed within its TTL is forgotten (the sidecar stopped). Bounded:
 * past `maxSidecars` new registrations are refused (refreshes of known ones still succeed).
 *
 * A live registration belongs to the sidecar instance that made it: each sidecar process makes
 * a random instance key when it starts and sends it with every heartbeat and its goodbye. A
 * registration of the same pod with another key (another process, from wherever, even holding
 * the shared registration token) is a conflict while the first one lives; once it said goodbye
 * or its TTL ran out, the pod is free again, so a restarted sidecar registers within one TTL.
 * The registry keeps only a hash of the key.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Result } from '../../common/index.js';
import { isValidName, parseTarget, formatTarget, type Target } from './targets.js';

/** What a sidecar sends to `POST /v1/sidecars`. */
export interface SidecarRegistration {
  /** `deploy/web`, `sts/db`, … (optional: a bare pod). */
  workload?: string;
  namespace: string;
  pod: string;
  /** `host:port` of its tap gRPC service. */
  tapAddress: string;
  /** `host:port` of its admin server (`/metrics`), for `meshtap stat`. */
  adminAddress?: string;
  /** Where it receives its workload's traffic (told to other sidecars for `dstWorkload`). */
  inboundAddresses?: string[];
  /** Random per sidecar process, made at its start: proves a heartbeat comes from the registrant. */
  instanceKey: string;
  /** Source IPs of its outbound connections (told to other sidecars for `srcWorkload`). */
  sourceAddresses?: string[];
  /** Its pod's labels, when it knows them (NetworkPolicy drafts select pods by them). */
  labels?: Record<string, string>;
}

/** Shortest and longest instance key accepted (the sidecar sends 64 hex digits). */
export const MIN_INSTANCE_KEY_CHARS = 16;
export const MAX_INSTANCE_KEY_CHARS = 256;

/** Most inbound addresses one sidecar may register. */
export const MAX_INBOUND_ADDRESSES = 32;
/** Most source addresses one sidecar may register. */
export const MAX_SOURCE_ADDRESSES = 4;
/** Most pod labels one sidecar may register. */
export const MAX_LABELS = 64;
/** A Kubernetes label key (optional DNS prefix) and value. */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** A registered sidecar. */
export interface SidecarRecord {
  namespace: string;
  pod: string;
  workload?: Target;
  tapAddress: string;
  adminAddress?: string;
  inboundAddresses?: string[];
  sourceAddresses?: string[];
  labels?: Record<string, string>;
  registeredAtMs: number;
  lastSeenMs: number;
  /** SHA-256 of the registrant's instance key. */
  instanceHash: Buffer;
}

/** Why a registration or goodbye was refused: another live instance holds the pod. */
export interface RegistrationConflict {
  kind: 'conflict';
  /** The live registration that stays. */
  holder: SidecarRecord;
}

function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function sameInstance(rec: SidecarRecord, key: string): boolean {
  return timingSafeEqual(rec.instanceHash, hashKey(key));
}

export const DEFAULT_SIDECAR_TTL_MS = 6_000;
export const DEFAULT_MAX_SIDECARS = 10_000;

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)$/;

/** Validates a registration body (untrusted JSON). */
export function parseRegistration(body: unknown): Result<SidecarRegistration, string> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, error: 'registration must be a JSON object' };
  const o = body as Record<string, unknown>;
  if (typeof o.namespace !== 'string' || !isValidName(o.namespace)) return { ok: false, error: 'namespace must be a Kubernetes name' };
  if (typeof o.pod !== 'string' || !isValidName(o.pod)) return { ok: false, error: 'pod must be a Kubernetes name' };
  if (typeof o.tapAddress !== 'string' || !HOST_PORT.test(o.tapAddress)) return { ok: false, error: 'tapAddress must be host:port' };
  if (typeof o.instanceKey !== 'string' || o.instanceKey.length < MIN_INSTANCE_KEY_CHARS || o.instanceKey.length > MAX_INSTANCE_KEY_CHARS) {
    return { ok: false, error: `instanceKey must be a string of ${MIN_INSTANCE_KEY_CHARS}-${MAX_INSTANCE_KEY_CHARS} characters (a sidecar older than this tap API sends none: upgrade it)` };
  }
  if (o.adminAddress !== undefined && (typeof o.adminAddress !== 'string' || !HOST_PORT.test(o.adminAddress))) {
    return { ok: false, error: 'adminAddress must be host:port' };
  }
  const reg: SidecarRegistration = { namespace: o.namespace, pod: o.pod, tapAddress: o.tapAddress, instanceKey: o.instanceKey };
  if (o.workload !== undefined) {
    if (typeof o.workload !== 'string') return { ok: false, error: 'workload must be TYPE/NAME' };
    const t = parseTarget(o.workload);
    if (!t.ok) return { ok: false, error: `workload: ${t.error}` };
    reg.workload = formatTarget(t.value);
  }
  if (typeof o.adminAddress === 'string') reg.adminAddress = o.adminAddress;
  if (o.inboundAddresses !== undefined) {
    const a = o.inboundAddresses;
    if (!Array.isArray(a) || a.length > MAX_INBOUND_ADDRESSES || !a.every((x) => typeof x === 'string' && HOST_PORT.test(x))) {
      return { ok: false, error: `inboundAddresses must be at most ${MAX_INBOUND_ADDRESSES} host:port strings` };
    }
    reg.inboundAddresses = a as string[];
  }
  if (o.sourceAddresses !== undefined) {
    const a = o.sourceAddresses;
    if (!Array.isArray(a) || a.length > MAX_SOURCE_ADDRESSES || !a.every((x) => typeof x === 'string' && IP.test(x))) {
      return { ok: false, error: `sourceAddresses must be at most ${MAX_SOURCE_ADDRESSES} IP addresses` };
    }
    reg.sourceAddresses = a as string[];
  }
  if (o.labels !== undefined) {
    const l = o.labels;
    if (typeof l !== 'object' || l === null || Array.isArray(l)) return { ok: false, error: 'labels must be an object of label keys to values' };
    const entries = Object.entries(l as Record<string, unknown>);
    if (entries.length > MAX_LABELS || !entries.every(([k, v]) => LABEL_KEY.test(k) && typeof v === 'string' && LABEL_VALUE.test(v))) {
      return { ok: false, error: `labels must be at most ${MAX_LABELS} Kubernetes labels (key: value)` };
    }
    reg.labels = Object.fromEntries(entries) as Record<string, string>;
  }
  return { ok: true, value: reg };
}

export interface SidecarRegistry {
  /**
   * Registers or refreshes; `isNew` tells a first registration (or re-registration after expiry).
   * Refused while another instance's registration of the pod lives.
   */
  register(reg: SidecarRegistration, nowMs?: number): Result<{ isNew: boolean }, 'full' | RegistrationConflict>;
  /** Forgets a sidecar (it said goodbye); only its own instance may. False: it was not registered. */
  forget(namespace: string, pod: string, instanceKey: string, nowMs?: number): Result<boolean, RegistrationConflict>;
  /** Live sidecars, optionally in one namespace. */
  list(namespace?: string, nowMs?: number): SidecarRecord[];
  readonly size: number;
}

/** Creates a registry; expiry is evaluated lazily on every call (no timer to leak). */
export function createSidecarRegistry(options: { ttlMs?: number; maxSidecars?: number } = {}): SidecarRegistry {
  const ttlMs = options.ttlMs ?? DEFAULT_SIDECAR_TTL_MS;
  const max = options.maxSidecars ?? DEFAULT_MAX_SIDECARS;
  const byKey = new Map<string, SidecarRecord>();
  const sweep = (now: number): void => {
    for (const [k, r] of byKey) if (now - r.lastSeenMs > ttlMs) byKey.delete(k);
  };
  return {
    register(reg, nowMs = Date.now()) {
      sweep(nowMs);
      const key = `${reg.namespace}/${reg.pod}`;
      const old = byKey.get(key);
      if (old && !sameInstance(old, reg.instanceKey)) return { ok: false, error: { kind: 'conflict', holder: old } };
      if (!old && byKey.size >= max) return { ok: false, error: 'full' };
      const workload = reg.workload ? parseTarget(reg.workload) : undefined;
      const rec: SidecarRecord = {
        namespace: reg.namespace,
        pod: reg.pod,
        tapAddress: reg.tapAddress,
        registeredAtMs: old?.registeredAtMs ?? nowMs,
        lastSeenMs: nowMs,
        instanceHash: old?.instanceHash ?? hashKey(reg.instanceKey),
      };
      if (workload?.ok) rec.workload = workload.value;
      if (reg.adminAddress) rec.adminAddress = reg.adminAddress;
      if (reg.inboundAddresses) rec.inboundAddresses = reg.inboundAddresses;
      if (reg.sourceAddresses) rec.sourceAddresses = reg.sourceAddresses;
      if (reg.labels) rec.labels = reg.labels;
      byKey.set(key, rec);
      return { ok: true, value: { isNew: !old } };
    },
    forget(namespace, pod, instanceKey, nowMs = Date.now()) {
      sweep(nowMs);
      const key = `${namespace}/${pod}`;
      const old = byKey.get(key);
      if (!old) return { ok: true, value: false };
      if (!sameInstance(old, instanceKey)) return { ok: false, error: { kind: 'conflict', holder: old } };
      return { ok: true, value: byKey.delete(key) };
    },
    list(namespace, nowMs = Date.now()) {
      sweep(nowMs);
      const all = [...byKey.values()];
      return (namespace ? all.filter((r) => r.namespace === namespace) : all).sort((a, b) => a.pod.localeCompare(b.pod));
    },
    get size() {
      sweep(Date.now());
      return byKey.size;
    },
  };
}

/** The registered pods a target means in a namespace (`ns/NAME`: every pod of NAME). */
export function resolveTarget(registry: SidecarRegistry, namespace: string, target: Target): SidecarRecord[] {
  // A namespace target only ever means the namespace the request was authorized in.
  if (target.resource === 'namespaces') return target.name === namespace ? registry.list(namespace) : [];
  const here = registry.list(namespace);
  if (target.resource === 'pods') return here.filter((r) => r.pod === target.name);
  return here.filter((r) => r.workload?.resource === target.resource && r.workload.name === target.name);
}
