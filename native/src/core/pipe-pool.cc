// SPDX-License-Identifier: Apache-2.0
#include "pipe-pool.h"

#include <fcntl.h>
#include <unistd.h>

#include "event-ring.h"

namespace meshtap {
namespace {

// After the kernel refused a full-size pipe (the uid's budget is spent node-wide), asking again
// on every borrow would cost two syscalls per read for nothing.
constexpr uint64_t kCreateRetryNs = 1000000000ull;

}  // namespace

PipePool::PipePool(size_t max_pipes) : max_(max_pipes) { free_.reserve(max_pipes); }

bool PipePool::Borrow(Pipe* out) {
  if (!free_.empty()) {
    *out = std::move(free_.back());
    free_.pop_back();
    return true;
  }
  if (created_ >= max_) return false;
  const uint64_t now = MonotonicNs();
  if (now < retry_create_ns_) return false;
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    retry_create_ns_ = now + kCreateRetryNs;
    return false;
  }
  Pipe p{UniqueFd(fds[0]), UniqueFd(fds[1])};
  const int size = fcntl(fds[1], F_GETPIPE_SZ);
  if (size < 0 || static_cast<size_t>(size) < kPipeBytes) {
    retry_create_ns_ = now + kCreateRetryNs;
    return false;  // p closes both ends
  }
  created_++;
  *out = std::move(p);
  return true;
}

void PipePool::Return(Pipe* p) {
  if (!p->IsOpen()) return;
  free_.push_back(std::move(*p));  // cannot allocate: reserved for max_ at construction
  *p = Pipe{};
}

void PipePool::Discard(Pipe* p) {
  if (!p->IsOpen()) return;
  *p = Pipe{};
  created_--;
}

}  // namespace meshtap
