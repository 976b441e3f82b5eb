// Loaded into a spawned sidecar with NODE_OPTIONS=--import (test/native-startup-modules.test.ts):
// records every ES module the process loads (a module.register load hook appending URLs to
// $MESHTAP_MODULES_PROBE) and, on SIGUSR2, writes the CommonJS modules (require.cache) and node's
// builtins (process.moduleLoadList) next to it, then `$MESHTAP_MODULES_PROBE.done`.
import { appendFileSync, writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.MESHTAP_MODULES_PROBE;
if (out) {
  register(new URL('./loaded-modules-hooks.mjs', import.meta.url), { data: { out } });
  const require = createRequire(import.meta.url);
  process.on('SIGUSR2', () => {
    writeFileSync(`${out}.cjs`, Object.keys(require.cache).join('\n'));
    writeFileSync(`${out}.builtins`, process.moduleLoadList.join('\n'));
    appendFileSync(`${out}.done`, 'done\n');
  });
}
