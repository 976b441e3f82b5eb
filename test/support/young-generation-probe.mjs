// Loaded into a spawned process with NODE_OPTIONS=--import (test/proxy-young-generation.test.ts):
// on SIGUSR2, allocates as a proxy under load does (objects of which many survive a scavenge or two,
// the pattern that makes V8 grow its new space) and writes the new space's size in bytes to
// $MESHTAP_YOUNG_PROBE, so a test can tell whether the process's young generation may grow.
import { writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const out = process.env.MESHTAP_YOUNG_PROBE;
if (out) {
  process.on('SIGUSR2', () => {
    const kept = [];
    for (let round = 0; round < 400; round++) {
      const batch = [];
      for (let i = 0; i < 1000; i++) batch.push({ i, name: `header-${i}`, value: [round, i] });
      kept.push(batch);
      if (kept.length > 40) kept.shift();
    }
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    writeFileSync(out, String(space?.space_size ?? -1));
  });
}
