#!/usr/bin/env bash
# The native engine under AddressSanitizer + UndefinedBehaviorSanitizer (CI runs this):
#  1. builds the addon with -fsanitize=address,undefined into $OUT/addon (a copy of native/),
#  2. runs the native-engine suites (vitest project `native` and the engine-parameterised
#     suites) with that build (MESHTAP_NATIVE_ADDON) and the sanitizer runtimes preloaded into
#     every node process; any report fails the run (halt_on_error),
#  3. builds the libFuzzer targets (native/fuzz/*.cc, clang -fsanitize=fuzzer,address,undefined)
#     and runs each for FUZZ_SECONDS (default 20) from its seed corpus; a crash fails the run and
#     leaves the input in $OUT/fuzz/ (commit it to native/fuzz/corpus/<target>/ as a regression seed).
# Usage: bash scripts/native-sanitize.sh [--fuzz-only|--suites-only]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$(mktemp -d /tmp/meshtap-sanitize.XXXXXX)}"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
MODE="${1:-all}"
echo "native-sanitize: output in $OUT" >&2

if [ "$MODE" != "--fuzz-only" ]; then
  mkdir -p "$OUT/addon"
  cp -r "$ROOT/native/binding.gyp" "$ROOT/native/src" "$ROOT/native/gen" "$OUT/addon/"
  NPM_BIN="$(dirname "$(readlink -f "$(command -v npm)")")"
  GYP="$NPM_BIN/../node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$GYP" ] || GYP="$NPM_BIN/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
  # A test build: fault injection compiled in (test/native-worker-fault.test.ts), never in release.
  FAULT="-DMESHTAP_FAULT_INJECTION"
  NODEDIR_ARGS=()
  if [ -f /usr/include/node/node_api.h ]; then NODEDIR_ARGS=(--nodedir=/usr); fi
  ( cd "$OUT/addon" && NODE_PATH="$ROOT/node_modules" CFLAGS="$SAN" CXXFLAGS="$SAN $FAULT" LDFLAGS="$SAN" node "$GYP" rebuild --loglevel=warn "${NODEDIR_ARGS[@]}" -j 2 >/dev/null )
  ADDON="$OUT/addon/build/Release/meshtap_native.node"
  echo "native-sanitize: built $ADDON" >&2
  PRELOAD="$(g++ -print-file-name=libasan.so):$(g++ -print-file-name=libubsan.so)"
  # Node itself is not instrumented: leak checking would report V8's own allocations.
  export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
  cd "$ROOT"
  # The sanitizer runtime's allocator makes every node process slower: longer timeouts.
  SLOW=(--testTimeout=120000 --hookTimeout=120000)
  status=0
  # transparency-h2 is left out: its curl --http2-prior-knowledge 1 MiB POST hangs whenever the
  # sanitizer runtime is preloaded into curl, on the js engine as on the native one (06:50 run).
  LD_PRELOAD="$PRELOAD" MESHTAP_NATIVE_ADDON="$ADDON" npx vitest run "${SLOW[@]}" --project native --exclude test/transparency-h2.test.ts || status=1
  LD_PRELOAD="$PRELOAD" MESHTAP_NATIVE_ADDON="$ADDON" npx vitest run "${SLOW[@]}" --project js test/engine-selection.test.ts test/bad-input-http1-framing.test.ts test/idle-timeout.test.ts test/native-worker-fault.test.ts test/loopback-source.test.ts || status=1
  if [ "$status" != 0 ]; then echo "native-sanitize: suites failed (a sanitizer report says 'ERROR: AddressSanitizer' or 'runtime error' above)" >&2; exit 1; fi
fi

if [ "$MODE" != "--suites-only" ]; then
  mkdir -p "$OUT/fuzz"
  for src in "$ROOT"/native/fuzz/*-fuzz.cc; do
    name="$(basename "$src" .cc)"
    bin="$OUT/fuzz/$name"
    clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      -I"$ROOT/native/src" "$src" "$ROOT"/native/src/core/event-ring.cc "$ROOT"/native/src/core/detect.cc \
      $(ls "$ROOT"/native/src/core/h1-*.cc | grep -v h1-record-sink) -o "$bin"
    corpus="$OUT/fuzz/$name-corpus"
    mkdir -p "$corpus"
    if [ -d "$ROOT/native/fuzz/corpus/$name" ]; then cp "$ROOT/native/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || true; fi
    echo "native-sanitize: fuzzing $name for ${FUZZ_SECONDS}s" >&2
    ( cd "$OUT/fuzz" && "$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 "$corpus" 2>&1 | tail -3 )
  done
fi
echo "native-sanitize: ok" >&2
