#!/usr/bin/env bash
# Who pays for the firehose tap in the bench's `-tap-all` row: CPU µs per exchange by process (and, in
# the sidecar, by thread) at a fixed rate, untapped and with `meshtap tap --proxy … --bodies -o json`
# (no rate limit), laid out as the bench lays it out: the sidecar alone on CPU 1; backend, load
# generator and tap client on CPU 0; the reader of the client's stdout (the bench runner counts its
# lines) unpinned. CPU per exchange at a fixed rate holds up on a busy machine where max-load req/s
# does not (a process with more runnable threads gets more of a contended CPU), so this is what to
# read when deciding how much of the row's cost is the sidecar and how much the tap client.
#   npm run build && bash bench/tap-split.sh h1|grpc [ROUNDS] [SECONDS] [RPS]
# Needs h2load, taskset, /usr/bin/time. Loopback only; everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
proto=${1:?usage: bench/tap-split.sh h1|grpc [ROUNDS] [SECONDS] [RPS]}
rounds=${2:-3}; secs=${3:-5}; rps=${4:-2000}
case "$proto" in h1|grpc) ;; *) echo "tap-split: the protocol is h1 or grpc, not '$proto'" >&2; exit 2 ;; esac
for c in h2load taskset /usr/bin/time; do command -v "$c" >/dev/null || { echo "tap-split: $c is missing" >&2; exit 1; }; done
work=$(mktemp -d /tmp/meshtap-tap-split-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
hz=$(getconf CLK_TCK)
wait_for() { for _ in $(seq 1 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "tap-split: no '$2' in $1" >&2; cat "$1" >&2; exit 1; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# "tid ticks" for every thread of a process
thread_ticks() { for t in /proc/"$1"/task/*; do echo "$(basename "$t") $(awk '{print $14+$15}' "$t/stat" 2>/dev/null || echo 0)"; done; }

taskset -c 0 node dist/bench/backend.js --size 100 2>"$work/backend.err" & pids+=($!); bp=$!
wait_for "$work/backend.err" '^ready'
if [ "$proto" = h1 ]; then up=$(awk '/^listening h1/{print $3}' "$work/backend.err"); else up=$(awk '/^listening h2/{print $3}' "$work/backend.err"); fi
MESHTAP_LOG=error taskset -c 1 node dist/bin/meshtap.js proxy --engine native --forward "127.0.0.1:0=$up" \
  --admin 127.0.0.1:0 --tap 127.0.0.1:0 2>"$work/proxy.err" & px=$!; pids+=("$px")
wait_for "$work/proxy.err" '^ready'
fwd=$(awk '/^listening forward/{print $3}' "$work/proxy.err")
tapaddr=$(awk '/^listening tap/{print $3}' "$work/proxy.err")
printf '\x00\x00\x00\x00\x05hello' >"$work/grpc-request.bin"

# The bench's fixed-rate load (bench/loads.ts 'rate'): h2load, 8 HTTP/1 or 4 h2 clients.
load() {
  local d=$1
  if [ "$proto" = h1 ]; then
    /usr/bin/time -f 'TIME %U %S' taskset -c 0 h2load --h1 -t1 -c8 -m8 --rps $((rps / 8)) -D "$d" "http://$fwd/" >"$work/load.out" 2>"$work/load.time"
  else
    /usr/bin/time -f 'TIME %U %S' taskset -c 0 h2load -t1 -c4 -m8 --rps $((rps / 4)) -D "$d" -d "$work/grpc-request.bin" \
      -H 'content-type: application/grpc' -H 'te: trailers' "http://$fwd/bench.Svc/Call" >"$work/load.out" 2>"$work/load.time"
  fi
}
load 3 # warm-up (JIT of backend and sidecar)

us() { awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }'; }
echo "tap-split $proto: ${rps}/s for ${secs} s, ${rounds} rounds; CPU µs per exchange (sidecar: js = its JS thread, worker = its busiest other thread, rest = V8/libuv threads)"
for r in $(seq 1 "$rounds"); do
  order="none tap"; [ $((r % 2)) -eq 0 ] && order="tap none"
  for v in $order; do
    cp=""; rd=""
    if [ "$v" = tap ]; then
      # The tap client as the bench starts it, its stdout read by a line counter (as the bench runner reads it).
      mkfifo "$work/tap.fifo.$r"
      node -e 'let n=0;process.stdin.on("data",(b)=>{for(let i=b.indexOf(10);i>=0;i=b.indexOf(10,i+1))n++});process.stdin.on("end",()=>require("fs").writeFileSync(process.argv[1],String(n)))' "$work/lines.$r" <"$work/tap.fifo.$r" & rd=$!; pids+=("$rd")
      MESHTAP_LOG=error taskset -c 0 node dist/bin/meshtap.js tap --proxy "$tapaddr" --bodies -o json >"$work/tap.fifo.$r" 2>"$work/tap.err" & cp=$!; pids+=("$cp")
      sleep 2
    fi
    thread_ticks "$px" >"$work/t0"; b0=$(ticks "$bp"); c0=0; d0=0
    [ -n "$cp" ] && c0=$(ticks "$cp") && d0=$(ticks "$rd")
    l0=$(cut -d' ' -f1 /proc/loadavg)
    load "$secs"
    sleep 0.3 # the tap's last batch
    thread_ticks "$px" >"$work/t1"; b1=$(ticks "$bp"); c1=0; d1=0
    [ -n "$cp" ] && c1=$(ticks "$cp") && d1=$(ticks "$rd")
    n=$(awk '/requests:/{print $8}' "$work/load.out")
    lt=$(awk '/^TIME/{print ($2+$3)*'"$hz"'}' "$work/load.time")
    # the JS thread is the process's first thread (tid = pid); the worker is the busiest of the others
    js=$(join "$work/t0" "$work/t1" | awk -v px="$px" '$1==px {print $3-$2}')
    read -r worker rest < <(join "$work/t0" "$work/t1" | awk -v px="$px" '$1!=px {print $3-$2}' | sort -rn | awk 'NR==1{w=$1} NR>1{s+=$1} END{print w+0, s+0}')
    echo "round $r $(printf '%-5s' "$v") n=$n  sidecar: js $(us "$js" "$n") worker $(us "$worker" "$n") rest $(us "$rest" "$n")  |  CPU 0: backend $(us $((b1 - b0)) "$n") load $(us "$lt" "$n") tap-client $(us $((c1 - c0)) "$n")  |  stdout reader $(us $((d1 - d0)) "$n")  (load avg $l0)"
    if [ -n "$cp" ]; then kill "$cp" 2>/dev/null || true; wait "$cp" 2>/dev/null || true; wait "$rd" 2>/dev/null || true; sleep 1; fi
  done
done
echo "logs: $work"
