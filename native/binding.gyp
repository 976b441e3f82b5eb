{
  "targets": [
    {
      "target_name": "meshtap_native",
      "sources": [
        "src/addon.cc",
        "src/original-dst.cc",
        "src/bpf-loader.cc",
        "src/bpf-maps.cc",
        "src/bpf-probe.cc",
        "src/engine-napi.cc",
        "src/metrics-napi.cc",
        "src/h2-sink-napi.cc",
        "src/driver-napi.cc",
        "src/malloc-trim.cc",
        "src/core/addr.cc",
        "src/core/detect.cc",
        "src/core/detect-driver.cc",
        "src/core/engine.cc",
        "src/core/engine-shared.cc",
        "src/core/event-ring.cc",
        "src/core/grpc-framing.cc",
        "src/core/grpc-status.cc",
        "src/core/h1-body.cc",
        "src/core/h1-exchange.cc",
        "src/core/h1-head.cc",
        "src/core/h1-observer.cc",
        "src/core/h1-record-sink.cc",
        "src/core/h1-text.cc",
        "src/core/h2-record-sink.cc",
        "src/core/h2-streams.cc",
        "src/core/h2-frames.cc",
        "src/core/h2-hpack.cc",
        "src/core/h2-observer.cc",
        "src/core/metrics-h1-sink.cc",
        "src/core/metrics-h2-sink.cc",
        "src/core/metrics-http.cc",
        "src/core/metrics-labels.cc",
        "src/core/metrics-secrets.cc",
        "src/core/original-dst.cc",
        "src/core/recorder-ring.cc",
        "src/core/tap-event-json.cc",
        "src/core/tap-gate.cc",
        "src/core/tcp-stats.cc",
        "src/core/pipe-pool.cc",
        "src/core/worker.cc",
        "src/core/worker-splice.cc",
        "src/core/worker-observe.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "gen"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "-Wno-unused-parameter"],
      "libraries": ["-lbpf", "-lelf", "-lz", "-lpthread", "-l:libnghttp2.a"],
      "ldflags": [
        "-Wl,-Bsymbolic",
        "-Wl,--exclude-libs,libnghttp2.a"
      ]
    }
  ]
}
