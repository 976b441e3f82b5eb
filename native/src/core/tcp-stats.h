// SPDX-License-Identifier: Apache-2.0
// TCP counters of the native engine, per (direction, peer, target_addr) as proxy/metrics.ts
// keeps them for the js engine (Linkerd's tcp_* names and labels). Workers add with relaxed
// atomics; /metrics reads a snapshot at scrape time, so counting never wakes the JS thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace meshtap {

struct TcpCounters {
  std::string direction;  // inbound | outbound
  std::string peer;       // src | dst
  std::string target;     // target_addr label
  std::atomic<uint64_t> opened{0};
  std::atomic<uint64_t> closed{0};
  std::atomic<uint64_t> closed_with_error{0};
  std::atomic<int64_t> open{0};
  std::atomic<uint64_t> read_bytes{0};
  std::atomic<uint64_t> write_bytes{0};
};

struct TcpSnapshot {
  std::string direction, peer, target;
  uint64_t opened, closed, closed_with_error, read_bytes, write_bytes;
  int64_t open;
};

class TcpStatsRegistry {
 public:
  explicit TcpStatsRegistry(size_t max_targets) : max_targets_(max_targets) {}
  // The counters of one class; stable for the registry's life. *bound_hit is set when the
  // target bound was reached and the `overflow` class was used instead.
  TcpCounters* Get(bool inbound, bool is_dst, const std::string& target, bool* bound_hit);
  std::vector<TcpSnapshot> Snapshot();

 private:
  const size_t max_targets_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<TcpCounters>> by_key_;
};

// Rare events counted in C++ and read at scrape (bound hits, upstream connect errors), keyed
// by their label values joined with '\t' ("bound\tidle-timeout", "connect\toutbound\tECONNREFUSED").
// Counted here rather than sent as records so that a scrape right after the event sees it.
class EventCounters {
 public:
  void Add(const std::string& key);
  // Snapshot() reports these as "bound\t<name>" too.
  std::vector<std::pair<std::string, uint64_t>> Snapshot();

  // Connections a worker dropped (both sides reset) because it failed while serving them: an
  // exception such as std::bad_alloc. Counted without allocating (allocation may be what failed);
  // reported as bound "native-worker-error".
  std::atomic<uint64_t> worker_errors{0};
  // Bytes moved with splice(2) (socket -> pipe), reported as "splice\tbytes".
  std::atomic<uint64_t> spliced_bytes{0};
  // What the js engine counts per connection from its observation driver, counted here so that
  // a connection nobody taps costs the JS thread nothing (not even a record): detections by
  // protocol (index: Detection, 1 h1 / 2 h2 / 3 opaque; "detected\th1"), observers giving up by
  // reason (index: GiveUpReason; "gaveup\th1-parse") and detections that timed out
  // ("gaveup\tdetect-timeout"). Atomics: counted on every connection, no lock, no allocation.
  static constexpr size_t kGaveUpSlots = 16;
  std::atomic<uint64_t> detected[4] = {};
  std::atomic<uint64_t> gave_up[kGaveUpSlots] = {};
  std::atomic<uint64_t> detect_timeouts{0};
  // Busy polling (busy-poll.h): windows that found an event ("busypoll\tcaught") and the time they
  // polled first ("busypoll\tcaught-ns"); windows that ran out and blocked ("busypoll\tmissed"),
  // and the time they wasted ("busypoll\tmissed-ns").
  std::atomic<uint64_t> busy_polls_caught{0};
  std::atomic<uint64_t> busy_polls_missed{0};
  std::atomic<uint64_t> busy_poll_caught_ns{0};
  std::atomic<uint64_t> busy_poll_missed_ns{0};

 private:
  std::mutex mu_;
  std::map<std::string, uint64_t> by_key_;
};

}  // namespace meshtap
