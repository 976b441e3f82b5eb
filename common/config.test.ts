import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFilePath, loadCliConfig } from './config.js';

const file = (text: string) => {
  const p = join(mkdtempSync(join(tmpdir(), 'mt-config-')), 'config.yaml');
  writeFileSync(p, text);
  return p;
};

describe('CLI config file', () => {
  it('is found at MESHTAP_CONFIG, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configFilePath({ MESHTAP_CONFIG: '/x/c.yaml' })).toBe('/x/c.yaml');
    expect(configFilePath({ XDG_CONFIG_HOME: '/xdg' })).toBe('/xdg/meshtap/config.yaml');
    expect(configFilePath({})).toMatch(/\/\.config\/meshtap\/config\.yaml$/);
  });

  it('gives the tap API and token; a missing file is an empty config', () => {
    expect(loadCliConfig(file('tapApi: http://127.0.0.1:8089\ntoken: abc\n'))).toEqual({ tapApi: 'http://127.0.0.1:8089', token: 'abc' });
    expect(loadCliConfig('/nonexistent/meshtap/config.yaml')).toEqual({});
    expect(loadCliConfig(file(''))).toEqual({});
  });

  it('refuses malformed files with a one-line error naming the file', () => {
    const bad = file('tapApi: [unclosed\n');
    expect(() => loadCliConfig(bad)).toThrow(new RegExp(`config file ${bad} is not YAML`));
    expect(() => loadCliConfig(file('- a\n- b\n'))).toThrow(/must be a mapping/);
    expect(() => loadCliConfig(file('tapapi: x\n'))).toThrow(/unknown key 'tapapi'/);
    expect(() => loadCliConfig(file('token: 5\n'))).toThrow(/'token' must be a string/);
  });
});
