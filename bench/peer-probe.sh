#!/usr/bin/env bash
# What a proxy's way of forwarding costs the peers on the other CPU. Runs the bench's h2 or gRPC
# max load (h2load -t1 -c4 -m32; backend + load generator pinned to CPU 0, the proxy alone on
# CPU 1, as bench/run.ts pins them) through several proxies, interleaved over rounds (the order
# reversed every other round), and prints one line per run, per request: the load's rate; CPU 0's
# idle share and busy µs; what other processes ran on CPU 0 and CPU 1 (CPU busy time minus ours);
# then for h2load, the backend and the proxy: CPU µs, syscalls, packets sent (net_dev_xmit in
# their context) and context switches; and the reschedule IPIs (RES) each CPU took per 1,000
# requests. Figures to find a mechanism, not a report (the bench measures the goals).
#   npm run build && bash bench/peer-probe.sh h2|grpc SECONDS ROUNDS TARGET…
#   TARGET: direct | net-pipe | haproxy | native | native-fwd | native:<extra proxy flags, comma-separated>
#   e.g. bash bench/peer-probe.sh h2 3 3 direct net-pipe native native-fwd
# Loopback only; everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
proto=${1:?usage: bench/peer-probe.sh h2|grpc SECONDS ROUNDS TARGET…}
secs=${2:?seconds}
rounds=${3:?rounds}
shift 3
work=$(mktemp -d /tmp/meshtap-probe-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
wait_for() { for _ in $(seq 1 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "probe: no '$2' in $1" >&2; cat "$1" >&2; exit 1; }

taskset -c 0 node dist/bench/backend.js --size 100 2>"$work/backend.err" & bpid=$!; pids+=("$bpid")
wait_for "$work/backend.err" '^ready'
up=$(awk '/^listening h2/{print $3}' "$work/backend.err")

declare -A addr ppid
i=0
for t in "$@"; do
  i=$((i + 1))
  case "$t" in
    direct) addr[$t]=$up; continue ;;
    net-pipe)
      taskset -c 1 node dist/bench/node-proxy.js --kind net-pipe --target "$up" 2>"$work/p$i.err" & p=$!
      wait_for "$work/p$i.err" '^listening'
      addr[$t]=$(awk '/^listening/{print $2}' "$work/p$i.err") ;;
    haproxy)  # HTTP mode, h2 front -> h2 upstream, one thread (bench/peers/haproxy.ts)
      port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
      node --input-type=module -e "import { renderHaproxyConfig } from './dist/bench/peers/haproxy.js'; process.stdout.write(renderHaproxyConfig({ mode: 'http', front: 'h2', listenPort: $port, target: '$up' }))" >"$work/haproxy$i.cfg"
      taskset -c 1 haproxy -db -f "$work/haproxy$i.cfg" 2>"$work/p$i.err" & p=$!
      for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
      addr[$t]=127.0.0.1:$port ;;
    native* )
      extra=(); [ "$t" = native-fwd ] && extra=(--observe none)
      case "$t" in native:*) IFS=, read -ra extra <<<"${t#native:}" ;; esac
      MESHTAP_LOG=error taskset -c 1 node dist/bin/meshtap.js proxy --engine native --forward "127.0.0.1:0=$up" \
        --admin 127.0.0.1:0 --tap 127.0.0.1:0 "${extra[@]}" 2>"$work/p$i.err" & p=$!
      wait_for "$work/p$i.err" '^ready'
      addr[$t]=$(awk '/^listening forward/{print $3}' "$work/p$i.err") ;;
    *) echo "probe: unknown target '$t'" >&2; exit 2 ;;
  esac
  pids+=("$p"); ppid[$t]=$p
done

printf '\x00\x00\x00\x00\x05hello' >"$work/grpc.bin"
load() { # address seconds outfile
  if [ "$proto" = grpc ]; then
    taskset -c 0 h2load -t1 -c4 -m32 -D "$2" -d "$work/grpc.bin" -H 'content-type: application/grpc' -H 'te: trailers' "http://$1/bench.Bench/Unary" >"$3" 2>&1
  else
    taskset -c 0 h2load -t1 -c4 -m32 -D "$2" "http://$1/" >"$3" 2>&1
  fi
}
cpu0() { awk '/^cpu0 /{a = $2+$3+$4+$5+$6+$7+$8; b = $5+$6} /^cpu1 /{c = $2+$3+$4+$5+$6+$7+$8; d = $5+$6} END {print a, b, c, d}' /proc/stat; }
irq() { awk '/^ *(RES|CAL):/{printf "%s %s ", $2, $3}' /proc/interrupts; }
EV=context-switches,raw_syscalls:sys_enter,task-clock,net:net_dev_xmit

# warm-up
for t in "$@"; do load "${addr[$t]}" 1 /dev/null || true; done

printf '%-22s %7s %6s %6s %-13s | %-20s | %-20s | %-20s | %s\n' target req/s idle0 cpu0us 'others0/1 us' 'h2load us sys pkt cs' 'backend us sys pkt cs' 'proxy us sys pkt cs' 'RES0 RES1 /kreq'
for r in $(seq 1 "$rounds"); do
  order=("$@"); if [ $((r % 2)) = 0 ]; then order=(); for ((k = $#; k >= 1; k--)); do order+=("${!k}"); done; fi
  for t in "${order[@]}"; do
    a=${addr[$t]}
    perf stat -x, -e $EV -p "$bpid" -o "$work/bstat.txt" -- sleep "$secs" 2>/dev/null & sp=$!
    sq=
    if [ -n "${ppid[$t]:-}" ]; then perf stat -x, -e $EV -p "${ppid[$t]}" -o "$work/pstat.txt" -- sleep "$secs" 2>/dev/null & sq=$!; fi
    read -r c0a i0a c1a i1a < <(cpu0); ia=$(irq)
    taskset -c 0 perf stat -x, -e $EV -o "$work/lstat.txt" -- bash -c "$(declare -f load); proto=$proto work=$work; load $a $((secs)) $work/load.out" || true
    read -r c0b i0b c1b i1b < <(cpu0); ib=$(irq)
    wait "$sp" || true; [ -n "$sq" ] && { wait "$sq" || true; }
    req=$(awk '/^requests:/{print $8}' "$work/load.out")
    dur=$(awk '/finished in/{gsub(/s,/,"",$3); print $3}' "$work/load.out")
    get() { awk -F, -v e="$2" '$0 ~ e {print $1}' "$1"; }
    row() { [ -f "$1" ] || { echo "0 0 0 0"; return; }; echo "$(get "$1" task-clock) $(get "$1" raw_syscalls) $(get "$1" net_dev_xmit) $(get "$1" context-switches)"; }
    l=$(row "$work/lstat.txt"); b=$(row "$work/bstat.txt"); p="0 0 0 0"; [ -n "$sq" ] && p=$(row "$work/pstat.txt")
    awk -v t="$t" -v req="$req" -v dur="$dur" -v c0a="$c0a" -v c0b="$c0b" -v i0a="$i0a" -v i0b="$i0b" -v c1a="$c1a" -v c1b="$c1b" -v i1a="$i1a" -v i1b="$i1b" -v l="$l" -v b="$b" -v p="$p" -v ia="$ia" -v ib="$ib" 'BEGIN {
      split(ia, A, " "); split(ib, B, " "); split(l, L, " "); split(b, Bk, " "); split(p, P, " ");
      n = req; if (n <= 0) n = 1;
      busy = (c0b - c0a) - (i0b - i0a);
      busy1 = (c1b - c1a) - (i1b - i1a);
      # what others ran: CPU busy time minus ours (ticks of 10 ms: coarse over a few seconds)
      oth0 = busy * 10000 / n - L[1] * 1000 / n - Bk[1] * 1000 / n; oth1 = busy1 * 10000 / n - P[1] * 1000 / n;
      printf "%-22s %7.0f %5.1f%% %6.2f oth %5.1f %5.1f | %5.2f %4.3f %4.3f %4.3f | %5.2f %4.3f %4.3f %4.3f | %5.2f %4.3f %4.3f %4.3f | %.1f %.1f\n", t, req / dur, 100 * (i0b - i0a) / (c0b - c0a), busy * 10000 / n, oth0, oth1,
        L[1] * 1000 / n, L[2] / n, L[3] / n, L[4] / n, Bk[1] * 1000 / n, Bk[2] / n, Bk[3] / n, Bk[4] / n, P[1] * 1000 / n, P[2] / n, P[3] / n, P[4] / n,
        (B[1] - A[1]) * 1000 / n, (B[2] - A[2]) * 1000 / n }'
  done
done
echo "(work files: $work)"
