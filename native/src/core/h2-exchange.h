// SPDX-License-Identifier: Apache-2.0
// The seam between the C++ HTTP/2 observer (h2-observer.h, issue 14) and its sinks: the C++
// mirror of proxy/observe.ts's `Exchange` and `ExchangeSink` for HTTP/2 and gRPC streams, as
// proxy/h2/stream-tracker.ts fills them. Like h1-exchange.h, two kinds of sink exist: one that
// hands streams to JS as compact records (events, tap), and the C++ metrics/flight-recorder
// sink, so that JS does no per-stream work when nobody taps. Sinks never throw and never block
// (they run on an epoll worker).
//
// Header lists are kept as proxy/h2/observer-side.ts hands them to the stream tracker, pseudo-
// headers included and in wire order: names as HPACK decoded them (octets; JS reads them as
// latin1, one char per octet, as proxy/h2/hpack-decoder.ts does), values decoded by the one
// field-text rule (h1-text.h DecodeFieldText: `:path` percent-escaped, others backslash) and so
// UTF-8 (JS reads them as utf8). For ASCII, which nearly all are, both are the octets as sent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "h1-exchange.h"  // GiveUpReason, ObserverLimits, exchange_error

namespace meshtap {

struct H2Field {
  std::string name;
  std::string value;
};
using H2FieldList = std::vector<H2Field>;

// Errors an HTTP/2 stream can end with besides exchange_error's (stream-tracker.ts,
// grpc-status.ts). Static strings: compare by value.
namespace h2_error {
constexpr const char* kReset = "reset";
constexpr const char* kGoaway = "goaway";
constexpr const char* kGrpcStatusMissing = "grpc-status-missing";
constexpr const char* kGrpcStatusMalformed = "grpc-status-malformed";
// proxy/h2/stream-tracker.ts STREAM_ERROR_STATUS_MALFORMED: the response head's :status was
// missing or not three digits (RFC 9113 §8.3.2), a stream its client failed.
constexpr const char* kStatusMalformed = "status-malformed";
// proxy/h2/observer.ts STREAM_ERROR_CLOSED: the connection closed without a reason.
constexpr const char* kClosed = "closed";
}  // namespace h2_error

// Why the server never processed a stream (tap-protocol/events.ts UnprocessedReason): a client may
// send it again (RFC 9113 §8.7), so it is not a response (docs/decisions.md, session 13 unproc13).
enum class Unprocessed : uint8_t {
  kNo = 0,
  kRefused = 1,  // RST_STREAM(REFUSED_STREAM) from the server before any response HEADERS
  kGoaway = 2,   // above the last-stream-id of the server's GOAWAY, no response HEADERS
};
// The reason's name in events and the metric's `reason` label; nullptr for kNo.
inline const char* UnprocessedName(Unprocessed u) { return u == Unprocessed::kRefused ? "refused" : u == Unprocessed::kGoaway ? "goaway" : nullptr; }

// One HTTP/2 stream (client-initiated) as the observer sees it.
struct H2Exchange {
  uint32_t stream = 0;
  // protocol "grpc" when the request's content-type starts with application/grpc, else "h2".
  bool is_grpc = false;
  // Stream 1 of a connection upgraded from HTTP/1 (h2c): the request was HTTP/1.
  bool from_h2c = false;
  // From the request's pseudo-headers (octets; "" when absent).
  std::string method;
  std::string scheme;
  std::string authority;
  std::string path;
  H2FieldList request_headers;
  H2FieldList request_trailers;
  // Final (non-1xx) :status; 0 until the response head was seen or when not three digits.
  int status = 0;
  H2FieldList response_headers;
  H2FieldList trailers;
  // gRPC: from trailers (or a trailers-only response), or derived as grpc-status.ts does
  // when missing/malformed/reset/connection gone. grpc_message is percent-decoded (UTF-8 octets).
  // int64: grpc-status.ts accepts 1..10 digits (9999999999 is reported as such).
  bool has_grpc_status = false;
  int64_t grpc_status = 0;
  bool has_grpc_message = false;
  std::string grpc_message;
  // DATA payload bytes (padding removed) per direction.
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;
  // gRPC length-prefixed messages per direction, and whether any had the compressed flag.
  uint32_t request_messages = 0;
  uint32_t response_messages = 0;
  bool request_compressed = false;
  bool response_compressed = false;
  // CLOCK_MONOTONIC ns: request HEADERS, final response head, end.
  uint64_t start_ns = 0;
  uint64_t response_ns = 0;
  uint64_t end_ns = 0;
  // Why it did not complete (h2_error::…, exchange_error::…, an engine close reason), nullptr
  // when it did. gRPC streams may end with kGrpcStatusMissing/Malformed and still be complete.
  const char* error = nullptr;
  // Set (with error) when the server never processed the stream (stream-tracker.ts `unprocessed`).
  Unprocessed unprocessed = Unprocessed::kNo;
  // Set by a sink in RequestHead: DATA payload is then passed to BodyData (gRPC messages as
  // framed on the wire, prefixes included), at most ObserverLimits::max_body_capture_bytes per
  // direction. Left false, no DATA byte is looked at beyond counting and gRPC framing.
  bool capture_bodies = false;
  // Scratch of the record sink (as H1Exchange's).
  uint64_t body_copied[2] = {0, 0};
  // Scratch of the metrics sink: the authority and route labels it made at the request head
  // (metrics-secrets.h ShowRequest), used again at End.
  bool labelled = false;
  std::string label_authority;
  std::string label_path;
  bool to_js = false;
  bool bodies_to_js = false;
  // Scratch of the record sink for a stream whose events it also writes as JSON (tap-event-json.h):
  // the policy as of its request head (null: none), and its body bytes sent to JS (body_copied of them).
  std::shared_ptr<const TapJsonPolicy> json_policy;
  std::string json_body[2];
  // As H1Exchange::shed.
  bool shed = false;
};

// Where the HTTP/2 observer reports (proxy/observe.ts ExchangeSink). Calls come in wire order
// per stream; streams interleave.
class H2ExchangeSink {
 public:
  virtual ~H2ExchangeSink() = default;
  // The request HEADERS block is complete; the sink may set ex.capture_bodies.
  virtual void RequestHead(H2Exchange& ex) = 0;
  // The final response head is complete (1xx are not reported).
  virtual void ResponseHead(H2Exchange& ex) = 0;
  // DATA payload of a stream with capture_bodies set (a view: copy what you keep).
  virtual void BodyData(H2Exchange& ex, bool is_request, const uint8_t* data, size_t len) = 0;
  // The stream is over (both ends, a reset, GOAWAY, the connection gone, the observer gave
  // up: ex.error says which). The observer destroys `ex` when this returns.
  virtual void End(H2Exchange& ex) = 0;
  // The observer stops following the connection; open streams were ended (kGaveUp) first.
  virtual void GiveUp(GiveUpReason reason) = 0;
};

}  // namespace meshtap
