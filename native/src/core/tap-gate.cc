// SPDX-License-Identifier: Apache-2.0
#include "tap-gate.h"

#include <cmath>

namespace meshtap {

uint64_t TapGate::Configure(double rate_per_s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!(rate_per_s > 0) || !std::isfinite(rate_per_s)) {
    interval_ns_ = 0;
  } else {
    const double interval = 1e9 / rate_per_s;
    interval_ns_ = interval < 1 ? 1 : static_cast<uint64_t>(interval);
    // Capacity kBurstSeconds * rate, at least one exchange (a rate below 1/s still lets one through).
    const double capacity = std::fmax(1.0, static_cast<double>(kBurstSeconds) * rate_per_s);
    burst_ns_ = static_cast<uint64_t>((capacity - 1) * static_cast<double>(interval_ns_));
    // Full: JS sets a rate when the subscribers change, and a new one's own bucket starts full
    // (one that left or resumed: a burst its neighbours' buckets drop themselves, at worst).
    full_at_ns_ = 0;
  }
  is_on_.store(interval_ns_ != 0, std::memory_order_relaxed);
  return gated_.load(std::memory_order_relaxed);
}

bool TapGate::Admit(uint64_t now_ns) {
  if (!is_on_.load(std::memory_order_relaxed)) return true;
  std::lock_guard<std::mutex> lock(mu_);
  if (interval_ns_ == 0) return true;  // turned off since the load above
  // Heads of two workers may come slightly out of time order: never let the bucket run backwards.
  const uint64_t from = full_at_ns_ > now_ns ? full_at_ns_ : now_ns;
  if (from - now_ns > burst_ns_) {
    gated_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  full_at_ns_ = from + interval_ns_;
  return true;
}

}  // namespace meshtap
