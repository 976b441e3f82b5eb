#!/usr/bin/env bash
# Builds meshtap's native parts: the BPF objects (clang -target bpf), their bpftool
# skeletons, and the node-addon-api addon that embeds them (native/build/Release/).
# Idempotent (safe to re-run; node-gyp rebuilds only what changed). Exits 0 with a
# message when the toolchain is missing, so machines without clang/libbpf still work:
# meshtap then reports MT_NATIVE_MISSING and runs in explicit mode.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GEN="$ROOT/native/gen"
ARCH="$(uname -m)"

missing=()
for tool in clang bpftool g++ make pkg-config; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ! pkg-config --exists libbpf 2>/dev/null; then missing+=("libbpf-dev"); fi
# The addon links libnghttp2's HPACK inflater statically (native/binding.gyp: never node's copy).
if [ ! -f "/usr/lib/$ARCH-linux-gnu/libnghttp2.a" ]; then missing+=("libnghttp2-dev"); fi
if [ ! -d "/usr/include/$ARCH-linux-gnu" ]; then missing+=("libc6-dev"); fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "build-native: skipped (missing: ${missing[*]}); install clang llvm libbpf-dev bpftool make gcc g++ libc6-dev pkg-config libnghttp2-dev to build the BPF interception and the native addon" >&2
  exit 0
fi

mkdir -p "$GEN"
for src in "$ROOT"/bpf/*.bpf.c; do
  base="$(basename "$src" .bpf.c)"             # e.g. sk-lookup
  ident="mt_${base//-/_}"                       # skeleton name, e.g. mt_sk_lookup
  obj="$GEN/$base.bpf.o"
  skel="$GEN/$base.skel.h"
  if [ ! -f "$skel" ] || [ -n "$(find "$src" "$ROOT"/bpf/lib -newer "$skel" -print -quit)" ]; then
    clang -target bpf -O2 -g -Wall -Werror -I"/usr/include/$ARCH-linux-gnu" -I"$ROOT/bpf" -c "$src" -o "$obj"
    bpftool gen skeleton "$obj" name "$ident" > "$skel.tmp"
    mv "$skel.tmp" "$skel"
    echo "build-native: $base.bpf.c -> native/gen/$base.skel.h"
  fi
done

NPM_BIN="$(dirname "$(readlink -f "$(command -v npm)")")"
GYP=""
for cand in "$NPM_BIN/../node_modules/node-gyp/bin/node-gyp.js" \
            "$NPM_BIN/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" \
            "$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"; do
  if [ -f "$cand" ]; then GYP="$cand"; break; fi
done
if [ -z "$GYP" ]; then
  echo "build-native: skipped the addon (node-gyp not found next to npm)" >&2
  exit 0
fi

NODEDIR_ARGS=()
if [ -f /usr/include/node/node_api.h ]; then NODEDIR_ARGS=(--nodedir=/usr); fi
cd "$ROOT/native"
if [ ! -f build/Makefile ] || [ binding.gyp -nt build/Makefile ]; then
  node "$GYP" configure --loglevel=warn "${NODEDIR_ARGS[@]}" >/dev/null
fi
# A first build compiles the whole addon (minutes on 2 cores) and node-gyp prints nothing meanwhile.
if [ ! -f build/Release/meshtap_native.node ]; then
  echo "build-native: compiling the native addon (a few minutes the first time)"
fi
node "$GYP" build --loglevel=warn "${NODEDIR_ARGS[@]}" -j 2 >/dev/null
echo "build-native: native/build/Release/meshtap_native.node"
