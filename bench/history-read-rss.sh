#!/usr/bin/env bash
# The sidecar's memory during history reads (session 15): fills a sidecar's flight recorder with
# real traffic (wrk, one path, until it evicts: full), then runs N concurrent `meshtap tap --since 1h
# -o json` readers and prints the sidecar's peak VmRSS while they read (sampled every 50 ms), its
# VmHWM, the peak of `meshtap_tap_held_bytes` (what the tap hub holds for subscribers) and how
# many lines each reader got.
#   npm run build && bash bench/history-read-rss.sh native|js N [RECORDER_BYTES] [SLOW_SECONDS]
# SLOW_SECONDS: each reader's output is read only after that long (a reader that pauses).
# Loopback only, needs wrk; everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${1:?usage: bench/history-read-rss.sh native|js N [RECORDER_BYTES] [SLOW_SECONDS]}
n=${2:?usage: bench/history-read-rss.sh native|js N [RECORDER_BYTES] [SLOW_SECONDS]}
bytes=${3:-}
slow=${4:-0}
work=$(mktemp -d /tmp/meshtap-history-rss-XXXXXX)
node -e "const s=require('http').createServer((q,r)=>{q.resume();q.on('end',()=>r.writeHead(200,{'content-type':'text/plain'}).end('ok'))});s.listen(0,'127.0.0.1',()=>console.log(s.address().port))" >$work/origin & op=$!
sp=
trap 'kill $op $sp 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do [ -s $work/origin ] && break; sleep 0.1; done
node dist/bin/meshtap.js proxy --engine "$engine" --forward "127.0.0.1:0=127.0.0.1:$(cat $work/origin)" --admin 127.0.0.1:0 --tap 127.0.0.1:0 ${bytes:+--recorder-bytes $bytes} 2>$work/p.err >/dev/null & sp=$!
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
echo "VmRSS before the reads: $(awk '/VmRSS/{print $2}' /proc/$sp/status) kB"
(while kill -0 $sp 2>/dev/null; do awk '/VmRSS/{print $2}' /proc/$sp/status; sleep 0.05; done) >$work/rss & rp=$!
(while kill -0 $sp 2>/dev/null; do metric meshtap_tap_held_bytes; sleep 0.2; done) >$work/held & hp=$!
start=$(date +%s.%N)
pids=()
for i in $(seq "$n"); do
  (node dist/bin/meshtap.js tap --proxy "$tap" --since 1h -o json 2>/dev/null | (sleep "$slow"; wc -l) >$work/tap$i) & pids+=($!)
done
wait "${pids[@]}"
end=$(date +%s.%N)
sleep 0.5
kill $rp $hp 2>/dev/null || true
echo "lines per reader: $(cat $work/tap* | sort -u | tr '\n' ' ')  (${n} readers, $(echo "$end - $start" | bc) s)"
echo "peak VmRSS during the reads: $(sort -n $work/rss | tail -1) kB; after: $(awk '/VmRSS/{print $2}' /proc/$sp/status) kB; $(grep VmHWM /proc/$sp/status)"
echo "peak meshtap_tap_held_bytes: $(sort -n $work/held | tail -1)"
