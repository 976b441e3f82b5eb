// SPDX-License-Identifier: Apache-2.0
#include "event-ring.h"

#include <cstdlib>
#include <cstring>
#include <ctime>

namespace meshtap {

uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

EventRing::EventRing(size_t cap_bytes) : cap_(cap_bytes < 2 * kControlReserve ? 2 * kControlReserve : cap_bytes) {}

EventRing::~EventRing() { free(buf_); }

bool EventRing::Append(RecordType type, uint8_t code, uint32_t conn, uint64_t t_ns, const void* data, uint32_t len, bool is_control) {
  const size_t padded = (static_cast<size_t>(len) + 7) & ~static_cast<size_t>(7);
  const size_t need = kRecordHeaderBytes + padded;
  std::lock_guard<std::mutex> lock(mu_);
  const size_t limit = is_control ? cap_ : cap_ - kControlReserve;
  if (used_ + need > limit) return false;
  if (used_ + need > alloc_) {
    size_t next = alloc_ == 0 ? 64 * 1024 : alloc_;
    while (next < used_ + need) next *= 2;
    if (next > cap_) next = cap_;
    auto* grown = static_cast<uint8_t*>(realloc(buf_, next));
    if (grown == nullptr) return false;
    buf_ = grown;
    alloc_ = next;
  }
  uint8_t* p = buf_ + used_;
  uint32_t zero = 0;
  p[0] = type;
  p[1] = code;
  p[2] = 0;
  p[3] = 0;
  memcpy(p + 4, &conn, 4);
  memcpy(p + 8, &len, 4);
  memcpy(p + 12, &zero, 4);
  memcpy(p + 16, &t_ns, 8);
  if (len > 0) memcpy(p + kRecordHeaderBytes, data, len);
  if (padded > len) memset(p + kRecordHeaderBytes + len, 0, padded - len);
  used_ += need;
  return true;
}

uint8_t* EventRing::Take(size_t* len) {
  std::lock_guard<std::mutex> lock(mu_);
  *len = used_;
  if (used_ == 0) return nullptr;
  uint8_t* out = buf_;
  buf_ = nullptr;
  used_ = 0;
  alloc_ = 0;
  return out;
}

bool EventRing::HasPending() {
  std::lock_guard<std::mutex> lock(mu_);
  return used_ > 0;
}

}  // namespace meshtap
