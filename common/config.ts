/**
 * The CLI config file: where `meshtap tap`/`top`/`stat`/`record` find the tap API and a token
 * when neither a flag nor the environment gives them (like a kubeconfig for meshtap's own API).
 *
 *   # ~/.config/meshtap/config.yaml  (or $XDG_CONFIG_HOME/meshtap/config.yaml, or $MESHTAP_CONFIG)
 *   tapApi: http://127.0.0.1:8089
 *   token: 0123abcd…
 *
 * Precedence: flag, then environment variable, then this file.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { parse as ParseYaml } from 'yaml';
import { MeshtapError } from './errors.js';

/**
 * The YAML parser, loaded only when a config file is there to read: `common/` is imported by
 * every command, the sidecar included, which never reads this file, and loading yaml costs a
 * Node process ~8 MB of RSS (issue 13, RSS ≤ 60 MB).
 */
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as { parse: typeof ParseYaml }).parse(text);

/** Environment variable → config file key. */
const KEYS: Record<string, string> = { MESHTAP_TAP_API: 'tapApi', MESHTAP_TOKEN: 'token' };

export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MESHTAP_CONFIG) return env.MESHTAP_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'meshtap', 'config.yaml');
}

let cached: { path: string; values: Record<string, string> } | undefined;

/** Reads the config file once; a missing file is an empty config, a malformed one an error. */
export function loadCliConfig(path = configFilePath()): Record<string, string> {
  if (cached?.path === path) return cached.values;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    // A file named on purpose (MESHTAP_CONFIG) that is not there is a mistake worth a word; the default file is optional.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && process.env.MESHTAP_CONFIG && path === process.env.MESHTAP_CONFIG) {
      throw new MeshtapError('MT_CONFIG', `MESHTAP_CONFIG names ${path}, which does not exist; create it or unset MESHTAP_CONFIG`, { cause: err });
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      cached = { path, values: {} };
      return cached.values;
    }
    throw new MeshtapError('MT_CONFIG', `cannot read the config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new MeshtapError('MT_CONFIG', `the config file ${path} is not YAML: ${(err as Error).message.split('\n')[0]}; fix or remove it`, { cause: err });
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new MeshtapError('MT_CONFIG', `the config file ${path} must be a mapping (e.g. 'tapApi: http://127.0.0.1:8089')`);
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (!Object.values(KEYS).includes(k)) throw new MeshtapError('MT_CONFIG', `the config file ${path} has an unknown key '${k}'; known keys: ${Object.values(KEYS).join(', ')}`);
    if (typeof v !== 'string') throw new MeshtapError('MT_CONFIG', `the config file ${path}: '${k}' must be a string (quote it, e.g. token: "0123")`);
    values[k] = v;
  }
  cached = { path, values };
  return values;
}

/** The config file's value for what an environment variable would give, if any. */
export function configValueFor(envName: string): string | undefined {
  const key = KEYS[envName];
  return key ? loadCliConfig()[key] : undefined;
}
