/**
 * Libraries tap-api/ loads on first use. `meshtap tap --proxy` (one local sidecar) imports
 * tap-api/ for its printing, but needs neither an HTTP client (undici), YAML, nor Prometheus
 * metrics: loaded at start-up they cost it ~250 ms of CPU (undici ~140, prom-client ~65, yaml
 * ~45) before the first event. Each is CommonJS, so a synchronous require keeps callers
 * synchronous and gives the same module instance an ESM `import` of it gives elsewhere.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type * as Undici from 'undici';
import type * as Yaml from 'yaml';

const require = createRequire(import.meta.url);

let undici: typeof Undici | undefined;
let yaml: typeof Yaml | undefined;
let promClient: typeof PromClient | undefined;

export function loadUndici(): typeof Undici {
  undici ??= require('undici') as typeof Undici;
  return undici;
}

export function loadYaml(): typeof Yaml {
  yaml ??= require('yaml') as typeof Yaml;
  return yaml;
}

export function loadPromClient(): typeof PromClient {
  promClient ??= require('prom-client') as typeof PromClient;
  return promClient;
}
