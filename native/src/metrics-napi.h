// SPDX-License-Identifier: Apache-2.0
// Conversions of the C++ HTTP metrics to JS values (metrics-napi.cc), shared by the engine.
#pragma once

#include <napi.h>

#include "core/metrics-http.h"
#include "core/recorder-ring.h"
#include "core/tap-event-json.h"

#include <memory>

namespace meshtap {

// {routes: [{direction, authority, target, requests, responses, latency}], peers: [{direction,
// target, source?, records}]}, from one consistent read of the registry.
Napi::Value HttpMetricsToJs(Napi::Env env, HttpMetricsRegistry& registry);

// Reads `{sensitiveHeaders: string[], queryParams: string[]}` (metric-labels.ts LabelSecrets) into
// *out; leaves *out as it is when `v` is not an object. Throws a JS TypeError on a wrong shape.
void ReadLabelSecretPolicy(Napi::Value v, LabelSecretPolicy* out);

// Reads `{sensitiveHeaders: string[], bodyFields: string[], originNs: number, timeOrigin: number}`
// (native/index.ts TapJsonPolicy) as core/tap-event-json.h's policy; null when `v` is not an object.
std::shared_ptr<const TapJsonPolicy> ReadTapJsonPolicy(Napi::Value v);

// {bytes, count, evicted, oldestEndNs} of the C++ flight recorder.
Napi::Value RecorderStatsToJs(Napi::Env env, const RecorderStats& s);

}  // namespace meshtap
