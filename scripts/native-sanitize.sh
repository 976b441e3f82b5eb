#!/usr/bin/env bash
# The native engine under AddressSanitizer + UndefinedBehaviorSanitizer (CI runs it: .ci/run):
#  1. builds the addon with -fsanitize=address,undefined into $OUT/addon (a copy of native/),
#  2. runs the native-engine suites listed below with that build (MESHTAP_NATIVE_ADDON) and the
#     sanitizer runtimes preloaded into every node process, and only those
#     (scripts/sanitize-node-only.cjs: preloaded into curl, libasan deadlocks at start-up);
#     any report fails the run (halt_on_error),
#  3. builds the libFuzzer targets (every native/fuzz/*-fuzz.cc, clang -fsanitize=fuzzer,address,
#     undefined) and runs each for FUZZ_SECONDS (default 20) from its seed corpus; a crash fails the
#     run, prints its report and leaves the input in $OUT/fuzz/ (commit it to
#     native/fuzz/corpus/<target>/ as a regression seed).
# Usage: [SUITES=quick] [FUZZ_SECONDS=N] bash scripts/native-sanitize.sh [--fuzz-only|--suites-only]
# .ci/run runs `SUITES=quick … --suites-only` under a time budget that fails CI when exceeded: `npm test`
# already runs every fuzz target under ASan+UBSan (native/fuzz.test.ts), so CI does not fuzz twice.
# Measure a change to the lists with: time SUITES=quick bash scripts/native-sanitize.sh --suites-only
set -euo pipefail

# ---- What runs: extend here (one file per line) ---------------------------------------------------
# NATIVE_*: files of vitest.config.ts's NATIVE_ENGINE_SUITES, run in project `native`
#           (MESHTAP_ENGINE=native reaches every sidecar they start).
# JS_*:     files that choose engines themselves (describe.each(ENGINES), engine: 'native'), run in
#           project `js`.
# QUICK_*:  what CI runs (SUITES=quick): the suites that drive the C++ paths hardest. Each costs CI
#           time under ASan (the step has a budget in .ci/run): add one when it covers C++ that the
#           others do not reach, and say the measured time in the commit.
# FULL_*:   what a full run adds (SUITES=all, the default). An empty FULL_NATIVE_FILES with
#           SUITES=all runs the whole `native` project.
QUICK_NATIVE_FILES=(
  test/transparency-http1.test.ts
  test/transparency-tcp.test.ts
  test/transparency-h2.test.ts
  test/bad-input-http1.test.ts
)
QUICK_JS_FILES=(
  test/native-worker-fault.test.ts
  test/native-splice.test.ts
  test/loopback-source.test.ts
  test/differential-http1.test.ts
)
FULL_NATIVE_FILES=()
FULL_JS_FILES=(
  test/engine-selection.test.ts
  test/bad-input-http1-framing.test.ts
  test/idle-timeout.test.ts
)
# The plain C++ the fuzz targets exercise (no epoll, no Node-API): the event batch, detection, the
# HTTP/1 and HTTP/2 observers (frames, HPACK, streams, gRPC); not the record sinks. Same rule as
# native/fuzz.test.ts's CORE_SOURCES; a new observer file named h1-/h2-/grpc-*.cc is picked up.
fuzz_core_sources() {
  find "$ROOT/native/src/core" -maxdepth 1 \( -name 'event-ring.cc' -o -name 'detect.cc' -o -name 'h1-*.cc' -o -name 'h2-*.cc' -o -name 'grpc-*.cc' \) \
    ! -name '*record-sink.cc' | sort
}
FUZZ_LIBS=(-l:libnghttp2.a)
# ----------------------------------------------------------------------------------------------------

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$(mktemp -d /tmp/meshtap-sanitize.XXXXXX)}"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
MODE="${1:-all}"
case "$MODE" in all|--fuzz-only|--suites-only) ;; *) echo "native-sanitize: unknown argument '$MODE' (use --fuzz-only or --suites-only)" >&2; exit 2 ;; esac
case "${SUITES:-all}" in all|quick) ;; *) echo "native-sanitize: SUITES takes all or quick, not '${SUITES}'" >&2; exit 2 ;; esac
echo "native-sanitize: output in $OUT" >&2

if [ "$MODE" != "--fuzz-only" ]; then
  mkdir -p "$OUT/addon"
  cp -r "$ROOT/native/binding.gyp" "$ROOT/native/src" "$ROOT/native/gen" "$OUT/addon/"
  NPM_BIN="$(dirname "$(readlink -f "$(command -v npm)")")"
  GYP="$NPM_BIN/../node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$GYP" ] || GYP="$NPM_BIN/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
  # clang, -O1 (after gyp's -O3, so it wins): ASan's recommended level. clang, not g++: with
  # -fsanitize=address,undefined g++ -O1 took 60 s on worker.cc where clang++ -O1 took 11 s (load 14),
  # and the whole build 414 s → 197 s; clang's ASan runtime also carries UBSan's handlers (one preload).
  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1"
  # A test build: fault injection compiled in (test/native-worker-fault.test.ts), never in release.
  FAULT="-DMESHTAP_FAULT_INJECTION"
  NODEDIR_ARGS=()
  if [ -f /usr/include/node/node_api.h ]; then NODEDIR_ARGS=(--nodedir=/usr); fi
  ( cd "$OUT/addon" && NODE_PATH="$ROOT/node_modules" CC=clang CXX=clang++ CFLAGS="$SAN" CXXFLAGS="$SAN $FAULT" LDFLAGS="$SAN" node "$GYP" rebuild --loglevel=warn "${NODEDIR_ARGS[@]}" -j 2 >/dev/null )
  ADDON="$OUT/addon/build/Release/meshtap_native.node"
  echo "native-sanitize: built $ADDON (${SECONDS}s)" >&2
  PRELOAD="$(clang++ -print-resource-dir)/lib/linux/libclang_rt.asan-$(uname -m).so"
  [ -f "$PRELOAD" ] || { echo "native-sanitize: $PRELOAD is missing (apt-get install libclang-rt-14-dev)" >&2; exit 1; }
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
  if [ "${SUITES:-all}" = quick ]; then
    NATIVE_FILES=("${QUICK_NATIVE_FILES[@]}")
    JS_FILES=("${QUICK_JS_FILES[@]}")
  else
    NATIVE_FILES=("${FULL_NATIVE_FILES[@]}")
    JS_FILES=("${QUICK_JS_FILES[@]}" "${FULL_JS_FILES[@]}")
  fi
  # vitest straight from node: npx would start it through sh, which gets no preload.
  VITEST=(node "$ROOT/node_modules/vitest/vitest.mjs" run)
  LD_PRELOAD="$PRELOAD" "${VITEST[@]}" "${SLOW[@]}" --project native "${NATIVE_FILES[@]}" || status=1
  echo "native-sanitize: native-project suites done (${SECONDS}s)" >&2
  LD_PRELOAD="$PRELOAD" "${VITEST[@]}" "${SLOW[@]}" --project js "${JS_FILES[@]}" || status=1
  echo "native-sanitize: js-project suites done (${SECONDS}s)" >&2
  if [ "$status" != 0 ]; then echo "native-sanitize: suites failed (a sanitizer report says 'ERROR: AddressSanitizer' or 'runtime error' above)" >&2; exit 1; fi
fi

if [ "$MODE" != "--suites-only" ]; then
  mkdir -p "$OUT/fuzz/core"
  # The shared sources are compiled once (instrumented for coverage, not linked with libFuzzer's
  # main) and linked into every target: compiling them per target cost a minute a target here.
  FUZZ_FLAGS=(-std=c++17 -g -O1 -fno-sanitize-recover=undefined -I"$ROOT/native/src")
  objs=()
  pids=()
  failed=0
  while IFS= read -r src; do
    obj="$OUT/fuzz/core/$(basename "$src" .cc).o"
    clang++ "${FUZZ_FLAGS[@]}" -fsanitize=fuzzer-no-link,address,undefined -c "$src" -o "$obj" &
    objs+=("$obj")
    pids+=($!)
    # Two at a time (the machines this runs on have two cores).
    if [ "${#pids[@]}" = 2 ]; then
      for p in "${pids[@]}"; do wait "$p" || failed=1; done
      pids=()
    fi
  done < <(fuzz_core_sources)
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  if [ "$failed" != 0 ]; then echo "native-sanitize: compiling the fuzz core failed (above)" >&2; exit 1; fi
  echo "native-sanitize: fuzz core built (${#objs[@]} objects, ${SECONDS}s)" >&2
  for src in "$ROOT"/native/fuzz/*-fuzz.cc; do
    name="$(basename "$src" .cc)"
    bin="$OUT/fuzz/$name"
    clang++ "${FUZZ_FLAGS[@]}" -fsanitize=fuzzer,address,undefined "$src" "${objs[@]}" "${FUZZ_LIBS[@]}" -o "$bin"
    corpus="$OUT/fuzz/$name-corpus"
    mkdir -p "$corpus"
    # New inputs go to the scratch corpus (first directory), never into the committed seeds.
    seeds=()
    if [ -d "$ROOT/native/fuzz/corpus/$name" ]; then seeds=("$ROOT/native/fuzz/corpus/$name"); fi
    echo "native-sanitize: fuzzing $name for ${FUZZ_SECONDS}s (at ${SECONDS}s)" >&2
    log="$OUT/fuzz/$name.log"
    if ! ( cd "$OUT/fuzz" && "$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -artifact_prefix="$OUT/fuzz/$name-" "$corpus" "${seeds[@]}" >"$log" 2>&1 ); then
      tail -60 "$log" >&2
      echo "native-sanitize: $name crashed; the input is in $OUT/fuzz/$name-crash-* (commit it to native/fuzz/corpus/$name/ once fixed)" >&2
      exit 1
    fi
    tail -3 "$log" >&2
  done
fi
echo "native-sanitize: ok (${SECONDS}s)" >&2
