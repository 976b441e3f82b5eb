// SPDX-License-Identifier: Apache-2.0
// The sampling gate of rate-limited live taps (docs/decisions.md, "the tap gate"): a token bucket,
// shared by every worker, that decides at an exchange's request head whether it may cross to JS
// at all. JS turns it on only when every tap subscriber is rate-limited and matches every
// exchange (proxy/tap-hub.ts): then an exchange the bucket refuses is one each subscriber's own
// bucket would refuse too, and it costs nothing beyond this counter (no records, no body copies,
// no JS decode, no events built only to be dropped). JS reads the count and tells it to every
// subscriber as rate-limit drops, so delivered + dropped stays the exchanges begun while tapped.
//
// Why a mutex and not a lock-free bucket: the count must split exactly where JS changes the rate
// (the exchanges gated under the old subscribers are theirs, not a newcomer's), and a decision
// and its count under one lock give that split for free. It is taken only while the gate is on,
// at most once per exchange, by two or so workers: uncontended, tens of ns.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

namespace meshtap {

class TapGate {
 public:
  // The bucket holds this many seconds of the rate: JS decides later than C++ (after the
  // doorbell, or later when it falls behind), so its subscribers' buckets (1 s of their rate,
  // full at subscribe) may see a run of exchanges spread over a longer time than C++ saw it and
  // admit more than a 1 s bucket here would have let through. Twice the burst keeps C++ at or
  // above what they admit unless JS lags more than a second; the excess they drop themselves.
  static constexpr uint64_t kBurstSeconds = 2;

  // The shortest time between two JS wakes while the gate is on (EngineShared::MaybeRing; else
  // EngineConfig::doorbell_interval_ns, 1 ms). At the default 100 exchanges/s a delivered exchange
  // made about one wake per record (3+), each ~10 us of JS thread before any work, and kept the
  // code it runs too cold to be optimized: at 20 ms its records share a wake with their neighbours'.
  // The JS thread's CPU at 2,000 req/s with a 100/s tap fell by about a quarter (8 s windows, three
  // rounds, load 8-10: 33-39 ticks vs 44-59). A human reading a rate-limited tap does not see 20 ms;
  // `Flush` (meshtap run) drains at once whatever the interval.
  static constexpr uint64_t kDoorbellNs = 20 * 1000 * 1000;

  // Sets the rate in exchanges per second (<= 0: no gate; every exchange goes on, as before),
  // with a full bucket. Returns how many exchanges were gated before this call, exactly: none
  // gated under the old rate is counted after it, none under the new one before.
  uint64_t Configure(double rate_per_s);

  // At a request head: false = gated (counted; the exchange makes no record). `now_ns` is the
  // head's monotonic time.
  bool Admit(uint64_t now_ns);

  // Whether a rate is set (read without the lock).
  bool is_on() const { return is_on_.load(std::memory_order_relaxed); }

  // Exchanges gated since the engine started.
  uint64_t gated() const { return gated_.load(std::memory_order_relaxed); }

 private:
  // Whether a rate is set: read without the lock, so that an untapped or ungated exchange costs a load.
  std::atomic<bool> is_on_{false};
  std::mutex mu_;
  // GCRA form of the token bucket (one number instead of tokens + last refill): the time at which
  // the bucket would be full again; an exchange fits while that time is at most burst_ns_ ahead.
  uint64_t interval_ns_ = 0;  // 1 s / rate; 0: off
  uint64_t burst_ns_ = 0;     // (capacity - 1) * interval
  uint64_t full_at_ns_ = 0;
  std::atomic<uint64_t> gated_{0};  // written under mu_
};

}  // namespace meshtap
