// SPDX-License-Identifier: Apache-2.0
// The H1ExchangeSink that hands exchanges to JS as compact records in the event ring (layouts
// in event-ring.h): JS builds proxy/observe.ts `Exchange` objects from them with the js
// observer's own head parser and calls the same exchange sink (events, metrics, recorder, tap).
// Body bytes are copied only for exchanges whose head found bodies wanted (a per-engine flag
// JS keeps current), and at most the body limit per direction.
#pragma once

#include "h1-exchange.h"

namespace meshtap {

class ObservationDriver;

class H1RecordSink : public H1ExchangeSink {
 public:
  explicit H1RecordSink(ObservationDriver* driver) : driver_(driver) {}
  void RequestHead(H1Exchange& ex) override;
  void ResponseHead(H1Exchange& ex) override;
  void BodyData(H1Exchange& ex, bool is_request, const uint8_t* data, size_t len) override;
  void End(H1Exchange& ex) override;
  void GiveUp(GiveUpReason reason) override;
  void Upgraded() override;
  void SwitchedToH2c(H1Exchange& ex) override;

 private:
  ObservationDriver* const driver_;
};

}  // namespace meshtap
