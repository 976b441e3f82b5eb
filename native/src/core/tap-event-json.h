// SPDX-License-Identifier: Apache-2.0
// The JSON text of an HTTP/2 or gRPC stream's tap events (`req`, `rsp`, `end`), written on the
// worker thread for the firehose tap (issue 14): with it, the JS thread queues the text a
// subscriber receives instead of making the event object, shaping it for the grant and
// JSON.stringify-ing it (about half of its work per tapped exchange).
//
// Only for a *plain* event: one no grant changes. proxy/exchange-events.ts makes it (URL
// credentials redacted) and proxy/tap-hub.ts shapes it per grant (sensitive headers, secret query
// parameters, secret body fields and card numbers, the values they hide scrubbed everywhere);
// an event is plain when none of that can find anything, decided conservatively on its bytes:
// - every string is ASCII (then latin1 and UTF-8 decoding agree, and escaping is JSON.stringify's);
// - no header name is a sensitive one, no `@` in the authority, the path or a header value (no
//   URL credentials), no `?` or `%3` in the path or a header value (no query string to scan);
// - grpc-message is not a sensitive header when the event has a gRPC message;
// - each body is empty, not UTF-8 (base64: never redacted), or ASCII text with no run of four
//   digits (no card number), no `%` or `+` (no form-encoded name) and no body field's name in any
//   case (no secret field).
// Anything else (and any number JSON.stringify would not write as a finite number) writes no JSON:
// JS makes that event as before. Then the text equals, byte for byte, what the tap hub sends a
// subscriber of any grant: with bodies the whole text; without, the text less its body members
// (`cut`); an `rsp` is written without its requestHeaders member (tap-hub.ts eventMessageJson).
// The identity fields (workloads, namespaces, pod) are JS's, inserted at `identity_at`.
// test/native-tap-json.property.test.ts holds the texts to the JS path's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "h1-exchange.h"
#include "h2-exchange.h"

namespace meshtap {

// What the tap hub redacts and how JS numbers record times (set by JS: native/index.ts setTapJson).
struct TapJsonPolicy {
  std::vector<std::string> sensitive;    // lower-case header names (the hub's sensitiveHeaders)
  std::vector<std::string> body_fields;  // lower-case secret body field names (body-redact.ts rules)
  // performance.now() = (CLOCK_MONOTONIC ns - origin_ns) / 1e6; wall clock = time_origin_ms + that.
  double origin_ns = 0;
  double time_origin_ms = 0;
};

enum class TapEventKind { kReq, kRsp, kEnd };

// The connection an event is of (its open record's fields).
struct TapEventConn {
  uint32_t id = 0;
  bool inbound = true;
  std::string_view src;
  std::string_view dst;
};

class ObservationDriver;
// `driver`'s connection (views into its addresses: valid while it lives).
TapEventConn TapEventConnOf(const ObservationDriver& driver);

struct TapEventJson {
  std::string text;          // the event object, `{"kind":…}`, without identity fields
  uint32_t identity_at = 0;  // where JS inserts `,"dstWorkload":…` (right after the path)
  // end: the body members (left out for a grant without bodies). cut_from == cut_to: nothing to cut.
  uint32_t cut_from = 0;
  uint32_t cut_to = 0;
  uint32_t body_chars = 0;   // UTF-16 units of the bodies' `data` (the hub's queue accounting)
};

// The event `kind` of HTTP/2 stream `ex` (numbered `stream` in its id), or false when it is not
// plain. `bodies`: the captured bytes per direction (request, response) for an `end` whose
// exchange sends bodies, else null.
bool H2TapEventJson(TapEventKind kind, const H2Exchange& ex, uint32_t stream, const TapEventConn& conn, const TapJsonPolicy& policy,
                    const std::string* bodies, TapEventJson* out);

// The same for HTTP/1 exchange `ex`, its heads read as the js head parser reads them (ASCII heads,
// origin-form or `*` targets; anything else writes no JSON).
bool H1TapEventJson(TapEventKind kind, const H1Exchange& ex, const TapEventConn& conn, const TapJsonPolicy& policy, const std::string* bodies,
                    TapEventJson* out);

// Exposed for tests: JavaScript's Number::toString of a finite double; JSON.stringify of an ASCII
// or valid UTF-8 string (quoted); Node's isUtf8.
void AppendJsNumber(double v, std::string* out);
void AppendJsonString(std::string_view s, std::string* out);
bool IsUtf8(std::string_view s);

}  // namespace meshtap
