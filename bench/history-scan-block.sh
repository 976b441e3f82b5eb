#!/usr/bin/env bash
# How long a history read's filter scan holds up the sidecar's forwarding (session 16, review16).
# Fills a sidecar's flight recorder with real traffic (wrk, one path, until it evicts: full), then,
# while a probe sends one request at a time through the sidecar (keep-alive, one connection), runs
# `meshtap tap --since 1h --path /nothing` (a filter that takes none of the recorded exchanges: the
# whole recorder is made into events and tested). Prints the probe's latency (max, p99, median)
# before and during the read and how long the read took. On the js engine the thread that scans
# is the thread that forwards.
# Also prints the sidecar's longest event-loop stall during the read (a 1 ms timer's lateness,
# measured in the sidecar: --require of a small probe), which a loaded machine inflates less than
# the probe's latency.
#   npm run build && bash bench/history-scan-block.sh js|native [RECORDER_BYTES] [READERS]
# MESHTAP_ROOT=DIR runs another checkout's build (for a before/after).
# Loopback only, needs wrk; everything it starts is stopped on exit.
set -euo pipefail
cd "${MESHTAP_ROOT:-$(dirname "$0")/..}"
engine=${1:?usage: bench/history-scan-block.sh js|native [RECORDER_BYTES] [READERS]}
bytes=${2:-}
readers=${3:-1}
work=$(mktemp -d /tmp/meshtap-scan-block-XXXXXX)
node -e "const s=require('http').createServer((q,r)=>{q.resume();q.on('end',()=>r.writeHead(200,{'content-type':'text/plain'}).end('ok'))});s.listen(0,'127.0.0.1',()=>console.log(s.address().port))" >$work/origin & op=$!
sp=
pp=
trap 'kill $op $sp $pp 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do [ -s $work/origin ] && break; sleep 0.1; done
cat >$work/lag.cjs <<'JS'
// Each 1 ms timer's lateness, as "epoch_ms late_ms" lines (only those late by 2 ms or more).
const fs = require('fs'); const fd = fs.openSync(process.env.LAG_OUT, 'w'); let t = performance.now();
setInterval(() => { const n = performance.now(); const late = n - t - 1; t = n; if (late >= 2) fs.writeSync(fd, Date.now() + ' ' + late.toFixed(1) + '\n'); }, 1).unref();
JS
LAG_OUT=$work/lag NODE_OPTIONS="--require $work/lag.cjs" node dist/bin/meshtap.js proxy --engine "$engine" --forward "127.0.0.1:0=127.0.0.1:$(cat $work/origin)" --admin 127.0.0.1:0 --tap 127.0.0.1:0 ${bytes:+--recorder-bytes $bytes} 2>$work/p.err >/dev/null & sp=$!
for _ in $(seq 100); do grep -q '^ready' $work/p.err && break; sleep 0.1; done
fwd=$(awk '/^listening forward/{print $3; exit}' $work/p.err)
adm=$(awk '/^listening admin/{print $3}' $work/p.err)
tap=$(awk '/^listening tap/{print $3}' $work/p.err)
metric() { curl -s "http://$adm/metrics" | awk -v m="$1" '$1 ~ "^"m"([{]|$)" {s+=$2} END {print s+0}'; }
for _ in $(seq 30); do
  wrk -t1 -c8 -d4s "http://$fwd/fill/some/path?x=1" >/dev/null
  [ "$(metric meshtap_recorder_evicted_total)" != 0 ] && break
done
echo "recorder: $(metric meshtap_recorder_events) exchanges, $(metric meshtap_recorder_bytes) bytes, evicted $(metric meshtap_recorder_evicted_total)"
# The probe: one request at a time; each line "epoch_ms latency_ms".
node -e "
const http=require('http');const a=new http.Agent({keepAlive:true,maxSockets:1});const [h,p]=process.argv[1].split(':');
const one=()=>{const t=performance.now();http.get({host:h,port:+p,path:'/probe',agent:a},(r)=>{r.resume();r.on('end',()=>{process.stdout.write(Date.now()+' '+(performance.now()-t).toFixed(2)+'\n');setTimeout(one,1)})}).on('error',()=>setTimeout(one,10))};one();
" "$fwd" >$work/probe & pp=$!
sleep 3
t0=$(date +%s%3N)
pids=()
for i in $(seq "$readers"); do
  (node dist/bin/meshtap.js tap --proxy "$tap" --since 1h --path /nothing -o json 2>$work/err$i | wc -l >$work/lines$i) & pids+=($!)
done
wait "${pids[@]}"
t1=$(date +%s%3N)
sleep 1
kill $pp 2>/dev/null || true
pp=
stats() { awk -v a="$1" -v b="$2" '$1>=a && $1<=b {print $2}' $work/probe | sort -n | awk '{v[NR]=$1} END {if (NR==0) {print "no samples"; exit} printf "n=%d median %.2f ms, p99 %.2f ms, max %.2f ms\n", NR, v[int(NR/2)+1], v[(int(NR*0.99)+1 > NR) ? NR : int(NR*0.99)+1], v[NR]}'; }
echo "probe before the read: $(stats $((t0 - 2500)) $t0)"
echo "probe during the read(s) ($readers reader(s), $((t1 - t0)) ms incl. the CLI's start): $(stats $t0 $t1)"
echo "sidecar's longest timer lateness before the read: $(awk -v a=$((t0 - 2500)) -v b=$t0 '$1>=a && $1<=b && $2>m {m=$2} END {print m+0}' $work/lag) ms; during: $(awk -v a=$t0 -v b=$t1 '$1>=a && $1<=b && $2>m {m=$2} END {print m+0}' $work/lag) ms"
echo "lines printed per reader: $(cat $work/lines* | sort -u | tr '\n' ' ')"
