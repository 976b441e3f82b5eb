#!/usr/bin/env bash
# Per-call counts (not timings) of what a proxy makes the client, the backend and itself do, at a
# FIXED rate below saturation so that counts per call compare between targets. The bench's h2
# load shape (h2load -t1 -c4, the backend and h2load pinned to CPU 0, the proxy alone on CPU 1, as
# bench/run.ts pins them) with `--rps` per client. Per target and round it prints, per call:
#   h2load / backend / proxy: syscalls by kind (reads: read+readv+recvfrom+recvmsg, writes:
#   write+writev+sendto+sendmsg, epoll waits), voluntary and involuntary context switches,
#   wake-ups they caused (sched_wakeup in their context), CPU µs;
#   TCP, per socket (ss -ti before/after, summed over the load's connections): on the client's
#   sockets and on the backend's sockets, segments in, data segments in, data segments out, pure
#   ACKs out (segments out without data), and payload bytes per data segment received;
#   NET_RX softirqs on CPU 0 and the wake-up IPIs (reschedule + function call) taken by CPU 0 and
#   CPU 1 per call; CPU 0's idle share, its entries into idle per call, and the CPU µs per call
#   that others than h2load and the backend took on CPU 0 (busy ticks of 10 ms minus theirs: coarse).
#   npm run build && bash bench/count-probe.sh h2|grpc RATE SECONDS ROUNDS TARGET…
#   TARGET: direct | haproxy | native | native-fwd | native:<extra proxy flags, comma-separated>
#   e.g. bash bench/count-probe.sh grpc 20000 4 2 direct haproxy native
# RATE is the total calls/s (split over the 4 connections); 0 runs the max load (-m32, no --rps).
# Loopback only; everything it starts is stopped on exit. Figures to find a mechanism, not a report.
set -euo pipefail
cd "$(dirname "$0")/.."
proto=${1:?usage: bench/count-probe.sh h2|grpc RATE SECONDS ROUNDS TARGET…}
rate=${2:?rate}
secs=${3:?seconds}
rounds=${4:?rounds}
shift 4
work=$(mktemp -d /tmp/meshtap-count-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
wait_for() { for _ in $(seq 1 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "probe: no '$2' in $1" >&2; cat "$1" >&2; exit 1; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

taskset -c 0 node dist/bench/backend.js --size 100 2>"$work/backend.err" & bpid=$!; pids+=("$bpid")
wait_for "$work/backend.err" '^ready'
up=$(awk '/^listening h2/{print $3}' "$work/backend.err")
bport=${up##*:}

declare -A addr ppid
i=0
for t in "$@"; do
  i=$((i + 1))
  case "$t" in
    direct) addr[$t]=$up; continue ;;
    haproxy)
      port=$(free_port)
      node --input-type=module -e "import { renderHaproxyConfig } from './dist/bench/peers/haproxy.js'; process.stdout.write(renderHaproxyConfig({ mode: 'http', front: 'h2', listenPort: $port, target: '$up' }))" >"$work/haproxy$i.cfg"
      taskset -c 1 haproxy -db -f "$work/haproxy$i.cfg" 2>"$work/p$i.err" & p=$!
      for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
      addr[$t]=127.0.0.1:$port ;;
    native*)
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
  local rps=(-m32); [ "$rate" -gt 0 ] && rps=(-m32 --rps $((rate / 4)))
  local g=(); [ "$proto" = grpc ] && g=(-d "$work/grpc.bin" -H 'content-type: application/grpc' -H 'te: trailers')
  local path=/; [ "$proto" = grpc ] && path=/bench.Bench/Unary
  taskset -c 0 h2load -t1 -c4 "${rps[@]}" -D "$2" "${g[@]}" "http://$1$path" >"$3" 2>&1
}
EV=task-clock,context-switches,sched:sched_wakeup
for s in read readv recvfrom recvmsg write writev sendto sendmsg epoll_wait epoll_pwait; do EV+=",syscalls:sys_enter_$s"; done
# Per socket: "local peer segs_in data_segs_in data_segs_out bytes_received" for sockets whose local
# or peer port is $1.
sockets() {
  ss -tinH state established "( sport = :$1 or dport = :$1 )" | awk '
    /^[0-9]/ || /^ESTAB/ { n = split($0, f, /[ \t]+/); key = f[n-1] " " f[n]; next }
    { si = 0; dsi = 0; dso = 0; br = 0; so = 0;
      for (k = 1; k <= NF; k++) {
        if ($k ~ /^segs_in:/) si = substr($k, 9); else if ($k ~ /^data_segs_in:/) dsi = substr($k, 14);
        else if ($k ~ /^data_segs_out:/) dso = substr($k, 15); else if ($k ~ /^bytes_received:/) br = substr($k, 16)
        else if ($k ~ /^segs_out:/) so = substr($k, 10) }
      print key, si, dsi, dso, br, so }'
}
# Sums the differences of sockets whose LOCAL port is $3 (1) or whose PEER port is $3 (2: field 2).
segdiff() { # before after port field
  awk -v port="$3" -v fld="$4" 'FNR == NR { b[$1 " " $2] = $3 " " $4 " " $5 " " $6 " " $7; next }
    { split(fld == 1 ? $1 : $2, a, ":"); if (a[2] != port) next;
      split(b[$1 " " $2], o, " "); si += $3 - o[1]; dsi += $4 - o[2]; dso += $5 - o[3]; br += $6 - o[4]; so += $7 - o[5] }
    END { print si + 0, dsi + 0, dso + 0, br + 0, so + 0 }' "$1" "$2"
}
netrx0() { awk '/NET_RX:/{print $2}' /proc/softirqs; }
res() { awk '/^ *(RES|CAL):/{a += $2; b += $3} END {print a, b}' /proc/interrupts; }
cpu0() { awk '/^cpu0 /{print $2+$3+$4+$5+$6+$7+$8, $5+$6}' /proc/stat; }
stat_of() { # perf-stat-file -> "cpu_ms reads writes epolls cs wakeups"
  awk -F, '{ v = $1 + 0; e = $3 }
    e ~ /task-clock/ { cpu = v } e ~ /context-switches/ { cs = v } e ~ /sched_wakeup$/ { wk = v }
    e ~ /sys_enter_(read|readv|recvfrom|recvmsg)$/ { rd += v } e ~ /sys_enter_(write|writev|sendto|sendmsg)$/ { wr += v }
    e ~ /sys_enter_epoll/ { ep += v }
    END { print cpu + 0, rd + 0, wr + 0, ep + 0, cs + 0, wk + 0 }' "$1"
}
invol() { awk '/^nonvoluntary_ctxt_switches/{n=$2} /^voluntary_ctxt_switches/{v=$2} END{print v + 0, n + 0}' /proc/"$1"/status; }
threads_invol() { local v=0 n=0; for s in /proc/"$1"/task/*/status; do [ -r "$s" ] || continue; read -r a b < <(awk '/^nonvoluntary_ctxt_switches/{n=$2} /^voluntary_ctxt_switches/{v=$2} END{print v + 0, n + 0}' "$s"); v=$((v + a)); n=$((n + b)); done; echo "$v $n"; }

# warm-up (connections of the load are new each run; its own first second is not measured apart)
for t in "$@"; do load "${addr[$t]}" 1 /dev/null || true; done

echo "per call; rd/wr/ep = read-, write-, epoll-wait syscalls; vcs/ics = voluntary/involuntary switches; wk = wake-ups caused;"
echo "client/backend TCP: si = segments in, dsi = data segments in, dso = data segments out, ack = pure ACKs (segments out without data), B/dsi = payload bytes per data segment in"
printf '%-12s %7s | %-38s | %-38s | %-38s | %-28s | %-28s | %-17s | %s\n' target calls/s \
  'h2load: us rd wr ep vcs ics wk' 'backend: us rd wr ep vcs ics wk' 'proxy: us rd wr ep vcs ics wk' \
  'client si dsi dso ack B/dsi' 'backend si dsi dso ack B/dsi' 'netrx0 ipi0 ipi1' 'idle0 entries others0us'
for r in $(seq 1 "$rounds"); do
  order=("$@"); if [ $((r % 2)) = 0 ]; then order=(); for ((k = $#; k >= 1; k--)); do order+=("${!k}"); done; fi
  for t in "${order[@]}"; do
    a=${addr[$t]}
    lport=${a##*:}
    # The load's connections exist only while it runs: start it, let it connect, then measure a window.
    load "$a" $((secs + 5)) "$work/load.out" & lp=$!
    sleep 1
    hp=$(pgrep -n -x h2load || true)
    [ -n "$hp" ] || { echo "probe: no h2load" >&2; exit 1; }
    sockets "$lport" >"$work/cs0"; sockets "$bport" >"$work/bs0"
    read -r bv0 bn0 < <(threads_invol "$bpid"); read -r hv0 hn0 < <(threads_invol "$hp")
    pv0=0 pn0=0; [ -n "${ppid[$t]:-}" ] && read -r pv0 pn0 < <(threads_invol "${ppid[$t]}")
    rx0=$(netrx0); read -r rs0 rt0 < <(res); read -r ct0 ci0 < <(cpu0)
    perf stat -x, -C 0 -e sched:sched_switch --filter 'next_pid == 0' -o "$work/idle.txt" -- sleep "$secs" 2>/dev/null & si=$!
    perf stat -x, -e "$EV" -p "$bpid" -o "$work/bstat.txt" -- sleep "$secs" 2>/dev/null & sb=$!
    perf stat -x, -e "$EV" -p "$hp" -o "$work/hstat.txt" -- sleep "$secs" 2>/dev/null & sh=$!
    sp=; if [ -n "${ppid[$t]:-}" ]; then perf stat -x, -e "$EV" -p "${ppid[$t]}" -o "$work/pstat.txt" -- sleep "$secs" 2>/dev/null & sp=$!; fi
    wait "$sb" "$sh" "$si" || true; [ -n "$sp" ] && { wait "$sp" || true; }
    rx1=$(netrx0); read -r rs1 rt1 < <(res); read -r ct1 ci1 < <(cpu0)
    idles=$(awk -F, '/sched_switch/{print $1 + 0}' "$work/idle.txt")
    read -r bv1 bn1 < <(threads_invol "$bpid"); read -r hv1 hn1 < <(threads_invol "$hp")
    pv1=0 pn1=0; [ -n "${ppid[$t]:-}" ] && read -r pv1 pn1 < <(threads_invol "${ppid[$t]}")
    sockets "$lport" >"$work/cs1"; sockets "$bport" >"$work/bs1"
    wait "$lp" || true
    # Calls in the window: h2load's own rate over its run times the window (steady at a fixed rate).
    req=$(awk '/^requests:/{print $8}' "$work/load.out"); dur=$(awk '/finished in/{gsub(/s,/,"",$3); print $3}' "$work/load.out")
    calls=$(awk -v r="$req" -v d="$dur" -v s="$secs" 'BEGIN { printf "%.0f", r / d * s }')
    h=$(stat_of "$work/hstat.txt"); b=$(stat_of "$work/bstat.txt"); p="0 0 0 0 0 0"; [ -n "$sp" ] && p=$(stat_of "$work/pstat.txt")
    cseg=$(segdiff "$work/cs0" "$work/cs1" "$lport" 2)   # h2load's sockets: peer port = the target's
    bseg=$(segdiff "$work/bs0" "$work/bs1" "$bport" 1)   # the backend's sockets: local port = its own
    awk -v t="$t" -v n="$calls" -v secs="$secs" -v h="$h" -v b="$b" -v p="$p" -v cseg="$cseg" -v bseg="$bseg" \
      -v hv="$((hv1 - hv0))" -v hn="$((hn1 - hn0))" -v bv="$((bv1 - bv0))" -v bn="$((bn1 - bn0))" -v pv="$((pv1 - pv0))" -v pn="$((pn1 - pn0))" \
      -v rx="$((rx1 - rx0))" -v rs="$((rs1 - rs0))" -v rt="$((rt1 - rt0))" -v ct="$((ct1 - ct0))" -v ci="$((ci1 - ci0))" -v idles="$idles" 'BEGIN {
      if (n <= 0) n = 1
      split(h, H, " "); split(b, B, " "); split(p, P, " "); split(cseg, C, " "); split(bseg, S, " ")
      f = "%5.2f %4.3f %4.3f %4.3f %4.3f %4.3f %4.3f"
      printf "%-12s %7.0f | " f " | " f " | " f " | %4.3f %4.3f %4.3f %4.3f %5.0f | %4.3f %4.3f %4.3f %4.3f %5.0f | %4.3f %4.3f %4.3f | %4.1f%% %4.3f %5.2f\n", t, n / secs,
        H[1] * 1000 / n, H[2] / n, H[3] / n, H[4] / n, hv / n, hn / n, H[6] / n,
        B[1] * 1000 / n, B[2] / n, B[3] / n, B[4] / n, bv / n, bn / n, B[6] / n,
        P[1] * 1000 / n, P[2] / n, P[3] / n, P[4] / n, pv / n, pn / n, P[6] / n,
        C[1] / n, C[2] / n, C[3] / n, (C[5] - C[3]) / n, (C[2] > 0 ? C[4] / C[2] : 0),
        S[1] / n, S[2] / n, S[3] / n, (S[5] - S[3]) / n, (S[2] > 0 ? S[4] / S[2] : 0), rx / n, rs / n, rt / n,
        (ct > 0 ? 100 * ci / ct : 0), idles / n, ((ct - ci) * 10000 - H[1] * 1000 - B[1] * 1000) / n }'
  done
done
echo "(work files: $work)"
