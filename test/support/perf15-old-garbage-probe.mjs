// Loaded into the sidecar with NODE_OPTIONS=--import (test/perf15-tapped-settle.test.ts): on SIGUSR2,
// for MESHTAP_OLD_GARBAGE_MS, makes garbage as a tap's JS path does, objects that live past two
// scavenges (promoted to the old space) and then die: ~2 MB of them a second, plus the short-lived
// churn that drives the scavenges. What V8 would leave in the old space until its own limit.
const ms = Number(process.env.MESHTAP_OLD_GARBAGE_MS ?? 0);
if (ms > 0) {
  process.on('SIGUSR2', () => {
    const end = Date.now() + ms;
    const generations = [];
    const tick = () => {
      const held = [];
      for (let i = 0; i < 1000; i++) held.push({ i, name: `header-${i}`, value: [i, `v${i}`] });
      generations.push(held);
      if (generations.length > 20) generations.shift(); // each generation lives ~1 s: promoted, then dead
      let churn = 0;
      for (let i = 0; i < 4000; i++) churn += [i, `c${i}`].length; // ~0.5 MB of young garbage
      if (churn > 0 && Date.now() < end) setTimeout(tick, 50);
      else generations.length = 0;
    };
    tick();
  });
}
