// SPDX-License-Identifier: Apache-2.0
// How long a worker polls (epoll_wait with timeout 0) before it blocks, adapted as KVM adapts
// halt-polling: the window grows while events keep arriving just after it ran out, and shrinks
// while they arrive long after (or not at all), so an idle or lightly loaded worker never spins.
//
// Why: a worker blocked in epoll_wait leaves its CPU idle, and on a virtual machine an idle vCPU
// halts. Whoever sends it the next byte then pays for waking it: an inter-processor interrupt, a
// VM exit on the sender's CPU (measured here: ~4-6 us more of the sender's CPU per wake than when
// the worker is awake), and the woken vCPU's own start-up latency. Under a steady stream of small
// exchanges the worker went idle almost once per request, and its peers (the client and the
// server, on other CPUs) paid that twice per request. Polling a few tens of microseconds turns
// most of those wakes into a poll that finds the event. The trade-off is CPU the worker burns
// while polling; the window is bounded (EngineConfig::busy_poll_max_ns, 0: never poll).
#pragma once

#include <cstdint>

namespace meshtap {

class BusyPoll {
 public:
  explicit BusyPoll(uint64_t max_ns) : max_ns_(max_ns) {}

  bool IsEnabled() const { return max_ns_ > 0; }
  // How long to poll before the next blocking wait (0: block at once).
  uint64_t WindowNs() const { return window_ns_; }
  // One wait ended: `waited_ns` from its start until it returned; `polled` whether polling found
  // the events; `got_events` whether it returned any (false: a timer's timeout ran out).
  void Update(uint64_t waited_ns, bool polled, bool got_events) {
    if (polled) return;  // the window is right: it caught the event
    if (got_events && waited_ns <= max_ns_) {
      // The event came just after the window (or with none): a longer one would have caught it.
      window_ns_ = window_ns_ == 0 ? kStartNs : window_ns_ * 2;
      if (window_ns_ > max_ns_) window_ns_ = max_ns_;
    } else {
      // A long quiet (or only a timer): polling would have been wasted.
      window_ns_ /= 2;
      if (window_ns_ < kStartNs) window_ns_ = 0;
    }
  }

 private:
  static constexpr uint64_t kStartNs = 10000;  // KVM's halt_poll_ns_grow_start
  const uint64_t max_ns_;
  uint64_t window_ns_ = 0;
};

}  // namespace meshtap
