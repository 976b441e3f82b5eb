// SPDX-License-Identifier: Apache-2.0
// The C++ sink of one HTTP/2 connection's streams: HTTP and route metrics (metrics-http.h) and
// the flight recorder (recorder-ring.h), what the js engine's createExchangeSink does for metrics
// and recorder with h2 and gRPC exchanges, with no JS involved. Made when the connection is
// detected as HTTP/2 (or switches to h2c), where the js engine makes its sink. Events for tap
// subscribers are the record sink's job (h2-record-sink.h), teed beside this one (H2TeeSink).
//
// Labels as the js engine makes them: method, authority and path are the js observer's decoded
// text as UTF-8 (h2-exchange.h), as the registry's strings are; protocol `grpc` or `h2`; a gRPC
// stream that ended with an error (reset, connection gone, no usable grpc-status) is a failure
// whatever status its client reports (exchange-events.ts).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "h2-exchange.h"
#include "metrics-h1-sink.h"  // H1MetricsSinkConfig
#include "metrics-http.h"
#include "recorder-ring.h"

namespace meshtap {

class H2MetricsSink : public H2ExchangeSink {
 public:
  // `src`/`dst`: the connection's addresses as its open record gives them.
  H2MetricsSink(HttpMetricsRegistry* metrics, RecorderRing* recorder, const H1MetricsSinkConfig& config, uint32_t conn_id, bool inbound, std::string src,
                std::string dst);

  void RequestHead(H2Exchange& ex) override;
  void ResponseHead(H2Exchange& ex) override {}
  void BodyData(H2Exchange& ex, bool is_request, const uint8_t* data, size_t len) override;
  void End(H2Exchange& ex) override;
  void GiveUp(GiveUpReason reason) override {}
  // h2c: stream `stream` (1) continues the upgraded HTTP/1 exchange, whose recorder bodies so far
  // (H1MetricsSink::TakeBodies; null: none were captured) carry over.
  void Adopt(uint32_t stream, std::unique_ptr<RecordedBodies> bodies);

 private:
  RecordedBodies* BodiesOf(const H2Exchange& ex);

  HttpMetricsRegistry* const metrics_;
  RecorderRing* const recorder_;
  const H1MetricsSinkConfig config_;
  const uint32_t conn_id_;
  const bool inbound_;
  const std::string src_, dst_;
  std::unique_ptr<MetricsConn> conn_;
  // What the recorder learnt from this connection's exchanges (recorder-ring.h).
  RecorderFieldHints recorder_hints_;
  // Bodies being captured for the recorder (--recorder-bodies), by stream.
  std::unordered_map<uint32_t, RecordedBodies> bodies_;
};

// Hands every call to two sinks, `first` then `second` (this connection's metrics/recorder sink
// and its record sink to JS). Neither owns the other.
class H2TeeSink : public H2ExchangeSink {
 public:
  H2TeeSink(H2ExchangeSink* first, H2ExchangeSink* second) : a_(first), b_(second) {}
  void RequestHead(H2Exchange& ex) override { a_->RequestHead(ex), b_->RequestHead(ex); }
  void ResponseHead(H2Exchange& ex) override { a_->ResponseHead(ex), b_->ResponseHead(ex); }
  void BodyData(H2Exchange& ex, bool is_request, const uint8_t* data, size_t len) override {
    a_->BodyData(ex, is_request, data, len);
    b_->BodyData(ex, is_request, data, len);
  }
  void End(H2Exchange& ex) override { a_->End(ex), b_->End(ex); }
  void GiveUp(GiveUpReason reason) override { a_->GiveUp(reason), b_->GiveUp(reason); }

 private:
  H2ExchangeSink* const a_;
  H2ExchangeSink* const b_;
};

}  // namespace meshtap
