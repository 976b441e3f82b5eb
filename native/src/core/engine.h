// SPDX-License-Identifier: Apache-2.0
// The native engine: N epoll workers, the listeners they share (one socket per worker), the
// event batch to JS and the TCP counters. Plain C++ (no Node-API), so the sanitizer and fuzz
// builds use it as is; native/src/engine-napi.cc is its only face to JS.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine-shared.h"
#include "worker.h"

namespace meshtap {

class Engine {
 public:
  explicit Engine(const EngineConfig& config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the workers (doorbell must be set before). false + *err on failure.
  bool Start(std::function<void()> doorbell, std::string* err);
  // Creates the listener's sockets (bound, listening, one per worker) and hands them over.
  // Returns the bound address, or "" with *err ("bind: Address already in use").
  std::string Listen(ListenerSpec spec, const sockaddr_storage& at, std::string* err);
  void Unobserve(uint32_t id);
  void Stop();
  EngineShared& shared() { return *shared_; }

 private:
  std::unique_ptr<EngineShared> shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  uint32_t next_listener_ = 1;
  bool is_stopped_ = false;
};

}  // namespace meshtap
