// SPDX-License-Identifier: Apache-2.0
#include "h1-exchange.h"

namespace meshtap {

const char* GiveUpReasonName(GiveUpReason reason) {
  switch (reason) {
    case GiveUpReason::kH1Parse: return "h1-parse";
    case GiveUpReason::kH1AmbiguousFraming: return "h1-ambiguous-framing";
    case GiveUpReason::kH1HeaderTooLarge: return "h1-header-too-large";
    case GiveUpReason::kH1TooManyPipelined: return "h1-too-many-pipelined";
    case GiveUpReason::kH2Frame: return "h2-frame";
    case GiveUpReason::kH2Hpack: return "h2-hpack";
    case GiveUpReason::kH2HeaderTooLarge: return "h2-header-too-large";
    case GiveUpReason::kH2TooManyStreams: return "h2-too-many-streams";
    case GiveUpReason::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace meshtap
