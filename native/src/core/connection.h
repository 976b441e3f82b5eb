// SPDX-License-Identifier: Apache-2.0
// One proxied connection of the native engine: its two sockets, the bytes read but not yet
// written (at most one read's worth per direction: that is the backpressure), its counters
// and whether JS follows it (is_observed) and knows of it (is_announced). Owned by exactly one
// worker (its connection table); its sockets are UniqueFd, so they close with it whatever path ends it; Worker::Finish is the one place that
// ends it on purpose (counters, RST or FIN, the close record).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "detect-driver.h"
#include "event-ring.h"
#include "pipe-pool.h"
#include "tcp-stats.h"
#include "unique-fd.h"

namespace meshtap {

class Worker;
struct Conn;

// What an epoll registration points at.
struct Handle {
  enum Kind : uint8_t { kListener, kClient, kUpstream, kWake } kind;
  Conn* conn = nullptr;
  int listener = -1;  // index into the worker's listeners
};

// Bytes read from one side that the other side did not take yet. Allocated only while bytes
// wait (an idle connection holds no buffer), never more than one read (kReadBytes).
class PendingBytes {
 public:
  ~PendingBytes() { free(data_); }
  bool IsEmpty() const { return len_ == 0; }
  const uint8_t* Data() const { return data_ + off_; }
  size_t Size() const { return len_; }
  bool Assign(const uint8_t* p, size_t n) {
    free(data_);
    data_ = static_cast<uint8_t*>(malloc(n));
    off_ = 0;
    len_ = data_ == nullptr ? 0 : n;
    if (data_ != nullptr) memcpy(data_, p, n);
    return data_ != nullptr;
  }
  void Consume(size_t n) {
    off_ += n;
    len_ -= n;
    if (len_ == 0) {
      free(data_);
      data_ = nullptr;
      off_ = 0;
    }
  }

 private:
  uint8_t* data_ = nullptr;
  size_t off_ = 0;
  size_t len_ = 0;
};

struct Peer {
  UniqueFd fd;
  bool is_readable = false;  // edge-triggered: true until a read says EAGAIN, or comes back short
  // The last readiness edge carried a hang-up, an error or an urgent mark (EPOLLRDHUP/HUP/ERR/PRI):
  // read on until EAGAIN, 0 or an error, since no later edge announces an end already seen, and a
  // read stops short at an urgent mark with bytes behind it. Otherwise a read that returns less
  // than asked emptied the socket, and any byte after it raises a new edge (haproxy's rule).
  bool must_drain = false;
  bool is_writable = false;
  bool has_eof = false;      // the peer half-closed (read returned 0)
  bool is_shut = false;      // we half-closed towards the peer (shutdown SHUT_WR)
};

struct Conn {
  uint32_t id = 0;
  bool inbound = true;
  bool is_connected = false;  // upstream connect completed
  bool is_observed = false;   // records of this connection may go to JS (observing; not unobserved or lost)
  bool is_announced = false;  // its open record went to JS: sent lazily, before the first record JS
                              // needs (ObservationDriver::Announce); a connection nobody taps costs
                              // the JS thread nothing, and its close record goes only after an open
  bool is_dead = false;
  AbortCode abort = kAbortNone;
  uint64_t last_active_ns = 0;  // last byte read either way (idle timeout)
  Handle client_handle{Handle::kClient};
  Handle upstream_handle{Handle::kUpstream};
  Peer client;
  Peer upstream;
  PendingBytes to_upstream;
  PendingBytes to_client;
  // splice(2), per direction (0: client -> upstream, 1: upstream -> client). A pipe is borrowed
  // from the worker's pool only while spliced bytes wait in it; pipe_fill is how many (the kernel
  // cannot tell "pipe full" from "socket empty" in an EAGAIN, so the fill is tracked here). Bytes
  // wait either in a PendingBytes or in the pipe, never in both, so their order is kept.
  Pipe pipe[2];
  size_t pipe_fill[2] = {0, 0};
  bool is_streaming[2] = {false, false};     // a read filled the whole buffer: splice from now on
  bool was_pipe_denied[2] = {false, false};  // pool exhaustion counted once per direction
  bool cannot_splice = false;                // the kernel refused splice on these sockets
  TcpCounters* src = nullptr;
  TcpCounters* dst = nullptr;
  uint32_t deferred_reads = 0;  // reads forwarded this pass, not yet observed (Worker::Observe)
  Conn* next_dead = nullptr;  // the worker's list of finished connections (linking allocates nothing)
  // Detection and the C++ observers (null when not observed); fed after each forward.
  std::unique_ptr<ObservationDriver> obs;
};

}  // namespace meshtap
