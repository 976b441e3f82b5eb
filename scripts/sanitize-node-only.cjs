// Loaded into every node process of scripts/native-sanitize.sh (NODE_OPTIONS=--require): keeps the
// sanitizer runtimes (LD_PRELOAD) for node children only — they load the ASan build of the addon —
// and spawns every other program (curl, nghttp, h2load, sh, …) without them. Preloaded into curl,
// libasan deadlocks in a futex at start-up (before curl connects): transparency-h2's curl hung on
// both engines in session 2 for that reason alone.
'use strict';
const path = require('node:path');
const { ChildProcess } = require('node:child_process');

const isNode = (file) => file === process.execPath || path.basename(String(file)) === 'node';
function withoutPreload(options) {
  if (options && !isNode(options.file) && Array.isArray(options.envPairs)) {
    options.envPairs = options.envPairs.filter((pair) => !pair.startsWith('LD_PRELOAD='));
  }
}
// spawn/exec/execFile/fork go through ChildProcess#spawn; the *Sync ones through spawn_sync.spawn.
const spawnAsync = ChildProcess.prototype.spawn;
ChildProcess.prototype.spawn = function spawn(options) {
  withoutPreload(options);
  return spawnAsync.call(this, options);
};
const binding = process.binding('spawn_sync');
const spawnSync = binding.spawn;
binding.spawn = function spawn(options) {
  withoutPreload(options);
  return spawnSync.call(this, options);
};
