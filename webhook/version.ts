/** meshtap's version (package.json), written on injected pods and control plane objects. */
import { meshtapVersion } from '../common/index.js';

/** meshtap's version (package.json); `0.0.0` if unknown. */
export function readMeshtapVersion(): string {
  return meshtapVersion();
}

/** The image every component runs from, by default. */
export function defaultImage(version = readMeshtapVersion()): string {
  return `ghcr.io/meshtap/meshtap:v${version}`;
}
