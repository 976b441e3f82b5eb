#!/usr/bin/env bash
# Quick A/B of what observation costs through the real sidecar: wrk -t1 -c32 through
# `meshtap proxy` to an nginx backend (100 B responses), as shipped vs --observe none,
# alternating ROUNDS times. Prints rps, proxy CPU µs/request and peak RSS per run.
#   npm run build && bash bench/observe-ab.sh [ROUNDS] [extra meshtap proxy flags…]
# Loopback only; everything it starts is stopped on exit. The bench (run.ts) is the real report.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}; shift || true
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
be=$(free_port)
cat > "$work/nginx.conf" <<NGINX
worker_processes 1; pid $work/nginx.pid; error_log $work/nginx.err; daemon on;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$be; location / { return 200 "$(printf 'x%.0s' $(seq 1 100))"; } } }
NGINX
nginx -c "$work/nginx.conf"
measure() {
  local label=$1; shift
  local port; port=$(free_port)
  node dist/bin/meshtap.js proxy --forward "127.0.0.1:$port=127.0.0.1:$be" "$@" 2>/dev/null & local px=$!; pids+=("$px")
  for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  wrk -t1 -c32 -d2s "http://127.0.0.1:$port/" >/dev/null
  local t0 t1 out req rps rss
  t0=$(awk '{print $14+$15}' "/proc/$px/stat")
  out=$(wrk -t1 -c32 -d5s "http://127.0.0.1:$port/")
  t1=$(awk '{print $14+$15}' "/proc/$px/stat")
  rss=$(awk '/VmHWM/{print $2}' "/proc/$px/status")
  kill "$px"; wait "$px" 2>/dev/null || true
  req=$(echo "$out" | awk '/requests in/{print $1}'); rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  local ticks; ticks=$(getconf CLK_TCK)
  echo "$(printf '%-16s' "$label") rps=$rps cpu_us_per_req=$(awk -v d=$((t1-t0)) -v r="$req" -v hz="$ticks" 'BEGIN{printf "%.1f", d*1e6/hz/r}') peak_rss_mb=$((rss/1024))"
}
for _ in $(seq 1 "$rounds"); do
  measure forwarding-only --observe none "$@"
  measure as-shipped "$@"
done
