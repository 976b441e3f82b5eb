#!/usr/bin/env bash
# The native sidecar's memory over a long rate-limited tap (what the bench's 3 s measurements, spread
# over ~30 s of a sidecar's life, do not show): the backend, the sidecar (alone on CPU 1) with a
# heap probe, `meshtap tap --proxy … --bodies --max-rps 100 -o json` and h2load's gRPC (or h2) max load
# on CPU 0, for SECONDS. Prints the sidecar's series every 2 s (bench/heap-series-probe.mjs: VmRSS,
# RssAnon, RssFile, V8's old space used / resident, new space resident, external, MB), then its
# peak (VmHWM), the JS thread's and the process's CPU ticks, requests and tap events.
#   npm run build && bash bench/tapped-memory.sh grpc|h2 SECONDS [REPO]
# REPO (default: this checkout) lets two builds be compared, one after the other, interleaved.
# Loopback only; everything it starts is stopped on exit. Figures, not a test (issue 14: tapped RSS).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
proto=${1:?usage: bench/tapped-memory.sh grpc|h2 SECONDS [REPO]}
secs=${2:?seconds}
repo=${3:-$here}
cd "$repo"
work=$(mktemp -d /tmp/meshtap-tapmem-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
wait_for() { for _ in $(seq 1 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "tapped-memory: no '$2' in $1" >&2; cat "$1" >&2; exit 1; }

taskset -c 0 node dist/bench/backend.js --size 100 2>"$work/backend.err" & pids+=($!)
wait_for "$work/backend.err" '^ready'
up=$(awk '/^listening h2/{print $3}' "$work/backend.err")
MESHTAP_LOG=error MESHTAP_HEAP_SERIES="$work/series" NODE_OPTIONS="--import $here/bench/heap-series-probe.mjs" \
  taskset -c 1 node dist/bin/meshtap.js proxy --engine native --forward "127.0.0.1:0=$up" --admin 127.0.0.1:0 --tap 127.0.0.1:0 2>"$work/sidecar.err" & sp=$!; pids+=($sp)
wait_for "$work/sidecar.err" '^ready'
fwd=$(awk '/^listening forward/{print $3}' "$work/sidecar.err")
tap=$(awk '/^listening tap/{print $3}' "$work/sidecar.err")
taskset -c 0 node dist/bin/meshtap.js tap --proxy "$tap" --bodies --max-rps 100 -o json >"$work/tap.out" 2>"$work/tap.err" & pids+=($!)
sleep 2
ticks() { awk '{print $14+$15}' "$1"; }
cpu0=$(ticks /proc/$sp/stat); js0=$(ticks /proc/$sp/task/$sp/stat)
if [ "$proto" = grpc ]; then
  printf '\x00\x00\x00\x00\x05hello' >"$work/grpc-request"
  taskset -c 0 h2load -c 4 -m 32 -D "$secs" -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/grpc-request" "http://$fwd/bench.Bench/Unary" >"$work/load.out" 2>&1
else
  taskset -c 0 h2load -c 4 -m 32 -D "$secs" "http://$fwd/" >"$work/load.out" 2>&1
fi
sleep 2
cat "$work/series"
echo "peak: $(grep -E 'VmHWM' /proc/$sp/status | tr -s ' ')"
echo "cpu ticks during the load: process $(( $(ticks /proc/$sp/stat) - cpu0 )), JS thread $(( $(ticks /proc/$sp/task/$sp/stat) - js0 ))"
echo "$(grep -E '^requests:' "$work/load.out")"
echo "tap events: $(wc -l <"$work/tap.out")"
rm -rf "$work"
