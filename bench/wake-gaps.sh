#!/usr/bin/env bash
# When the native worker blocks at the bench's h2 or gRPC max load, how long until its next event
# really comes, and how long the wake then takes. Runs the bench's backend and h2load on CPU 0 and
# a native sidecar alone on CPU 1 (as bench/run.ts pins them), records (`perf record -a`, 1.5 s)
# the worker thread's epoll_wait entries and exits and the write/writev entries of h2load and the
# backend's main thread, and prints, over the worker's blocking waits: the true gap (from blocking
# to the first write of h2load or the backend inside the wait, i.e. what a poll window would have
# had to cover) and the wake latency (from that write to epoll_wait returning).
# A wait with no such write inside (woken by something else, or an event perf lost) is counted apart.
#   npm run build && bash bench/wake-gaps.sh h2|grpc [extra proxy flags…]
# Loopback only; everything it starts is stopped on exit. Figures to find a mechanism, not a report.
set -euo pipefail
cd "$(dirname "$0")/.."
proto=${1:?usage: bench/wake-gaps.sh h2|grpc [extra proxy flags…]}
shift
work=$(mktemp -d /tmp/meshtap-wake-gaps-XXXXXX)
taskset -c 0 node dist/bench/backend.js --size 100 2>$work/b.err & bp=$!
np=
trap 'kill $bp $np 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q ready $work/b.err && break; sleep 0.1; done
up=$(awk '/^listening h2/{print $3}' $work/b.err)
MESHTAP_LOG=error taskset -c 1 node dist/bin/meshtap.js proxy --engine native --forward "127.0.0.1:0=$up" --admin 127.0.0.1:0 --tap 127.0.0.1:0 "$@" 2>$work/p.err & np=$!
for _ in $(seq 100); do grep -q ready $work/p.err && break; sleep 0.1; done
nat=$(awk '/^listening forward/{print $3}' $work/p.err)
printf '\x00\x00\x00\x00\x05hello' >$work/grpc.bin
g=(); path=/; [ "$proto" = grpc ] && { g=(-d $work/grpc.bin -H 'content-type: application/grpc' -H 'te: trailers'); path=/bench.Bench/Unary; }
taskset -c 0 h2load -t1 -c4 -m32 -D 7 "${g[@]}" http://$nat$path > $work/l.out 2>&1 & lp=$!
sleep 1.5
# The worker is the thread that gains the most CPU under the load.
for t in /proc/$np/task/*; do echo "${t##*/} $(awk '{print $14+$15}' $t/stat)"; done > $work/t0; sleep 1
tid=$(for t in /proc/$np/task/*; do echo "${t##*/} $(awk '{print $14+$15}' $t/stat)"; done | awk 'FNR == NR { a[$1] = $2; next } { print $2 - a[$1], $1 }' $work/t0 - | sort -n | tail -1 | awk '{print $2}')
hp=$(pgrep -n -x h2load)
timeout -s INT 1.5 perf record -q -a -e syscalls:sys_enter_epoll_wait,syscalls:sys_exit_epoll_wait,syscalls:sys_enter_writev,syscalls:sys_enter_write -o $work/perf.data 2>/dev/null || true
wait $lp || true
echo "rate $(awk '/^finished/{print $4}' $work/l.out)"
perf script -i $work/perf.data -F tid,time,event,trace 2>/dev/null | awk -v w=$tid -v h=$hp -v b=$bp '
  { tid = $1; t = $2; sub(/:$/, "", t); t = t * 1e6 }
  tid == w && /sys_enter_epoll_wait/ { blocking = ($NF != "0x00000000"); start = t; arr = 0; next }
  tid == w && /sys_exit_epoll_wait/ { if (blocking && start > 0 && arr > 0) { n++; g = arr - start; l = t - arr;
      gb[g < 20 ? 1 : g < 50 ? 2 : g < 100 ? 3 : g < 200 ? 4 : g < 500 ? 5 : 6]++;
      lb[l < 10 ? 1 : l < 25 ? 2 : l < 50 ? 3 : l < 100 ? 4 : l < 200 ? 5 : 6]++; ls += l }
    else if (blocking && start > 0) nowrite++
    start = 0; next }
  start > 0 && arr == 0 && (tid == h || tid == b) && /sys_enter_write/ { arr = t }
  END { printf "blocking waits with a CPU-0 write inside: %d (none seen: %d)\n", n, nowrite
        printf "true gap (block -> first write): <20us %d, 20-50 %d, 50-100 %d, 100-200 %d, 200-500 %d, >500 %d\n", gb[1], gb[2], gb[3], gb[4], gb[5], gb[6]
        printf "wake latency (write -> epoll returns): <10us %d, 10-25 %d, 25-50 %d, 50-100 %d, 100-200 %d, >200 %d; mean %.1f us\n", lb[1], lb[2], lb[3], lb[4], lb[5], lb[6], (n ? ls / n : 0) }'
