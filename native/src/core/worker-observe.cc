// SPDX-License-Identifier: Apache-2.0
// Observation after forwarding, per epoll pass. When several connections are ready at once (an
// HTTP/2 client and server each answer a batch on every connection within microseconds), the
// worker forwarded the first connection's read, observed it (HPACK, streams, the recorder: tens
// of microseconds for a batch of small requests), and only then forwarded the next one: each
// later connection's bytes waited for the observation of the ones before (measured under
// h2load -c4 -m32: 104 us median, 272 us p90 from the epoll return to a pass's later sends,
// 7 us to its first). The peers on the other CPU sit idle meanwhile. So a read is observed at the
// end of the pass instead: its bytes are copied into a bounded buffer (a copy of a few KiB costs
// far less than the observation it waits for) and handed to the observer in read order, with
// the read's own time. Anything else that asks an observer (end of stream, close, how many bytes
// may be spliced, deadlines, commands from JS) flushes first, so every observer sees exactly the
// calls, bytes and times it saw before, in the same order.
#include <cstring>

#include "worker.h"

namespace meshtap {
namespace {

// What one pass may hold back: four full reads. A read that does not fit is observed at once,
// after what is held (the order stays).
constexpr size_t kDeferredBytes = 256 * 1024;
// And at most this many reads (tiny reads from many connections must not grow the list).
constexpr size_t kDeferredReads = 256;

}  // namespace

void Worker::Observe(Conn* c, bool from_client, const uint8_t* p, size_t n, uint64_t now_ns) {
  if (deferred_fill_ + n > kDeferredBytes || deferred_.size() >= kDeferredReads) FlushObservations();
  if (n > kDeferredBytes || is_flushing_) {
    c->obs->Data(from_client, p, n, now_ns);
    return;
  }
  if (!deferred_bytes_) {
    deferred_bytes_.reset(new uint8_t[kDeferredBytes]);  // once per worker, on its first observed read
    deferred_.reserve(kDeferredReads);
  }
  deferred_.push_back(DeferredRead{c, from_client, deferred_fill_, n, now_ns});
  memcpy(deferred_bytes_.get() + deferred_fill_, p, n);
  deferred_fill_ += n;
  c->deferred_reads++;
}

void Worker::FlushObservations() noexcept {
  if (deferred_.empty() || is_flushing_) return;
  is_flushing_ = true;
  // ObservationDriver::Data never throws (it contains its own failures); Finish flushes before it
  // closes an observer, so every entry's connection is alive here.
  for (const DeferredRead& d : deferred_) {
    d.conn->deferred_reads = 0;
    if (d.conn->obs) d.conn->obs->Data(d.from_client, deferred_bytes_.get() + d.offset, d.len, d.read_ns);
  }
  deferred_.clear();
  deferred_fill_ = 0;
  is_flushing_ = false;
}

}  // namespace meshtap
