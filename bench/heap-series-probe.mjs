// Loaded into the sidecar by bench/tapped-memory.sh (NODE_OPTIONS=--import): every 2 s appends one
// line to $MESHTAP_HEAP_SERIES: seconds since start, VmRSS, RssAnon, RssFile (/proc/self/status), V8's
// old space used / resident, new space resident, external memory (MB). Reads only; allocates a few
// objects per line.
import { appendFileSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const out = process.env.MESHTAP_HEAP_SERIES;
if (out) {
  const t0 = performance.now();
  const mb = (n) => (n / 1048576).toFixed(2);
  const line = () => {
    const st = readFileSync('/proc/self/status', 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(st)?.[1] ?? 0) * 1024;
    const sp = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s]));
    const t = ((performance.now() - t0) / 1000).toFixed(1);
    appendFileSync(out, `${t} ${mb(kb('VmRSS'))} ${mb(kb('RssAnon'))} ${mb(kb('RssFile'))} ${mb(sp.old_space.space_used_size)} ${mb(sp.old_space.physical_space_size)} ${mb(sp.new_space.physical_space_size)} ${mb(process.memoryUsage().external)}\n`);
  };
  appendFileSync(out, 't_s rss_mb anon_mb file_mb old_used_mb old_resident_mb new_resident_mb external_mb\n');
  setInterval(line, 2000).unref();
}
