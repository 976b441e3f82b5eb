// SPDX-License-Identifier: Apache-2.0
#include "detect-driver.h"

#include <cstring>

#include "connection.h"
#include "h1-observer.h"
#include "h1-record-sink.h"
#include "metrics-h1-sink.h"

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

}  // namespace

ObservationDriver::ObservationDriver(EngineShared* shared, Conn* conn, std::string addresses) : shared_(shared), conn_(conn), addresses_(std::move(addresses)) {}

ObservationDriver::~ObservationDriver() = default;

bool ObservationDriver::IsLive() {
  if (conn_->is_observed) return true;
  // An HTTP/1 connection JS no longer follows (the batch was full, or JS unobserved it) is still
  // observed for the C++ metrics and flight recorder; only its records stop (Emit).
  if (state_ == State::kH1) return true;
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
    addresses_.clear();
    addresses_.shrink_to_fit();
  }
  // JS follows an HTTP/1 connection from its detection record (counted here, not there).
  if (state_ == State::kH1 && !is_detection_sent_) {
    is_detection_sent_ = true;
    if (!shared_->ring.Append(kRecDetected, static_cast<uint8_t>(Detection::kH1), conn_->id, t_ns, nullptr, 0, true)) {
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

void ObservationDriver::ToBytes(bool from_client, const uint8_t* p, size_t n) {
  if (n > 0) Emit(from_client ? kRecClientData : kRecServerData, 0, p, n, now_ns_, false);
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
          ToBytes(false, p + from, n - from);
        }
        break;
      case State::kBytes:
        ToBytes(from_client, p, n);
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

// After a 101 to h2c: the held client bytes go to JS first, then everything as bytes.
void ObservationDriver::AfterH1() {
  if (!h1_->IsH2c()) return;
  state_ = State::kBytes;
  std::string held = h1_->TakeH2cClientBytes();
  ToBytes(true, reinterpret_cast<const uint8_t*>(held.data()), held.size());
}

void ObservationDriver::Decide(Detection detected, const char* why, const uint8_t* last, size_t n) {
  // An HTTP/1 server never speaks first; a server-first protocol (SMTP's `EHLO x`) only looks like HTTP/1.
  const Detection kind = detected == Detection::kH1 && has_server_first_ ? Detection::kOpaque : detected;
  const size_t slot = static_cast<size_t>(kind);
  if (slot < sizeof shared_->counters.detected / sizeof shared_->counters.detected[0]) shared_->counters.detected[slot].fetch_add(1, std::memory_order_relaxed);
  if (why != nullptr && strcmp(why, "timeout") == 0) shared_->counters.detect_timeouts.fetch_add(1, std::memory_order_relaxed);
  // JS needs the detection of h2 (its observer reads the bytes); of h1 only with the connection's
  // first tapped record (Announce), of opaque never, unless every connection is announced (trace).
  if (kind == Detection::kH2 || shared_->config.announce_connections) {
    std::string text = why != nullptr ? why : "";
    if (has_server_first_) text = std::string(why != nullptr ? why : DetectionName(detected)) + ", server spoke first";
    is_detection_sent_ = Emit(kRecDetected, static_cast<uint8_t>(kind), text.data(), text.size(), now_ns_, true);
  }
  std::string client;
  client.swap(detect_buf_);
  std::string server;
  server.swap(server_first_);
  if (!conn_->is_observed) return;
  if (kind == Detection::kOpaque) {
    StopObserving();
  } else if (kind == Detection::kH2) {
    // The js HTTP/2 observer reads the same bytes it would have: client first, then the server's.
    state_ = State::kBytes;
    ToBytes(true, reinterpret_cast<const uint8_t*>(client.data()), client.size());
    ToBytes(true, last, n);
    ToBytes(false, reinterpret_cast<const uint8_t*>(server.data()), server.size());
  } else {
    state_ = State::kH1;
    sink_ = std::make_unique<H1RecordSink>(this);
    // Metrics and the flight recorder in C++ (made here, where the js engine makes its sink), the
    // records to JS beside them (only for exchanges that begin while someone taps).
    const size_t nl = addresses_.find('\n');
    H1MetricsSinkConfig mc;
    mc.recorder_bodies = shared_->config.recorder_bodies;
    mc.body_limit = shared_->config.body_limit;
    metrics_sink_ = std::make_unique<H1MetricsSink>(&shared_->http, &shared_->recorder, mc, conn_->id, conn_->inbound, addresses_.substr(0, nl),
                                                    nl == std::string::npos ? std::string() : addresses_.substr(nl + 1));
    tee_ = std::make_unique<H1TeeSink>(metrics_sink_.get(), sink_.get());
    ObserverLimits limits = shared_->config.limits;
    limits.max_body_capture_bytes = shared_->config.body_limit;  // what any sink keeps, at most
    h1_ = std::make_unique<H1Observer>(tee_.get(), limits);
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
    case State::kBytes:
      Emit(from_client ? kRecClientEnd : kRecServerEnd, 0, nullptr, 0, now_ns, true);
      break;
    case State::kOff:
      break;
  }
}

void ObservationDriver::Close(AbortCode abort, uint64_t now_ns) {
  if (!IsLive()) return;
  now_ns_ = now_ns;
  if (state_ == State::kH1) h1_->Close(AbortError(abort), now_ns);  // catches its own
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
