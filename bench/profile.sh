#!/usr/bin/env bash
# Where the time goes in one meshtap sidecar under one bench load: a perf profile of the proxy
# (pinned alone to CPU 1, backend + load generator + tap client on CPU 0, as in the bench), its
# samples per thread and per DSO, the top symbols, the JS thread inclusive, and smaps_rollup.
# Figures, not a report: the bench (run.ts) measures; this says why a goal was missed.
#   npm run build && bash bench/profile.sh h1|h2|grpc [tap|tap-all] [SECONDS] [extra meshtap proxy flags…]
#   e.g. bash bench/profile.sh grpc tap 8 --engine js
# `tap`: a --bodies tap client at --max-rps 100 (the tap API's default: the tap as users get it, as
# the bench's -tap targets); `tap-all`: the same with no limit (the firehose, as -tap-all).
# The default engine is native (`--engine js` among the extra flags overrides it). Needs perf,
# wrk (h1) or h2load (h2, grpc), taskset. Loopback only; everything it starts is stopped on exit;
# the raw perf.data is left in the printed folder for `perf report -i`.
set -euo pipefail
cd "$(dirname "$0")/.."
proto=${1:?usage: bench/profile.sh h1|h2|grpc [tap|tap-all] [SECONDS] [proxy flags…]}; shift
tap=no; case "${1:-}" in tap|tap-all) tap=$1; shift ;; esac
secs=8; if [[ "${1:-}" =~ ^[0-9]+$ ]]; then secs=$1; shift; fi
case "$proto" in h1|h2|grpc) ;; *) echo "profile: the protocol is h1, h2 or grpc, not '$proto'" >&2; exit 2 ;; esac
command -v perf >/dev/null || { echo "profile: perf is missing (apt-get install linux-perf)" >&2; exit 1; }
work=$(mktemp -d /tmp/meshtap-profile-XXXXXX)
pids=()
# --perf-basic-prof makes node write isolate-*-v8.log into its working directory: moved beside perf.data
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; mv isolate-*-"${px:-none}"-v8.log "$work/" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

wait_for() { for _ in $(seq 1 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "profile: no '$2' in $1" >&2; cat "$1" >&2; exit 1; }

taskset -c 0 node dist/bench/backend.js --size 100 2>"$work/backend.err" & pids+=($!)
wait_for "$work/backend.err" '^ready'
if [ "$proto" = h1 ]; then up=$(awk '/^listening h1/{print $3}' "$work/backend.err"); else up=$(awk '/^listening h2/{print $3}' "$work/backend.err"); fi

engine=(--engine native)
for a in "$@"; do [ "$a" = --engine ] && engine=(); done
MESHTAP_LOG=error taskset -c 1 node --perf-basic-prof dist/bin/meshtap.js proxy "${engine[@]}" --forward "127.0.0.1:0=$up" \
  --admin 127.0.0.1:0 --tap 127.0.0.1:0 "$@" 2>"$work/proxy.err" & px=$!; pids+=("$px")
wait_for "$work/proxy.err" '^ready'
fwd=$(awk '/^listening forward/{print $3}' "$work/proxy.err")
tapaddr=$(awk '/^listening tap/{print $3}' "$work/proxy.err")
if [ "$tap" != no ]; then
  limit=(); [ "$tap" = tap ] && limit=(--max-rps 100)
  taskset -c 0 node dist/bin/meshtap.js tap --proxy "$tapaddr" --bodies "${limit[@]}" -o json >"$work/tap.out" 2>"$work/tap.err" & pids+=($!)
  sleep 3
fi

load=$((secs + 9))
case "$proto" in
  h1) taskset -c 0 wrk -t1 -c32 -d${load}s "http://$fwd/" >"$work/load.out" 2>&1 & ;;
  h2) taskset -c 0 h2load -t1 -c4 -m32 -D $load "http://$fwd/" >"$work/load.out" 2>&1 & ;;
  grpc)
    printf '\x00\x00\x00\x00\x05hello' >"$work/grpc-request.bin"
    taskset -c 0 h2load -t1 -c4 -m32 -D $load -d "$work/grpc-request.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
      "http://$fwd/bench.Svc/Call" >"$work/load.out" 2>&1 & ;;
esac
lp=$!; pids+=("$lp")
sleep 5  # past the JIT warm-up (V8 compiler threads otherwise fill the profile)
t0=$(awk '{print $14+$15}' "/proc/$px/stat")
perf record -F 999 -g -o "$work/perf.data" -p "$px" -- sleep "$secs" 2>"$work/perf-record.err" >/dev/null
t1=$(awk '{print $14+$15}' "/proc/$px/stat")
wait "$lp" || true
set +e +o pipefail  # the summaries below end in `head`: a closed pipe is not a failure
echo "== $proto, tap=$tap, proxy pid $px: $(awk '/finished in|Requests\/sec|requests:/' "$work/load.out" | tr '\n' ' ')"
echo "== proxy CPU during the profile: $(( (t1 - t0) * 1000 / $(getconf CLK_TCK) )) ms in ${secs} s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$tap" != no ] && echo "== tap lines: $(wc -l <"$work/tap.out"), with a responseBody: $(grep -c '"responseBody"' "$work/tap.out" || true)"
echo "== samples per thread (the JS thread is tid $px; the others are the native worker, libuv and V8 threads)"
perf script -i "$work/perf.data" -F tid,comm 2>/dev/null | sort | uniq -c | sort -rn | head -8
echo "== samples per DSO"
perf report -i "$work/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -10
echo "== top symbols (self)"
perf report -i "$work/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -40
echo "== the JS thread (tid $px), inclusive"
perf report -i "$work/perf.data" --tid "$px" --children --sort sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -30
echo "== memory (/proc/$px/smaps_rollup)"
grep -E '^(Rss|Pss|Pss_Anon|Pss_File|Shared_Clean|Private_Dirty|Anonymous)' "/proc/$px/smaps_rollup"
echo "== perf.data and logs: $work"
