// SPDX-License-Identifier: Apache-2.0
// The C++ sink of one HTTP/1 connection's exchanges: HTTP and route metrics (metrics-http.h) and
// the flight recorder (recorder-ring.h), what the js engine's createExchangeSink does for
// metrics and recorder, with no JS involved. Made when the connection is detected as HTTP/1
// (where the js engine makes its sink, and its route cursor counts the route-peers bound).
// Events for tap subscribers are the record sink's job (h1-record-sink.h), teed beside this one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "h1-exchange.h"
#include "metrics-http.h"
#include "recorder-ring.h"

namespace meshtap {

struct H1MetricsSinkConfig {
  // --recorder-bodies: keep up to body_limit bytes of each body in the recorder.
  bool recorder_bodies = false;
  size_t body_limit = 64 * 1024;
};

class H1MetricsSink : public H1ExchangeSink {
 public:
  // `src`/`dst`: the connection's addresses as its open record gives them.
  H1MetricsSink(HttpMetricsRegistry* metrics, RecorderRing* recorder, const H1MetricsSinkConfig& config, uint32_t conn_id, bool inbound, std::string src,
                std::string dst);

  void RequestHead(H1Exchange& ex) override;
  void ResponseHead(H1Exchange& ex) override {}
  void BodyData(H1Exchange& ex, bool is_request, const uint8_t* data, size_t len) override;
  void End(H1Exchange& ex) override;
  void GiveUp(GiveUpReason reason) override {}
  void Upgraded() override {}
  // The exchange goes on as HTTP/2 stream 1 (H2MetricsSink ends it, making its labels again).
  void SwitchedToH2c(H1Exchange& ex) override {}
  // h2c: the recorder bodies captured so far for exchange `stream` (the upgrade request, which
  // continues as HTTP/2 stream 1: H2MetricsSink::Adopt), taken out of this sink; empty if none.
  std::unique_ptr<RecordedBodies> TakeBodies(uint32_t stream);

 private:
  HttpMetricsRegistry* const metrics_;
  RecorderRing* const recorder_;
  const H1MetricsSinkConfig config_;
  const uint32_t conn_id_;
  const bool inbound_;
  const std::string src_, dst_;
  std::unique_ptr<MetricsConn> conn_;
  // Bodies being captured for the recorder, by stream (pipelined exchanges overlap).
  std::unordered_map<uint32_t, RecordedBodies> bodies_;
};

// An HTTP/1 exchange's labels (metrics-secrets.h ShowRequest) from its request head.
ShownRequest ShowH1Request(const LabelSecretPolicy& policy, const H1Exchange& ex);

// Hands every call to two sinks, `first` then `second` (this connection's metrics/recorder sink
// and its record sink to JS). Neither owns the other.
class H1TeeSink : public H1ExchangeSink {
 public:
  H1TeeSink(H1ExchangeSink* first, H1ExchangeSink* second) : a_(first), b_(second) {}
  void RequestHead(H1Exchange& ex) override { a_->RequestHead(ex), b_->RequestHead(ex); }
  void ResponseHead(H1Exchange& ex) override { a_->ResponseHead(ex), b_->ResponseHead(ex); }
  void BodyData(H1Exchange& ex, bool is_request, const uint8_t* data, size_t len) override {
    a_->BodyData(ex, is_request, data, len);
    b_->BodyData(ex, is_request, data, len);
  }
  void End(H1Exchange& ex) override { a_->End(ex), b_->End(ex); }
  void GiveUp(GiveUpReason reason) override { a_->GiveUp(reason), b_->GiveUp(reason); }
  void Upgraded() override { a_->Upgraded(), b_->Upgraded(); }
  void SwitchedToH2c(H1Exchange& ex) override { a_->SwitchedToH2c(ex), b_->SwitchedToH2c(ex); }

 private:
  H1ExchangeSink* const a_;
  H1ExchangeSink* const b_;
};

}  // namespace meshtap
