// SPDX-License-Identifier: Apache-2.0
// The H2ExchangeSink that hands HTTP/2 and gRPC streams to JS as compact records in the event
// ring (kRecH2ReqHead / kRecH2RspHead / kRecBody / kRecH2End, layouts in event-ring.h): JS builds
// proxy/observe.ts `Exchange` objects from them exactly as proxy/h2/stream-tracker.ts fills them
// and calls the same exchange sink in its tap-only mode (native-observation.ts).
//
// Like H1RecordSink: a stream goes to JS only when a tap subscriber was attached at its request
// HEADERS (decided once, all or nothing), with its DATA bytes only when bodies were wanted then,
// and at most the body limit per direction. Metrics and the flight recorder are C++'s
// (metrics-h2-sink.h), so with nobody tapping the JS thread sees no stream at all.
//
// h2c: stream 1 of an upgraded connection (ex.from_h2c) began as an HTTP/1 exchange whose request
// head the HTTP/1 sinks already reported (and decided to_js / bodies_to_js for): the observer
// carries those flags over, and RequestHead does nothing for it.
#pragma once

#include "h2-exchange.h"

namespace meshtap {

class ObservationDriver;

class H2RecordSink : public H2ExchangeSink {
 public:
  explicit H2RecordSink(ObservationDriver* driver) : driver_(driver) {}
  void RequestHead(H2Exchange& ex) override;
  void ResponseHead(H2Exchange& ex) override;
  void BodyData(H2Exchange& ex, bool is_request, const uint8_t* data, size_t len) override;
  void End(H2Exchange& ex) override;
  void GiveUp(GiveUpReason reason) override;

 private:
  ObservationDriver* const driver_;
};

}  // namespace meshtap
