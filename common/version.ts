/**
 * What build of meshtap this process is: the version in package.json, the Node.js runtime and
 * the platform. Shown by `meshtap version` (client), the tap API's `/version` (server) and every
 * admin port's `/version` (sidecar, agent), as kubectl, kube-apiserver and the kubelet do.
 */
import { readFileSync } from 'node:fs';

/** One build's identity (the shape of `clientVersion` / `serverVersion` in `meshtap version -o json`). */
export interface BuildInfo {
  /** meshtap's version, `0.1.0` (package.json). */
  version: string;
  /** The Node.js runtime, `v20.20.0`. */
  nodeVersion: string;
  /** `linux/x64` (GOOS/GOARCH-style, as kubectl's `platform`). */
  platform: string;
}

let cached: string | undefined;

/** meshtap's version, read once; works from the sources (vitest) and from dist/. `0.0.0` if unknown. */
export function meshtapVersion(): string {
  if (cached !== undefined) return cached;
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'meshtap' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // try the next location
    }
  }
  return (cached = '0.0.0');
}

/** This process's build. */
export function buildInfo(): BuildInfo {
  return { version: meshtapVersion(), nodeVersion: process.version, platform: `${process.platform}/${process.arch}` };
}
