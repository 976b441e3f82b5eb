#!/usr/bin/env bash
# The native engine under AddressSanitizer + UndefinedBehaviorSanitizer (CI runs this):
#  1. builds the addon with -fsanitize=address,undefined into $OUT/addon (a copy of native/),
#  2. runs the native-engine suites (vitest project `native` and the engine-parameterised
#     suites) with that build (MESHTAP_NATIVE_ADDON) and the sanitizer runtimes preloaded into
#     every node process, and only those (scripts/sanitize-node-only.cjs: preloaded into curl,
#     libasan deadlocks at start-up); any report fails the run (halt_on_error),
#  3. builds the libFuzzer targets (native/fuzz/*.cc, clang -fsanitize=fuzzer,address,undefined)
#     and runs each for FUZZ_SECONDS (default 20) from its seed corpus; a crash fails the run and
#     leaves the input in $OUT/fuzz/ (commit it to native/fuzz/corpus/<target>/ as a regression seed).
# Usage: [SUITES=quick] [FUZZ_SECONDS=N] bash scripts/native-sanitize.sh [--fuzz-only|--suites-only]
# (SUITES=quick: the suites that drive the C++ paths hardest, as .ci/run runs it.)
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
  # -O1 (after gyp's -O3, so it wins): ASan's recommended level, and it halves the build here.
  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1"
  # A test build: fault injection compiled in (test/native-worker-fault.test.ts), never in release.
  FAULT="-DMESHTAP_FAULT_INJECTION"
  NODEDIR_ARGS=()
  if [ -f /usr/include/node/node_api.h ]; then NODEDIR_ARGS=(--nodedir=/usr); fi
  ( cd "$OUT/addon" && NODE_PATH="$ROOT/node_modules" CFLAGS="$SAN" CXXFLAGS="$SAN $FAULT" LDFLAGS="$SAN" node "$GYP" rebuild --loglevel=warn "${NODEDIR_ARGS[@]}" -j 2 >/dev/null )
  ADDON="$OUT/addon/build/Release/meshtap_native.node"
  echo "native-sanitize: built $ADDON (${SECONDS}s)" >&2
  PRELOAD="$(g++ -print-file-name=libasan.so):$(g++ -print-file-name=libubsan.so)"
  # Node itself is not instrumented: leak checking would report V8's own allocations.
  export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
  cd "$ROOT"
  # The sanitizer runtime's allocator makes every node process slower: longer timeouts.
  SLOW=(--testTimeout=120000 --hookTimeout=120000)
  status=0
  # The runtimes go into node processes only (see scripts/sanitize-node-only.cjs).
  export NODE_OPTIONS="${NODE_OPTIONS:-} --require $ROOT/scripts/sanitize-node-only.cjs"
  # MESHTAP_FAULT_INJECTION_BUILD: test/native-worker-fault.test.ts must run here, not skip.
  export MESHTAP_NATIVE_ADDON="$ADDON" MESHTAP_FAULT_INJECTION_BUILD=1
  # SUITES=quick (CI): the native-engine suites that drive the C++ paths hardest, not the whole project.
  if [ "${SUITES:-all}" = quick ]; then
    NATIVE_FILES=(test/transparency-http1.test.ts test/transparency-tcp.test.ts test/transparency-h2.test.ts test/bad-input-http1.test.ts)
    JS_FILES=(test/native-worker-fault.test.ts test/native-splice.test.ts test/loopback-source.test.ts test/differential-http1.test.ts)
  else
    NATIVE_FILES=()
    JS_FILES=(test/engine-selection.test.ts test/bad-input-http1-framing.test.ts test/idle-timeout.test.ts
      test/native-worker-fault.test.ts test/native-splice.test.ts test/loopback-source.test.ts test/differential-http1.test.ts)
  fi
  # vitest straight from node: npx would start it through sh, which gets no preload.
  VITEST=(node "$ROOT/node_modules/vitest/vitest.mjs" run)
  LD_PRELOAD="$PRELOAD" "${VITEST[@]}" "${SLOW[@]}" --project native "${NATIVE_FILES[@]}" || status=1
  LD_PRELOAD="$PRELOAD" "${VITEST[@]}" "${SLOW[@]}" --project js "${JS_FILES[@]}" || status=1
  if [ "$status" != 0 ]; then echo "native-sanitize: suites failed (a sanitizer report says 'ERROR: AddressSanitizer' or 'runtime error' above)" >&2; exit 1; fi
fi

if [ "$MODE" != "--suites-only" ]; then
  mkdir -p "$OUT/fuzz"
  for src in "$ROOT"/native/fuzz/*-fuzz.cc; do
    name="$(basename "$src" .cc)"
    bin="$OUT/fuzz/$name"
    clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      -I"$ROOT/native/src" "$src" "$ROOT"/native/src/core/event-ring.cc "$ROOT"/native/src/core/detect.cc \
      $(find "$ROOT/native/src/core" -maxdepth 1 \( -name 'h1-*.cc' -o -name 'h2-*.cc' -o -name 'grpc-*.cc' \) ! -name '*record-sink.cc' | sort) \
      -l:libnghttp2.a -o "$bin"
    corpus="$OUT/fuzz/$name-corpus"
    mkdir -p "$corpus"
    if [ -d "$ROOT/native/fuzz/corpus/$name" ]; then cp "$ROOT/native/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || true; fi
    echo "native-sanitize: fuzzing $name for ${FUZZ_SECONDS}s (at ${SECONDS}s)" >&2
    ( cd "$OUT/fuzz" && "$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 "$corpus" 2>&1 | tail -3 )
  done
fi
echo "native-sanitize: ok" >&2
