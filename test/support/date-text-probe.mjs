// Loaded into a spawned sidecar with NODE_OPTIONS=--import (test/native-date-text.test.ts): counts
// calls of Date's methods that turn a time into text (or need the local time zone) made through
// Date.prototype — by our code, by dependencies, and by node's own modules that call them as
// methods (node:http's and node:http2's Date header) — and on SIGUSR2 writes `name count` lines
// to $MESHTAP_DATE_PROBE. In Node 20's V8 each of these loads ICU's time-zone data (~1 MB of the
// node executable made resident, common/utc-time.ts).
import { writeFileSync } from 'node:fs';

const out = process.env.MESHTAP_DATE_PROBE;
if (out) {
  const counts = new Map();
  const names = ['toISOString', 'toUTCString', 'toGMTString', 'toString', 'toDateString', 'toTimeString', 'toLocaleString', 'toLocaleDateString', 'toLocaleTimeString', 'toJSON', 'getTimezoneOffset'];
  for (const name of names) {
    const original = Date.prototype[name];
    Object.defineProperty(Date.prototype, name, {
      configurable: true,
      writable: true,
      value: function (...args) {
        counts.set(name, (counts.get(name) ?? 0) + 1);
        return original.apply(this, args);
      },
    });
  }
  process.on('SIGUSR2', () => {
    writeFileSync(out, [...counts].map(([n, c]) => `${n} ${c}\n`).join('') + 'done\n');
  });
}
