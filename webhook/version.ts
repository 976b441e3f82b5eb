/** meshtap's version (package.json), written on injected pods and control plane objects. */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** Reads the version once; works from the sources (vitest) and from dist/. */
export function readMeshtapVersion(): string {
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

/** The image every component runs from, by default. */
export function defaultImage(version = readMeshtapVersion()): string {
  return `ghcr.io/meshtap/meshtap:v${version}`;
}
