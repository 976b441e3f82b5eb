// SPDX-License-Identifier: Apache-2.0
#include "tcp-stats.h"

#include "h1-exchange.h"

namespace meshtap {

static_assert(static_cast<size_t>(GiveUpReason::kInternal) < EventCounters::kGaveUpSlots, "a gave_up slot per GiveUpReason");

TcpCounters* TcpStatsRegistry::Get(bool inbound, bool is_dst, const std::string& target, bool* bound_hit) {
  const char* direction = inbound ? "inbound" : "outbound";
  const char* peer = is_dst ? "dst" : "src";
  std::string key = std::string(direction) + "|" + peer + "|" + target;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_key_.find(key);
  if (it != by_key_.end()) return it->second.get();
  std::string label = target;
  if (by_key_.size() >= max_targets_) {
    *bound_hit = true;
    label = "overflow";
    key = std::string(direction) + "|" + peer + "|overflow";
    it = by_key_.find(key);
    if (it != by_key_.end()) return it->second.get();
  }
  auto c = std::make_unique<TcpCounters>();
  c->direction = direction;
  c->peer = peer;
  c->target = label;
  TcpCounters* out = c.get();
  by_key_.emplace(key, std::move(c));
  return out;
}

std::vector<TcpSnapshot> TcpStatsRegistry::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TcpSnapshot> out;
  out.reserve(by_key_.size());
  for (const auto& [key, c] : by_key_) {
    out.push_back({c->direction, c->peer, c->target, c->opened.load(std::memory_order_relaxed), c->closed.load(std::memory_order_relaxed),
                   c->closed_with_error.load(std::memory_order_relaxed), c->read_bytes.load(std::memory_order_relaxed),
                   c->write_bytes.load(std::memory_order_relaxed), c->open.load(std::memory_order_relaxed)});
  }
  return out;
}

void EventCounters::Add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  by_key_[key]++;
}

std::vector<std::pair<std::string, uint64_t>> EventCounters::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, uint64_t>> out(by_key_.begin(), by_key_.end());
  const uint64_t errors = worker_errors.load(std::memory_order_relaxed);
  if (errors > 0) out.emplace_back("bound\tnative-worker-error", errors);
  out.emplace_back("splice\tbytes", spliced_bytes.load(std::memory_order_relaxed));
  static const char* const kProtocols[] = {nullptr, "h1", "h2", "opaque"};
  for (size_t i = 1; i < 4; i++) {
    const uint64_t n = detected[i].load(std::memory_order_relaxed);
    if (n > 0) out.emplace_back(std::string("detected\t") + kProtocols[i], n);
  }
  for (size_t i = 0; i <= static_cast<size_t>(GiveUpReason::kInternal); i++) {
    const uint64_t n = gave_up[i].load(std::memory_order_relaxed);
    if (n > 0) out.emplace_back(std::string("gaveup\t") + GiveUpReasonName(static_cast<GiveUpReason>(i)), n);
  }
  const uint64_t timeouts = detect_timeouts.load(std::memory_order_relaxed);
  if (timeouts > 0) out.emplace_back("gaveup\tdetect-timeout", timeouts);
  out.emplace_back("busypoll\tcaught", busy_polls_caught.load(std::memory_order_relaxed));
  out.emplace_back("busypoll\tmissed", busy_polls_missed.load(std::memory_order_relaxed));
  out.emplace_back("busypoll\tcaught-ns", busy_poll_caught_ns.load(std::memory_order_relaxed));
  out.emplace_back("busypoll\tmissed-ns", busy_poll_missed_ns.load(std::memory_order_relaxed));
  return out;
}

}  // namespace meshtap
