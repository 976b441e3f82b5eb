#!/usr/bin/env bash
# A/B of two builds of the native addon through the real sidecar (--engine native), HTTP/1
# keep-alive with a query string and a browser's headers (the C++ metrics label path, small11
# session 11): both sidecars run side by side in front of one nginx (100 B responses), and
# wrk -t1 -c32 alternates between them ROUNDS times. Prints rps and proxy CPU µs/request per run.
#   bash bench/labels-ab.sh A.node B.node [ROUNDS] [SECONDS] [URL_PATH]
# Loopback only; everything it starts is stopped on exit. The bench (run.ts) is the real report.
set -euo pipefail
cd "$(dirname "$0")/.."
addon_a=$1; addon_b=$2; rounds=${3:-6}; secs=${4:-5}; path=${5:-'/api/v1/items?page=2&sort=desc&q=shoes'}
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
declare -A port pid
for side in a b; do
  port[$side]=$(free_port)
  addon=$addon_a; [ "$side" = b ] && addon=$addon_b
  MESHTAP_NATIVE_ADDON=$addon node dist/bin/meshtap.js proxy --engine native --forward "127.0.0.1:${port[$side]}=127.0.0.1:$be" 2>/dev/null & pid[$side]=$!; pids+=("${pid[$side]}")
  for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:${port[$side]}/" && break; sleep 0.1; done
done
# What a browser or an API client sends besides the target.
headers=(-H 'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'
  -H 'Accept: application/json, text/plain, */*' -H 'Accept-Language: en-US,en;q=0.9' -H 'Accept-Encoding: gzip, deflate, br'
  -H 'Referer: https://shop.example/list?page=1&sort=desc' -H 'X-Request-Id: 7f3a9c21-4b1e-4d2a-9f0e-1c2b3a4d5e6f'
  -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
ticks=$(getconf CLK_TCK)
for side in a b; do wrk -t1 -c32 -d2s "${headers[@]}" "http://127.0.0.1:${port[$side]}$path" >/dev/null; done
echo "path=$path rounds=$rounds seconds=$secs load=$(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  for side in a b; do
    p=${pid[$side]}
    t0=$(awk '{print $14+$15}' "/proc/$p/stat")
    out=$(wrk -t1 -c32 -d"${secs}s" "${headers[@]}" "http://127.0.0.1:${port[$side]}$path")
    t1=$(awk '{print $14+$15}' "/proc/$p/stat")
    req=$(echo "$out" | awk '/requests in/{print $1}'); rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
    echo "round=$r side=$side rps=$rps cpu_us_per_req=$(awk -v d=$((t1-t0)) -v r="$req" -v hz="$ticks" 'BEGIN{printf "%.2f", d*1e6/hz/r}')"
  done
done
