// SPDX-License-Identifier: Apache-2.0
// A worker's bounded pool of pipes for splice(2).
//
// Why a pool, and why bounded: the kernel rations pipe buffers per uid, node-wide (an
// unprivileged uid gets 1024 full-size 64 KiB pipes in all; past that, new pipes get one page
// and cannot grow), and every meshtap sidecar on a node runs as the same uid. So a connection
// never owns a pipe pair: it borrows one pipe per direction only while spliced bytes sit in it,
// and gives it back as soon as the pipe is empty again (haproxy's pipe pool works the same way).
// When the pool is exhausted, or the kernel hands out a short pipe, the caller falls back to
// read/write and counts meshtap_bound_hit_total{bound="pipe-pool"}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "unique-fd.h"

namespace meshtap {

struct Pipe {
  UniqueFd rd;
  UniqueFd wr;
  bool IsOpen() const { return rd.IsOpen(); }
};

class PipePool {
 public:
  // Full-size pipes only: a shorter pipe (the uid's budget is spent) is refused.
  static constexpr size_t kPipeBytes = 64 * 1024;

  explicit PipePool(size_t max_pipes);
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  // Moves a clean (empty) pipe into *out; false when none is free and no more may be created.
  bool Borrow(Pipe* out);
  // Gives back a pipe that holds no bytes.
  void Return(Pipe* p);
  // Closes a pipe that may still hold bytes (its connection died): it can never be reused.
  void Discard(Pipe* p);
  size_t created() const { return created_; }

 private:
  const size_t max_;
  size_t created_ = 0;  // borrowed + free
  std::vector<Pipe> free_;
  uint64_t retry_create_ns_ = 0;  // after the kernel refused a full-size pipe, wait before asking again
};

}  // namespace meshtap
