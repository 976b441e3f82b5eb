// Loaded into a spawned sidecar with NODE_OPTIONS=--import (test/native-settle-memory.test.ts): on
// SIGWINCH, writes the young generation's resident bytes (V8's new space, physical size) to
// $MESHTAP_NEW_SPACE_PROBE, allocating nothing that could grow it.
import { writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const out = process.env.MESHTAP_NEW_SPACE_PROBE;
if (out) {
  process.on('SIGWINCH', () => {
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    writeFileSync(out, String(space?.physical_space_size ?? -1));
  });
}
