// SPDX-License-Identifier: Apache-2.0
#include "detect-driver.h"

#include <cstring>

#include "connection.h"
#include "h1-observer.h"
#include "h1-record-sink.h"
#include "h1-text.h"
#include "h2-observer.h"
#include "h2-record-sink.h"
#include "metrics-h1-sink.h"
#include "metrics-h2-sink.h"

namespace meshtap {
namespace {

// Most server bytes held while the client has not yet shown its protocol (proxy/observation-
// driver.ts SERVER_FIRST_MAX_BYTES): an HTTP/2 server's preface is far smaller.
constexpr size_t kServerFirstMaxBytes = 16 * 1024;

// Why an exchange ended when the connection closed (proxy/engine.ts CloseReason, by AbortCode).
const char* AbortError(AbortCode abort) {
  switch (abort) {
    case kAbortReset: return "reset";
    case kAbortClientError: return "client-error";
    case kAbortUpstreamError: return "upstream-error";
    case kAbortConnectFailed: return "upstream-connect-failed";
    case kAbortIdleTimeout: return "idle-timeout";
    default: return nullptr;
  }
}

const char* DetectionName(Detection d) { return d == Detection::kH1 ? "h1" : d == Detection::kH2 ? "h2" : "opaque"; }

// The field lines of an HTTP/1 head already validated by the HTTP/1 observer, as the js head
// parser lists them (proxy/http1/head-parse.ts decodeFieldLines): names as sent, values trimmed of
// SP/HTAB and decoded by the field-text rule.
H2FieldList FieldLinesOf(const std::string& head) {
  H2FieldList out;
  size_t pos = head.find("\r\n");
  if (pos == std::string::npos) return out;
  pos += 2;
  const size_t limit = head.size() >= 2 ? head.size() - 2 : 0;
  while (pos < limit) {
    const size_t end = head.find("\r\n", pos);
    const size_t colon = head.find(':', pos);
    if (end == std::string::npos || colon == std::string::npos || colon > end) break;
    size_t a = colon + 1;
    size_t b = end;
    while (a < b && (head[a] == ' ' || head[a] == '\t')) a++;
    while (b > a && (head[b - 1] == ' ' || head[b - 1] == '\t')) b--;
    out.push_back(H2Field{head.substr(pos, colon - pos), DecodeFieldText(head.substr(a, b - a), EscapeStyle::kBackslash)});
    pos = end + 2;
  }
  return out;
}

}  // namespace

// Between the HTTP/1 observer and its sinks: keeps the exchange that switches to h2c (101), which
// the C++ HTTP/2 observer adopts as stream 1 (proxy/h2/observer.ts createUpgradedH2Observer).
class H1ToH2cSink : public H1ExchangeSink {
 public:
  explicit H1ToH2cSink(H1ExchangeSink* next) : next_(next) {}
  void RequestHead(H1Exchange& ex) override { next_->RequestHead(ex); }
  void ResponseHead(H1Exchange& ex) override { next_->ResponseHead(ex); }
  void BodyData(H1Exchange& ex, bool is_request, const uint8_t* data, size_t len) override { next_->BodyData(ex, is_request, data, len); }
  void End(H1Exchange& ex) override { next_->End(ex); }
  void GiveUp(GiveUpReason reason) override { next_->GiveUp(reason); }
  void Upgraded() override { next_->Upgraded(); }
  void SwitchedToH2c(H1Exchange& ex) override {
    next_->SwitchedToH2c(ex);
    adopted.stream = ex.stream;
    adopted.from_h2c = true;
    adopted.method = ex.method;
    adopted.scheme = ex.scheme;
    adopted.authority = ex.authority;
    adopted.path = ex.path;
    adopted.request_headers = FieldLinesOf(ex.request_head);
    adopted.request_bytes = ex.request_bytes;
    adopted.start_ns = ex.start_ns;
    adopted.capture_bodies = ex.capture_bodies;
    adopted.body_copied[0] = ex.body_copied[0];
    adopted.body_copied[1] = ex.body_copied[1];
    adopted.to_js = ex.to_js;
    adopted.bodies_to_js = ex.bodies_to_js;
    adopted.shed = ex.shed;
  }

  H2Exchange adopted;

 private:
  H1ExchangeSink* const next_;
};

ObservationDriver::ObservationDriver(EngineShared* shared, Conn* conn, std::string addresses, DetectDeadlines* h2_deadlines)
    : shared_(shared), conn_(conn), addresses_(std::move(addresses)), h2_deadlines_(h2_deadlines) {}

ObservationDriver::~ObservationDriver() = default;

bool ObservationDriver::IsLive() {
  if (conn_->is_observed) return true;
  // An HTTP/1 or HTTP/2 connection JS no longer follows (the batch was full, or JS unobserved it)
  // is still observed for the C++ metrics and flight recorder; only its records stop (Emit).
  if (state_ == State::kH1 || state_ == State::kH2) return true;
  // JS stopped following (unobserve) or the batch was full: drop the state, keep forwarding.
  if (state_ != State::kOff) {
    state_ = State::kOff;
    detect_buf_.clear();
    server_first_.clear();
  }
  return false;
}

void ObservationDriver::Lost() {
  // The batch is full (JS is behind): this connection's records stop, its bytes do not.
  conn_->is_observed = false;
  shared_->counters.Add("bound\tnative-event-batch");
  if (conn_->is_announced) shared_->ring.Append(kRecLost, 0, conn_->id, MonotonicNs(), nullptr, 0, true);
}

bool ObservationDriver::IsAnnounced() const { return conn_->is_announced; }

bool ObservationDriver::Announce(uint64_t t_ns) {
  if (!conn_->is_observed) return false;
  if (!conn_->is_announced) {
    if (!shared_->ring.Append(kRecOpen, conn_->inbound ? 0 : 1, conn_->id, t_ns, addresses_.data(), static_cast<uint32_t>(addresses_.size()), true)) {
      Lost();
      return false;
    }
    conn_->is_announced = true;
    // The addresses stay (the metrics sinks are labelled with them, an h2c switch's too).
  }
  // JS follows an HTTP/1 or HTTP/2 connection from its detection record (counted here, not there):
  // HTTP/2's says the C++ observer follows it (kDetectedH2Native: no bytes come).
  if ((state_ == State::kH1 || state_ == State::kH2) && !is_detection_sent_) {
    is_detection_sent_ = true;
    const uint8_t code = state_ == State::kH2 ? kDetectedH2Native : static_cast<uint8_t>(Detection::kH1);
    if (!shared_->ring.Append(kRecDetected, code, conn_->id, t_ns, nullptr, 0, true)) {
      Lost();
      return false;
    }
  }
  return true;
}

bool ObservationDriver::Emit(RecordType type, uint8_t code, const void* data, size_t len, uint64_t t_ns, bool is_control) {
  if (!Announce(t_ns)) return false;
  if (shared_->ring.Append(type, code, conn_->id, t_ns, data, static_cast<uint32_t>(len), is_control)) return true;
  Lost();
  return false;
}

void ObservationDriver::GaveUp(GiveUpReason reason) {
  const size_t slot = static_cast<size_t>(reason);
  if (slot < EventCounters::kGaveUpSlots) shared_->counters.gave_up[slot].fetch_add(1, std::memory_order_relaxed);
  if (conn_->is_announced && conn_->is_observed) {
    shared_->ring.Append(kRecGiveUp, static_cast<uint8_t>(reason), conn_->id, now_ns_, nullptr, 0, true);
  }
  StopObserving();
}

bool ObservationDriver::Emit2(RecordType type, uint8_t code, uint32_t stream, const void* body, size_t len, uint64_t t_ns, bool is_control) {
  std::string payload;
  payload.resize(4 + len);
  memcpy(&payload[0], &stream, 4);
  if (len > 0) memcpy(&payload[4], body, len);
  return Emit(type, code, payload.data(), payload.size(), t_ns, is_control);
}

void ObservationDriver::StopObserving() {
  state_ = State::kOff;
  conn_->is_observed = false;
}

void ObservationDriver::Data(bool from_client, const uint8_t* p, size_t n, uint64_t now_ns) {
  if (!IsLive()) return;
  now_ns_ = now_ns;
  try {
    switch (state_) {
      case State::kDetecting:
        if (from_client) {
          // At most kDetectMaxBytes decide; only what came before the deciding read is kept.
          Detection d;
          if (detect_buf_.empty()) {
            d = DetectProtocol(p, n);
          } else {
            const size_t add = n < kDetectMaxBytes ? n : kDetectMaxBytes;
            std::string head = detect_buf_;
            head.append(reinterpret_cast<const char*>(p), add);
            d = DetectProtocol(reinterpret_cast<const uint8_t*>(head.data()), head.size());
          }
          if (d == Detection::kNeedMore) detect_buf_.append(reinterpret_cast<const char*>(p), n);
          else Decide(d, nullptr, p, n);
        } else {
          server_first_len_ += n;
          if (server_first_len_ > kServerFirstMaxBytes) {
            Decide(Detection::kOpaque, "server spoke first", nullptr, 0);
          } else {
            server_first_.append(reinterpret_cast<const char*>(p), n);
            has_server_first_ = true;
          }
        }
        break;
      case State::kH1:
        if (from_client) h1_->ClientData(p, n, now_ns);
        else h1_->ServerData(p, n, now_ns);
        if (!from_client && h1_->IsH2c()) {
          // The rest of this read is the server's first HTTP/2 bytes (after the held client ones).
          const size_t from = h1_->H2cServerOffset();
          AfterH1();
          if (state_ == State::kH2 && n > from) h2_->ServerData(p + from, n - from, now_ns);
          ScheduleH2Deadline();
        }
        break;
      case State::kH2:
        if (from_client) h2_->ClientData(p, n, now_ns);
        else h2_->ServerData(p, n, now_ns);
        ScheduleH2Deadline();
        break;
      case State::kOff:
        break;
    }
  } catch (...) {
    Abandon();
  }
}

// Out of memory in here costs this connection's observation, never the process (JS counts it
// as an `internal` give-up and ends what it had open).
void ObservationDriver::Abandon() noexcept {
  GaveUp(GiveUpReason::kInternal);
}

// After a 101 to h2c: the C++ HTTP/2 observer follows the rest, the upgraded request as stream 1;
// the client bytes held while the answer was awaited go to it first.
void ObservationDriver::AfterH1() {
  if (!h1_->IsH2c()) return;
  std::string held = h1_->TakeH2cClientBytes();
  StartH2();
  // The recorder bodies kept so far carry over to HTTP/2 stream 1 (sinks key bodies by stream id).
  h2_metrics_sink_->Adopt(1, metrics_sink_->TakeBodies(h2c_->adopted.stream));
  h2_->AdoptUpgraded(std::move(h2c_->adopted));
  if (!held.empty()) h2_->ClientData(reinterpret_cast<const uint8_t*>(held.data()), held.size(), now_ns_);
}

// The C++ HTTP/2 observer and its sinks (metrics and flight recorder in C++, records to JS for
// streams begun while tapped), made where the js engine makes its sink.
void ObservationDriver::StartH2() {
  state_ = State::kH2;
  h2_sink_ = std::make_unique<H2RecordSink>(this);
  h2_metrics_sink_ = std::make_unique<H2MetricsSink>(&shared_->http, &shared_->recorder, SinkConfig(), conn_->id, conn_->inbound, Src(), Dst());
  h2_tee_ = std::make_unique<H2TeeSink>(h2_metrics_sink_.get(), h2_sink_.get());
  h2_ = std::make_unique<H2Observer>(h2_tee_.get(), SinkLimits());
}

H1MetricsSinkConfig ObservationDriver::SinkConfig() const {
  H1MetricsSinkConfig mc;
  mc.recorder_bodies = shared_->config.recorder_bodies;
  mc.body_limit = shared_->config.body_limit;
  return mc;
}

uint32_t ObservationDriver::conn_id() const { return conn_->id; }
bool ObservationDriver::is_inbound() const { return conn_->inbound; }

std::string ObservationDriver::Src() const { return addresses_.substr(0, addresses_.find('\n')); }

std::string ObservationDriver::Dst() const {
  const size_t nl = addresses_.find('\n');
  return nl == std::string::npos ? std::string() : addresses_.substr(nl + 1);
}

ObserverLimits ObservationDriver::SinkLimits() const {
  ObserverLimits limits = shared_->config.limits;
  limits.max_body_capture_bytes = shared_->config.body_limit;  // what any sink keeps, at most
  return limits;
}

// Queues the HTTP/2 observer's next reset-grace deadline with the worker, once per deadline.
void ObservationDriver::ScheduleH2Deadline() {
  if (h2_deadlines_ == nullptr || h2_ == nullptr) return;
  const uint64_t at = h2_->NextDeadlineNs();
  if (at == H2StreamTracker::kNoDeadline || at == h2_deadline_ns_) return;
  h2_deadline_ns_ = at;
  h2_deadlines_->Add(conn_->id, at);
}

void ObservationDriver::H2Deadline(uint64_t now_ns) {
  if (!IsLive() || state_ != State::kH2) return;
  now_ns_ = now_ns;
  try {
    if (h2_->NextDeadlineNs() <= now_ns) h2_->Deadline(now_ns);
    ScheduleH2Deadline();
  } catch (...) {
    Abandon();
  }
}

void ObservationDriver::Decide(Detection detected, const char* why, const uint8_t* last, size_t n) {
  // An HTTP/1 server never speaks first; a server-first protocol (SMTP's `EHLO x`) only looks like HTTP/1.
  const Detection kind = detected == Detection::kH1 && has_server_first_ ? Detection::kOpaque : detected;
  const size_t slot = static_cast<size_t>(kind);
  if (slot < sizeof shared_->counters.detected / sizeof shared_->counters.detected[0]) shared_->counters.detected[slot].fetch_add(1, std::memory_order_relaxed);
  if (why != nullptr && strcmp(why, "timeout") == 0) shared_->counters.detect_timeouts.fetch_add(1, std::memory_order_relaxed);
  // JS needs the detection of h1 and h2 only with the connection's first tapped record (Announce),
  // of opaque never, unless every connection is announced (trace). HTTP/2 is followed in C++
  // (kDetectedH2Native: no bytes go to JS, where kH2 meant they would).
  if (shared_->config.announce_connections) {
    std::string text = why != nullptr ? why : "";
    if (has_server_first_) text = std::string(why != nullptr ? why : DetectionName(detected)) + ", server spoke first";
    is_detection_sent_ = Emit(kRecDetected, kind == Detection::kH2 ? kDetectedH2Native : static_cast<uint8_t>(kind), text.data(), text.size(), now_ns_, true);
  }
  std::string client;
  client.swap(detect_buf_);
  std::string server;
  server.swap(server_first_);
  if (!conn_->is_observed) return;
  if (kind == Detection::kOpaque) {
    StopObserving();
  } else if (kind == Detection::kH2) {
    // The HTTP/2 observer reads the bytes as the js one does: the client's first, then the
    // server's that came before detection decided (a server that spoke first).
    StartH2();
    if (!client.empty()) h2_->ClientData(reinterpret_cast<const uint8_t*>(client.data()), client.size(), now_ns_);
    if (n > 0) h2_->ClientData(last, n, now_ns_);
    if (!server.empty()) h2_->ServerData(reinterpret_cast<const uint8_t*>(server.data()), server.size(), now_ns_);
    ScheduleH2Deadline();
  } else {
    state_ = State::kH1;
    sink_ = std::make_unique<H1RecordSink>(this);
    // Metrics and the flight recorder in C++ (made here, where the js engine makes its sink), the
    // records to JS beside them (only for exchanges that begin while someone taps).
    metrics_sink_ = std::make_unique<H1MetricsSink>(&shared_->http, &shared_->recorder, SinkConfig(), conn_->id, conn_->inbound, Src(), Dst());
    tee_ = std::make_unique<H1TeeSink>(metrics_sink_.get(), sink_.get());
    h2c_ = std::make_unique<H1ToH2cSink>(tee_.get());
    h1_ = std::make_unique<H1Observer>(h2c_.get(), SinkLimits());
    if (!client.empty()) h1_->ClientData(reinterpret_cast<const uint8_t*>(client.data()), client.size(), now_ns_);
    if (n > 0) h1_->ClientData(last, n, now_ns_);
  }
}

void ObservationDriver::End(bool from_client, uint64_t now_ns) {
  if (!IsLive()) return;
  now_ns_ = now_ns;
  try {
    EndOf(from_client);
  } catch (...) {
    Abandon();
  }
}

void ObservationDriver::EndOf(bool from_client) {
  const uint64_t now_ns = now_ns_;
  switch (state_) {
    case State::kDetecting:
      if (from_client) Decide(Detection::kOpaque, "client ended", nullptr, 0);
      break;
    case State::kH1:
      if (from_client) h1_->ClientEnd(now_ns);
      else h1_->ServerEnd(now_ns);
      break;
    case State::kH2:
      if (from_client) h2_->ClientEnd(now_ns);
      else h2_->ServerEnd(now_ns);
      break;
    case State::kOff:
      break;
  }
}

void ObservationDriver::Close(AbortCode abort, uint64_t now_ns) {
  if (!IsLive()) return;
  now_ns_ = now_ns;
  if (state_ == State::kH1) h1_->Close(AbortError(abort), now_ns);  // catches its own
  else if (state_ == State::kH2) h2_->Close(AbortError(abort), now_ns);  // catches its own
}

uint64_t ObservationDriver::Skippable(bool from_client) {
  if (!IsLive() || state_ == State::kOff) return UINT64_MAX;
  return state_ == State::kH1 ? h1_->SkippableBytes(from_client) : 0;
}

void ObservationDriver::Skipped(bool from_client, uint64_t n, uint64_t now_ns) {
  if (!IsLive() || state_ != State::kH1) return;
  now_ns_ = now_ns;
  h1_->Skipped(from_client, n, now_ns);
}

void ObservationDriver::DetectDeadline(uint64_t now_ns) {
  if (!IsLive() || state_ != State::kDetecting || detect_buf_.empty()) return;
  now_ns_ = now_ns;
  try {
    Decide(Detection::kOpaque, "timeout", nullptr, 0);
  } catch (...) {
    Abandon();
  }
}

}  // namespace meshtap
