// SPDX-License-Identifier: Apache-2.0
#include "engine-shared.h"

namespace meshtap {

int EngineShared::MaybeRing() {
  if (ring.bell_pending.load(std::memory_order_acquire)) return -1;  // JS will take everything
  if (!ring.HasPending()) return -1;
  const uint64_t now = MonotonicNs();
  const uint64_t last = ring.last_bell_ns.load(std::memory_order_relaxed);
  // While the tap gate is on, JS gets at most its rate of exchanges (2 s burst): wakes at most every
  // TapGate::kDoorbellNs carry several records each instead of one (tap-gate.h says why).
  uint64_t interval = config.doorbell_interval_ns;
  if (tap_gate.is_on() && interval < TapGate::kDoorbellNs) interval = TapGate::kDoorbellNs;
  if (now - last < interval) {
    const uint64_t wait_ns = interval - (now - last);
    return static_cast<int>((wait_ns + 999999) / 1000000);
  }
  bool expected = false;
  if (!ring.bell_pending.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return -1;
  ring.last_bell_ns.store(now, std::memory_order_relaxed);
  if (doorbell) doorbell();
  return -1;
}

}  // namespace meshtap
