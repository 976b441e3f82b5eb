#!/usr/bin/env bash
# Idempotent set-up for a fresh clone on a fresh machine: Debian packages (when root; otherwise
# prints the exact apt command), npm dependencies, the TypeScript build and the native/BPF build.
# Used by `npm run demo`, `npm test` and `npm run bench`.
set -euo pipefail
cd "$(dirname "$0")/.."

# What tests, the demo and the bench use. Tests that need a missing tool skip with a reason.
DEB_PACKAGES=(
  clang llvm libbpf-dev bpftool make gcc g++ libc6-dev pkg-config iproute2 util-linux   # BPF + native addon, setpriv/nsenter
  libclang-rt-14-dev                                                       # libFuzzer + sanitizer runtimes (native/fuzz, scripts/native-sanitize.sh)
  curl nghttp2-client                                                      # real HTTP/1 + h2 clients, h2load
  prometheus                                                               # metrics are scraped by a real Prometheus
  haproxy nginx libnginx-mod-stream wrk iperf3                             # benchmark peers and load generators
  chromium fonts-dejavu-core                                               # the dashboard's tests drive a real browser
  zsh fish                                                                 # meshtap completion's scripts are checked by the real shells
  firefox-esr                                                              # the dashboard's smoke test in Firefox (puppeteer-core, WebDriver BiDi)
  libnghttp2-dev                                                           # HPACK inflater, linked statically into the native addon (NATIVE.md)
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    echo "setup: missing Debian packages (tests that need them will skip). Install with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  fi
fi

# npm dependencies: `npm ci` when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi

# TypeScript build and the dashboard page; skipped when no source changed since the last build.
bash scripts/build-ts.sh >&2

# Native addon + BPF objects (skips with a message when clang/libbpf are missing).
if [ -f scripts/build-native.sh ]; then
  bash scripts/build-native.sh >&2
fi
