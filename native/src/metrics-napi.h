// SPDX-License-Identifier: Apache-2.0
// Conversions of the C++ HTTP metrics to JS values (metrics-napi.cc), shared by the engine.
#pragma once

#include <napi.h>

#include "core/metrics-http.h"
#include "core/recorder-ring.h"

namespace meshtap {

// {routes: [{direction, authority, target, requests, responses, latency}], peers: [{direction,
// target, source?, records}]}, from one consistent read of the registry.
Napi::Value HttpMetricsToJs(Napi::Env env, HttpMetricsRegistry& registry);

// {bytes, count, evicted, oldestEndNs} of the C++ flight recorder.
Napi::Value RecorderStatsToJs(Napi::Env env, const RecorderStats& s);

}  // namespace meshtap
