// SPDX-License-Identifier: Apache-2.0
// The C++ mirror of proxy/observe.ts's `Exchange` and `ExchangeSink` for the native HTTP/1
// observer (h1-observer.h): one record per request/response pair, filled in place by the
// observer and reported to a sink. Two sinks exist: the record sink (h1-record-sink.h), which
// writes compact exchange records into the event ring for JS (events, tap, js recorder), and
// the C++ metrics/flight-recorder sink (native-sink's), so that JS does no per-request work when
// nobody taps. A sink must never throw and never block (it runs on an epoll worker).
//
// Why heads are kept as the bytes sent: JS builds its `Exchange` from them with the very
// functions the js observer uses (proxy/http1/head-parse.ts), so both engines show exactly the
// same header lists by construction; C++ decodes only what metrics need (method, scheme,
// authority, path), by the same rules (h1-text.h mirrors proxy/field-text.ts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace meshtap {

struct TapJsonPolicy;

// proxy/observe.ts GIVE_UP_REASONS, same order (the record carries the index).
enum class GiveUpReason : uint8_t {
  kH1Parse = 0,
  kH1AmbiguousFraming,
  kH1HeaderTooLarge,
  kH1TooManyPipelined,
  kH2Frame,
  kH2Hpack,
  kH2HeaderTooLarge,
  kH2TooManyStreams,
  kInternal,
};

// The label value of a reason ("h1-parse", …).
const char* GiveUpReasonName(GiveUpReason reason);

// proxy/observe.ts ObserverLimits (DEFAULT_OBSERVER_LIMITS).
struct ObserverLimits {
  size_t max_header_bytes = 64 * 1024;
  size_t max_streams = 1000;
  size_t max_hpack_table_bytes = 64 * 1024;
  // Body bytes per exchange and direction handed to BodyData at most (the body limit): past it
  // the rest of a captured body is only counted, and may be spliced.
  uint64_t max_body_capture_bytes = 64 * 1024;
};

// Errors an exchange can end with (proxy/http1/observer.ts and the engines' CloseReason).
// Static strings: compare by value (strcmp), never by pointer across translation units.
namespace exchange_error {
constexpr const char* kClientClosed = "client-closed";
constexpr const char* kUpstreamClosed = "upstream-closed";
constexpr const char* kGaveUp = "observer-gave-up";
constexpr const char* kUpgraded = "connection-upgraded";
constexpr const char* kConnectionClosed = "connection-closed";
}  // namespace exchange_error

// One HTTP/1 exchange as the observer sees it (proxy/observe.ts Exchange, HTTP/1 fields only).
struct H1Exchange {
  // 1-based sequence number on the connection.
  uint32_t stream = 0;
  // protocol: "http/1.0" when true, else "http/1.1".
  bool is_http10 = false;
  // Decoded as the js engine does (UTF-8 when valid, else escaped: path `%HH`, authority `\xHH`).
  std::string method;
  std::string scheme;
  std::string authority;
  // The request-target as sent (decoded as above).
  std::string path;
  // The request head as sent: start line, field lines, the empty line (latin1 octets).
  std::string request_head;
  // Final (non-1xx) response status; 0 until the response head was seen.
  int status = 0;
  // The final response head as sent ("" until seen).
  std::string response_head;
  // Trailer sections as sent (field lines + the empty line), "" when there were none.
  std::string request_trailers;
  std::string trailers;
  // De-framed body bytes (after de-chunking).
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;
  // CLOCK_MONOTONIC ns: request start (first byte of its head), final response head, end.
  uint64_t start_ns = 0;
  uint64_t response_ns = 0;
  uint64_t end_ns = 0;
  // Why it did not complete (exchange_error::…, or an engine close reason), nullptr when it did.
  const char* error = nullptr;
  // The response ended as its framing says (or switched protocols): an `error` then tells of the
  // request alone (its body cut), and the metrics classify by status (metrics-h1-sink.cc).
  bool response_complete = false;
  // Set by a sink in RequestHead: body bytes are then passed to BodyData, at most
  // ObserverLimits::max_body_capture_bytes per direction (the whole size is request_bytes /
  // response_bytes at End). Left false, no body byte is looked at beyond counting.
  bool capture_bodies = false;
  // Scratch of the record sink: body bytes it copied per direction (request, response).
  uint64_t body_copied[2] = {0, 0};
  // Scratch of the metrics sink: the authority and route labels it made at the request head
  // (metrics-secrets.h ShowRequest), used again at End.
  bool labelled = false;
  std::string label_authority;
  std::string label_path;
  // Set by the record sink in RequestHead: this exchange goes to JS as records (a tap subscriber
  // was attached at its request head), and with its body bytes. Decided once: all or nothing.
  bool to_js = false;
  bool bodies_to_js = false;
  // Scratch of the record sink for an exchange whose events it also writes as JSON
  // (tap-event-json.h): the policy as of its request head (null: none), and its body bytes sent to JS.
  std::shared_ptr<const TapJsonPolicy> json_policy;
  std::string json_body[2];
  // Set instead of to_js when every tap subscriber was not reading at the request head
  // (EngineShared::shedding): the exchange's events are counted in shed_events, not sent.
  bool shed = false;
};

// Where the observer reports (proxy/observe.ts ExchangeSink). Calls come in wire order.
class H1ExchangeSink {
 public:
  virtual ~H1ExchangeSink() = default;
  // The request head is complete; the sink may set ex.capture_bodies.
  virtual void RequestHead(H1Exchange& ex) = 0;
  // The final response head is complete (1xx are not reported; a 101 is, then End, then Upgraded).
  virtual void ResponseHead(H1Exchange& ex) = 0;
  // De-framed body bytes of an exchange with capture_bodies set, the first max_body_capture_bytes
  // per direction only (a view: copy what you keep).
  virtual void BodyData(H1Exchange& ex, bool is_request, const uint8_t* data, size_t len) = 0;
  // Both bodies are complete, or the exchange was aborted (ex.error set). The observer destroys
  // `ex` when this returns; a sink may move strings out of it (it is never read again).
  virtual void End(H1Exchange& ex) = 0;
  // The observer stops following the connection; open exchanges were ended (kGaveUp) first.
  virtual void GiveUp(GiveUpReason reason) = 0;
  // The connection switched protocols (Upgrade, CONNECT): the rest is opaque. Open exchanges
  // were ended first (the switching one normally, later pipelined ones with kUpgraded).
  virtual void Upgraded() = 0;
  // A 101 to h2c: `ex` (the upgrade request, not ended) continues as HTTP/2 stream 1, which the
  // HTTP/2 observer (JS for now) follows from here; the HTTP/1 observer reports nothing more.
  virtual void SwitchedToH2c(H1Exchange& ex) = 0;
};

}  // namespace meshtap
