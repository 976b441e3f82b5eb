#!/usr/bin/env bash
# The C++ HTTP/1 and HTTP/2 label paths (bench/native/labels-micro.cc) built from the working tree and from
# a git revision (default HEAD), run alternately ROUNDS times: ns per request for heads with no
# query, a query string, a query string and a Referer with one, and a secret query parameter.
#   bash bench/native-labels-micro.sh [REV] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-HEAD}; rounds=${2:-5}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
srcs=(metrics-secrets.cc metrics-labels.cc h1-text.cc)
mkdir -p "$work/rev"
for f in "${srcs[@]}" metrics-secrets.h metrics-labels.h h1-text.h; do git show "$rev:native/src/core/$f" > "$work/rev/$f"; done
g++ -std=c++17 -O2 -Inative/src/core bench/native/labels-micro.cc "${srcs[@]/#/native/src/core/}" -o "$work/tree"
g++ -std=c++17 -O2 -I"$work/rev" bench/native/labels-micro.cc "${srcs[@]/#/$work/rev/}" -o "$work/old"
echo "rev=$(git rev-parse --short "$rev") vs working tree; load=$(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  echo "round $r: $rev"; "$work/old"
  echo "round $r: tree"; "$work/tree"
done
