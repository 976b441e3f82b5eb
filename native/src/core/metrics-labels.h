// SPDX-License-Identifier: Apache-2.0
// Metric label values made from traffic, exactly as the js engine makes them: route templates
// (proxy/route-template.ts) and URL-credential redaction of an authority (tap-protocol/redact.ts
// `redactAuthority`). Strings are UTF-8 here (the observers decode targets and authorities as
// the js engine does: UTF-8 when valid, else escaped), JS strings are UTF-16: every rule looks at
// ASCII only, and the one length bound counts UTF-16 code units as JS does. The N-API face makes
// JS strings from these as UTF-8. native/metrics-labels.test.ts runs the TS tables and a property
// test over random targets through both implementations to keep them identical.
#pragma once

#include <string>
#include <string_view>

namespace meshtap {

// Routes longer than this (UTF-16 code units) count as `[other]` (MAX_ROUTE_CHARS).
constexpr size_t kMaxRouteChars = 200;
// The route of a request whose template is not kept (too long, or past the route bound).
constexpr std::string_view kOtherRoute = "[other]";
// What replaces URL credentials (REDACTED in tap-protocol/events.ts).
constexpr std::string_view kRedacted = "[redacted]";

// The route of a request target: variable segments folded into `{id}`, query and fragment
// dropped; gRPC methods kept as they are (without a query). See route-template.ts.
std::string RouteTemplate(std::string_view target, bool is_grpc);

// An authority with everything up to its last `@` replaced by `[redacted]`.
std::string RedactAuthority(std::string_view authority);

// The IP of an `ip:port` / `[v6]:port` address (peers.ts `hostOf`).
std::string_view HostOf(std::string_view address);

// The length of UTF-8 text in UTF-16 code units (JS `string.length`).
size_t Utf16Length(std::string_view utf8);

}  // namespace meshtap
